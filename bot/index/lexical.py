"""BM25 over the passages: term counts stored with a build, weights derived on load."""

from __future__ import annotations

import io
import json
import threading
from collections.abc import Sequence
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
from scipy import sparse

from bot.chunks import Passage
from bot.index import durable

BM25_FILES = ("bm25.vocab.json", "bm25.counts.npy", "bm25.indices.npy", "bm25.indptr.npy")
# bm25s's defaults (the Lucene variant of BM25).
BM25_K1 = 1.5
BM25_B = 0.75


_stemmers = threading.local()


@cache
def _bm25() -> Any:
    import bm25s
    import bm25s.tokenization

    # bm25s builds a (disabled) tqdm bar per call even with show_progress=False: about a
    # quarter of a millisecond per question, measured. Its own no-op stands in for it.
    bm25s.tokenization.tqdm = bm25s.tokenization._faketqdm
    return bm25s


def _stemmer() -> Any:
    """An English stemmer per thread (made once each; PyStemmer's are not thread-safe)."""
    stemmer = getattr(_stemmers, "english", None)
    if stemmer is None:
        import Stemmer

        stemmer = _stemmers.english = Stemmer.Stemmer("english")
    return stemmer


def _tokenize(texts: list[str], ids: bool) -> Any:
    return _bm25().tokenize(
        texts, stopwords="en", stemmer=_stemmer(), show_progress=False, return_ids=ids
    )


def _csr_entries(indptr: np.ndarray, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Positions of these rows' stored entries in CSR arrays, and each row's entry count."""
    starts = indptr[rows]
    lengths = indptr[rows + 1] - starts
    offsets = np.repeat(starts - np.cumsum(lengths) + lengths, lengths)
    return offsets + np.arange(int(lengths.sum())), lengths


class LexicalIndex:
    """BM25 over the passages (bm25s's tokenizer: stemmed, English stopwords removed).

    A build stores each passage's term counts (passage-major CSR arrays) and the vocabulary;
    the BM25 weights (the Lucene variant, as bm25s computes them) are derived array-wise on
    load. Scoring a page's few passages reads only their entries, and a rebuild tokenises
    only the passages it has not seen (counts are keyed by passage id, like the vectors).
    """

    def __init__(
        self, vocab: dict[str, int], indptr: np.ndarray, indices: np.ndarray, counts: np.ndarray
    ) -> None:
        self.vocab = vocab
        self.indptr, self.indices, self.counts = indptr, indices, counts
        self.size = len(indptr) - 1
        lengths = np.add.reduceat(counts, indptr[:-1]) if counts.size else np.zeros(self.size)
        lengths[np.diff(indptr) == 0] = 0  # reduceat repeats the next value for empty rows
        df = np.bincount(indices, minlength=max(len(vocab), 1)).astype(np.float64)
        idf = np.log(1 + (self.size - df + 0.5) / (df + 0.5)).astype(np.float32)
        average = float(lengths.mean()) if self.size and lengths.mean() else 1.0
        norm = (BM25_K1 * ((1 - BM25_B) + BM25_B * lengths / average)).astype(np.float32)
        owner = np.repeat(np.arange(self.size), np.diff(indptr))
        self.data = (idf[indices] * (counts / (norm[owner] + counts))).astype(np.float32)

    @classmethod
    def build(
        cls,
        passages: Sequence[Passage],
        previous: LexicalIndex | None = None,
        previous_rows: dict[str, int] | None = None,
    ) -> LexicalIndex:
        """Count the passages' terms; those in `previous` (row by passage id) are reused."""
        vocab = dict(previous.vocab) if previous is not None else {}
        known = previous_rows if previous is not None and previous_rows else {}
        fresh = [i for i, p in enumerate(passages) if p.id not in known]
        tokens = _tokenize([passages[i].embed_text for i in fresh], ids=False) if fresh else []
        # (passage row, token id, count) of every entry, in pieces; empty pieces keep
        # np.concatenate valid when there is nothing to add.
        rows: list[np.ndarray] = [np.zeros(0, np.int64)]
        cols: list[np.ndarray] = [np.zeros(0, np.int64)]
        vals: list[np.ndarray] = [np.zeros(0, np.float32)]
        reused = np.asarray([i for i, p in enumerate(passages) if p.id in known], dtype=np.int64)
        if reused.size and previous is not None:
            old_rows = np.asarray([known[passages[int(i)].id] for i in reused], dtype=np.int64)
            entries, lengths = _csr_entries(previous.indptr, old_rows)
            rows.append(np.repeat(reused, lengths))
            cols.append(np.asarray(previous.indices[entries], dtype=np.int64))
            vals.append(np.asarray(previous.counts[entries], dtype=np.float32))
        for row, words in zip(fresh, tokens, strict=True):
            ids = [vocab.setdefault(w, len(vocab)) for w in words]
            rows.append(np.full(len(ids), row, dtype=np.int64))
            cols.append(np.asarray(ids, dtype=np.int64))
            vals.append(np.ones(len(ids), dtype=np.float32))
        tf = sparse.csr_matrix(
            (np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))),
            shape=(len(passages), max(len(vocab), 1)),
        )
        tf.sum_duplicates()
        tf.sort_indices()
        return cls(
            vocab,
            tf.indptr.astype(np.int64),
            tf.indices.astype(np.int32),
            tf.data.astype(np.float32),
        )

    def save(self, folder: Path) -> None:
        durable.write(folder / "bm25.vocab.json", json.dumps(self.vocab).encode())
        for name, array in (
            ("counts", self.counts),
            ("indices", self.indices),
            ("indptr", self.indptr),
        ):
            buffer = io.BytesIO()
            np.save(buffer, array)
            durable.write(folder / f"bm25.{name}.npy", buffer.getvalue())

    @classmethod
    def load(cls, folder: Path) -> LexicalIndex:
        def array(name: str, mapped: bool) -> np.ndarray:
            return np.load(folder / f"bm25.{name}.npy", mmap_mode="r" if mapped else None)

        vocab = json.loads((folder / "bm25.vocab.json").read_text())
        # What questions read is in memory (a mapped file truncated while serving kills the
        # process); the counts are read once here and again only by the next build.
        return cls(vocab, array("indptr", False), array("indices", False), array("counts", True))

    def _token_ids(self, question: str) -> np.ndarray:
        [tokens] = _tokenize([question], ids=False)
        return np.asarray(
            [self.vocab[t] for t in dict.fromkeys(tokens) if t in self.vocab], dtype=np.int64
        )

    def _sum(self, entries: np.ndarray, lengths: np.ndarray, ids: np.ndarray) -> np.ndarray:
        wanted = np.isin(self.indices[entries], ids)
        owner = np.repeat(np.arange(lengths.size), lengths)[wanted]
        totals = np.bincount(owner, weights=self.data[entries][wanted], minlength=lengths.size)
        return totals.astype(np.float32)

    def scores_for(self, question: str, rows: np.ndarray) -> np.ndarray:
        """BM25 scores of these passages only (global statistics, scope-sized cost)."""
        ids = self._token_ids(question)
        if not ids.size or rows.size == 0:
            return np.zeros(rows.size, dtype=np.float32)
        entries, lengths = _csr_entries(self.indptr, rows)
        return self._sum(entries, lengths, ids)

    def scores(self, question: str) -> np.ndarray:
        """BM25 scores of every passage (the evaluation's BM25-only baseline)."""
        ids = self._token_ids(question)
        if not ids.size or not self.size:
            return np.zeros(self.size, dtype=np.float32)
        return self._sum(np.arange(int(self.indptr[-1])), np.diff(self.indptr), ids)
