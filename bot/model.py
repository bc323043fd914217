"""Typed data every stage shares: reply statuses, what a question names, the trace.

At the bottom of the import graph: this module imports nothing of the bot's, so pages,
entities, dialogue, answers and the audit log can all speak in these types rather than in
strings.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from enum import IntEnum, StrEnum
from typing import Any


class Status(StrEnum):
    ANSWERED = "answered"
    INFO = "info"
    CLARIFY = "clarify"
    NOT_FOUND = "not_found"
    URGENT = "urgent"
    DECLINED = "declined"
    SUPPORT = "support"


class CrisisKind(StrEnum):
    """Which contacts an `urgent` reply puts first."""

    SELF_HARM = "self_harm"
    EMERGENCY = "emergency"
    VIOLENCE = "violence"


class TriageKind(StrEnum):
    URGENT = "urgent"  # crisis contacts first, nothing retrieved
    DECLINED = "declined"  # dosing, treatment decisions, own symptoms: ask your doctor
    SUPPORT = "support"  # distress with no crisis sign
    MENTION = "mention"  # a research question naming a crisis topic: answered, line added


class SectionKind(StrEnum):
    """Which part of the page template a section is (bot/data/page_schema.yaml says which
    headings are which). Given at parse time, so nothing downstream reads heading text."""

    INTRODUCTION = "introduction"
    HIERARCHY = "hierarchy"
    CLASSIFICATION = "classification"
    MECHANISM = "mechanism"
    MEANING = "meaning"
    EVOLVE = "evolve"
    FAQ = "faq"
    OTHER = "other"  # a heading the template does not have: quoted as a plain section


class Relation(IntEnum):
    """How a page's condition relates to the condition a question names (higher = closer)."""

    NARROWER = 1  # the page is about a kind of it ("depression" -> Treatment-Resistant D.)
    BROADER = 2  # the page covers it as part of more ("lung cancer" -> Stage IV Cancer)
    EXACT = 3


@dataclass(frozen=True)
class ConditionMatch:
    """A page condition that fits what the question names, and how well."""

    condition: str  # the page's condition, as written on the page
    relation: Relation
    mention: str  # the question's words it fits ("stage iv lung cancer")
    explains: tuple[str, ...] = ()  # every mention this condition accounts for
    rank: tuple[int, ...] = ()  # larger is better: (mentions explained, relation, depth)
    answerable: bool = True  # may be answered as the condition asked about (see conditions)
    # A stage IV page for a cancer the message gives no stage of ("ovarian cancer"): it
    # covers it only if it has spread, so it is listed, never answered for it.
    unstaged: bool = False
    # A page about a kind of cancer the question did not name ("liver cancer" ->
    # Hepatocellular Carcinoma): answered for a compound with a note, not listed as if it
    # were about the cancer asked.
    subtype: bool = False


@dataclass(frozen=True)
class Entities:
    """What a question names: page names (covered) and names no page covers."""

    compounds: tuple[str, ...] = ()  # page compound names, as on the pages
    conditions: tuple[str, ...] = ()  # page condition names that fit, best first
    unknown_compounds: tuple[str, ...] = ()  # as the reply should name them
    unknown_conditions: tuple[str, ...] = ()
    # How each of `conditions` fits; not part of equality (names are what a turn is about).
    matches: tuple[ConditionMatch, ...] = field(default=(), compare=False)
    stage_iv: bool = field(default=False, compare=False)  # the message says stage IV
    # A covered compound named by a word its title does not contain ("spravato" for
    # "Ketamine (IV / Esketamine)"): (compound, as written), so a reply can use their word.
    said: tuple[tuple[str, str], ...] = field(default=(), compare=False)

    def as_said(self, compound: str) -> str:
        """The compound as the reply names it: with the message's word when that differs."""
        written = dict(self.said).get(compound)
        return f"{written} ({compound})" if written else compound

    @property
    def empty(self) -> bool:
        return not (
            self.compounds or self.conditions or self.unknown_compounds or self.unknown_conditions
        )

    def match(self, condition: str) -> ConditionMatch | None:
        return next((m for m in self.matches if m.condition == condition), None)

    def to_trace(self) -> dict[str, list[str]]:
        return {
            "compounds": list(self.compounds),
            "conditions": list(self.conditions),
            "unknown_compounds": list(self.unknown_compounds),
            "unknown_conditions": list(self.unknown_conditions),
        }


@dataclass
class Trace:
    """What produced a reply, kept with it in the audit log."""

    triage: str | None = None
    rules: list[str] = field(default_factory=list)  # ids of the triage rules that fired
    language: str | None = None  # the message's language, when not English
    entities: dict[str, list[str]] | None = None
    from_context: dict[str, list[str]] | None = None
    corrections: list[tuple[str, str]] = field(default_factory=list)
    negated: list[str] = field(default_factory=list)
    conditions: list[dict[str, Any]] = field(default_factory=list)
    intent: str | None = None
    min_score: float | None = None
    hits: list[tuple[str, float]] = field(default_factory=list)
    missing_subject: str | None = None
    policy: str | None = None  # the rule of the answer policy that decided the status
    repeat_of: str | None = None
    latency_ms: float | None = None
    # The locale of the request (the widget's data-locale) whose contacts an urgent reply
    # carries, when not BOT_LOCALE's: `bot audit replay` gives them again.
    contacts_locale: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """Only what was set, as JSON-ready values (the audit record's `trace`)."""
        data = asdict(self)
        return {k: v for k, v in data.items() if v not in (None, [], {})}

    def get(self, key: str, default: Any = None) -> Any:
        """dict-style read, for code that reads stored traces and live ones alike."""
        return self.to_dict().get(key, default)
