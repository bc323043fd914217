"""Writes that survive a crash, checksums, and the identity of a served file.

Callers use these through the module (`durable.write(...)`), so a test can make one of
them fail for every writer at once.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def write(path: Path, data: bytes) -> None:
    """Write a whole file and fsync it (its directory entry is synced by sync_dir)."""
    with path.open("wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())


def sync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def identity(path: Path) -> tuple[int, int, int]:
    """(inode, size, mtime): changes when a file is replaced or rewritten in place."""
    st = os.stat(path)
    return (st.st_ino, st.st_size, st.st_mtime_ns)
