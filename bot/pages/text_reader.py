"""The .txt reader: plain text to blocks. The first line is the title; the template's own
headings (bot/data/page_schema.yaml) and short heading-like lines start sections; list
items are paragraphs of their own."""

from __future__ import annotations

import re

from bot import page_schema
from bot.pages.blocks import MARKETING_RE, Block, clean
from bot.pages.front_matter import front_matter, meta_url
from bot.pages.records import PageError

# .txt headings: the page template's own headings (bot/data/page_schema.yaml; optionally
# followed by ": ..." or "(...)"), plus a cautious heuristic in _looks_like_txt_heading.
KNOWN_TXT_HEADING_RE = re.compile(
    "({})".format(
        "|".join(
            re.escape(s.words.lower()) for s in page_schema.load().specs.values() if not s.untitled
        )
    )
    + r"\s*($|[:(\-–—])",
    re.IGNORECASE,
)
LIST_ITEM_RE = re.compile(r"\s*(?:[-*+•·▪◦‣]|\(?\d{1,3}[.)])\s+(?P<text>\S.*)")


def read_txt(text: str, source: str) -> tuple[list[Block], str | None]:
    """(blocks, the page's address). Front matter is optional, as on Markdown pages
    (`url:` links citations to the page); a first block between `---` lines that is not a
    mapping is page text."""
    try:
        meta, body = front_matter(text, source)
    except PageError:
        meta, body = {}, text
    return _txt_blocks(body if meta else text), meta_url(meta)


def _looks_like_txt_heading(line: str) -> bool:
    # Deliberately strict: a false heading would split a section in two.
    return (
        len(line) <= 80
        and len(line.split()) <= 10
        and line[0].isupper()
        and ":" not in line
        and not line.endswith((".", "?", "!", ";", ","))
        and not line.lower().startswith("by ")
        and not LIST_ITEM_RE.match(line)
        and not MARKETING_RE.match(line)
    )


def _txt_blocks(text: str) -> list[Block]:
    chunks: list[list[str]] = [[]]
    for line in text.split("\n"):
        if line.strip():
            chunks[-1].append(line.rstrip())
        elif chunks[-1]:
            chunks.append([])
    blocks: list[Block] = []
    for i, chunk in enumerate(c for c in chunks if c):
        first = chunk[0].strip()
        # A short line right after a question is its answer ("Not yet"), never a heading.
        after_question = bool(blocks) and blocks[-1].text.endswith("?")
        if i == 0:  # the title, by the page template
            blocks.append(Block(clean(first), level=1))
            chunk = chunk[1:]
        elif KNOWN_TXT_HEADING_RE.match(first) or (
            len(chunk) == 1 and not after_question and _looks_like_txt_heading(first)
        ):
            blocks.append(Block(clean(first), level=2))
            chunk = chunk[1:]
        blocks.extend(Block(p) for p in _txt_paragraphs(chunk))
    return blocks


def _txt_paragraphs(lines: list[str]) -> list[str]:
    """Each list item is its own paragraph; other lines continue the current one."""
    paragraphs: list[list[str]] = []
    in_item = False
    for line in lines:
        item = LIST_ITEM_RE.fullmatch(line)
        # A one-line question ends its paragraph so the answer below it stays separate.
        closed = not paragraphs or (len(paragraphs[-1]) == 1 and paragraphs[-1][0].endswith("?"))
        if item or closed or (in_item and not line[:1].isspace()):
            paragraphs.append([item["text"] if item else line])
        else:
            paragraphs[-1].append(line)
        in_item = item is not None or (in_item and line[:1].isspace())
    return [clean(" ".join(p)) for p in paragraphs]
