"""Building an index: from passages to a published build, from a corpus folder to an
index, and the staleness policy `bot serve` and `bot ask` start with.

(Named builder, not build: `bot.index.build` is the function, re-exported.)
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from bot.chunks import chunk
from bot.embedding import Embedder
from bot.index import durable
from bot.index.errors import IndexMissing
from bot.index.lexical import LexicalIndex
from bot.index.passages import save as save_passages
from bot.index.reuse import Reusable, reusable, reusable_pages
from bot.index.search import Index, row_ranges
from bot.index.store import FILES, PAGES_FILE, is_current, load, publish, read_manifest
from bot.index.vectors import embed_passages, vector_index
from bot.index.vectors import save as save_vectors
from bot.pages import (
    DEFAULT_MAX_PAGE_BYTES,
    Assessment,
    PageProblem,
    PageSummary,
    corpus_hash,
    load_corpus,
)


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
    rows = row_ranges(passages)
    if on_passages:
        on_passages(len(passages))
    old = reusable(index_dir, embedder.name) if reuse else Reusable({})
    vectors = embed_passages(passages, embedder, progress, old.vectors)
    flat = vector_index(vectors, embedder.dim)
    lexical = LexicalIndex.build(passages, old.lexical, old.lexical_rows)
    # What serving needs of a page: its summary (its sections and FAQs are the passages).
    records = [{**a.summary().to_dict(), "rows": list(rows.get(a.id, (0, 0)))} for a in assessments]
    pages = None
    if page_keys:
        pages = {page_keys[a.id]: a.to_dict() for a in assessments if a.id in page_keys}

    def write(folder: Path) -> list[str]:
        save_vectors(folder / "vectors.faiss", flat)
        save_passages(folder / "passages.jsonl", passages)
        durable.write(folder / "assessments.json", json.dumps(records, ensure_ascii=False).encode())
        lexical.save(folder)
        if pages is None:
            return list(FILES)
        durable.write(folder / PAGES_FILE, json.dumps(pages, ensure_ascii=False).encode())
        return [*FILES, PAGES_FILE]

    final, manifest = publish(
        index_dir,
        write,
        model=embedder.name,
        dims=embedder.dim,
        corpus_hash=corpus_hash,
        assessments=len(assessments),
        passages=len(passages),
    )
    served = [PageSummary.from_dict(r) for r in records]
    return Index(final, manifest, served, passages, flat, rows, lexical)


class CorpusUnusable(ValueError):
    """Nothing was built from the corpus: the message says why."""


@dataclass(frozen=True)
class Built:
    index: Index
    pages: int
    skipped: int  # pages that could not be used
    seconds: float


class BuildReport:
    """What a build from a corpus tells as it goes; silent here (the CLI prints it)."""

    def rebuilding(self) -> None:
        """The index is missing or out of date and is about to be built."""

    def skipped(self, problem: PageProblem) -> None:
        """A page that cannot be used (before a strict build refuses)."""

    def embedding(self, passages: int) -> None:
        """How many passages the build has (reused ones included)."""

    def embedded(self, count: int) -> None:
        """This many more passages have their vectors."""

    def built(self, result: Built) -> None:
        """The new index is published."""


def build_corpus(
    corpus: Path,
    index_dir: Path,
    embedder: Embedder,
    *,
    max_page_bytes: int = DEFAULT_MAX_PAGE_BYTES,
    strict: bool = False,
    report: BuildReport | None = None,
) -> Built:
    """Parse the corpus and publish its index (what `bot build` does). A page that cannot
    be used is skipped, or refuses the whole build when strict; pages unchanged since the
    published build are not parsed again, nor their passages embedded again."""
    report = report or BuildReport()
    if not corpus.is_dir():
        raise CorpusUnusable(f"corpus folder {corpus} does not exist")
    started = time.perf_counter()
    digest = corpus_hash(corpus)
    loaded = load_corpus(corpus, max_bytes=max_page_bytes, known=reusable_pages(index_dir))
    for problem in loaded.problems:
        report.skipped(problem)
    if strict and loaded.problems:
        raise CorpusUnusable(
            f"--strict: {len(loaded.problems)} page(s) could not be used; nothing was built"
        )
    if not loaded.assessments:
        raise CorpusUnusable(f"no usable assessment pages in {corpus}")
    index = build(
        loaded.assessments,
        embedder,
        index_dir,
        digest,
        progress=report.embedded,
        on_passages=report.embedding,
        page_keys=loaded.keys,
    )
    seconds = time.perf_counter() - started
    result = Built(index, len(loaded.assessments), len(loaded.problems), seconds)
    report.built(result)
    return result


def ensure_index(
    corpus: Path,
    index_dir: Path,
    embedder: Embedder,
    *,
    max_page_bytes: int = DEFAULT_MAX_PAGE_BYTES,
    report: BuildReport | None = None,
) -> Index:
    """The index to serve: loaded when it was built from this corpus by this model, built
    first when it is missing, from an older format, or from another corpus or model.
    An unreadable one raises IndexCorrupt rather than being rebuilt over: someone should
    see why (`bot build` replaces it)."""
    report = report or BuildReport()
    try:
        read_manifest(index_dir)
        stale = not is_current(index_dir, corpus_hash(corpus), embedder.name)
    except IndexMissing:
        stale = True
    if stale:
        report.rebuilding()
        return build_corpus(
            corpus, index_dir, embedder, max_page_bytes=max_page_bytes, report=report
        ).index
    return load(index_dir)
