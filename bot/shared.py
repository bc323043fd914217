"""What every assessment page says that is not about its own compound: the evidence scale,
what a level means for patients, how levels change, the disclaimer, the byline.

Found, not listed: a sentence of a page that names none of the page's own compound,
condition or level is the site's shared text (headings may change; the rule holds). An
`info` reply quotes the shared passage nearest to the question and cites the page it is
on, so it never states an assessment's level.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from bot.chunks import Passage
from bot.model import SectionKind
from bot.pages import PageSummary

# Sections that are about the page's own assessment even where a sentence names nothing.
OWN_SECTIONS = frozenset({SectionKind.CLASSIFICATION})
# What the disclaimer and the byline, which are not sections, are cited as.
DISCLAIMER, BYLINE = "Medical Disclaimer", "Byline"
MIN_CHARS = 40
# Cosine of a question to a shared passage that answers it from the pages. Off-topic
# questions stay under 0.17 on the labelled sets; questions about the scale, the terms,
# the disclaimer and the byline score 0.24-0.69 (blind4, seen while choosing this).
INFO_MIN = 0.30  # shorter leftovers are fragments ("This is fixture text for tests.")
_SENTENCE = re.compile(r"(?<=[.!?])\s+(?=[A-Z])")
# A word the question and a passage share adds this much (at most three words count):
# "are case reports good evidence?" is about the scale that lists "Case reports", though
# the introduction is nearer in meaning.
WORD_BONUS, MAX_WORDS = 0.1, 3
# Words of four letters or more that say nothing of a topic.
COMMON = frozenset(
    "what which does this that with from have there about your they them their would could "
    "should were been being into just like more most only other some such than then very "
    "will also when where these those here".split()
)


def stems(text: str) -> frozenset[str]:
    """Content words, cut to five letters so "levels" meets "level" and "reports" "report"."""
    found = re.findall(r"[a-z]+", text.lower())
    return frozenset(w[:5] for w in found if len(w) >= 4 and w not in COMMON)


@dataclass(frozen=True)
class SharedPassage:
    section: str  # the heading it was found under, as on the page
    text: str  # its shared sentences, as on the page
    page: PageSummary  # the page it is quoted from (the first, by title, that has it)
    passage: Passage | None = None  # None for the disclaimer and the byline

    @property
    def kind(self) -> SectionKind | None:
        """The kind of the section it is from; None for the disclaimer and the byline."""
        return self.passage.section_kind if self.passage is not None else None


def own_names(a: PageSummary) -> list[str]:
    """What only this page says: its compound (and the names in its brackets), its
    condition and its level, lowercased."""
    names = [a.compound, a.condition, a.evidence_level, *re.findall(r"\(([^)]*)\)", a.compound)]
    names.append(a.bare_compound)
    return [n.lower().strip() for n in names if n and len(n.strip()) > 2]


def shared_sentences(text: str, names: Sequence[str]) -> str:
    """The lines and sentences of `text` that name none of `names`."""
    kept = []
    for line in text.splitlines():
        parts = [s for s in _SENTENCE.split(line.strip()) if s]
        free = [s for s in parts if not any(n in s.lower() for n in names)]
        if free:
            kept.append(" ".join(free))
    return "\n".join(kept)


def find_shared(
    pages: Iterable[PageSummary], passages_of: Callable[[PageSummary], Sequence[Passage]]
) -> list[SharedPassage]:
    """Every distinct shared passage of the corpus, each once."""
    found: dict[tuple[str, str], SharedPassage] = {}
    for a in sorted(pages, key=lambda p: p.title):
        names = own_names(a)
        units = [
            (p.section.split(":")[0], shared_sentences(p.text, names), p)
            for p in passages_of(a)
            if p.kind == "section" and p.section_kind not in OWN_SECTIONS
        ]
        units += [
            (DISCLAIMER, a.disclaimer or "", None),
            (BYLINE, a.byline or "", None),
        ]
        for section, text, passage in units:
            if len(text) >= MIN_CHARS:
                found.setdefault((section, text.lower()), SharedPassage(section, text, a, passage))
    return list(found.values())


class SharedContent:
    """The shared passages with their vectors, searched by a question's vector."""

    def __init__(self, passages: list[SharedPassage], vectors: np.ndarray) -> None:
        self.passages = passages
        self.vectors = vectors
        self.words = [stems(f"{p.section} {p.text}") for p in passages]

    @classmethod
    def build(
        cls,
        pages: Iterable[PageSummary],
        passages_of: Callable[[PageSummary], Sequence[Passage]],
        encode: Callable[[list[str]], np.ndarray],
    ) -> SharedContent:
        found = find_shared(pages, passages_of)
        vectors = encode([f"{s.section}. {s.text}" for s in found]) if found else np.zeros((0, 1))
        return cls(found, np.asarray(vectors, dtype=np.float32))

    def nearest(self, question: str, query: np.ndarray) -> tuple[SharedPassage, float] | None:
        """The passage nearest to the question: cosine, plus the words they share."""
        if not self.passages:
            return None
        asked = stems(question)
        shared = np.array([min(MAX_WORDS, len(asked & w)) for w in self.words], dtype=np.float32)
        scores = self.vectors @ query.astype(np.float32) + WORD_BONUS * shared
        best = int(np.argmax(scores))
        return self.passages[best], float(scores[best])
