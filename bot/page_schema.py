"""The page template's vocabulary as data: heading aliases -> section kinds, intent ->
where its answer lives, section kind -> answer template.

One file, `bot/data/page_schema.yaml`, compiled here by one engine (as bot/rules.py does
for rules): the parsers give every section its `SectionKind` from it, and everything
downstream routes on the kind, never on heading text. The tests are generated from each
record's own examples and counterexamples.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from bot.model import SectionKind
from bot.resources import DATA, read_yaml

SCHEMA_FILE = "page_schema.yaml"


class SchemaError(ValueError):
    pass


def normalise(heading: str) -> str:
    """Case and spacing ignored: how a heading is compared with the aliases."""
    return " ".join(heading.casefold().split())


@dataclass(frozen=True)
class SectionSpec:
    """One section kind of the template (a record of the schema file)."""

    kind: SectionKind
    heading: str  # as the template writes it; may hold {compound} and {condition}
    aliases: tuple[str, ...]
    note: str = ""
    untitled: bool = False  # the kind of the text before the first heading
    info: tuple[str, ...] = ()  # info topics quoted from it
    template: str | None = None
    template_intents: tuple[str, ...] = ()  # the template only for these intents
    questions: tuple[tuple[re.Pattern[str], str], ...] = ()  # FAQ question -> template
    examples: tuple[str, ...] = ()
    counterexamples: tuple[str, ...] = ()

    @property
    def words(self) -> str:
        """The heading's fixed words, before any colon or name ("Current Evidence
        Classification")."""
        return re.split(r"\s*[:{]", self.heading, maxsplit=1)[0]

    def written(self, compound: str = "", condition: str = "") -> str:
        """The heading as the template writes it on the page of this compound x condition."""
        return self.heading.format(compound=compound, condition=condition)


@dataclass(frozen=True)
class Target:
    """Where an intent's answer may be: a section of a kind, or an FAQ pair whose
    lowercased question matches a pattern."""

    kind: SectionKind | None = None
    faq: re.Pattern[str] | None = None

    def fits(self, kind: SectionKind, question: str | None) -> bool:
        if self.faq is not None:
            return kind is SectionKind.FAQ and bool(self.faq.search((question or "").lower()))
        return kind is self.kind


class PageSchema:
    """The compiled schema: which kind a heading is, where intents look, which template."""

    def __init__(self, specs: Iterable[SectionSpec], intents: Mapping[str, tuple[Target, ...]]):
        self.specs = {s.kind: s for s in specs}
        self.intents = dict(intents)
        by_alias = {normalise(a): s.kind for s in self.specs.values() for a in s.aliases}
        self._by_alias = by_alias
        # Longest alias first, so "evidence hierarchy overview" is never cut short.
        alternation = "|".join(re.escape(a) for a in sorted(by_alias, key=len, reverse=True))
        self._alias = re.compile(rf"(?:{alternation})(?!\w)")
        self.untitled = next(s for s in self.specs.values() if s.untitled)
        self._info = {t: s.kind for s in self.specs.values() for t in s.info}

    def kind_of(self, heading: str) -> SectionKind:
        """The kind of a heading: the alias it starts with (as whole words), else OTHER."""
        found = self._alias.match(normalise(heading))
        return self._by_alias[found.group(0)] if found else SectionKind.OTHER

    def spec(self, kind: SectionKind) -> SectionSpec:
        return self.specs[kind]

    def targets(self, intent: str) -> tuple[Target, ...]:
        return self.intents.get(intent, ())

    def info_kind(self, topic: str) -> SectionKind | None:
        """The kind of section an `info` topic is quoted from, if any."""
        return self._info.get(topic)

    def info_topic(self, kind: SectionKind | None) -> str | None:
        """The `info` topic of a passage of this kind found by meaning (its first)."""
        spec = self.specs.get(kind) if kind is not None else None
        return spec.info[0] if spec and spec.info else None

    def template(self, kind: SectionKind, intent: str, question: str | None) -> str | None:
        """The template quoting a passage of this kind (for this intent and FAQ question),
        or None for a plain section."""
        spec = self.specs.get(kind)
        if spec is None or (spec.template_intents and intent not in spec.template_intents):
            return None
        asked = (question or "").lower()
        return next((t for p, t in spec.questions if p.search(asked)), spec.template)


