"""The crisis and emergency contacts every client shows when it cannot answer.

When a reply fails (429, 503, the network is down) nothing can be fetched, so the numbers
must already be there: the chat page and /embed carry them in their HTML (hidden until an
error), widget.js in its config, and `GET /api/crisis-contacts` serves another locale's
to a widget whose `data-locale` names one (the widget keeps them for the tab).
"""

from __future__ import annotations

from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Annotated, Any

import yaml
from fastapi import APIRouter, Depends, HTTPException, Query, Response
from pydantic import BaseModel, Field

from bot.model import CrisisKind
from bot.service.deps import SettingsDep
from bot.service.query import single_valued
from bot.service.schemas import LOCALE_PATTERN, ErrorOut, errors
from bot.settings import Settings
from bot.triage import Contact, ContactBook, load_contacts

router = APIRouter()


def help_contacts(book: ContactBook, language: str = "en") -> tuple[Contact, ...]:
    """What an error state shows, where we cannot know which kind of help is needed: the
    emergency number first, then the crisis lines (call, text, chat), each once."""
    first = book.for_kind(CrisisKind.EMERGENCY, language)[:1]
    seen: set[str] = set()
    picked = []
    for contact in (*first, *book.for_kind(CrisisKind.SELF_HARM, language)):
        key = contact.href or contact.text
        if key not in seen:
            seen.add(key)
            picked.append(contact)
    return tuple(picked)


def page_contacts(settings: Settings, book: ContactBook | None = None) -> list[dict[str, Any]]:
    """The contacts of BOT_LOCALE for the (English) chat page, /embed and widget.js."""
    book = book or _book(settings.locale, settings.crisis_contacts_file)
    return [{"text": c.text, "href": c.href} for c in help_contacts(book)]


@lru_cache(maxsize=32)
def _book(locale: str, path: Path | None) -> ContactBook:
    return load_contacts(locale, path)


@lru_cache(maxsize=8)
def _locales(path: Path | None) -> frozenset[str]:
    if path is not None:
        text = path.read_text(encoding="utf-8")
    else:
        text = resources.files("bot.data").joinpath("crisis_contacts.yaml").read_text("utf-8")
    data = yaml.safe_load(text) or {}
    return frozenset(str(k).lower() for k in data) if isinstance(data, dict) else frozenset()


def resolve(value: str | None, settings: Settings) -> tuple[ContactBook, str]:
    """The contact book and language a `locale` value asks for. A locale of the contacts
    file wins ("ca" is Canada); otherwise a language tag's region picks the locale and
    its language the text, where the file has it. LookupError says what is known."""
    path = settings.crisis_contacts_file
    known = _locales(path)
    default = _book(settings.locale, path)
    if not value:
        return default, "en"
    tag = value.strip().lower().replace("_", "-")
    if tag in known:
        return _book(tag, path), "en"
    language, *rest = tag.split("-")
    # The region is the first two-letter subtag after the language (a script has four).
    region = next((s for s in rest if len(s) == 2 and s.isalpha()), None)
    if region is None and not rest and language not in default.languages:
        raise LookupError(
            f"no crisis contacts for {value!r}: use a locale ({', '.join(sorted(known))}) "
            f"or a language tag with one of those regions, e.g. en-GB"
        )
    if region is not None and region not in known:
        raise LookupError(
            f"no crisis contacts for the region of {value!r} (locales: {', '.join(sorted(known))})"
        )
    book = _book(region, path) if region else default
    return book, language if language in book.languages else "en"


def book_for(value: str | None, settings: Settings) -> ContactBook | None:
    """The contact book a chat request's `locale` picks for its urgent replies; None (the
    assistant's BOT_LOCALE book) when it names none or one the contacts file lacks."""
    if not value:
        return None
    try:
        return resolve(value, settings)[0]
    except LookupError:
        return None


class ContactOut(BaseModel):
    text: str
    href: str | None = Field(description="A tel:, sms: or https: link, or null.")


class CrisisContacts(BaseModel):
    locale: str = Field(description="The contacts file's locale, e.g. `us`.")
    name: str = Field(description="The locale's name, e.g. `United States`.")
    language: str = Field(
        description="The language of the texts (English where the file "
        "has none in the language asked for)."
    )
    contacts: list[ContactOut] = Field(
        description="What a client shows when it cannot answer: the emergency number, then "
        "the crisis lines."
    )
    kinds: dict[str, list[ContactOut]] = Field(
        description="Every kind's contacts in reply order (self_harm, emergency, violence, "
        "support)."
    )


@router.get(
    "/api/crisis-contacts",
    response_model=CrisisContacts,
    tags=["chat"],
    dependencies=[Depends(single_valued)],
    responses={
        404: {"model": ErrorOut, "description": "No crisis contacts for this locale."},
        **errors(403, 422),
    },
)
def crisis_contacts(
    settings: SettingsDep,
    response: Response,
    locale: Annotated[
        str | None,
        Query(
            max_length=35,
            pattern=LOCALE_PATTERN,
            description="A locale of the contacts file (`gb`) or a language tag (`en-GB`, "
            "`es-US`, `es`); BOT_LOCALE when omitted.",
        ),
    ] = None,
) -> dict[str, Any]:
    """The crisis and emergency contacts of a locale, for a client to keep and show,
    tap-to-call, when it cannot get an answer (rate limited, service down, offline)."""
    try:
        book, language = resolve(locale, settings)
    except LookupError as exc:
        raise HTTPException(status_code=404, detail=str(exc)) from exc
    # The widget fetches this once per tab; the numbers change only with a deployment.
    response.headers["Cache-Control"] = "public, max-age=300"
    data = book.to_json(language)
    return {
        **data,
        "name": book.name,
        "language": language,
        "contacts": [{"text": c.text, "href": c.href} for c in help_contacts(book, language)],
    }
