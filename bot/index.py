"""The FAISS index with its passages and manifest, written atomically and verified on load.

Layout of the index folder:

    CURRENT                  name of the active build (replaced atomically)
    builds/<name>/           vectors.faiss, passages.jsonl, assessments.json, bm25.*,
                             manifest.json

Serving reads a build without copying it into Python objects: the vectors, the passages
file and the BM25 weights are memory-mapped (a passage is decoded when it is cited), and
assessments.json holds only what answers use (the sections and FAQs are the passages).

A build is written into `builds/<name>.tmp-<pid>`, fsynced, renamed, and only then is
CURRENT switched; a crash at any point leaves the previous index (or none) in place.
The manifest records a SHA-256 for every file, so a truncated or altered file is caught.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import math
import os
import re
import shutil
import threading
import time
from collections.abc import Callable, Collection, Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import Any, overload

import faiss
import numpy as np
from scipy import sparse

from bot.chunks import Passage, chunk
from bot.embedding import Embedder
from bot.pages import Assessment

FORMAT_VERSION = 3
CURRENT = "CURRENT"
BUILDS = "builds"
BM25_FILES = ("bm25.vocab.json", "bm25.counts.npy", "bm25.indices.npy", "bm25.indptr.npy")
FILES = ("vectors.faiss", "passages.jsonl", "assessments.json", *BM25_FILES)
# The whole parsed pages by page_key, for the next build (not read when serving; checked
# against its manifest checksum before it is used).
PAGES_FILE = "pages.json"
# bm25s's defaults (the Lucene variant of BM25).
BM25_K1 = 1.5
BM25_B = 0.75
BATCH = 64
KEEP_BUILDS = 2
# Above this many passages the whole-index search is approximate (IVF, NPROBE lists of
# about 4*sqrt(n)); the bench measures its recall@5 against exact search.
APPROX_ABOVE = 200_000
NPROBE = 48


class IndexUnavailable(Exception):
    """The index cannot be used; the message says why and what to do."""


class IndexMissing(IndexUnavailable):
    pass


class IndexCorrupt(IndexUnavailable):
    pass


class IndexOutdated(IndexMissing):
    """Written by an older version of the bot: rebuilt, like a missing index."""


@dataclass(frozen=True)
class Manifest:
    format_version: int
    model: str
    dims: int
    corpus_hash: str
    built_at: str
    assessments: int
    passages: int
    files: dict[str, str]

    @property
    def digest(self) -> str:
        """Hash of the whole manifest: names this exact index (for audit records)."""
        payload = json.dumps(asdict(self), sort_keys=True).encode()
        return hashlib.sha256(payload).hexdigest()[:16]


class Index:
    """A loaded index: passages in FAISS row order plus their assessments."""

    def __init__(
        self,
        path: Path,
        manifest: Manifest,
        assessments: Sequence[Assessment],
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
        self._rows = rows if rows is not None else _row_ranges(passages)
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
                now = _identity(self.path / name)
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


def _row_ranges(passages: Sequence[Passage]) -> dict[str, tuple[int, int]]:
    ranges: dict[str, tuple[int, int]] = {}
    for row, passage in enumerate(passages):
        start, _ = ranges.get(passage.assessment_id, (row, row))
        if _ != row:
            raise ValueError(f"the passages of {passage.assessment_id} are not consecutive")
        ranges[passage.assessment_id] = (start, row + 1)
    return ranges


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
        _fsync_write(folder / "bm25.vocab.json", json.dumps(self.vocab).encode())
        for name, array in (
            ("counts", self.counts),
            ("indices", self.indices),
            ("indptr", self.indptr),
        ):
            buffer = io.BytesIO()
            np.save(buffer, array)
            _fsync_write(folder / f"bm25.{name}.npy", buffer.getvalue())

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


class VectorRows:
    """Rows of a flat vectors.faiss read with pread, for scoped search: faiss's memory map
    would kill the process (SIGBUS) if the file were truncated while serving; a short
    read is IndexCorrupt instead. The codes of an IndexFlat are the file's last bytes."""

    def __init__(self, path: Path, vectors: faiss.Index) -> None:
        self.path, self.dim = path, vectors.d
        self._fd = os.open(path, os.O_RDONLY)
        self._row = vectors.d * 4
        self.offset = os.fstat(self._fd).st_size - vectors.ntotal * self._row
        if vectors.ntotal and not all(
            np.array_equal(self.read(r, r + 1)[0], vectors.reconstruct(r))
            for r in (0, vectors.ntotal - 1)
        ):
            raise ValueError(f"{path}: not the layout of a flat index")

    def __del__(self) -> None:
        with contextlib.suppress(AttributeError, OSError):
            os.close(self._fd)

    def read(self, start: int, stop: int) -> np.ndarray:
        size = (stop - start) * self._row
        raw = os.pread(self._fd, size, self.offset + start * self._row)
        if len(raw) != size:
            raise IndexCorrupt(f"{self.path} is shorter than when it was loaded (truncated)")
        return np.frombuffer(raw, dtype=np.float32).reshape(stop - start, self.dim)

    def rows(self, rows: np.ndarray) -> np.ndarray:
        """These rows (runs of consecutive rows, as scopes are), one read per run."""
        breaks = np.flatnonzero(np.diff(rows) != 1) + 1
        runs = np.split(rows, breaks)
        return np.concatenate([self.read(int(r[0]), int(r[-1]) + 1) for r in runs if r.size])


