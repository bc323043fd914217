"""Parse assessment pages (.txt, .md, .html) into `Assessment` records.

Every format is first reduced to a flat list of `Block`s (headings and paragraphs in
reading order); one assembler then finds the title, sections, evidence level, mechanism,
FAQ pairs and disclaimer, so the three formats cannot drift apart.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

import yaml
from bs4 import BeautifulSoup, NavigableString, PageElement, Tag
from bs4.element import PreformattedString
from markdown_it import MarkdownIt

from bot import page_schema
from bot.model import SectionKind

log = logging.getLogger(__name__)

PAGE_SUFFIXES = frozenset({".txt", ".md", ".markdown", ".html", ".htm"})
DEFAULT_MAX_PAGE_BYTES = 2_000_000


@dataclass(frozen=True)
class Section:
    """One headed part of a page. Text before the first heading is "Introduction"."""

    title: str
    paragraphs: tuple[str, ...]
    anchor: str | None = None
    # Which part of the page template it is (bot/data/page_schema.yaml), given when the
    # page is parsed; never None once made (None: read from the title).
    kind: SectionKind | None = None

    def __post_init__(self) -> None:
        if self.kind is None:
            object.__setattr__(self, "kind", page_schema.kind_of(self.title))


@dataclass(frozen=True)
class FAQ:
    question: str
    answer: str
    anchor: str | None = None


@dataclass(frozen=True)
class PageSummary:
    """What serving holds of a page: its names, level, disclaimer and address, without its
    sections and FAQs (those are the index's passages). `id` is the parsed page's."""

    source: str
    title: str
    compound: str
    condition: str
    evidence_level: str
    mechanism: tuple[str, ...]
    disclaimer: str | None
    url: str | None
    byline: str | None = None
    # Other names of the compound the page itself gives (brands in its introduction,
    # `aliases:` in front matter). Derived from the content, so not part of the id.
    aliases: tuple[str, ...] = ()
    id: str = field(default="", compare=False)

    def __post_init__(self) -> None:
        if not self.id:
            raise ValueError(f"{self.source}: a page summary needs its page's id")

    def to_dict(self) -> dict[str, Any]:
        """As `dataclasses.asdict` (lists for tuples), written out: asdict deep-copies
        every value and was a third of a 10k-page rebuild."""
        return {
            "source": self.source,
            "title": self.title,
            "compound": self.compound,
            "condition": self.condition,
            "evidence_level": self.evidence_level,
            "mechanism": list(self.mechanism),
            "disclaimer": self.disclaimer,
            "url": self.url,
            "byline": self.byline,
            "aliases": list(self.aliases),
            "id": self.id,
        }

    @classmethod
    def from_dict(cls, data: dict) -> PageSummary:
        return cls(**_summary_fields(data))

    @property
    def bare_compound(self) -> str:
        """The compound without its bracketed forms or brands ("Ketamine (IV / Esketamine)"
        -> "Ketamine")."""
        return re.sub(r"\s*\([^)]*\)", "", self.compound).strip() or self.compound


def _summary_fields(data: dict) -> dict[str, Any]:
    return {
        "source": data["source"],
        "title": data["title"],
        "compound": data["compound"],
        "condition": data["condition"],
        "evidence_level": data["evidence_level"],
        "mechanism": tuple(data["mechanism"]),
        "disclaimer": data["disclaimer"],
        "url": data["url"],
        "byline": data.get("byline"),
        "aliases": tuple(data.get("aliases", ())),
        "id": data["id"],
    }


@dataclass(frozen=True)
class Assessment(PageSummary):
    """One compound x condition page as parsed, with its sections and FAQs. `id` is a hash
    of the parsed content."""

    sections: tuple[Section, ...] = field(default=(), kw_only=True)
    faqs: tuple[FAQ, ...] = field(default=(), kw_only=True)

    def __post_init__(self) -> None:
        if not self.id:
            object.__setattr__(self, "id", content_id(self))

    def to_dict(self) -> dict[str, Any]:
        return {
            **super().to_dict(),
            "sections": [
                {
                    "title": s.title,
                    "paragraphs": list(s.paragraphs),
                    "anchor": s.anchor,
                    "kind": s.kind,
                }
                for s in self.sections
            ],
            "faqs": [
                {"question": f.question, "answer": f.answer, "anchor": f.anchor} for f in self.faqs
            ],
        }

    @classmethod
    def from_dict(cls, data: dict) -> Assessment:
        return cls(
            **_summary_fields(data),
            sections=tuple(
                Section(s["title"], tuple(s["paragraphs"]), s.get("anchor"), _kind(s.get("kind")))
                for s in data["sections"]
            ),
            faqs=tuple(FAQ(f["question"], f["answer"], f.get("anchor")) for f in data["faqs"]),
        )

    def summary(self) -> PageSummary:
        """What serving keeps of the page."""
        return PageSummary(**{f.name: getattr(self, f.name) for f in fields(PageSummary)})

    def section(self, which: SectionKind | str) -> Section | None:
        """The first section of this kind, or whose title starts with this text."""
        if isinstance(which, SectionKind):
            return next((s for s in self.sections if s.kind is which), None)
        prefix = which.lower()
        return next((s for s in self.sections if s.title.lower().startswith(prefix)), None)


def _kind(value: str | None) -> SectionKind | None:
    return SectionKind(value) if value else None


def content_id(assessment: Assessment) -> str:
    """Stable id from what the page says (not where the file lives, nor the kinds the
    page schema gives its sections)."""
    data = assessment.to_dict()
    for key in ("id", "source", "aliases"):
        data.pop(key)
    for section in data["sections"]:
        section.pop("kind")
    payload = json.dumps(data, sort_keys=True, ensure_ascii=False).encode()
    return hashlib.sha256(payload).hexdigest()[:16]


class PageError(ValueError):
    """A page that cannot be used; message names the file and what is wrong."""

    def __init__(self, source: str, reason: str) -> None:
        super().__init__(f"{source}: {reason}")
        self.source = source
        self.reason = reason

    def __reduce__(self) -> tuple[type[PageError], tuple[str, str]]:
        # The default pickling replays args=(message,), which this __init__ cannot take.
        return (PageError, (self.source, self.reason))


@dataclass(frozen=True)
class PageProblem:
    source: str
    reason: str


@dataclass
class CorpusLoad:
    assessments: list[Assessment]
    problems: list[PageProblem]
    # assessment id -> page_key of the file it was parsed from (the build's parse cache)
    keys: dict[str, str] = field(default_factory=dict)


# Changes whenever this module (the parsers) or the page schema does, so a cached parse is
# only reused by the very code (and section kinds) that made it.
PARSER = hashlib.sha256(
    Path(__file__).read_bytes() + page_schema.fingerprint().encode()
).hexdigest()[:16]


def page_key(data: bytes) -> str:
    """Names a parse: this parser on these bytes (whatever the file is called)."""
    return hashlib.sha256(PARSER.encode() + b"\0" + data).hexdigest()[:32]


@dataclass(frozen=True)
class Block:
    """A heading (level >= 1) or a paragraph (level 0), in reading order."""

    text: str
    level: int = 0
    anchor: str | None = None

    @property
    def is_heading(self) -> bool:
        return self.level > 0


FORMATS = {".txt": "txt", ".md": "md", ".markdown": "md", ".html": "html", ".htm": "html"}

TITLE_FORM = "<Compound> for <Condition>: Evidence Level Assessment"
TITLE_RE = re.compile(r"(?P<subject>.+?)\s*:\s*evidence level assessment\b", re.IGNORECASE)
FOR_RE = re.compile(r"\s+for\s+", re.IGNORECASE)
EVIDENCE_LEVEL_RE = re.compile(r"evidence level\s*:\s*(?P<value>.*)", re.IGNORECASE)
MECHANISM_RE = re.compile(r"\boperates via\s*:\s*(?P<items>.+)", re.IGNORECASE)
DISCLAIMER_RE = re.compile(r"medical disclaimer\s*:", re.IGNORECASE)
# A call to action pointing at a site, report or newsletter; anchored at the start so
# ordinary sentences that merely mention a website are kept.
MARKETING_RE = re.compile(
    r"(get|try|order|subscribe|sign up|download|visit)\b.*"
    r"(\b[\w-]+\.(ai|com|org|io|net)\b|\breports?\b|\bnewsletters?\b)",
    re.IGNORECASE,
)
MAX_MARKETING_CHARS = 200

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


def _clean(text: str) -> str:
    return " ".join(text.split())


# --- files --------------------------------------------------------------------------


def _page_paths(corpus_dir: Path) -> list[tuple[str, str]]:
    """(relative posix path, full path) of every page, sorted; hidden files/dirs skipped.
    os.walk rather than Path.rglob: a 10k-page site is listed at every `bot serve` start."""
    if not corpus_dir.is_dir():
        raise FileNotFoundError(f"corpus directory not found: {corpus_dir}")
    found = []
    root = str(corpus_dir)
    for folder, dirs, files in os.walk(root):
        dirs[:] = [d for d in dirs if not d.startswith(".")]
        rel_folder = os.path.relpath(folder, root)
        for name in files:
            if name.startswith(".") or os.path.splitext(name)[1].lower() not in PAGE_SUFFIXES:
                continue
            full = os.path.join(folder, name)
            if not os.path.isfile(full):
                continue
            rel = name if rel_folder == "." else f"{rel_folder}/{name}".replace(os.sep, "/")
            found.append((rel, full))
    return sorted(found)


def corpus_files(corpus_dir: Path) -> list[Path]:
    """Page files under `corpus_dir`, sorted by relative path; hidden files/dirs skipped."""
    return [Path(full) for _, full in _page_paths(corpus_dir)]


def corpus_hash(corpus_dir: Path) -> str:
    """Fingerprint of every page's relative path and bytes (index staleness check)."""
    digest = hashlib.sha256()
    for rel, full in _page_paths(corpus_dir):
        try:
            with open(full, "rb") as fh:
                page = hashlib.sha256(fh.read()).hexdigest()
        except OSError as exc:  # load_corpus skips it with a warning; it still counts here
            page = f"unreadable:{exc.errno}"
        digest.update(f"{rel}\0{page}\n".encode())
    return digest.hexdigest()


def parse_page(
    path: Path, *, source: str | None = None, max_bytes: int = DEFAULT_MAX_PAGE_BYTES
) -> Assessment:
    source = source or path.name
    fmt = FORMATS.get(path.suffix.lower())
    if fmt is None:
        raise PageError(source, f"unsupported file type {path.suffix or '(none)'!r}")
    try:
        size = path.stat().st_size  # checked before reading so a huge file is never loaded
        if size > max_bytes:
            raise PageError(source, f"file is {size} bytes, over the {max_bytes}-byte limit")
        data = path.read_bytes()
    except OSError as exc:
        raise PageError(source, f"cannot read file ({exc.strerror or exc})") from exc
    if len(data) > max_bytes:  # the file grew between stat and read
        raise PageError(source, f"file is {len(data)} bytes, over the {max_bytes}-byte limit")
    bom = 3 if data.startswith(b"\xef\xbb\xbf") else 0
    try:
        text = data[bom:].decode("utf-8")
    except UnicodeDecodeError as exc:
        raise PageError(source, f"not valid UTF-8 text (byte {exc.start + bom})") from exc
    return parse_text(text, fmt, source)


def parse_text(text: str, fmt: str, source: str) -> Assessment:
    if fmt not in set(FORMATS.values()):
        raise PageError(source, f"unsupported format {fmt!r}")
    text = text.removeprefix("\ufeff").replace("\r\n", "\n").replace("\r", "\n")
    if not text.strip():
        raise PageError(source, "empty file")
    url: str | None = None
    fallback_title: str | None = None
    aliases: list[str] = []
    if fmt == "txt":
        # Optional front matter, as on Markdown pages (`url:` links citations to the page);
        # a first block between `---` lines that is not a mapping is page text.
        try:
            meta, body = _front_matter(text, source)
        except PageError:
            meta, body = {}, text
        blocks = _txt_blocks(body if meta else text)
        raw_url = meta.get("url") or meta.get("canonical_url")
        url = (raw_url.strip() or None) if isinstance(raw_url, str) else None
    elif fmt == "md":
        meta, body = _front_matter(text, source)
        blocks, _, fallback_title = _html_blocks(MarkdownIt("commonmark").render(body))
        raw_url = meta.get("url") or meta.get("canonical_url")
        url = (raw_url.strip() or None) if isinstance(raw_url, str) else None
        if isinstance(meta.get("title"), str):
            fallback_title = meta["title"]
        listed = meta.get("aliases")
        if isinstance(listed, list):
            aliases = [str(a).strip() for a in listed if str(a).strip()]
    else:
        blocks, url, fallback_title = _html_blocks(text)
    page = _assemble(blocks, source, url, fallback_title)
    return replace(page, aliases=tuple(dict.fromkeys([*aliases, *_intro_aliases(page)])))


def load_corpus(
    corpus_dir: Path,
    *,
    max_bytes: int = DEFAULT_MAX_PAGE_BYTES,
    known: dict[str, Assessment] | None = None,
) -> CorpusLoad:
    """Parse every page; a bad page becomes a PageProblem (and a warning), never an error.
    Pages whose page_key is in `known` (an earlier build's parses) are not parsed again."""
    result = CorpusLoad(assessments=[], problems=[])
    seen: dict[tuple[str, str], str] = {}
    known = known or {}
    for path in corpus_files(corpus_dir):
        source = path.relative_to(corpus_dir).as_posix()
        try:
            try:
                key = page_key(path.read_bytes()) if path.stat().st_size <= max_bytes else None
            except OSError:
                key = None  # parse_page says what is wrong with the file
            cached = known.get(key) if key else None
            page = (
                replace(cached, source=source)
                if cached is not None
                else parse_page(path, source=source, max_bytes=max_bytes)
            )
            duplicate = (page.compound.casefold(), page.condition.casefold())
            if duplicate in seen:
                raise PageError(source, f"duplicate of {seen[duplicate]}")
        except PageError as exc:
            log.warning("skipping corpus page %s: %s", exc.source, exc.reason)
            result.problems.append(PageProblem(exc.source, exc.reason))
            continue
        except Exception as exc:  # a parser bug on one page must not stop the whole build
            log.exception("skipping corpus page %s: unexpected parse failure", source)
            result.problems.append(PageProblem(source, f"could not be parsed ({exc!r})"))
            continue
        seen[duplicate] = source
        result.assessments.append(page)
        if key:
            result.keys[page.id] = key
    return result


# --- format readers: text -> blocks ----------------------------------------------------


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
            blocks.append(Block(_clean(first), level=1))
            chunk = chunk[1:]
        elif KNOWN_TXT_HEADING_RE.match(first) or (
            len(chunk) == 1 and not after_question and _looks_like_txt_heading(first)
        ):
            blocks.append(Block(_clean(first), level=2))
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
    return [_clean(" ".join(p)) for p in paragraphs]


def _front_matter(text: str, source: str) -> tuple[dict[str, object], str]:
    if not text.startswith("---\n"):
        return {}, text
    end = re.search(r"^---[ \t]*$", text[4:], re.MULTILINE)
    if end is None:
        return {}, text
    try:
        meta = yaml.safe_load(text[4 : 4 + end.start()])
    except yaml.YAMLError as exc:
        raise PageError(source, f"invalid YAML front matter ({exc.__class__.__name__})") from exc
    return (meta if isinstance(meta, dict) else {}), text[4 + end.end() :]


def _is_chrome(tag: Tag) -> bool:
    if tag.name in DROP_TAGS:
        return not (tag.name == "header" and tag.find_parent(["main", "article"]))
    if tag.name in CONTENT_ROOTS:
        return False
    marks = " ".join([str(tag.get("id") or ""), *tag.get_attribute_list("class")])
    return bool(CHROME_RE.search(marks))


def _html_blocks(html: str) -> tuple[list[Block], str | None, str | None]:
    """HTML -> (blocks, canonical url, <title> text)."""
    soup = BeautifulSoup(html, "html.parser")
    link = soup.find(lambda t: t.name == "link" and "canonical" in t.get_attribute_list("rel"))
    og = soup.find("meta", attrs={"property": "og:url"})
    raw_url = (link.get("href") if link else None) or (og.get("content") if og else None)
    url = (raw_url.strip() or None) if isinstance(raw_url, str) else None
    title = _clean(soup.title.get_text()) if soup.title else None
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
    return _clean("".join(parts))


def _walk(root: Tag | BeautifulSoup) -> list[Block]:
    """Depth-first without recursion (deep nesting must not crash the loader).

    Text accumulates until a block element starts or ends, so nested paragraphs
    (li > p, blockquote > p) are emitted once each and inline markup adds no spaces.
    """
    blocks: list[Block] = []
    buffer: list[str] = []

    def flush() -> None:
        text = _clean("".join(buffer))
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


# --- assembler: blocks -> Assessment -------------------------------------------------


def _match_title(text: str | None) -> re.Match[str] | None:
    if not text:
        return None
    match = TITLE_RE.match(_clean(text))
    return match if match and FOR_RE.search(match["subject"]) else None


def _split_subject(subject: str, blocks: list[Block]) -> tuple[str, str]:
    """Compound/condition, preferring the classification heading's explicit "+" split
    ("Current Evidence Classification: <compound> + <condition>")."""
    for block in blocks:
        classification = (
            block.is_heading and page_schema.kind_of(block.text) is SectionKind.CLASSIFICATION
        )
        if classification and ":" in block.text:
            pair = block.text.partition(":")[2].strip()
            for plus in re.finditer(r"\s+\+\s+", pair):
                compound, condition = pair[: plus.start()], pair[plus.end() :]
                if f"{compound} for {condition}".casefold() == subject.casefold():
                    return compound, condition
    compound, condition = FOR_RE.split(subject, maxsplit=1)
    return compound, condition


def _mechanism(sections: list[Section]) -> tuple[str, ...]:
    for section in sections:
        if section.kind is not SectionKind.MECHANISM:
            continue
        for paragraph in section.paragraphs:
            if match := MECHANISM_RE.search(paragraph):
                # Stop at the end of the sentence when more prose follows the list.
                items = re.split(r"\.\s+(?=[A-Z])", match["items"], maxsplit=1)[0]
                return tuple(i.strip().rstrip(".").strip() for i in items.split(";") if i.strip())
    return ()


def _split_sections(blocks: list[Block]) -> tuple[list[Section], list[FAQ]]:
    sections: list[Section] = []
    faqs: list[FAQ] = []
    title, anchor, paragraphs = page_schema.load().untitled.heading, None, []
    faq_level: int | None = None  # heading level of the FAQ section we are inside
    question: Block | None = None
    answer: list[str] = []

    def close_question() -> None:
        if question and answer:
            faqs.append(FAQ(question.text, "\n".join(answer), question.anchor))

    for block in blocks:
        if faq_level is not None:
            if block.text.endswith("?"):
                close_question()
                question, answer = block, []
                continue
            if not block.is_heading:
                if question:
                    answer.append(block.text)
                continue
            if block.level > faq_level:  # a sub-heading inside the FAQ: not content
                continue
            close_question()
            faq_level, question = None, None
        if block.is_heading:
            if paragraphs:
                sections.append(
                    Section(title, tuple(paragraphs), anchor, page_schema.kind_of(title))
                )
            title, anchor, paragraphs = block.text, block.anchor, []
            if page_schema.kind_of(block.text) is SectionKind.FAQ:
                faq_level = block.level
        else:
            paragraphs.append(block.text)
    close_question()
    if paragraphs:
        sections.append(Section(title, tuple(paragraphs), anchor, page_schema.kind_of(title)))
    return sections, faqs


# How a page names a compound's brands or other names in its text: "sold under the brand
# name Orsivex", "marketed as Paxorva and Paxorva XR", "also known as ...", "(brand name X)".
ALIAS_RE = re.compile(
    r"(?:(?:sold|marketed|available|known|distributed)\s+(?:commercially\s+)?"
    r"(?:under|as)\s+(?:the\s+)?(?:(?:brand|trade)(?:\s+|-)names?\s+)?"
    r"|\b(?:brand|trade)(?:\s+|-)names?\s*(?:include|includes|such\s+as|:|is|are)?\s*"
    r"|also\s+called\s+)"
    r"(?P<names>[A-Z0-9][\w-]*(?:\s[A-Z0-9][\w-]*)?"
    r"(?:(?:,\s*|\s+(?:and|or)\s+)[A-Z0-9][\w-]*(?:\s[A-Z0-9][\w-]*)?)*)"
)


def _intro_aliases(page: Assessment) -> list[str]:
    """Names the page's introduction gives the compound (brands, other names)."""
    intro = page.section(SectionKind.INTRODUCTION)
    text = " ".join(intro.paragraphs) if intro else ""
    found: list[str] = []
    for m in ALIAS_RE.finditer(text):
        found += [n.strip() for n in re.split(r",\s*|\s+(?:and|or)\s+", m["names"]) if n.strip()]
    return found


def _assemble(
    blocks: list[Block], source: str, url: str | None, fallback_title: str | None
) -> Assessment:
    start = next((i for i, b in enumerate(blocks) if b.level == 1 and _match_title(b.text)), None)
    match = _match_title(blocks[start].text) if start is not None else _match_title(fallback_title)
    if match is None:
        raise PageError(source, f"no title of the form {TITLE_FORM!r}")
    title = match[0]
    body = [
        b
        for b in blocks[(start + 1 if start is not None else 0) :]
        if b.text.casefold() != title.casefold()  # the template repeats the title
        and not (len(b.text) <= MAX_MARKETING_CHARS and MARKETING_RE.match(b.text))
    ]

    disclaimers = [b for b in body if not b.is_heading and DISCLAIMER_RE.match(b.text)]
    body = [b for b in body if b not in disclaimers]
    first_heading = next((i for i, b in enumerate(body) if b.is_heading), len(body))
    byline = next((b for b in body[:first_heading] if b.text.startswith("By ")), None)
    body = [b for b in body if b is not byline]

    level = next(
        (m for b in body if not b.is_heading and (m := EVIDENCE_LEVEL_RE.match(b.text))), None
    )
    if level is None:
        raise PageError(source, "no 'Evidence level:' line")
    if not level["value"].strip():
        raise PageError(source, "empty 'Evidence level:' line")

    compound, condition = _split_subject(match["subject"], body)
    sections, faqs = _split_sections(body)
    return Assessment(
        source=source,
        title=title,
        compound=compound.strip(),
        condition=condition.strip(),
        evidence_level=level["value"].strip(),
        mechanism=_mechanism(sections),
        sections=tuple(sections),
        faqs=tuple(faqs),
        disclaimer=disclaimers[0].text if disclaimers else None,
        url=url,
        byline=byline.text if byline else None,
    )
