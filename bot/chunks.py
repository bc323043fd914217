"""Split an Assessment into Passages: section paragraph groups and FAQ pairs."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

from bot import page_schema
from bot.model import SectionKind
from bot.pages import Assessment

# Paragraphs of one section are grouped up to about this many characters, so a passage
# stays a readable quote and within the embedding model's 256-token window.
MAX_PASSAGE_CHARS = 900


@dataclass(frozen=True)
class Passage:
    id: str
    assessment_id: str
    section: str
    kind: Literal["section", "faq"]
    text: str
    question: str | None = None
    anchor: str | None = None
    # The kind of the section it is from (FAQ for a pair), as the parser gave it: routing
    # reads this, never the heading. None: read from `section` by the page schema.
    section_kind: SectionKind | None = None

    def __post_init__(self) -> None:
        if self.section_kind is None:
            kind = SectionKind.FAQ if self.kind == "faq" else page_schema.kind_of(self.section)
            object.__setattr__(self, "section_kind", kind)

    @property
    def embed_text(self) -> str:
        """Text given to the embedder: the section (or FAQ question) adds context."""
        head = self.question or self.section
        return f"{head}\n{self.text}"

    def to_dict(self) -> dict[str, object]:
        return {
            "id": self.id,
            "assessment_id": self.assessment_id,
            "section": self.section,
            "kind": self.kind,
            "text": self.text,
            "question": self.question,
            "anchor": self.anchor,
            "section_kind": self.section_kind,
        }

    @classmethod
    def from_dict(cls, data: dict) -> Passage:
        kind = data.get("section_kind")
        return cls(**{**data, "section_kind": SectionKind(kind) if kind else None})


def passage_id(assessment_id: str, section: str, text: str) -> str:
    payload = "\x1f".join((assessment_id, section, text)).encode()
    return hashlib.sha256(payload).hexdigest()[:16]


def _groups(paragraphs: Iterable[str], limit: int) -> list[str]:
    groups: list[list[str]] = [[]]
    size = 0
    for para in paragraphs:
        if groups[-1] and size + len(para) > limit:
            groups.append([])
            size = 0
        groups[-1].append(para)
        size += len(para) + 1
    return ["\n".join(g) for g in groups if g]


def chunk(assessment: Assessment, max_chars: int = MAX_PASSAGE_CHARS) -> list[Passage]:
    passages: list[Passage] = []
    for section in assessment.sections:
        for text in _groups(section.paragraphs, max_chars):
            passages.append(
                Passage(
                    id=passage_id(assessment.id, section.title, text),
                    assessment_id=assessment.id,
                    section=section.title,
                    kind="section",
                    text=text,
                    anchor=section.anchor,
                    section_kind=section.kind,
                )
            )
    for faq in assessment.faqs:
        passages.append(
            Passage(
                id=passage_id(assessment.id, faq.question, faq.answer),
                assessment_id=assessment.id,
                section=page_schema.load().spec(SectionKind.FAQ).heading,
                kind="faq",
                text=faq.answer,
                question=faq.question,
                anchor=faq.anchor,
                section_kind=SectionKind.FAQ,
            )
        )
    # Identical text under the same heading would give the same id twice; keep one.
    unique = {p.id: p for p in passages}
    return list(unique.values())
