"""Passage vectors: embedding them, the FAISS index over them, and reading rows back."""

from __future__ import annotations

import contextlib
import math
import os
from collections.abc import Callable, Sequence
from pathlib import Path

import faiss
import numpy as np

from bot.chunks import Passage
from bot.embedding import Embedder
from bot.index.errors import IndexCorrupt

BATCH = 64
# Above this many passages the whole-index search is approximate (IVF, NPROBE lists of
# about 4*sqrt(n)); the bench measures its recall@5 against exact search.
APPROX_ABOVE = 200_000
NPROBE = 48


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


def save(path: Path, vectors: faiss.Index) -> None:
    faiss.write_index(vectors, str(path))


def open_mapped(path: Path) -> faiss.Index:
    """Memory-mapped: several workers on one machine share the pages of one file."""
    vectors = faiss.read_index(str(path), faiss.IO_FLAG_MMAP)
    if isinstance(vectors, faiss.IndexIVF):
        vectors.nprobe = NPROBE
    return vectors


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
