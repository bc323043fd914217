"""`bot serve`'s scheduled site sync (BOT_SYNC_SITEMAP): started and stopped with the app.

A sync that publishes a new index is switched to at once (without waiting for the reload
watcher, which may be off); each sync is an audit event; /healthz shows the last one.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI

from bot.service.reload import reload_once
from bot.sync.run import SyncReport
from bot.sync.schedule import LastRun, SyncScheduler
from bot.sync.store import SyncStore


@asynccontextmanager
async def sync_schedule(app: FastAPI) -> AsyncIterator[None]:
    settings = app.state.settings
    if not settings.sync_sitemap:
        yield
        return
    logging.getLogger("httpx").setLevel(logging.WARNING)  # one line per request otherwise

    def record(report: SyncReport) -> None:
        payload = {**report.to_json(), "trigger": "schedule"}
        app.state.audit.event("sync", None, payload, actor="bot serve")

    scheduler = SyncScheduler(
        settings,
        # The serving model: a scheduled sync embeds only what changed.
        embedder=lambda: app.state.assistant.embedder,
        on_published=lambda report: reload_once(app),
        record=record,
    )
    app.state.sync = scheduler
    scheduler.start()
    try:
        yield
    finally:
        await asyncio.to_thread(scheduler.stop)


def sync_health(app: FastAPI) -> dict[str, Any] | None:
    """The scheduled sync's state; without a schedule, the last `bot sync` into this
    corpus, if any (cron-driven syncs show up too); None when it was never synced."""
    scheduler: SyncScheduler | None = getattr(app.state, "sync", None)
    if scheduler is not None:
        return scheduler.health()
    if getattr(app.state, "sync_last", None) is None:
        app.state.sync_last = LastRun(SyncStore(app.state.settings.corpus))
    last = app.state.sync_last.health()
    return None if last is None else {"scheduled": False, "last": last}
