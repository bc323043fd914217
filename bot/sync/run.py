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
from pathlib import Path

from bot.embedding import Embedder
from bot.index import BuildReport, Index, build_corpus, is_current, read_manifest
from bot.locks import try_file_lock
from bot.pages import PageProblem, corpus_hash
from bot.sync.apply import apply_outcome, drop
from bot.sync.discovery import DiscoveryError, Listed, Robots, discover
from bot.sync.fetch import Cancelled, Fetcher
from bot.sync.options import SyncOptions
from bot.sync.plan import Outcome, drop_candidates, fetch_page, order, redirect_check, select
from bot.sync.report import Progress, SyncReport, now
from bot.sync.store import Entry, SyncStore

__all__ = [
    "LOCK_FILE",
    "Progress",
    "SyncOptions",
    "SyncReport",
    "exclusive",
    "rebuild",
    "sync_site",
]

log = logging.getLogger(__name__)

LOCK_FILE = "sync.lock"


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
    report = SyncReport(sitemap=options.sitemap, started_at=now(), forced=options.force)
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
    report.finished_at = now()
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
    """Discover, plan, fetch and apply, then drop what left the site."""
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
    wanted, unwanted = select(found.pages, options, robots, report)
    pages = order(wanted, known)
    gone = _fetch_all(pages, options, robots, report, store, fetcher, known, entries, progress)
    candidates = drop_candidates(found, known, unwanted, gone, report)
    drop(candidates, options, report, store, known, entries, gone)


def _fetch_all(
    pages: list[Listed],
    options: SyncOptions,
    robots: Robots,
    report: SyncReport,
    store: SyncStore,
    fetcher: Fetcher,
    known: dict[str, Entry],
    entries: dict[str, Entry],
    progress: Progress | None,
) -> dict[str, str]:
    """Fetch the pages in this order, `options.concurrency` at a time, applying each
    outcome as it comes; returns the pages found gone (URL -> reason)."""
    allowed = redirect_check(options.sitemap, robots)
    gone: dict[str, str] = {}
    if progress:
        progress.start(len(pages))
    with ThreadPoolExecutor(options.concurrency, thread_name_prefix="bot-sync") as pool:
        pending: set[Future[Outcome]] = {
            pool.submit(fetch_page, page, known.get(page.url), fetcher, store, options, allowed)
            for page in pages
        }
        try:
            while pending:
                done, pending = wait(pending, return_when=FIRST_COMPLETED)
                for future in done:
                    outcome = future.result()
                    apply_outcome(outcome, report, store, entries, gone)
                    if progress:
                        progress.advance(outcome.url, outcome.kind)
        except BaseException:  # stopped, interrupted, or a bug: no new requests
            fetcher.cancel.set()
            for future in pending:
                future.cancel()
            raise
    return gone


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
