"""What every kind of reply is made from: the message's limits and ids, the Outcome a
reply settles on, and the base of the Assistant's reply steps (the pages' passages and
their classification citation, the crisis contacts)."""

from __future__ import annotations

import threading
import uuid
from dataclasses import dataclass, field

from bot.answer import Citation, Renderer, Reply
from bot.chunks import Passage
from bot.embedding import Embedder
from bot.entities import Lexicon
from bot.index import Index
from bot.model import SectionKind
from bot.pages import PageSummary
from bot.policy import Catalogue
from bot.retrieval import Hit, Retriever
from bot.settings import Settings
from bot.shared import SharedContent
from bot.triage import Contact, ContactBook, load_contacts

MAX_MESSAGE = 1000


def clean_message(value: str) -> str:
    """The message as answered: trimmed, 1-MAX_MESSAGE characters, else ValueError."""
    text = value.strip()
    if not 1 <= len(text) <= MAX_MESSAGE:
        raise ValueError(
            f"message must be 1-{MAX_MESSAGE} characters after trimming (got {len(text)})"
        )
    if "\x00" in text:  # no text column of PostgreSQL can store it, so it can't be logged
        raise ValueError("message must not contain NUL characters")
    return text


def new_id() -> str:
    return uuid.uuid4().hex


def short_title(a: PageSummary) -> str:
    return f"{a.compound} for {a.condition}"


def ask_about(a: PageSummary) -> str:
    return f"What is the evidence level for {a.compound} in {a.condition}?"


class RetrievalUnavailable(Exception):
    """The model or the index failed while answering: no answer can be given (a 503).
    Triage runs before retrieval, so `urgent` replies never get here."""


@dataclass
class Outcome:
    """A rendered reply and the assessment(s) it settled on, for the session context."""

    reply: Reply
    assessment: PageSummary | None = None
    options: list[PageSummary] = field(default_factory=list)
    # For a not_found about a named pair: the names asked about, kept as the topic.
    topic: tuple[str | None, str | None] = (None, None)
    rest: list[PageSummary] = field(default_factory=list)  # a listing's pages not yet shown


class Parts:
    """What the reply steps share; the Assistant (bot/assistant/core.py) provides it."""

    index: Index
    embedder: Embedder
    settings: Settings
    lexicon: Lexicon
    renderer: Renderer
    contacts: tuple[Contact, ...]
    book: ContactBook | None
    retriever: Retriever
    catalogue: Catalogue
    _everything: list[PageSummary]
    _shared: SharedContent | None
    _shared_lock: threading.Lock

    @property
    def _book(self) -> ContactBook:
        if self.book is None:
            self.book = load_contacts(self.settings.locale, self.settings.crisis_contacts_file)
        return self.book

    def _passages_of(self, a: PageSummary) -> list[Passage]:
        return [self.index.passages[int(r)] for r in self.index.rows_of(a.id)]

    def _classification_citation(self, a: PageSummary) -> Citation:
        passages = self._passages_of(a)
        chosen = next(
            (p for p in passages if p.section_kind is SectionKind.CLASSIFICATION),
            passages[0],
        )
        return Citation.from_hit(Hit(chosen, a, 1.0, True))
