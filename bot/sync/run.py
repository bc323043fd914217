"""The sync use-case: the site's sitemap -> its pages in the corpus -> a new index, published.

1. robots.txt, then the sitemap (and the sitemaps an index names) list the pages;
   include/exclude patterns and robots.txt decide which are fetched.
2. Each page is fetched conditionally (ETag / Last-Modified from the last sync): a 304
   costs no parse; a changed page must parse as an assessment (title and `Evidence level:`)
   before it replaces the stored one, so a broken page is skipped, never half-indexed.
3. Pages the sitemap no longer lists (or that answer 404/410) are dropped, unless that is
   more than `max_drop` of the synced pages: then nothing is dropped without `force`.
4. When anything changed, the index is rebuilt with the same functions as `bot build`
   (unchanged pages are not parsed again, unchanged passages not embedded again) and
   published atomically; running servers switch to it by themselves.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from fnmatch import fnmatchcase
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import urlsplit

from bot.embedding import Embedder
from bot.index import BuildReport, Index, build_corpus, is_current, read_manifest
from bot.locks import try_file_lock
from bot.pages import DEFAULT_MAX_PAGE_BYTES, PageError, PageProblem, corpus_hash, parse_text
from bot.settings import Settings
from bot.sync.discovery import DiscoveryError, Listed, Robots, discover, origin
from bot.sync.fetch import Cancelled, Fetcher
from bot.sync.store import (
    Entry,
    SyncStore,
    body_hash,
    decode_html,
    relative_path,
    with_canonical,
)

log = logging.getLogger(__name__)

LOCK_FILE = "sync.lock"
HTML_TYPES = ("text/html", "application/xhtml+xml")
GONE = frozenset({404, 410})
REPORT_LIMIT = 50  # URLs listed per kind in a report (the counts are always whole)


def _patterns(value: str) -> tuple[str, ...]:
    return tuple(p.strip() for p in value.split(",") if p.strip())


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


@dataclass(frozen=True)
class SyncOptions:
    sitemap: str
    include: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()
    max_drop: float = 0.25
    force: bool = False
    concurrency: int = 2
    timeout: float = 30.0
    max_page_bytes: int = DEFAULT_MAX_PAGE_BYTES
    attempts: int = 3
    backoff: float = 1.0

    @classmethod
    def from_settings(
        cls,
        settings: Settings,
        sitemap: str | None = None,
        *,
        force: bool = False,
        include: tuple[str, ...] = (),
        exclude: tuple[str, ...] = (),
    ) -> SyncOptions:
        """Options from BOT_SYNC_* settings; arguments given here win."""
        url = sitemap or settings.sync_sitemap
        if not url:
            raise ValueError("no sitemap: give its URL or set BOT_SYNC_SITEMAP")
        return cls(
            sitemap=url,
            include=include or _patterns(settings.sync_include),
            exclude=exclude or _patterns(settings.sync_exclude),
            max_drop=settings.sync_max_drop,
            force=force,
            concurrency=settings.sync_concurrency,
            timeout=settings.sync_timeout,
            max_page_bytes=settings.max_page_bytes,
        )

    def wants(self, url: str) -> bool:
        """Include/exclude globs, against the URL's path (or the whole URL for a pattern
        that starts with http)."""

        def hit(pattern: str) -> bool:
            subject = url if pattern.startswith(("http://", "https://")) else urlsplit(url).path
            return fnmatchcase(subject, pattern)

        if self.include and not any(hit(p) for p in self.include):
            return False
        return not any(hit(p) for p in self.exclude)


@dataclass
class SyncReport:
    sitemap: str
    started_at: str
    finished_at: str | None = None
    listed: int = 0
    new: int = 0
    changed: int = 0
    unchanged: int = 0
    removed: int = 0
    failed: int = 0
    skipped_robots: int = 0
    excluded: int = 0
    not_modified: int = 0  # unchanged pages that cost a 304 and nothing more
    requests: int = 0
    refused_drop: int = 0  # pages that would have been dropped, kept for want of --force
    forced: bool = False
    cancelled: bool = False
    build_failed: bool = False
    index: str | None = None  # digest of the index serving the synced corpus
    errors: list[str] = field(default_factory=list)
    failures: list[dict[str, str]] = field(default_factory=list)
    removed_urls: list[str] = field(default_factory=list)
    changed_urls: list[str] = field(default_factory=list)

    @property
    def synced(self) -> int:
        return self.new + self.changed + self.unchanged

    @property
    def ok(self) -> bool:
        """Something was synced and is served (a run with every page failing, or the
        sitemap unreachable, or an index that could not be built, is not)."""
        return self.synced > 0 and not self.build_failed and not self.cancelled

    def counts(self) -> dict[str, int]:
        return {
            "listed": self.listed,
            "new": self.new,
            "changed": self.changed,
            "unchanged": self.unchanged,
            "not_modified": self.not_modified,
            "removed": self.removed,
            "failed": self.failed,
            "skipped_robots": self.skipped_robots,
            "excluded": self.excluded,
            "requests": self.requests,
        }

    def summary(self) -> str:
        return (
            f"{self.new} new, {self.changed} changed, {self.unchanged} unchanged "
            f"({self.not_modified} not modified: 304), {self.removed} removed, "
            f"{self.failed} failed, {self.skipped_robots} skipped by robots.txt, "
            f"{self.excluded} excluded; {self.requests} requests"
        )

    def to_json(self) -> dict[str, Any]:
        """For the audit event, /healthz and last-run.json (lists cut at REPORT_LIMIT)."""
        return {
            "sitemap": self.sitemap,
            "started_at": self.started_at,
            "finished_at": self.finished_at,
            "ok": self.ok,
            "counts": self.counts(),
            "refused_drop": self.refused_drop,
            "forced": self.forced,
            "cancelled": self.cancelled,
            "index": self.index,
            "errors": self.errors[:REPORT_LIMIT],
            "failures": self.failures[:REPORT_LIMIT],
            "removed_urls": self.removed_urls[:REPORT_LIMIT],
            "changed_urls": self.changed_urls[:REPORT_LIMIT],
        }


class Progress(Protocol):
    def start(self, total: int) -> None: ...
    def advance(self, url: str, outcome: str) -> None: ...


@dataclass
class _Outcome:
    kind: str  # new | changed | unchanged | failed | gone
    url: str
    entry: Entry | None = None
    page: bytes | None = None  # the file to store (new or changed)
    reason: str | None = None
    not_modified: bool = False


@contextlib.contextmanager
def exclusive(index_dir: Path) -> Iterator[bool]:
    """One sync at a time over an index, across processes and machines sharing its folder
    (a file lock next to it); yields False when another sync holds it."""
    index_dir.mkdir(parents=True, exist_ok=True)
    with try_file_lock(index_dir / LOCK_FILE) as held:
        yield held


class _LogSkipped(BuildReport):
    def skipped(self, problem: PageProblem) -> None:
        log.warning("skipping corpus page %s: %s", problem.source, problem.reason)


def rebuild(corpus: Path, index_dir: Path, embedder: Embedder, max_page_bytes: int) -> Index:
    """What `bot build` does (build_corpus): pages unchanged since the published build are
    not parsed again, unchanged passages are not embedded again, and the new index is
    published atomically. A corpus with no usable page raises CorpusUnusable."""
    report = _LogSkipped()
    return build_corpus(
        corpus, index_dir, embedder, max_page_bytes=max_page_bytes, report=report
    ).index


def _fetch_page(
    listed: Listed,
    known: Entry | None,
    fetcher: Fetcher,
    store: SyncStore,
    options: SyncOptions,
    allowed: Callable[[str], str | None],
) -> _Outcome:
    url = listed.url
    stored = known is not None and store.has_file(known)
    validators = known.validators() if known is not None and stored else {}
    fetched = fetcher.get(
        url, max_bytes=options.max_page_bytes, validators=validators, allowed=allowed
    )
    if fetched.status == 304 and known is not None and validators:
        entry = replace(known, lastmod=listed.lastmod or known.lastmod)
        return _Outcome("unchanged", url, entry, not_modified=True)
    if fetched.status in GONE:
        return _Outcome("gone", url, reason=f"HTTP {fetched.status}")
    if not fetched.ok:
        return _Outcome("failed", url, reason=fetched.describe())
    content_type = fetched.headers.get("content-type", "")
    if content_type and content_type.split(";")[0].strip().lower() not in HTML_TYPES:
        return _Outcome("failed", url, reason=f"not an HTML page ({content_type})")
    entry = Entry(
        url=url,
        path=known.path if known is not None else relative_path(url),
        sha256=body_hash(fetched.body),
        etag=fetched.headers.get("etag"),
        last_modified=fetched.headers.get("last-modified"),
        lastmod=listed.lastmod,
        fetched_at=_now(),
    )
    if known is not None and stored and known.sha256 == entry.sha256:
        # The same bytes again (a server without validators): nothing to parse or store.
        return _Outcome("unchanged", url, entry)
    # Cited as the URL it was fetched from (after any redirect): the live page.
    text = with_canonical(decode_html(fetched.body, content_type), fetched.url)
    page = text.encode("utf-8")
    if len(page) > options.max_page_bytes:
        return _Outcome("failed", url, reason=f"over the {options.max_page_bytes}-byte limit")
    try:
        parse_text(text, "html", url)
    except PageError as exc:
        return _Outcome("failed", url, reason=f"not usable as an assessment page: {exc.reason}")
    return _Outcome("changed" if known is not None else "new", url, entry, page)


def _order(pages: list[Listed], known: dict[str, Entry]) -> list[Listed]:
    """New pages first, then pages whose sitemap lastmod moved, then the rest: with a
    crawl delay, what most likely changed is refreshed first."""

    def rank(page: Listed) -> int:
        entry = known.get(page.url)
        if entry is None:
            return 0
        return 1 if page.lastmod and page.lastmod != entry.lastmod else 2

    return sorted(pages, key=rank)


def sync_site(
    options: SyncOptions,
    corpus: Path,
    index_dir: Path,
    embedder: Callable[[], Embedder],
    *,
    progress: Progress | None = None,
    cancel: threading.Event | None = None,
) -> SyncReport:
    """One sync. Problems are reported (errors, failures), not raised; the caller holds
    `exclusive(index_dir)`. `embedder` is asked for once the pages are stored (a lazy
    model is then loaded only if passages must be embedded)."""
    report = SyncReport(sitemap=options.sitemap, started_at=_now(), forced=options.force)
    cancel = cancel or threading.Event()
    corpus.mkdir(parents=True, exist_ok=True)
    store = SyncStore(corpus)
    known = store.load()
    entries = dict(known)
    fetcher = Fetcher(
        timeout=options.timeout,
        per_host=options.concurrency,
        attempts=options.attempts,
        backoff=options.backoff,
        cancel=cancel,
    )
    try:
        _sync_pages(options, report, store, fetcher, known, entries, progress)
    except Cancelled:
        report.cancelled = True
        report.errors.append("stopped before the end (the server is shutting down)")
    finally:
        report.requests = fetcher.requests
        fetcher.close()
        # Whatever was fetched is remembered, even from a run that stopped half-way.
        store.save(entries, options.sitemap)
    if not report.cancelled and (report.listed or report.removed):
        _publish(options, report, corpus, index_dir, embedder)
    report.finished_at = _now()
    store.save_last_run(report.to_json())
    return report


def _sync_pages(
    options: SyncOptions,
    report: SyncReport,
    store: SyncStore,
    fetcher: Fetcher,
    known: dict[str, Entry],
    entries: dict[str, Entry],
    progress: Progress | None,
) -> None:
    try:
        robots = Robots.fetch(fetcher, options.sitemap)
    except DiscoveryError as exc:
        report.errors.append(str(exc))
        return
    fetcher.set_delay(options.sitemap, robots.delay)
    found = discover(options.sitemap, fetcher, robots)
    report.errors.extend(found.errors)
    report.listed = len(found.pages)
    if not found.pages:
        report.errors.append(f"no pages listed by {options.sitemap}")
    home = origin(options.sitemap)

    def allowed(target: str) -> str | None:
        if origin(target) != home:
            return "another site"
        return None if robots.allows(target) else "disallowed by robots.txt"

    wanted, unwanted = [], set()
    for page in found.pages:
        if origin(page.url) != home or not options.wants(page.url):
            report.excluded += 1
            unwanted.add(page.url)
        elif not robots.allows(page.url):
            report.skipped_robots += 1
            unwanted.add(page.url)
        else:
            wanted.append(page)

    gone: dict[str, str] = {}
    if progress:
        progress.start(len(wanted))
    with ThreadPoolExecutor(options.concurrency, thread_name_prefix="bot-sync") as pool:
        pending: set[Future[_Outcome]] = {
            pool.submit(_fetch_page, page, known.get(page.url), fetcher, store, options, allowed)
            for page in _order(wanted, known)
        }
        try:
            while pending:
                done, pending = wait(pending, return_when=FIRST_COMPLETED)
                for future in done:
                    outcome = future.result()
                    _apply(outcome, report, store, entries, gone)
                    if progress:
                        progress.advance(outcome.url, outcome.kind)
        except BaseException:  # stopped, interrupted, or a bug: no new requests
            fetcher.cancel.set()
            for future in pending:
                future.cancel()
            raise

    candidates = set(gone) | {url for url in known if url in unwanted}
    listed = {page.url for page in found.pages}
    unlisted = {url for url in known if url not in listed}
    if found.complete:
        candidates |= unlisted
    elif unlisted:
        report.errors.append(
            f"{len(unlisted)} synced page(s) not listed, kept: not every sitemap could be read"
        )
    _drop(candidates, options, report, store, known, entries, gone)


def _apply(
    outcome: _Outcome,
    report: SyncReport,
    store: SyncStore,
    entries: dict[str, Entry],
    gone: dict[str, str],
) -> None:
    if outcome.kind == "gone":
        gone[outcome.url] = outcome.reason or "gone"
        return
    if outcome.kind == "failed":
        report.failed += 1
        report.failures.append({"url": outcome.url, "reason": outcome.reason or "failed"})
        log.warning("not synced: %s: %s", outcome.url, outcome.reason)
        return
    assert outcome.entry is not None
    if outcome.page is not None:
        store.write_page(outcome.entry.path, outcome.page)
        report.changed_urls.append(outcome.url)
    entries[outcome.url] = outcome.entry
    setattr(report, outcome.kind, getattr(report, outcome.kind) + 1)
    report.not_modified += outcome.not_modified


def _drop(
    candidates: set[str],
    options: SyncOptions,
    report: SyncReport,
    store: SyncStore,
    known: dict[str, Entry],
    entries: dict[str, Entry],
    gone: dict[str, str],
) -> None:
    """Drop the pages that left the site, unless they are too large a share of it."""
    candidates &= set(known)
    for url in set(gone) - candidates:  # never synced: nothing to drop, but it failed
        report.failed += 1
        report.failures.append({"url": url, "reason": gone[url]})
    if not candidates:
        return
    limit = int(options.max_drop * len(known))
    if len(candidates) > limit and not options.force:
        report.refused_drop = len(candidates)
        report.errors.append(
            f"refused to drop {len(candidates)} of {len(known)} synced pages (more than "
            f"{options.max_drop:.0%} in one run; the sitemap may be broken): run "
            "`bot sync --force` if the site really removed them"
        )
        for url in sorted(set(gone) & candidates):
            report.failed += 1
            report.failures.append({"url": url, "reason": f"{gone[url]}; kept, drop refused"})
        return
    for url in sorted(candidates):
        store.remove_page(known[url])
        entries.pop(url, None)
        report.removed += 1
        report.removed_urls.append(url)
        log.info("dropped %s (%s)", url, gone.get(url, "no longer listed"))


def _publish(
    options: SyncOptions,
    report: SyncReport,
    corpus: Path,
    index_dir: Path,
    embedder: Callable[[], Embedder],
) -> None:
    """Rebuild and publish when the corpus changed (or the index does not match it)."""
    try:
        model = embedder()
        changed = report.new or report.changed or report.removed
        if not changed and is_current(index_dir, corpus_hash(corpus), model.name):
            report.index = read_manifest(index_dir).digest
            return
        index = rebuild(corpus, index_dir, model, options.max_page_bytes)
        report.index = index.manifest.digest
    except Exception as exc:  # the pages are stored; the next sync or `bot build` retries
        log.exception("the index could not be rebuilt after the sync")
        report.build_failed = True
        report.errors.append(f"the index could not be rebuilt: {exc}")
