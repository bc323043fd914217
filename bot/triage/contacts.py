"""Crisis, emergency and support contacts per locale and kind (bot/data/crisis_contacts.yaml).

Each contact has its text per language, a tappable link, the published source of the
number and whether staff have confirmed it. Each kind of crisis lists its contacts in the
order a reply gives them: self-harm -> 988 (call, text, chat), then 911; an emergency ->
911 first; violence -> 911 and the hotlines.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

import yaml

from bot.model import CrisisKind

KINDS = (*(k.value for k in CrisisKind), "support")
_HREF = re.compile(r"^(tel:\+?[0-9-]+|sms:\+?[0-9-]+|https://\S+)$")


@dataclass(frozen=True)
class Contact:
    text: str
    href: str | None = None  # tel:, sms: or https: link, so a phone can tap it
    id: str = field(default="", compare=False)


@dataclass(frozen=True)
class ContactBook:
    """One locale's contacts, by kind and language."""

    locale: str
    name: str
    by_kind: dict[str, dict[str, tuple[Contact, ...]]]  # kind -> language -> contacts

    def for_kind(self, kind: str | CrisisKind, language: str = "en") -> tuple[Contact, ...]:
        texts = self.by_kind.get(str(kind)) or self.by_kind[CrisisKind.SELF_HARM.value]
        return texts.get(language) or texts["en"]

    def led_by(
        self, lead: str | CrisisKind, kind: str | CrisisKind, language: str = "en"
    ) -> tuple[Contact, ...]:
        """`kind`'s contacts after `lead`'s (each once): a self-harm overdose taken puts
        911 before 988."""
        first = self.for_kind(lead, language)
        return first + tuple(c for c in self.for_kind(kind, language) if c not in first)

    @property
    def languages(self) -> frozenset[str]:
        return frozenset(lang for kinds in self.by_kind.values() for lang in kinds)

    def to_json(self, language: str = "en") -> dict[str, object]:
        """The contacts a page shows in its error states, by kind."""
        return {
            "locale": self.locale,
            "kinds": {
                kind: [{"text": c.text, "href": c.href} for c in self.for_kind(kind, language)]
                for kind in KINDS
            },
        }


def _source(path: Path | None) -> tuple[str, str]:
    if path is not None:
        return str(path), path.read_text(encoding="utf-8")
    shipped = resources.files("bot.data").joinpath("crisis_contacts.yaml")
    return str(shipped), shipped.read_text(encoding="utf-8")


def load_contacts(locale: str, path: Path | None = None) -> ContactBook:
    """The contacts of a locale; ValueError names what is wrong."""
    where, text = _source(path)
    data = yaml.safe_load(text) or {}
    entry = data.get(locale.lower()) if isinstance(data, dict) else None
    if not isinstance(entry, dict) or not entry.get("contacts"):
        known = ", ".join(sorted(data)) if isinstance(data, dict) else "none"
        raise ValueError(f"no crisis contacts for locale {locale!r} in {where} (have: {known})")
    raw = entry["contacts"]
    if isinstance(raw, list):  # the older shape: one list, every kind
        raw = {f"c{i}": item for i, item in enumerate(raw)}
        order = {kind: list(raw) for kind in KINDS}
    else:
        order = entry.get("kinds") or {}
        missing = [k for k in KINDS if k not in order]
        if missing:
            raise ValueError(f"{where}: locale {locale!r} lists no contacts for {missing}")
    by_kind: dict[str, dict[str, tuple[Contact, ...]]] = {}
    for kind, ids in order.items():
        if kind not in KINDS:
            raise ValueError(f"{where}: unknown kind {kind!r} (kinds: {', '.join(KINDS)})")
        languages: dict[str, list[Contact]] = {}
        for cid in ids:
            item = raw.get(str(cid))
            if item is None:
                raise ValueError(f"{where}: {locale}/{kind} names unknown contact {cid!r}")
            href = item.get("href")
            if href is not None and not _HREF.match(str(href)):
                raise ValueError(
                    f"crisis contact link {href!r} in {where} is not tel:, sms: or https:"
                )
            texts = item["text"] if isinstance(item["text"], dict) else {"en": item["text"]}
            if "en" not in texts:
                raise ValueError(f"{where}: contact {cid!r} has no English text")
            for lang in {"en", *texts}:
                line = texts.get(lang) or texts["en"]
                languages.setdefault(lang, []).append(Contact(str(line), href, str(cid)))
        # A language some contacts lack gets the English line for those.
        for contacts in languages.values():
            if len(contacts) < len(ids):
                english = languages["en"]
                known = {c.id for c in contacts}
                contacts[:] = [
                    next((c for c in contacts if c.id == e.id), e) if e.id in known else e
                    for e in english
                ]
        by_kind[kind] = {lang: tuple(cs) for lang, cs in languages.items()}
    return ContactBook(locale.lower(), str(entry.get("name", locale)), by_kind)


def crisis_contacts(locale: str, path: Path | None = None) -> tuple[Contact, ...]:
    """The self-harm crisis contacts of a locale in English (the line added to answers
    that mention suicide, self-harm or overdose)."""
    return load_contacts(locale, path).for_kind(CrisisKind.SELF_HARM)
