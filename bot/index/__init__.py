"""The search index: one concept per module, the public names re-exported here.

errors    why an index cannot be used (IndexUnavailable and its kinds)
durable   fsynced writes, checksums, file identities
passages  passages.jsonl, read a passage at a time
vectors   embedding passages, the FAISS index (exact or IVF), rows read back
lexical   BM25 term counts and scores
search    Index: a loaded build, searched whole or scoped to pages
store     the folder: builds published atomically (CURRENT), pruned, verified, loaded
reuse     what a rebuild takes from the published build
builder   build(), a corpus folder to an index, and when to rebuild (ensure_index)
"""

from bot.index.builder import (
    BuildReport,
    Built,
    CorpusUnusable,
    build,
    build_corpus,
    ensure_index,
)
from bot.index.errors import IndexCorrupt, IndexMissing, IndexOutdated, IndexUnavailable
from bot.index.lexical import BM25_B, BM25_FILES, BM25_K1, LexicalIndex
from bot.index.passages import Passages
from bot.index.reuse import Reusable, reusable, reusable_pages
from bot.index.search import Index
from bot.index.store import (
    BUILDS,
    CURRENT,
    FILES,
    FORMAT_VERSION,
    KEEP_BUILDS,
    PAGES_FILE,
    Manifest,
    current_build,
    find_build,
    is_current,
    load,
    load_build,
    publish,
    read_manifest,
)
from bot.index.vectors import (
    APPROX_ABOVE,
    BATCH,
    NPROBE,
    VectorRows,
    approximate_index,
    embed_passages,
    vector_index,
)

__all__ = [
    "APPROX_ABOVE",
    "BATCH",
    "BM25_B",
    "BM25_FILES",
    "BM25_K1",
    "BUILDS",
    "CURRENT",
    "FILES",
    "FORMAT_VERSION",
    "KEEP_BUILDS",
    "NPROBE",
    "PAGES_FILE",
    "BuildReport",
    "Built",
    "CorpusUnusable",
    "Index",
    "IndexCorrupt",
    "IndexMissing",
    "IndexOutdated",
    "IndexUnavailable",
    "LexicalIndex",
    "Manifest",
    "Passages",
    "Reusable",
    "VectorRows",
    "approximate_index",
    "build",
    "build_corpus",
    "current_build",
    "embed_passages",
    "ensure_index",
    "find_build",
    "is_current",
    "load",
    "load_build",
    "publish",
    "read_manifest",
    "reusable",
    "reusable_pages",
    "vector_index",
]
