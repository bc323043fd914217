"""The index folder on disk: builds published atomically, verified on load.

Layout of the index folder:

    CURRENT                  name of the active build (replaced atomically)
    builds/<name>/           vectors.faiss, passages.jsonl, assessments.json, bm25.*,
                             manifest.json

Serving reads a build without copying it into Python objects: the vectors, the passages
file and the BM25 weights are memory-mapped or read on demand (a passage is decoded when
it is cited), and assessments.json holds only what answers use (the sections and FAQs are
the passages).

A build is written into `builds/<name>.tmp-<pid>`, fsynced, renamed, and only then is
CURRENT switched; a crash at any point leaves the previous index (or none) in place.
The manifest records a SHA-256 for every file, so a truncated or altered file is caught.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

import faiss

from bot.index import durable
from bot.index.errors import IndexCorrupt, IndexMissing, IndexOutdated
from bot.index.lexical import BM25_FILES, LexicalIndex
from bot.index.passages import Passages
from bot.index.search import Index
from bot.index.vectors import VectorRows, open_mapped
from bot.pages import PageSummary

# 4: passages carry their section kind (the page schema's), served pages are summaries.
FORMAT_VERSION = 4
CURRENT = "CURRENT"
BUILDS = "builds"
FILES = ("vectors.faiss", "passages.jsonl", "assessments.json", *BM25_FILES)
# The whole parsed pages by page_key, for the next build (not read when serving; checked
# against its manifest checksum before it is used).
PAGES_FILE = "pages.json"
KEEP_BUILDS = 2


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


def publish(
    index_dir: Path,
    write: Callable[[Path], Sequence[str]],
    *,
    model: str,
    dims: int,
    corpus_hash: str,
    assessments: int,
    passages: int,
) -> tuple[Path, Manifest]:
    """Publish a new build: `write` fills a temporary folder and returns the names of the
    files it wrote; they are checksummed into the manifest, fsynced, the folder renamed
    into builds/ and CURRENT switched to it. Returns the build's folder and manifest."""
    builds = index_dir / BUILDS
    builds.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC)
    name = f"{stamp:%Y%m%dT%H%M%S%f}-{corpus_hash[:8]}"
    tmp = builds / f"{name}.tmp-{os.getpid()}"
    final = builds / name
    pointer = index_dir / f"{CURRENT}.tmp-{os.getpid()}"
    tmp.mkdir()
    try:
        written = write(tmp)
        manifest = Manifest(
            format_version=FORMAT_VERSION,
            model=model,
            dims=dims,
            corpus_hash=corpus_hash,
            built_at=stamp.isoformat(timespec="seconds"),
            assessments=assessments,
            passages=passages,
            files={f: durable.sha256(tmp / f) for f in written},
        )
        durable.write(tmp / "manifest.json", json.dumps(asdict(manifest), indent=2).encode())
        durable.sync_dir(tmp)
        tmp.rename(final)
        durable.sync_dir(builds)
        durable.write(pointer, name.encode())
        os.replace(pointer, index_dir / CURRENT)
        durable.sync_dir(index_dir)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        pointer.unlink(missing_ok=True)
        if final.exists() and _current_name(index_dir) != name:
            # Renamed but never published: drop it, or pruning would count it as a build.
            shutil.rmtree(final, ignore_errors=True)
        raise
    _prune(builds, keep=name)
    return final, manifest


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


def build_manifest(build_dir: Path) -> Manifest:
    """One build folder's manifest, refused when unreadable, outdated or incomplete."""
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
    return build_manifest(current_build(index_dir))


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
            if ".tmp-" not in path.name and build_manifest(path).digest == digest:
                return path
        except IndexCorrupt:
            continue
    return None


def load_build(path: Path) -> Index:
    """Load one build folder, verifying every file against its manifest."""
    manifest = build_manifest(path)
    for name in FILES:
        expected = manifest.files[name]
        file = path / name
        if not file.exists():
            raise IndexCorrupt(f"{file} is missing: rebuild with `bot build`")
        if durable.sha256(file) != expected:
            raise IndexCorrupt(
                f"{file} does not match its manifest (truncated or altered): "
                "rebuild with `bot build`"
            )
    try:
        vectors = open_mapped(path / "vectors.faiss")
        passages = Passages(path / "passages.jsonl")
        records = json.loads((path / "assessments.json").read_text())
        assessments = [PageSummary.from_dict(r) for r in records]
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
    index.files = {name: durable.identity(path / name) for name in FILES}
    return index