class Passages(Sequence[Passage]):
    """A build's passages.jsonl, read a passage at a time (pread) when it is cited, so a
    server holds the few it cites rather than the whole corpus as Python objects.

    Not memory-mapped: a mapped file that is truncated while serving kills the process
    (SIGBUS) on the next read; pread returns short instead, which is IndexCorrupt (a 503).
    The pages still come from the page cache, shared by every process that reads them.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self._fd = os.open(path, os.O_RDONLY)
        self._size = os.fstat(self._fd).st_size
        ends: list[np.ndarray] = []
        offset = 0
        while offset < self._size:
            block = os.pread(self._fd, 8 << 20, offset)
            if not block:
                break
            ends.append(np.flatnonzero(np.frombuffer(block, dtype=np.uint8) == 10) + offset)
            offset += len(block)
        self._ends = np.concatenate(ends) if ends else np.zeros(0, np.int64)
        self._starts = np.concatenate([[0], self._ends[:-1] + 1]).astype(np.int64)

    def __del__(self) -> None:
        with contextlib.suppress(AttributeError, OSError):
            os.close(self._fd)

    def _read(self, start: int, stop: int) -> bytes:
        raw = os.pread(self._fd, stop - start, start)
        if len(raw) != stop - start:
            raise IndexCorrupt(f"{self.path} is shorter than when it was loaded (truncated)")
        return raw

    def __len__(self) -> int:
        return int(self._ends.size)

    def ids(self) -> list[str]:
        """Each passage's id, read off the start of its line (the build writes `id` first),
        decoding the lines only if that layout is not there."""
        whole = self._read(0, self._size) if self._size else b""
        found = [m.decode() for m in re.findall(rb'^\{"id": "([^"\\]*)"', whole, re.M)]
        if len(found) == len(self):
            return found
        return [p.id for p in self]

    def __eq__(self, other: object) -> bool:
        # Equal to any sequence of the same passages, like a list would be.
        if not isinstance(other, Sequence) or isinstance(other, str):
            return NotImplemented
        return len(self) == len(other) and all(a == b for a, b in zip(self, other, strict=True))

    __hash__ = None  # type: ignore[assignment]

    @overload
    def __getitem__(self, i: int) -> Passage: ...
    @overload
    def __getitem__(self, i: slice) -> list[Passage]: ...
    def __getitem__(self, i: int | slice) -> Passage | list[Passage]:
        if isinstance(i, slice):
            return [self[j] for j in range(*i.indices(len(self)))]
        if not -len(self) <= i < len(self):
            raise IndexError(i)
        i %= len(self)
        raw = self._read(int(self._starts[i]), int(self._ends[i]))
        try:
            return Passage.from_dict(json.loads(raw))
        except (ValueError, KeyError, TypeError) as exc:  # bytes overwritten while serving
            raise IndexCorrupt(f"{self.path}: passage {i} is unreadable ({exc})") from exc


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _fsync_write(path: Path, data: bytes) -> None:
    with path.open("wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def embed_passages(
    passages: Sequence[Passage],
    embedder: Embedder,
    progress: Callable[[int], None] | None = None,
    known: dict[str, np.ndarray] | None = None,
) -> np.ndarray:
    """Vectors in passage order; passages in `known` (by content id) are not re-embedded."""
    out = np.zeros((len(passages), embedder.dim), dtype=np.float32)
    known = known or {}
    todo = []
    for row, passage in enumerate(passages):
        if passage.id in known:
            out[row] = known[passage.id]
        else:
            todo.append(row)
    if progress and len(todo) < len(passages):
        progress(len(passages) - len(todo))
    for start in range(0, len(todo), BATCH):
        rows = todo[start : start + BATCH]
        out[rows] = embedder.encode([passages[r].embed_text for r in rows])
        if progress:
            progress(len(rows))
    return out


@dataclass
class Reusable:
    """What a rebuild takes from the published build rather than computing it again."""

    vectors: dict[str, np.ndarray]  # by passage id; only from a build by the same model
    lexical: LexicalIndex | None = None
    lexical_rows: dict[str, int] | None = None  # passage id -> row of `lexical`


def reusable(index_dir: Path, model: str) -> Reusable:
    """The published build's vectors (when made by this model) and term counts, by passage
    id: an edited page is re-embedded and re-tokenised, the unchanged rest is reused."""
    try:
        previous = load(index_dir)
    except IndexUnavailable:
        return Reusable({})
    ids = previous.passage_ids()
    rows = {pid: row for row, pid in enumerate(ids)}
    vectors: dict[str, np.ndarray] = {}
    if previous.manifest.model == model and previous.faiss.ntotal:
        stored = previous.faiss.reconstruct_n(0, previous.faiss.ntotal)
        vectors = {pid: stored[row] for row, pid in enumerate(ids)}
    return Reusable(vectors, previous.lexical, rows)


def reusable_pages(index_dir: Path) -> dict[str, Assessment]:
    """The published build's parsed pages by page_key (none if absent or altered)."""
    try:
        path = current_build(index_dir)
        expected = _read_manifest(path).files.get(PAGES_FILE)
        if expected is None or _sha256(path / PAGES_FILE) != expected:
            return {}
        pages = json.loads((path / PAGES_FILE).read_text())
        return {key: Assessment.from_dict(data) for key, data in pages.items()}
    except (IndexUnavailable, OSError, ValueError, KeyError, TypeError):
        return {}


