"""Helpers for the tests that run real `bot serve` processes or need a PostgreSQL schema
of their own (faults, several instances, soak, schema)."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
from sqlalchemy import create_engine, text

PG = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
BOT = str(Path(sys.executable).parent / "bot")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


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
    port = free_port()
    with log.open("ab") as out:  # the child keeps its own copy of the descriptor
        proc = subprocess.Popen(
            [BOT, "serve", "--port", str(port)], env=env, stdout=out, stderr=subprocess.STDOUT
        )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                return proc, url
        except httpx.HTTPError:
            time.sleep(0.2)
    proc.kill()
    proc.wait(timeout=10)
    raise AssertionError(f"bot serve did not become healthy:\n{log.read_text()[-2000:]}")


def stop(proc: subprocess.Popen) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=10)
