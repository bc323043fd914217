"""Scheduling: `bot serve` syncs every BOT_SYNC_INTERVAL, one instance at a time.

A background thread wakes when a sync is due: BOT_SYNC_INTERVAL after the last sync by
anyone sharing the corpus (its last-run.json, written by `bot sync` too), so instances
sharing an index sync once per interval between them, not once each. The sync runs under
the index's sync lock; an instance that finds it taken skips its turn. Stopping sets the
event the fetcher waits on, so a shutdown is not held up by a crawl.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from datetime import datetime
from typing import Any

from bot.embedding import Embedder
from bot.settings import Settings
from bot.sync.run import SyncOptions, SyncReport, exclusive, sync_site
from bot.sync.store import SyncStore

log = logging.getLogger(__name__)

BUSY_RETRY = 30.0  # seconds before looking again when another instance holds the lock
HEALTH_KEYS = ("started_at", "finished_at", "ok", "counts", "refused_drop", "index", "cancelled")
HEALTH_ERRORS = 10


class LastRun:
    """The last sync's summary (by any process), re-read only when its file changes:
    /healthz asks for it on every probe."""

    def __init__(self, store: SyncStore) -> None:
        self.store = store
        self._seen: tuple[float | None, dict[str, Any] | None] = (None, None)

    def get(self) -> dict[str, Any] | None:
        mtime = self.store.last_run_mtime()
        if mtime is None:
            return None
        if mtime != self._seen[0]:
            self._seen = (mtime, self.store.last_run())
        return self._seen[1]

    def finished(self) -> float | None:
        """When it finished, as a time.time() value."""
        last = self.get()
        try:
            return datetime.fromisoformat(str((last or {})["finished_at"])).timestamp()
        except (KeyError, TypeError, ValueError):
            return None

    def health(self) -> dict[str, Any] | None:
        """Time, counts and errors: what an operator (or a probe) needs at a glance."""
        last = self.get()
        if last is None:
            return None
        summary = {k: last.get(k) for k in HEALTH_KEYS}
        summary["errors"] = list(last.get("errors") or [])[:HEALTH_ERRORS]
        return summary


class SyncScheduler:
    def __init__(
        self,
        settings: Settings,
        embedder: Callable[[], Embedder],
        *,
        on_published: Callable[[SyncReport], object] | None = None,
        record: Callable[[SyncReport], None] | None = None,
    ) -> None:
        self.options = SyncOptions.from_settings(settings)
        self.interval = settings.sync_interval
        self.corpus = settings.corpus
        self.index = settings.index
        self.embedder = embedder
        self.on_published = on_published
        self.record = record
        self.last = LastRun(SyncStore(settings.corpus))
        self.problem: str | None = None  # this process's trouble outside a sync's report
        self.running = False
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._loop, name="bot-sync-schedule", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 60.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)

    def due_in(self) -> float:
        """Seconds until the next sync is due (0: now)."""
        finished = self.last.finished()
        if finished is None:
            return 0.0
        return max(0.0, finished + self.interval - time.time())

    def run_once(self) -> SyncReport | None:
        """Sync now if due and no other instance is syncing; None when it was not this
        instance's turn."""
        with exclusive(self.index) as held:
            if not held or self.due_in() > 0:
                return None
            self.running = True
            try:
                report = sync_site(
                    self.options, self.corpus, self.index, self.embedder, cancel=self._stop
                )
            finally:
                self.running = False
        self.problem = None
        if self.record is not None:
            try:
                self.record(report)
            except Exception as exc:
                log.exception("the sync could not be recorded in the audit log")
                self.problem = f"the last sync could not be recorded: {exc}"
        if report.index and self.on_published is not None:
            self.on_published(report)
        log.info("site sync of %s: %s", self.options.sitemap, report.summary())
        return report

    def _loop(self) -> None:
        while not self._stop.is_set():
            wait = self.due_in()
            if wait > 0:
                self._stop.wait(wait)
                continue
            try:
                report = self.run_once()
            except Exception as exc:  # a bug must not end scheduled syncs for good
                log.exception("scheduled site sync failed")
                self.problem = f"the last scheduled sync failed: {exc!r}"
                report = None
            if report is None:
                self._stop.wait(min(self.interval, BUSY_RETRY))

    def health(self) -> dict[str, Any]:
        return {
            "sitemap": self.options.sitemap,
            "scheduled": True,
            "interval": self.interval,
            "running": self.running,
            "next_in": round(self.due_in(), 1),
            "problem": self.problem,
            "last": self.last.health(),
        }