def vector_index(vectors: np.ndarray, dim: int) -> faiss.Index:
    """Exact inner product up to APPROX_ABOVE vectors; an IVF index above, so whole-index
    search stays fast on very large corpora (scoped search never scans it)."""
    count = len(vectors)
    if count <= APPROX_ABOVE:
        flat = faiss.IndexFlatIP(dim)
        if count:
            flat.add(vectors)
        return flat
    return approximate_index(vectors, dim)


def approximate_index(vectors: np.ndarray, dim: int) -> faiss.IndexIVFFlat:
    """The IVF index vector_index builds above APPROX_ABOVE (any size: bench/recall.py
    measures it against exact search)."""
    count = len(vectors)
    lists = int(4 * math.sqrt(count))
    ivf = faiss.IndexIVFFlat(faiss.IndexFlatIP(dim), dim, lists, faiss.METRIC_INNER_PRODUCT)
    sample = vectors[np.random.default_rng(0).choice(count, min(count, lists * 64), False)]
    ivf.train(sample)
    ivf.add(vectors)
    ivf.make_direct_map()  # scoped search reads single rows back
    ivf.nprobe = NPROBE
    return ivf


def build(
    assessments: Sequence[Assessment],
    embedder: Embedder,
    index_dir: Path,
    corpus_hash: str,
    progress: Callable[[int], None] | None = None,
    on_passages: Callable[[int], None] | None = None,
    reuse: bool = True,
    page_keys: dict[str, str] | None = None,
) -> Index:
    """Embed every passage (reusing the published build's vectors of unchanged passages)
    and publish a new index atomically; returns it loaded."""
    passages = [p for a in assessments for p in chunk(a)]
    rows = _row_ranges(passages)
    if on_passages:
        on_passages(len(passages))
    old = reusable(index_dir, embedder.name) if reuse else Reusable({})
    vectors = embed_passages(passages, embedder, progress, old.vectors)
    flat = vector_index(vectors, embedder.dim)
    lexical = LexicalIndex.build(passages, old.lexical, old.lexical_rows)
    # What serving needs of a page: its sections and FAQs are in the passages.
    records = [
        {**a.to_dict(), "sections": [], "faqs": [], "rows": list(rows.get(a.id, (0, 0)))}
        for a in assessments
    ]

    builds = index_dir / BUILDS
    builds.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC)
    name = f"{stamp:%Y%m%dT%H%M%S%f}-{corpus_hash[:8]}"
    tmp = builds / f"{name}.tmp-{os.getpid()}"
    final = builds / name
    pointer = index_dir / f"{CURRENT}.tmp-{os.getpid()}"
    tmp.mkdir()
    try:
        faiss.write_index(flat, str(tmp / "vectors.faiss"))
        lines = "".join(json.dumps(p.to_dict(), ensure_ascii=False) + "\n" for p in passages)
        _fsync_write(tmp / "passages.jsonl", lines.encode())
        _fsync_write(tmp / "assessments.json", json.dumps(records, ensure_ascii=False).encode())
        lexical.save(tmp)
        written = list(FILES)
        if page_keys:
            pages = {page_keys[a.id]: a.to_dict() for a in assessments if a.id in page_keys}
            _fsync_write(tmp / PAGES_FILE, json.dumps(pages, ensure_ascii=False).encode())
            written.append(PAGES_FILE)
        manifest = Manifest(
            format_version=FORMAT_VERSION,
            model=embedder.name,
            dims=embedder.dim,
            corpus_hash=corpus_hash,
            built_at=stamp.isoformat(timespec="seconds"),
            assessments=len(assessments),
            passages=len(passages),
            files={f: _sha256(tmp / f) for f in written},
        )
        _fsync_write(tmp / "manifest.json", json.dumps(asdict(manifest), indent=2).encode())
        _fsync_dir(tmp)
        tmp.rename(final)
        _fsync_dir(builds)
        _fsync_write(pointer, name.encode())
        os.replace(pointer, index_dir / CURRENT)
        _fsync_dir(index_dir)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        pointer.unlink(missing_ok=True)
        if final.exists() and _current_name(index_dir) != name:
            # Renamed but never published: drop it, or pruning would count it as a build.
            shutil.rmtree(final, ignore_errors=True)
        raise
    _prune(builds, keep=name)
    served = [Assessment.from_dict(r) for r in records]
    return Index(final, manifest, served, passages, flat, rows, lexical)


