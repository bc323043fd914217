"""Building an index: from passages to a published build.

(Named builder, not build: `bot.index.build` is the function, re-exported.)
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from pathlib import Path

from bot.chunks import chunk
from bot.embedding import Embedder
from bot.index import durable
from bot.index.lexical import LexicalIndex
from bot.index.passages import save as save_passages
from bot.index.reuse import Reusable, reusable
from bot.index.search import Index, row_ranges
from bot.index.store import FILES, PAGES_FILE, publish
from bot.index.vectors import embed_passages, vector_index
from bot.index.vectors import save as save_vectors
from bot.pages import Assessment


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
    # What serving needs of a page: its sections and FAQs are in the passages.
    records = [
        {**a.to_dict(), "sections": [], "faqs": [], "rows": list(rows.get(a.id, (0, 0)))}
        for a in assessments
    ]
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
    served = [Assessment.from_dict(r) for r in records]
    return Index(final, manifest, served, passages, flat, rows, lexical)
