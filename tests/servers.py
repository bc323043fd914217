"""Helpers for the tests that run real `bot serve` processes or need a PostgreSQL schema
of their own (faults, several instances, soak, schema). Starting, waiting for and stopping
a server is bench/server.py's, shared with the benchmark."""

from __future__ import annotations

import asyncio
import contextlib
import os
import subprocess
import sys
import uuid
from collections.abc import Coroutine, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import create_engine, text

from bench import server as harness
from bench.server import free_port as free_port  # the tests' free_port is the harness's

PG = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
BOT = str(Path(sys.executable).parent / "bot")

T = TypeVar("T")


def run_async(coro: Coroutine[Any, Any, T]) -> T:
    """asyncio.run in a thread of its own: Playwright's sync API (the browser tests, in the
    same process) keeps an event loop running in the main thread, where asyncio.run refuses
    to start, so a load test must not depend on running before them."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, coro).result()


@contextlib.contextmanager
def pg_schema(prefix: str) -> Iterator[str]:
    """A URL whose connections use a fresh PostgreSQL schema (dropped afterwards), so tests
    never see each other's audit chains."""
    schema = f"{prefix}_{uuid.uuid4().hex[:12]}"
    admin = create_engine(PG)
    with admin.begin() as conn:
        conn.execute(text(f"CREATE SCHEMA {schema}"))
    try:
        yield f"{PG}?options=-csearch_path%3D{schema}"
    finally:
        with admin.begin() as conn:
            conn.execute(text(f"DROP SCHEMA {schema} CASCADE"))
        admin.dispose()


def bot_env(corpus: Path, index: Path) -> dict[str, str]:
    """Environment for `bot` processes over a prebuilt fake-embedder index: no BOT_* of the
    caller's shell, and no rate limit (one test client sends hundreds of chats)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("BOT_")}
    return env | {
        "BOT_CORPUS": str(corpus),
        "BOT_INDEX": str(index),
        "BOT_EMBEDDER": "fake",
        "BOT_RATE_LIMIT": "off",
        # Records of crisis replies that wait for the database: beside the index, not in
        # the checkout.
        "BOT_AUDIT_BACKLOG": str(index.parent / "audit-backlog"),
    }


def serve(env: dict[str, str], log: Path) -> tuple[subprocess.Popen, str]:
    """Start `bot serve` on a free port and wait until /healthz answers 200."""
    try:
        return harness.serve([BOT, "serve"], env, log)
    except harness.NotHealthy as exc:
        raise AssertionError(f"bot serve did not become healthy: {exc}") from exc


def stop(proc: subprocess.Popen) -> None:
    """SIGTERM, as a process manager stops it; SIGKILL if it is still there after 30 s."""
    harness.stop(proc)
