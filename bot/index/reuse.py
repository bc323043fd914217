"""What a rebuild takes from the published build instead of computing it again: parsed
pages, passage vectors and BM25 term counts, each keyed by content, so an edited page is
parsed, embedded and tokenised again while the unchanged rest is reused."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from bot.index import durable
from bot.index.errors import IndexUnavailable
from bot.index.lexical import LexicalIndex
from bot.index.store import PAGES_FILE, build_manifest, current_build, load
from bot.pages import Assessment


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
        expected = build_manifest(path).files.get(PAGES_FILE)
        if expected is None or durable.sha256(path / PAGES_FILE) != expected:
            return {}
        pages = json.loads((path / PAGES_FILE).read_text())
        return {key: Assessment.from_dict(data) for key, data in pages.items()}
    except (IndexUnavailable, OSError, ValueError, KeyError, TypeError):
        return {}
