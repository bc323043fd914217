"""A loaded index: dense and BM25 search over its passages, whole or scoped to pages."""

from __future__ import annotations

import threading
from collections.abc import Collection, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import faiss
import numpy as np

from bot.chunks import Passage
from bot.index import durable
from bot.index.lexical import LexicalIndex
from bot.index.passages import Passages
from bot.index.vectors import VectorRows
from bot.pages import PageSummary

if TYPE_CHECKING:  # the store opens builds into an Index: a runtime import would be a cycle
    from bot.index.store import Manifest


class Index:
    """A loaded index: passages in FAISS row order plus their assessments."""

    def __init__(
        self,
        path: Path,
        manifest: Manifest,
        assessments: Sequence[PageSummary],
        passages: Sequence[Passage],
        vectors: faiss.Index,
        rows: dict[str, tuple[int, int]] | None = None,
        lexical: LexicalIndex | None = None,
        vector_rows: VectorRows | None = None,
    ) -> None:
        self.path = path
        self.vector_rows = vector_rows
        self.manifest = manifest
        self.assessments = {a.id: a for a in assessments}
        self.passages = passages
        self.faiss = vectors
        # Each assessment's passages are consecutive rows [start, stop).
        self._rows = rows if rows is not None else row_ranges(passages)
        # A loaded build brings its BM25 weights; otherwise they are made on first use.
        self._lexical = lexical
        self._lexical_lock = threading.Lock()
        self._row_of_id: dict[str, int] | None = None
        # Each served file's (inode, size, mtime) when it was checked at load; see damage().
        self.files: dict[str, tuple[int, int, int]] = {}

    def damage(self) -> str | None:
        """Why the loaded build's files can no longer be trusted (changed on disk since they
        were loaded and checked), or None. A few stat() calls: cheap enough for /healthz."""
        for name, identity in self.files.items():
            try:
                now = durable.identity(self.path / name)
            except OSError:
                return f"{name} of build {self.path.name} is gone"
            if now != identity:
                return f"{name} of build {self.path.name} changed on disk while being served"
        return None

    def passage_ids(self) -> list[str]:
        """Every passage's id in row order (without decoding a memory-mapped passages file)."""
        if isinstance(self.passages, Passages):
            return self.passages.ids()
        return [p.id for p in self.passages]

    def passages_by_id(self, ids: Collection[str]) -> dict[str, Passage]:
        """The passages with these ids that this index has (staff pages, evaluation)."""
        with self._lexical_lock:
            if self._row_of_id is None:
                self._row_of_id = {pid: row for row, pid in enumerate(self.passage_ids())}
            rows = {i: self._row_of_id[i] for i in ids if i in self._row_of_id}
        return {i: self.passages[row] for i, row in rows.items()}

    def rows_of(self, assessment_id: str) -> np.ndarray:
        start, stop = self._rows.get(assessment_id, (0, 0))
        return np.arange(start, stop, dtype=np.int64)

    def search(
        self, query: np.ndarray, k: int, assessment_ids: Sequence[str] | None = None
    ) -> list[tuple[Passage, float]]:
        """Top-k passages by cosine similarity, optionally only from some assessments."""
        query = np.asarray(query, dtype=np.float32).reshape(1, -1)
        if assessment_ids is None:
            k = min(k, self.faiss.ntotal)
            if k == 0:
                return []
            scores, rows = self.faiss.search(query, k)
            return [
                (self.passages[r], float(s))
                for r, s in zip(rows[0], scores[0], strict=True)
                if r >= 0
            ]
        # Scoped search scores only the scope's rows, so its cost does not grow with the
        # rest of the corpus.
        rows = self._scope_rows(assessment_ids)
        if rows.size == 0:
            return []
        if self.vector_rows is not None:
            vectors = self.vector_rows.rows(rows)
        else:
            vectors = self.faiss.reconstruct_batch(rows)
        scores = vectors @ query[0]
        order = np.argsort(-scores)[:k]
        return [(self.passages[int(rows[i])], float(scores[i])) for i in order]

    def _scope_rows(self, assessment_ids: Sequence[str]) -> np.ndarray:
        return np.concatenate([self.rows_of(a) for a in assessment_ids] or [np.zeros(0, "i8")])

    @property
    def lexical(self) -> LexicalIndex:
        with self._lexical_lock:
            if self._lexical is None:
                self._lexical = LexicalIndex.build(self.passages)
            return self._lexical

    def lexical_search(
        self, question: str, k: int, assessment_ids: Sequence[str] | None = None
    ) -> list[tuple[Passage, float]]:
        """Top-k passages by BM25, optionally only from some assessments (score > 0 only)."""
        if assessment_ids is None:
            rows = np.arange(len(self.passages))
            picked = self.lexical.scores(question)
        else:
            rows = self._scope_rows(assessment_ids)
            picked = self.lexical.scores_for(question, rows)
        if rows.size == 0:
            return []
        order = np.argsort(-picked, kind="stable")[:k]
        return [(self.passages[int(rows[i])], float(picked[i])) for i in order if picked[i] > 0]


def row_ranges(passages: Sequence[Passage]) -> dict[str, tuple[int, int]]:
    """Each assessment's passages as rows [start, stop); they must be consecutive."""
    ranges: dict[str, tuple[int, int]] = {}
    for row, passage in enumerate(passages):
        start, _ = ranges.get(passage.assessment_id, (row, row))
        if _ != row:
            raise ValueError(f"the passages of {passage.assessment_id} are not consecutive")
        ranges[passage.assessment_id] = (start, row + 1)
    return ranges
