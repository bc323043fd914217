"""Assessment pages (.txt, .md, .html) parsed into `Assessment` records: one concept per
module, the public names re-exported here.

records       the typed data: Assessment (a parsed page, with its sections and FAQs),
              PageSummary (what serving keeps of it), Section, FAQ, PageError
blocks        Block, the flat form every reader reduces a page to
front_matter  YAML front matter: the page's address, title and aliases
text_reader   .txt -> blocks
html_reader   .html -> blocks (and .md, rendered to HTML first)
assemble      blocks -> Assessment: one assembler for every format, so they cannot drift
              apart; each section gets its kind from the page schema (bot/page_schema.py)
corpus        files, the corpus fingerprint, parse_page/parse_text, load_corpus
"""

from bot.pages.corpus import (
    DEFAULT_MAX_PAGE_BYTES,
    FORMATS,
    PAGE_SUFFIXES,
    PARSER,
    corpus_files,
    corpus_hash,
    load_corpus,
    page_key,
    parse_page,
    parse_text,
)
from bot.pages.records import (
    FAQ,
    Assessment,
    CorpusLoad,
    PageError,
    PageProblem,
    PageSummary,
    Section,
    content_id,
)

__all__ = [
    "DEFAULT_MAX_PAGE_BYTES",
    "FAQ",
    "FORMATS",
    "PAGE_SUFFIXES",
    "PARSER",
    "Assessment",
    "CorpusLoad",
    "PageError",
    "PageProblem",
    "PageSummary",
    "Section",
    "content_id",
    "corpus_files",
    "corpus_hash",
    "load_corpus",
    "page_key",
    "parse_page",
    "parse_text",
]