def compile_schema(data: Any, source: str = SCHEMA_FILE) -> PageSchema:
    """The schema of a loaded file, refused with the record's place when malformed."""
    if not isinstance(data, dict) or not isinstance(data.get("sections"), list):
        raise SchemaError(f"{source}: needs a `sections` list")
    specs = [_spec(r, f"{source} section {n}") for n, r in enumerate(data["sections"], 1)]
    kinds = [s.kind for s in specs]
    if len(set(kinds)) != len(kinds):
        raise SchemaError(f"{source}: a section kind is listed twice")
    missing = set(SectionKind) - {SectionKind.OTHER} - set(kinds)
    if missing:
        raise SchemaError(f"{source}: no record for {', '.join(sorted(missing))}")
    if sum(s.untitled for s in specs) != 1:
        raise SchemaError(f"{source}: exactly one section kind must be `untitled`")
    seen: dict[str, SectionKind] = {}
    for spec in specs:
        for alias in map(normalise, spec.aliases):
            if seen.setdefault(alias, spec.kind) is not spec.kind:
                raise SchemaError(f"{source}: alias {alias!r} is given to two kinds")
    intents = {
        str(name): tuple(_target(t, f"{source} intent {name}") for t in targets)
        for name, targets in (data.get("intents") or {}).items()
    }
    return PageSchema(specs, intents)


def _kind(value: object, where: str) -> SectionKind:
    try:
        return SectionKind(str(value))
    except ValueError:
        raise SchemaError(f"{where}: unknown section kind {value!r}") from None


def _pattern(value: object, where: str) -> re.Pattern[str]:
    try:
        return re.compile(str(value))
    except re.error as exc:
        raise SchemaError(f"{where}: bad pattern {value!r}: {exc}") from exc


def _spec(record: Any, where: str) -> SectionSpec:
    try:
        kind, heading, aliases = record["id"], str(record["heading"]), record["aliases"]
    except (KeyError, TypeError) as exc:
        raise SchemaError(f"{where}: needs id, heading and aliases ({exc})") from exc
    if not aliases:
        raise SchemaError(f"{where} ({kind}): no aliases")
    return SectionSpec(
        kind=_kind(kind, where),
        heading=heading,
        aliases=tuple(str(a) for a in aliases),
        note=str(record.get("note", "")),
        untitled=bool(record.get("untitled", False)),
        info=tuple(str(t) for t in record.get("info", ())),
        template=record.get("template"),
        template_intents=tuple(str(i) for i in record.get("template_intents", ())),
        questions=tuple(
            (_pattern(q["match"], where), str(q["template"])) for q in record.get("questions", ())
        ),
        examples=tuple(str(e) for e in record.get("examples", ())),
        counterexamples=tuple(str(e) for e in record.get("counterexamples", ())),
    )


def _target(record: Any, where: str) -> Target:
    if isinstance(record, dict) and set(record) == {"section"}:
        kind = _kind(record["section"], where)
        if kind in (SectionKind.FAQ, SectionKind.OTHER):
            raise SchemaError(f"{where}: FAQ pairs are targeted by `faq: <pattern>`")
        return Target(kind=kind)
    if isinstance(record, dict) and set(record) == {"faq"}:
        return Target(faq=_pattern(record["faq"], where))
    raise SchemaError(f"{where}: a target is `section: <kind>` or `faq: <pattern>`")


@cache
def load() -> PageSchema:
    """The schema of bot/data/page_schema.yaml."""
    return compile_schema(read_yaml(SCHEMA_FILE))


def kind_of(heading: str) -> SectionKind:
    """The section kind of a heading, by the shipped schema."""
    return load().kind_of(heading)


def fingerprint() -> str:
    """Changes with the schema file or this engine: parses made under another schema are
    not reused (the kinds they hold may differ)."""
    digest = hashlib.sha256((DATA / SCHEMA_FILE).read_bytes())
    digest.update(Path(__file__).read_bytes())
    return digest.hexdigest()[:16]
