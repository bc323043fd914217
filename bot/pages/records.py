"""The typed data of a page: what the parsers produce (`Assessment`, with its `Section`s
and `FAQ`s) and what serving keeps of it (`PageSummary`), and how loading a corpus fails
(`PageError`, `PageProblem`)."""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field, fields
from typing import Any

from bot import page_schema
from bot.model import SectionKind


@dataclass(frozen=True)
class Section:
    """One headed part of a page. Text before the first heading is "Introduction"."""

    title: str
    paragraphs: tuple[str, ...]
    anchor: str | None = None
    # Which part of the page template it is (bot/data/page_schema.yaml), given when the
    # page is parsed; never None once made (None: read from the title).
    kind: SectionKind | None = None

    def __post_init__(self) -> None:
        if self.kind is None:
            object.__setattr__(self, "kind", page_schema.kind_of(self.title))


@dataclass(frozen=True)
class FAQ:
    question: str
    answer: str
    anchor: str | None = None


@dataclass(frozen=True)
class PageSummary:
    """What serving holds of a page: its names, level, disclaimer and address, without its
    sections and FAQs (those are the index's passages). `id` is the parsed page's."""

    source: str
    title: str
    compound: str
    condition: str
    evidence_level: str
    mechanism: tuple[str, ...]
    disclaimer: str | None
    url: str | None
    byline: str | None = None
    # Other names of the compound the page itself gives (brands in its introduction,
    # `aliases:` in front matter). Derived from the content, so not part of the id.
    aliases: tuple[str, ...] = ()
    id: str = field(default="", compare=False)

    def __post_init__(self) -> None:
        if not self.id:
            raise ValueError(f"{self.source}: a page summary needs its page's id")

    def to_dict(self) -> dict[str, Any]:
        """As `dataclasses.asdict` (lists for tuples), written out: asdict deep-copies
        every value and was a third of a 10k-page rebuild."""
        return {
            "source": self.source,
            "title": self.title,
            "compound": self.compound,
            "condition": self.condition,
            "evidence_level": self.evidence_level,
            "mechanism": list(self.mechanism),
            "disclaimer": self.disclaimer,
            "url": self.url,
            "byline": self.byline,
            "aliases": list(self.aliases),
            "id": self.id,
        }

    @classmethod
    def from_dict(cls, data: dict) -> PageSummary:
        return cls(**_summary_fields(data))

    @property
    def bare_compound(self) -> str:
        """The compound without its bracketed forms or brands ("Ketamine (IV / Esketamine)"
        -> "Ketamine")."""
        return re.sub(r"\s*\([^)]*\)", "", self.compound).strip() or self.compound


def _summary_fields(data: dict) -> dict[str, Any]:
    return {
        "source": data["source"],
        "title": data["title"],
        "compound": data["compound"],
        "condition": data["condition"],
        "evidence_level": data["evidence_level"],
        "mechanism": tuple(data["mechanism"]),
        "disclaimer": data["disclaimer"],
        "url": data["url"],
        "byline": data.get("byline"),
        "aliases": tuple(data.get("aliases", ())),
        "id": data["id"],
    }


@dataclass(frozen=True)
class Assessment(PageSummary):
    """One compound x condition page as parsed, with its sections and FAQs. `id` is a hash
    of the parsed content."""

    sections: tuple[Section, ...] = field(default=(), kw_only=True)
    faqs: tuple[FAQ, ...] = field(default=(), kw_only=True)

    def __post_init__(self) -> None:
        if not self.id:
            object.__setattr__(self, "id", content_id(self))

    def to_dict(self) -> dict[str, Any]:
        return {
            **super().to_dict(),
            "sections": [
                {
                    "title": s.title,
                    "paragraphs": list(s.paragraphs),
                    "anchor": s.anchor,
                    "kind": s.kind,
                }
                for s in self.sections
            ],
            "faqs": [
                {"question": f.question, "answer": f.answer, "anchor": f.anchor} for f in self.faqs
            ],
        }

    @classmethod
    def from_dict(cls, data: dict) -> Assessment:
        return cls(
            **_summary_fields(data),
            sections=tuple(
                Section(s["title"], tuple(s["paragraphs"]), s.get("anchor"), _kind(s.get("kind")))
                for s in data["sections"]
            ),
            faqs=tuple(FAQ(f["question"], f["answer"], f.get("anchor")) for f in data["faqs"]),
        )

    def summary(self) -> PageSummary:
        """What serving keeps of the page."""
        return PageSummary(**{f.name: getattr(self, f.name) for f in fields(PageSummary)})

    def section(self, which: SectionKind | str) -> Section | None:
        """The first section of this kind, or whose title starts with this text."""
        if isinstance(which, SectionKind):
            return next((s for s in self.sections if s.kind is which), None)
        prefix = which.lower()
        return next((s for s in self.sections if s.title.lower().startswith(prefix)), None)


def _kind(value: str | None) -> SectionKind | None:
    return SectionKind(value) if value else None


def content_id(assessment: Assessment) -> str:
    """Stable id from what the page says (not where the file lives, nor the kinds the
    page schema gives its sections)."""
    data = assessment.to_dict()
    for key in ("id", "source", "aliases"):
        data.pop(key)
    for section in data["sections"]:
        section.pop("kind")
    payload = json.dumps(data, sort_keys=True, ensure_ascii=False).encode()
    return hashlib.sha256(payload).hexdigest()[:16]


class PageError(ValueError):
    """A page that cannot be used; message names the file and what is wrong."""

    def __init__(self, source: str, reason: str) -> None:
        super().__init__(f"{source}: {reason}")
        self.source = source
        self.reason = reason

    def __reduce__(self) -> tuple[type[PageError], tuple[str, str]]:
        # The default pickling replays args=(message,), which this __init__ cannot take.
        return (PageError, (self.source, self.reason))


@dataclass(frozen=True)
class PageProblem:
    source: str
    reason: str


@dataclass
class CorpusLoad:
    assessments: list[Assessment]
    problems: list[PageProblem]
    # assessment id -> page_key of the file it was parsed from (the build's parse cache)
    keys: dict[str, str] = field(default_factory=dict)
