"""From a question to the assessments it may be about and their best passages.

Entities first: a question is only ever answered from the assessments whose compound
and condition fit what it names. Within those, dense scores rank passages, and the
question's intent (mechanism, trials, ...) routes to the matching section or FAQ pair.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from cachetools import LRUCache

from bot import page_schema, rules
from bot.chunks import Passage
from bot.embedding import Embedder
from bot.entities import Lexicon
from bot.index import Index
from bot.model import Entities, SectionKind
from bot.pages import PageSummary
from bot.policy import Catalogue
from bot.text import Normalised, fold

# Intents are rules as data (bot/data/rules/intents.yaml), checked in file order.
INTENTS = rules.load("intents")


# Subjects the site's assessments do not usually discuss (bot/data/rules/subjects.yaml).
SUBJECTS = rules.load("subjects")
# What each subject sounds like on a page that discusses it.
SPOKEN = {r["kind"]: re.compile(r["spoken"]) for r in rules.records("subjects")}


def missing_subject(question: str, passages: Sequence[Passage]) -> str | None:
    """The subject the question asks about that none of the page's passages mentions."""
    text = question.lower()
    for rule in SUBJECTS:
        spoken = SPOKEN[rule.kind]
        if rule.matches(text) and not any(spoken.search(p.text.lower()) for p in passages):
            return rule.kind
    return None


def intent_of(question: str | Normalised) -> str:
    """The kind of the first intent rule the message matches (typos corrected), else
    "general"."""
    text = question.folded if isinstance(question, Normalised) else fold(question)
    rule = rules.first(INTENTS, text)
    return rule.kind if rule else "general"


# Reciprocal rank fusion constant (the usual 60): ranks, not raw scores, are combined, so
# cosine and BM25 need no common scale.
RRF_K = 60
# Passages ranked per scoped search: more than any one page has.
MAX_SCOPE = 10_000


@dataclass(frozen=True)
class Hit:
    passage: Passage
    assessment: PageSummary
    score: float  # cosine similarity of the question to the passage
    on_target: bool = False  # the passage is where the question's intent is answered


class Retriever:
    def __init__(
        self,
        index: Index,
        embedder: Embedder,
        lexicon: Lexicon,
        top_k: int = 5,
        cache_size: int = 4096,
    ):
        self.index = index
        self.embedder = embedder
        self.lexicon = lexicon
        self.top_k = top_k
        self.catalogue = Catalogue.of(index.assessments.values())
        # Repeated questions (suggestion chips, the same FAQ asked by many) skip the model.
        self._vectors: LRUCache[str, np.ndarray] = LRUCache(cache_size)
        self._lock = threading.Lock()

    def entities(self, question: str) -> Entities:
        return self.lexicon.resolve(question)

    def candidates(self, entities: Entities) -> list[PageSummary]:
        """Assessments whose compound and condition fit every half the question names."""
        return self.catalogue.fitting(entities)

    def embed(self, question: str) -> np.ndarray:
        return self.embed_many([question])[0]

    def embed_many(self, texts: Sequence[str]) -> np.ndarray:
        """Vectors of these texts, the ones not seen lately encoded in one batch: repeated
        questions (suggestion chips, the same FAQ asked by many) skip the model, and triage
        and retrieval share the vector of a one-sentence message."""
        with self._lock:
            known = {t: v for t in texts if (v := self._vectors.get(t)) is not None}
        missing = list(dict.fromkeys(t for t in texts if t not in known))
        if missing:
            encoded = self.embedder.encode(missing)
            with self._lock:
                for text, vector in zip(missing, encoded, strict=True):
                    vector.setflags(write=False)  # shared by every later hit of the cache
                    self._vectors[text] = vector
                    known[text] = vector
        return np.stack([known[t] for t in texts])

    def warm(self, texts: Sequence[str]) -> None:
        """Encode the texts not in the vector cache yet in one batched call of the model, so
        the replies that embed them later find them there (many messages answered in a row,
        as `bot eval` does, cost a few batched calls rather than one per message). Only as
        many distinct texts as the cache holds are warmed, so none evicts another."""
        distinct = list(dict.fromkeys(texts))[: self._vectors.maxsize]
        if distinct:
            self.embed_many(distinct)

    def search(
        self,
        question: str,
        assessments: Sequence[PageSummary],
        intent: str,
        top_k: int | None = None,
        query: np.ndarray | None = None,
    ) -> list[Hit]:
        """Passages of these assessments: on-target sections first, then dense and BM25
        rankings fused (reciprocal rank fusion)."""
        query = self.embed(question) if query is None else query
        ids = [a.id for a in assessments]
        dense = self.index.search(query, MAX_SCOPE, ids)
        lexical = self.index.lexical_search(question, MAX_SCOPE, ids)
        fused: dict[str, float] = {}
        for ranking in (dense, lexical):
            for rank, (passage, _) in enumerate(ranking):
                fused[passage.id] = fused.get(passage.id, 0.0) + 1.0 / (RRF_K + rank + 1)
        # Where the intent's answer lives on a page (bot/data/page_schema.yaml), in order.
        targets = page_schema.load().targets(intent)

        def target_rank(passage: Passage) -> int:
            kind = passage.section_kind or SectionKind.OTHER
            hits = [i for i, t in enumerate(targets) if t.fits(kind, passage.question)]
            return min(hits) if hits else len(targets)

        ordered = sorted(dense, key=lambda item: (target_rank(item[0]), -fused[item[0].id]))
        return [
            Hit(p, self.index.assessments[p.assessment_id], s, target_rank(p) < len(targets))
            for p, s in ordered[: top_k or self.top_k]
        ]

    def nearest(self, question: str, top_k: int | None = None) -> list[Hit]:
        """Whole-index search; used only to suggest questions, never to answer."""
        found = self.index.search(self.embed(question), top_k or self.top_k)
        return [Hit(p, self.index.assessments[p.assessment_id], s) for p, s in found]