def _prune(builds: Path, keep: str) -> None:
    """Keep the newest builds (a running server may still read the previous one)."""
    done = sorted((p for p in builds.iterdir() if ".tmp-" not in p.name), reverse=True)
    for old in done[KEEP_BUILDS:]:
        if old.name != keep:
            shutil.rmtree(old, ignore_errors=True)
    hour_ago = time.time() - 3600
    for stale in builds.glob("*.tmp-*"):
        if stale.stat().st_mtime < hour_ago:
            shutil.rmtree(stale, ignore_errors=True)


def _current_name(index_dir: Path) -> str | None:
    try:
        return (index_dir / CURRENT).read_text().strip()
    except (OSError, ValueError):
        return None


def current_build(index_dir: Path) -> Path:
    pointer = index_dir / CURRENT
    if not pointer.exists():
        raise IndexMissing(f"no index in {index_dir}: run `bot build`")
    name = _current_name(index_dir)
    if name is None:
        raise IndexCorrupt(f"{pointer} is unreadable: rebuild with `bot build`")
    path = index_dir / BUILDS / name
    if not name or name in (".", "..") or "/" in name or not path.is_dir():
        raise IndexCorrupt(f"{pointer} names a build that does not exist ({name!r})")
    return path


def _read_manifest(build_dir: Path) -> Manifest:
    path = build_dir / "manifest.json"
    try:
        data = json.loads(path.read_text())
        manifest = Manifest(**data)
    except (OSError, ValueError, TypeError) as exc:
        raise IndexCorrupt(f"{path} is unreadable: {exc}") from exc
    if isinstance(manifest.format_version, int) and manifest.format_version < FORMAT_VERSION:
        raise IndexOutdated(
            f"{path} has format {manifest.format_version}, this version uses {FORMAT_VERSION}: "
            "run `bot build`"
        )
    if manifest.format_version != FORMAT_VERSION:
        raise IndexCorrupt(f"{path} has format {manifest.format_version}, need {FORMAT_VERSION}")
    if not isinstance(manifest.files, dict) or not set(FILES) <= set(manifest.files):
        raise IndexCorrupt(f"{path} does not list a checksum for every file ({', '.join(FILES)})")
    return manifest


