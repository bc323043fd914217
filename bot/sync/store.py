"""Storing: synced pages as files in the corpus, and what the sync knows about each.

A page is kept as the HTML we fetched, with one line added when needed: a canonical link
naming the URL it was fetched from, which `bot.pages` reads as the page's URL, so every
citation links to the live page. Files go under `<corpus>/<host>/`, apart from pages put
there by hand (which a sync never touches). What the next sync needs (each page's file,
ETag, Last-Modified, sitemap lastmod and body hash) is in `<corpus>/.sync/state.json`, and
the last run's summary in `last-run.json` beside it; the corpus loader skips hidden
folders, so neither is read as a page. Every file is written to a temporary name, fsynced
and renamed, so a build never reads half a page.
"""

from __future__ import annotations

import contextlib
import hashlib
import html
import json
import os
import re
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

STATE_DIR = ".sync"
STATE_FILE = "state.json"
LAST_RUN_FILE = "last-run.json"
STATE_VERSION = 1

HEAD_RE = re.compile(r"<head(\s[^>]*)?>", re.IGNORECASE)
CHARSET_RE = re.compile(r"charset\s*=\s*[\"']?([\w.:-]+)", re.IGNORECASE)


@dataclass
class Entry:
    """One synced page: where it is stored and how to ask whether it changed."""

    url: str
    path: str  # relative to the corpus, posix
    sha256: str  # of the body as fetched
    etag: str | None = None
    last_modified: str | None = None
    lastmod: str | None = None  # as the sitemap gave it
    fetched_at: str | None = None

    def validators(self) -> dict[str, str]:
        return {k: v for k, v in (("etag", self.etag), ("last_modified", self.last_modified)) if v}


def body_hash(body: bytes) -> str:
    return hashlib.sha256(body).hexdigest()


def relative_path(url: str) -> str:
    """`<host>[_<port>]/<readable path>-<hash>.html`: stable, unique per URL, never hidden."""
    parts = urlsplit(url)
    host = (parts.hostname or "site").lower() + (f"_{parts.port}" if parts.port else "")
    slug = re.sub(r"[^A-Za-z0-9._-]+", "-", f"{parts.path}?{parts.query}".strip("/?"))
    slug = slug.strip(".-")[:80].rstrip(".-") or "index"
    digest = hashlib.sha256(url.encode()).hexdigest()[:8]
    return f"{host.strip('.')}/{slug}-{digest}.html"


def decode_html(body: bytes, content_type: str | None) -> str:
    """The page as text: the charset the server declared, else what the page itself says
    (Beautiful Soup's UnicodeDammit sniffs <meta charset> and byte order marks)."""
    declared = CHARSET_RE.search(content_type or "")
    if declared:
        try:
            return body.decode(declared.group(1))
        except (LookupError, UnicodeDecodeError):
            pass
    from bs4 import UnicodeDammit

    text = UnicodeDammit(body, is_html=True).unicode_markup
    return text if text is not None else body.decode("utf-8", errors="replace")


def with_canonical(page: str, url: str) -> str:
    """The page with a canonical link to `url` first in <head> (or first of all), so the
    page's URL is where we fetched it even when its own canonical link says otherwise."""
    link = f'<link rel="canonical" href="{html.escape(url, quote=True)}">'
    match = HEAD_RE.search(page)
    if match is None:
        return f"{link}\n{page}"
    return f"{page[: match.end()]}\n{link}{page[match.end() :]}"


def _atomic_write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


class SyncStore:
    """The synced part of one corpus folder."""

    def __init__(self, corpus: Path) -> None:
        self.corpus = corpus
        self.folder = corpus / STATE_DIR

    def load(self) -> dict[str, Entry]:
        """Known pages by URL; an unreadable state counts as none known (every page is
        then fetched in full, and nothing is dropped for being unlisted)."""
        try:
            data = json.loads((self.folder / STATE_FILE).read_text())
            if data.get("version") != STATE_VERSION:
                return {}
            return {url: Entry(url=url, **fields) for url, fields in data["pages"].items()}
        except (OSError, ValueError, TypeError, KeyError, AttributeError):
            return {}

    def save(self, entries: dict[str, Entry], sitemap: str) -> None:
        pages = {}
        for url, entry in sorted(entries.items()):
            fields = asdict(entry)
            fields.pop("url")
            pages[url] = fields
        payload = {"version": STATE_VERSION, "sitemap": sitemap, "pages": pages}
        _atomic_write(self.folder / STATE_FILE, json.dumps(payload, indent=1).encode())

    def has_file(self, entry: Entry) -> bool:
        return (self.corpus / entry.path).is_file()

    def write_page(self, relative: str, page: bytes) -> None:
        _atomic_write(self.corpus / relative, page)

    def remove_page(self, entry: Entry) -> None:
        path = self.corpus / entry.path
        with contextlib.suppress(FileNotFoundError):
            path.unlink()
        # Tidy an emptied host folder, never anything above it.
        with contextlib.suppress(OSError):
            if path.parent != self.corpus and not any(path.parent.iterdir()):
                path.parent.rmdir()

    def save_last_run(self, summary: dict[str, Any]) -> None:
        _atomic_write(self.folder / LAST_RUN_FILE, json.dumps(summary, indent=1).encode())

    def last_run(self) -> dict[str, Any] | None:
        try:
            data = json.loads((self.folder / LAST_RUN_FILE).read_text())
        except (OSError, ValueError):
            return None
        return data if isinstance(data, dict) else None

    def last_run_mtime(self) -> float | None:
        try:
            return (self.folder / LAST_RUN_FILE).stat().st_mtime
        except OSError:
            return None
