"""The plan of a sync, page by page: which listed pages are fetched and in what order, what
each one is now against its stored copy (new, changed, unchanged, failed or gone), and which
stored pages are candidates to drop. Nothing here writes to the corpus (apply.py does)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace

from bot.pages import PageError, parse_text
from bot.sync.discovery import Discovery, Listed, Robots, origin
from bot.sync.fetch import Fetcher
from bot.sync.options import SyncOptions
from bot.sync.report import SyncReport, now
from bot.sync.store import Entry, SyncStore, body_hash, decode_html, relative_path, with_canonical

HTML_TYPES = ("text/html", "application/xhtml+xml")
GONE = frozenset({404, 410})


@dataclass
class Outcome:
    kind: str  # new | changed | unchanged | failed | gone
    url: str
    entry: Entry | None = None
    page: bytes | None = None  # the file to store (new or changed)
    reason: str | None = None
    not_modified: bool = False


def select(
    pages: list[Listed], options: SyncOptions, robots: Robots, report: SyncReport
) -> tuple[list[Listed], set[str]]:
    """(the pages to fetch, the URLs not to): another site's pages and those the options
    exclude are counted as excluded, those robots.txt disallows as skipped."""
    home = origin(options.sitemap)
    wanted, unwanted = [], set()
    for page in pages:
        if origin(page.url) != home or not options.wants(page.url):
            report.excluded += 1
            unwanted.add(page.url)
        elif not robots.allows(page.url):
            report.skipped_robots += 1
            unwanted.add(page.url)
        else:
            wanted.append(page)
    return wanted, unwanted


def redirect_check(sitemap: str, robots: Robots) -> Callable[[str], str | None]:
    """Why a redirect target may not be followed (None: it may): only the sitemap's own
    site, and only where robots.txt allows."""
    home = origin(sitemap)

    def allowed(target: str) -> str | None:
        if origin(target) != home:
            return "another site"
        return None if robots.allows(target) else "disallowed by robots.txt"

    return allowed


def order(pages: list[Listed], known: dict[str, Entry]) -> list[Listed]:
    """New pages first, then pages whose sitemap lastmod moved, then the rest: with a
    crawl delay, what most likely changed is refreshed first."""

    def rank(page: Listed) -> int:
        entry = known.get(page.url)
        if entry is None:
            return 0
        return 1 if page.lastmod and page.lastmod != entry.lastmod else 2

    return sorted(pages, key=rank)


def fetch_page(
    listed: Listed,
    known: Entry | None,
    fetcher: Fetcher,
    store: SyncStore,
    options: SyncOptions,
    allowed: Callable[[str], str | None],
) -> Outcome:
    url = listed.url
    stored = known is not None and store.has_file(known)
    validators = known.validators() if known is not None and stored else {}
    fetched = fetcher.get(
        url, max_bytes=options.max_page_bytes, validators=validators, allowed=allowed
    )
    if fetched.status == 304 and known is not None and validators:
        entry = replace(known, lastmod=listed.lastmod or known.lastmod)
        return Outcome("unchanged", url, entry, not_modified=True)
    if fetched.status in GONE:
        return Outcome("gone", url, reason=f"HTTP {fetched.status}")
    if not fetched.ok:
        return Outcome("failed", url, reason=fetched.describe())
    content_type = fetched.headers.get("content-type", "")
    if content_type and content_type.split(";")[0].strip().lower() not in HTML_TYPES:
        return Outcome("failed", url, reason=f"not an HTML page ({content_type})")
    entry = Entry(
        url=url,
        path=known.path if known is not None else relative_path(url),
        sha256=body_hash(fetched.body),
        etag=fetched.headers.get("etag"),
        last_modified=fetched.headers.get("last-modified"),
        lastmod=listed.lastmod,
        fetched_at=now(),
    )
    if known is not None and stored and known.sha256 == entry.sha256:
        # The same bytes again (a server without validators): nothing to parse or store.
        return Outcome("unchanged", url, entry)
    # Cited as the URL it was fetched from (after any redirect): the live page.
    text = with_canonical(decode_html(fetched.body, content_type), fetched.url)
    page = text.encode("utf-8")
    if len(page) > options.max_page_bytes:
        return Outcome("failed", url, reason=f"over the {options.max_page_bytes}-byte limit")
    try:
        parse_text(text, "html", url)
    except PageError as exc:
        return Outcome("failed", url, reason=f"not usable as an assessment page: {exc.reason}")
    return Outcome("changed" if known is not None else "new", url, entry, page)


def drop_candidates(
    found: Discovery,
    known: dict[str, Entry],
    unwanted: set[str],
    gone: dict[str, str],
    report: SyncReport,
) -> set[str]:
    """Stored pages that left the site: gone (404/410), no longer wanted, or no longer
    listed, the last only when every sitemap could be read."""
    candidates = set(gone) | {url for url in known if url in unwanted}
    listed = {page.url for page in found.pages}
    unlisted = {url for url in known if url not in listed}
    if found.complete:
        candidates |= unlisted
    elif unlisted:
        report.errors.append(
            f"{len(unlisted)} synced page(s) not listed, kept: not every sitemap could be read"
        )
    return candidates
