"""The FAISS index with its passages and manifest, written atomically and verified on load.

Layout of the index folder:

    CURRENT                  name of the active build (replaced atomically)
    builds/<name>/           vectors.faiss, passages.jsonl, assessments.json, manifest.json

A build is written into `builds/<name>.tmp-<pid>`, fsynced, renamed, and only then is
CURRENT switched; a crash at any point leaves the previous index (or none) in place.
The manifest records a SHA-256 for every file, so a truncated or altered file is caught.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import shutil
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

import faiss
import numpy as np
from scipy import sparse

from bot.chunks import Passage, chunk
from bot.embedding import Embedder
from bot.pages import Assessment

FORMAT_VERSION = 1
CURRENT = "CURRENT"
BUILDS = "builds"
FILES = ("vectors.faiss", "passages.jsonl", "assessments.json")
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
    ) -> None:
        self.path = path
        self.manifest = manifest
        self.assessments = {a.id: a for a in assessments}
        self.passages = list(passages)
        self.faiss = vectors
        rows: dict[str, list[int]] = {}
        for row, passage in enumerate(self.passages):
            rows.setdefault(passage.assessment_id, []).append(row)
        self._rows = {k: np.asarray(v, dtype=np.int64) for k, v in rows.items()}
        # BM25 is built on first use from the passages (cheap next to embedding them).
        self._lexical: LexicalIndex | None = None
        self._lexical_lock = threading.Lock()

    def rows_of(self, assessment_id: str) -> np.ndarray:
        return self._rows.get(assessment_id, np.zeros(0, dtype=np.int64))

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
                self._lexical = LexicalIndex(self.passages)
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


class LexicalIndex:
    """BM25 over the passages (stemmed, English stopwords removed)."""

    def __init__(self, passages: Sequence[Passage]) -> None:
        import bm25s
        import Stemmer

        self._bm25s = bm25s
        self._stemmer = Stemmer.Stemmer("english")
        self._size = len(passages)
        self._bm25 = bm25s.BM25()
        self._weights: sparse.csr_matrix | None = None
        if passages:
            tokens = self._tokenize([p.embed_text for p in passages], ids=True)
            self._bm25.index(tokens, show_progress=False)
            # bm25s keeps each token's BM25 weight per passage (token-major); a row-major
            # copy scores a few passages without touching the rest of the corpus.
            weights = self._bm25.scores
            self._weights = sparse.csc_matrix(
                (weights["data"], weights["indices"], weights["indptr"]),
                shape=(weights["num_docs"], len(weights["indptr"]) - 1),
            ).tocsr()

    def _tokenize(self, texts: list[str], ids: bool) -> object:
        return self._bm25s.tokenize(
            texts, stopwords="en", stemmer=self._stemmer, show_progress=False, return_ids=ids
        )

    def scores_for(self, question: str, rows: np.ndarray) -> np.ndarray:
        """BM25 scores of these passages only (global statistics, scope-sized cost)."""
        [tokens] = self._tokenize([question], ids=False)  # type: ignore[misc]
        vocab = self._bm25.vocab_dict
        ids = [vocab[t] for t in dict.fromkeys(tokens) if t in vocab]
        if self._weights is None or not ids or rows.size == 0:
            return np.zeros(rows.size, dtype=np.float32)
        # The rows' stored entries, gathered straight from the CSR arrays (scipy's fancy
        # indexing costs more than the arithmetic for a page's few passages).
        w = self._weights
        starts, lengths = w.indptr[rows], w.indptr[rows + 1] - w.indptr[rows]
        offsets = np.repeat(starts - np.cumsum(lengths) + lengths, lengths)
        entries = offsets + np.arange(int(lengths.sum()))
        wanted = np.isin(w.indices[entries], np.asarray(ids))
        owner = np.repeat(np.arange(rows.size), lengths)[wanted]
        totals = np.bincount(owner, weights=w.data[entries][wanted], minlength=rows.size)
        return totals.astype(np.float32)

    def scores(self, question: str) -> np.ndarray:
        [tokens] = self._tokenize([question], ids=False)  # type: ignore[misc]
        if not tokens or not self._size:
            return np.zeros(self._size, dtype=np.float32)
        return np.asarray(self._bm25.get_scores(tokens), dtype=np.float32)


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


def previous_vectors(index_dir: Path, model: str) -> dict[str, np.ndarray]:
    """The published build's vectors by passage id, when made by this model (else none):
    an edited page is re-embedded, the unchanged rest is reused."""
    try:
        previous = load(index_dir)
    except IndexUnavailable:
        return {}
    if previous.manifest.model != model or previous.faiss.ntotal == 0:
        return {}
    vectors = previous.faiss.reconstruct_n(0, previous.faiss.ntotal)
    return {p.id: vectors[row] for row, p in enumerate(previous.passages)}


def vector_index(vectors: np.ndarray, dim: int) -> faiss.Index:
    """Exact inner product up to APPROX_ABOVE vectors; an IVF index above, so whole-index
    search stays fast on very large corpora (scoped search never scans it)."""
    count = len(vectors)
    if count <= APPROX_ABOVE:
        flat = faiss.IndexFlatIP(dim)
        if count:
            flat.add(vectors)
        return flat
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
) -> Index:
    """Embed every passage (reusing the published build's vectors of unchanged passages)
    and publish a new index atomically; returns it loaded."""
    passages = [p for a in assessments for p in chunk(a)]
    if on_passages:
        on_passages(len(passages))
    known = previous_vectors(index_dir, embedder.name) if reuse else {}
    vectors = embed_passages(passages, embedder, progress, known)
    flat = vector_index(vectors, embedder.dim)

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
        records = [a.to_dict() for a in assessments]
        _fsync_write(tmp / "assessments.json", json.dumps(records, ensure_ascii=False).encode())
        manifest = Manifest(
            format_version=FORMAT_VERSION,
            model=embedder.name,
            dims=embedder.dim,
            corpus_hash=corpus_hash,
            built_at=stamp.isoformat(timespec="seconds"),
            assessments=len(assessments),
            passages=len(passages),
            files={f: _sha256(tmp / f) for f in FILES},
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
    return Index(final, manifest, assessments, passages, flat)


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
    for name, expected in manifest.files.items():
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
        passages = [
            Passage.from_dict(json.loads(line))
            for line in (path / "passages.jsonl").read_text().splitlines()
            if line
        ]
        assessments = [
            Assessment.from_dict(a) for a in json.loads((path / "assessments.json").read_text())
        ]
    except (RuntimeError, ValueError, KeyError, TypeError) as exc:
        raise IndexCorrupt(f"{path} is unreadable: {exc}") from exc
    if vectors.ntotal != len(passages) or vectors.d != manifest.dims:
        raise IndexCorrupt(f"{path}: vectors and passages disagree; rebuild with `bot build`")
    return Index(path, manifest, assessments, passages, vectors)
