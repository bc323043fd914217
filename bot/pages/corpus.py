"""Pages on disk: the corpus folder's files and fingerprint, a file or text parsed into an
`Assessment` (its format's reader, then the assembler), and a whole corpus loaded with
a problem per unusable page (and a parse cache keyed by page_key)."""

from __future__ import annotations

import hashlib
import logging
import os
from dataclasses import replace
from pathlib import Path

from bot import page_schema
from bot.pages.assemble import assemble
from bot.pages.html_reader import html_blocks, read_md
from bot.pages.records import Assessment, CorpusLoad, PageError, PageProblem
from bot.pages.text_reader import read_txt

# The logger of the pages package, whichever module of it logs.
log = logging.getLogger("bot.pages")

PAGE_SUFFIXES = frozenset({".txt", ".md", ".markdown", ".html", ".htm"})
DEFAULT_MAX_PAGE_BYTES = 2_000_000
FORMATS = {".txt": "txt", ".md": "md", ".markdown": "md", ".html": "html", ".htm": "html"}


def _parser_digest() -> str:
    """Changes whenever a module of this package (the parsers) or the page schema does, so a
    cached parse is only reused by the very code (and section kinds) that made it."""
    digest = hashlib.sha256()
    for module in sorted(Path(__file__).parent.glob("*.py")):
        digest.update(module.name.encode() + b"\0" + module.read_bytes())
    digest.update(page_schema.fingerprint().encode())
    return digest.hexdigest()[:16]


PARSER = _parser_digest()


def page_key(data: bytes) -> str:
    """Names a parse: this parser on these bytes (whatever the file is called)."""
    return hashlib.sha256(PARSER.encode() + b"\0" + data).hexdigest()[:32]


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
    """One page file, by its suffix's format; PageError when it cannot be used."""
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
    """A page's text in a format ("txt", "md", "html"): its reader, then the assembler."""
    if fmt not in set(FORMATS.values()):
        raise PageError(source, f"unsupported format {fmt!r}")
    text = text.removeprefix("\ufeff").replace("\r\n", "\n").replace("\r", "\n")
    if not text.strip():
        raise PageError(source, "empty file")
    fallback_title: str | None = None
    aliases: list[str] = []
    if fmt == "txt":
        blocks, url = read_txt(text, source)
    elif fmt == "md":
        blocks, url, fallback_title, aliases = read_md(text, source)
    else:
        blocks, url, fallback_title = html_blocks(text)
    return assemble(blocks, source, url, fallback_title, aliases)


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
