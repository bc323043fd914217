"""A build's passages.jsonl: written one JSON object a line, read a passage at a time."""

from __future__ import annotations

import contextlib
import json
import os
import re
from collections.abc import Sequence
from pathlib import Path
from typing import overload

import numpy as np

from bot.chunks import Passage
from bot.index import durable
from bot.index.errors import IndexCorrupt


def save(path: Path, passages: Sequence[Passage]) -> None:
    """One passage a line, `id` first (Passages.ids reads the ids off the line starts)."""
    lines = "".join(json.dumps(p.to_dict(), ensure_ascii=False) + "\n" for p in passages)
    durable.write(path, lines.encode())


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