def read_manifest(index_dir: Path) -> Manifest:
    return _read_manifest(current_build(index_dir))


def is_current(index_dir: Path, corpus_hash: str, model: str) -> bool:
    """True when an index exists and was built from this corpus with this model."""
    try:
        manifest = read_manifest(index_dir)
    except IndexMissing:
        return False
    return manifest.corpus_hash == corpus_hash and manifest.model == model


def load(index_dir: Path) -> Index:
    """Load the current index, verifying every file against the manifest."""
    # Resolve CURRENT once: a build published meanwhile must not mix two builds' files.
    return load_build(current_build(index_dir))


def find_build(index_dir: Path, digest: str) -> Path | None:
    """The kept build whose manifest has this digest (audit records name theirs)."""
    builds = index_dir / BUILDS
    for path in sorted(builds.iterdir() if builds.is_dir() else (), reverse=True):
        try:
            if ".tmp-" not in path.name and _read_manifest(path).digest == digest:
                return path
        except IndexCorrupt:
            continue
    return None


def load_build(path: Path) -> Index:
    """Load one build folder, verifying every file against its manifest."""
    manifest = _read_manifest(path)
    for name in FILES:
        expected = manifest.files[name]
        file = path / name
        if not file.exists():
            raise IndexCorrupt(f"{file} is missing: rebuild with `bot build`")
        if _sha256(file) != expected:
            raise IndexCorrupt(
                f"{file} does not match its manifest (truncated or altered): "
                "rebuild with `bot build`"
            )
    try:
        # Memory-mapped: several workers on one machine share the pages of one file.
        vectors = faiss.read_index(str(path / "vectors.faiss"), faiss.IO_FLAG_MMAP)
        if isinstance(vectors, faiss.IndexIVF):
            vectors.nprobe = NPROBE
        passages = Passages(path / "passages.jsonl")
        records = json.loads((path / "assessments.json").read_text())
        assessments = [Assessment.from_dict(r) for r in records]
        rows = {r["id"]: (int(r["rows"][0]), int(r["rows"][1])) for r in records}
        lexical = LexicalIndex.load(path)
        flat = isinstance(vectors, faiss.IndexFlat)
        vector_rows = VectorRows(path / "vectors.faiss", vectors) if flat else None
    except (RuntimeError, ValueError, KeyError, TypeError, IndexError, OSError) as exc:
        raise IndexCorrupt(f"{path} is unreadable: {exc}") from exc
    count = len(passages)
    if vectors.ntotal != count or vectors.d != manifest.dims or lexical.size != count:
        raise IndexCorrupt(f"{path}: vectors and passages disagree; rebuild with `bot build`")
    if any(not 0 <= start <= stop <= count for start, stop in rows.values()):
        raise IndexCorrupt(f"{path}: assessments.json names rows it does not have")
    index = Index(path, manifest, assessments, passages, vectors, rows, lexical, vector_rows)
    index.files = {name: _identity(path / name) for name in FILES}
    return index


def _identity(path: Path) -> tuple[int, int, int]:
    st = os.stat(path)
    return (st.st_ino, st.st_size, st.st_mtime_ns)
