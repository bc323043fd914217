"""Hot reload: when `bot build` publishes a new index, the server switches to it.

A background task watches the index's CURRENT pointer; a new build is loaded and verified
in a worker thread, then swapped in with one assignment. Requests already running finish
on the index they started with, so no request fails during the switch.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from bot.assistant import Assistant
from bot.index import IndexUnavailable, current_build, load_build
from bot.usecases import open_assistant

log = logging.getLogger(__name__)


def reload_once(app: FastAPI) -> bool:
    """Swap in the published index if it changed; True when it did."""
    assistant: Assistant = app.state.assistant
    try:
        published = current_build(assistant.settings.index)
    except IndexUnavailable:
        return False
    if published == assistant.index.path:
        return False
    try:
        index = load_build(published)
    except IndexUnavailable as exc:
        log.warning("not switching to %s: %s", published.name, exc)
        return False
    # The same model and sessions; BM25 built here, not on the first question after the switch.
    fresh = open_assistant(
        assistant.settings, index, assistant.embedder, sessions=assistant.sessions, warm=True
    )
    app.state.assistant = fresh
    log.info("switched to index %s (%d passages)", published.name, index.manifest.passages)
    return True


@asynccontextmanager
async def watch_index(app: FastAPI) -> AsyncIterator[None]:
    interval = app.state.settings.reload_interval

    async def loop() -> None:
        while True:
            await asyncio.sleep(interval)
            await asyncio.to_thread(reload_once, app)

    task = asyncio.create_task(loop()) if interval > 0 else None
    try:
        yield
    finally:
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
