"""`bot build` and `bot serve`: publish the index, serve the chat over it."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

import click

from bot.cli.common import (
    audit_log,
    build_index,
    corpus_options,
    ensure_index,
    open_current,
    settings_from,
)
from bot.embedding import make_embedder


@click.command("build")
@corpus_options
@click.option("--strict", is_flag=True, help="Fail instead of skipping a page that can't be used.")
def build_cmd(corpus: Path | None, index: Path | None, strict: bool) -> None:
    """Parse the corpus, embed its passages and publish a new index atomically."""
    settings = settings_from(corpus=corpus, index=index)
    # Bulk embedding uses every core; a server keeps one thread per request.
    embedder = make_embedder(settings.embedder, progress=False, threads=os.cpu_count() or 1)
    build_index(settings, embedder, strict)


@click.command()
@corpus_options
@click.option("--host", help="Address to listen on [env BOT_HOST; default 127.0.0.1].")
@click.option("--port", type=int, help="Port to listen on [env BOT_PORT; default 8000].")
def serve(corpus: Path | None, index: Path | None, host: str | None, port: int | None) -> None:
    """Serve the chat page and the API, building the index first if missing or stale."""
    import uvicorn

    from bot.service import create_app
    from bot.service.server import run_workers, uvicorn_options

    settings = settings_from(corpus=corpus, index=index, host=host, port=port)
    # First, so that an unreachable database stops the start at once, with its reason.
    audit = audit_log(settings)
    if settings.workers > 1:
        # Built (if stale) once here; each worker then loads it (memory-mapped: shared).
        ensure_index(settings, make_embedder(settings.embedder))
        audit.engine.dispose()
        if not settings.secret_key:
            # One key for all workers: each drawing its own would key a client differently
            # in the shared counters, multiplying its rate limit by the number of workers.
            settings = settings.model_copy(update={"secret_key": secrets.token_hex(32)})
        run_workers(settings)
        return
    app = create_app(settings, open_current(settings, warm=True), audit)
    uvicorn.run(app, **uvicorn_options(settings))
