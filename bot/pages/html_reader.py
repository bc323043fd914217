"""The HTML reader (Markdown is rendered to HTML first): the page's content without the
site's chrome (navigation, cookie banners, share buttons), as blocks, with its canonical
address and <title>."""

from __future__ import annotations

import re

from bs4 import BeautifulSoup, NavigableString, PageElement, Tag
from bs4.element import PreformattedString
from markdown_it import MarkdownIt

from bot.pages.blocks import Block, clean
from bot.pages.front_matter import front_matter, meta_url

DROP_TAGS = frozenset(
    "script style noscript template nav header footer aside form iframe svg button".split()
)
CHROME_RE = re.compile(
    "cookie|consent|banner|newsletter|subscribe|share|social|breadcrumb|menu|navbar"
    "|popup|modal|advert|promo",
    re.IGNORECASE,
)
# Never dropped for a class/id match: themes put e.g. "cookie-consent" on <body>.
CONTENT_ROOTS = frozenset({"html", "body", "main", "article"})
HEADING_TAGS = {f"h{n}": n for n in range(1, 7)}
# Elements whose start and end break paragraphs; everything else is inline text.
BLOCK_TAGS = frozenset(
    "p li dt dd blockquote summary td th div section ul ol dl table tr thead tbody tfoot details"
    " figure figcaption pre main article body hr caption address".split()
)


def read_md(text: str, source: str) -> tuple[list[Block], str | None, str | None, list[str]]:
    """Markdown -> (blocks, address, title, other names of the compound): front matter
    gives the address, the title (else the first heading) and `aliases:`."""
    meta, body = front_matter(text, source)
    blocks, _, title = html_blocks(MarkdownIt("commonmark").render(body))
    if isinstance(meta.get("title"), str):
        title = meta["title"]
    listed = meta.get("aliases")
    aliases = [str(a).strip() for a in listed if str(a).strip()] if isinstance(listed, list) else []
    return blocks, meta_url(meta), title, aliases


def _is_chrome(tag: Tag) -> bool:
    if tag.name in DROP_TAGS:
        return not (tag.name == "header" and tag.find_parent(["main", "article"]))
    if tag.name in CONTENT_ROOTS:
        return False
    marks = " ".join([str(tag.get("id") or ""), *tag.get_attribute_list("class")])
    return bool(CHROME_RE.search(marks))


def html_blocks(html: str) -> tuple[list[Block], str | None, str | None]:
    """HTML -> (blocks, canonical url, <title> text)."""
    soup = BeautifulSoup(html, "html.parser")
    link = soup.find(lambda t: t.name == "link" and "canonical" in t.get_attribute_list("rel"))
    og = soup.find("meta", attrs={"property": "og:url"})
    raw_url = (link.get("href") if link else None) or (og.get("content") if og else None)
    url = (raw_url.strip() or None) if isinstance(raw_url, str) else None
    title = clean(soup.title.get_text()) if soup.title else None
    if soup.head:
        soup.head.decompose()
    for tag in soup.find_all(True):
        if not tag.decomposed and _is_chrome(tag):
            tag.decompose()
    root = soup.find("main") or soup.find("article") or soup.body or soup
    return _walk(root), url, title


def _inline_text(tag: Tag) -> str:
    parts = [
        " " if isinstance(node, Tag) else str(node)
        for node in tag.descendants
        if (isinstance(node, Tag) and (node.name == "br" or node.name in BLOCK_TAGS))
        or (isinstance(node, NavigableString) and not isinstance(node, PreformattedString))
    ]
    return clean("".join(parts))


def _walk(root: Tag | BeautifulSoup) -> list[Block]:
    """Depth-first without recursion (deep nesting must not crash the loader).

    Text accumulates until a block element starts or ends, so nested paragraphs
    (li > p, blockquote > p) are emitted once each and inline markup adds no spaces.
    """
    blocks: list[Block] = []
    buffer: list[str] = []

    def flush() -> None:
        text = clean("".join(buffer))
        buffer.clear()
        if text:
            blocks.append(Block(text))

    stack: list[PageElement | None] = [root]  # None marks the end of a block element
    while stack:
        node = stack.pop()
        if node is None:
            flush()
        elif isinstance(node, NavigableString):
            if not isinstance(node, PreformattedString):  # comments, doctype, CDATA
                buffer.append(str(node))
        elif isinstance(node, Tag):
            if node.name in HEADING_TAGS:
                flush()
                section = node.find_parent("section", id=True)
                anchor = node.get("id") or (section.get("id") if section else None)
                if text := _inline_text(node):
                    blocks.append(Block(text, HEADING_TAGS[node.name], str(anchor or "") or None))
            elif node.name == "br":
                buffer.append(" ")
            else:
                if node.name in BLOCK_TAGS:
                    flush()
                    stack.append(None)
                stack.extend(reversed(node.contents))
    flush()
    return blocks
