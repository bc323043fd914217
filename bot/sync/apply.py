"""Applying a sync's plan to the corpus: each page's outcome stored and counted, and the
pages that left the site dropped, unless they are too large a share of it."""

from __future__ import annotations

import logging

from bot.sync.options import SyncOptions
from bot.sync.plan import Outcome
from bot.sync.report import SyncReport
from bot.sync.store import Entry, SyncStore

log = logging.getLogger(__name__)


def apply_outcome(
    outcome: Outcome,
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


def drop(
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
