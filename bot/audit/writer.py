"""Appending records: each row is checked and encoded on its own, then rows that arrive
together are written in one transaction (group commit: one fsync for many requests).

A row that the database could never store (text that is not valid Unicode, a NUL, a value
longer than its column) is refused before it joins a batch (AuditRefused, for that request
only). If a batch still fails for a reason other than an unreachable database, its rows are
written again one by one, so one bad row never fails the others.
"""

from __future__ import annotations

import contextlib
import json
import logging
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import insert, select, text
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import DBAPIError, OperationalError

from bot.audit.chain import Chain
from bot.audit.schema import (
    CHAIN_LOCK,
    GENESIS,
    LENGTHS,
    WRITTEN,
    canonical,
    chain_anchor,
    derived,
    records,
)
from bot.audit.timeouts import WATCHDOG, transaction_fd
from bot.locks import file_lock
from bot.throttled_log import ThrottledLog

log = logging.getLogger(__name__)
# Rows written in one transaction at most (a burst of requests is split into several).
MAX_BATCH = 256


class AuditUnavailable(Exception):
    """The log cannot be written: the reply must not be shown unlogged."""


class AuditRefused(ValueError):
    """This request's record cannot be stored as sent (the request is at fault: a 422)."""


@dataclass
class _Pending:
    """A row waiting for the group commit, and what became of it."""

    row: dict[str, Any]
    done: threading.Event = field(default_factory=threading.Event)
    seq: int | None = None
    error: Exception | None = None


def prepare(row: dict[str, Any], chain: Chain) -> dict[str, Any]:
    """Every written column of the row, checked: AuditRefused names what cannot be stored."""
    full: dict[str, Any] = {f: None for f in WRITTEN} | row
    if not isinstance(full["data"], str):
        full["data"] = canonical(full["data"])
    for name, value in full.items():
        if not isinstance(value, str):
            continue
        try:
            value.encode("utf-8")
        except UnicodeEncodeError as exc:
            raise AuditRefused(f"{name}: text that is not valid Unicode") from exc
        if "\x00" in value:
            raise AuditRefused(f"{name}: text with a NUL character")
        limit = LENGTHS.get(name)
        if limit is not None and len(value) > limit:
            raise AuditRefused(f"{name}: longer than {limit} characters")
    full |= derived(full["kind"], json.loads(full["data"]))
    return chain.stamp(full)


class GroupWriter:
    """One writer per process; processes take the chain in turn (a file lock for SQLite,
    an advisory lock for PostgreSQL), so there is one chain however many write."""

    def __init__(
        self,
        engine: Engine,
        chain: Chain,
        lock_path: Path | None = None,
        timeout: float | None = None,
    ) -> None:
        self.engine = engine
        self.chain = chain
        self.lock_path = lock_path
        self.timeout = timeout  # seconds a transaction may take (PostgreSQL's watchdog)
        self.failed_at: float | None = None  # monotonic time of a failure no write has undone
        self.written_at = 0.0  # monotonic time of the last commit
        self._lock = threading.Lock()
        self._queue_lock = threading.Lock()
        self._queue: list[_Pending] = []
        self._writing = False
        self._failures = ThrottledLog(log, "audit log write failed")

    @contextlib.contextmanager
    def transaction(self, bounded: bool = True) -> Iterator[Connection]:
        """A transaction that holds the chain (this process's writers, other processes),
        cut off (commit included) when the database has not finished it in time."""
        across = file_lock(self.lock_path) if self.lock_path else contextlib.nullcontext()
        with self._lock, across, self.engine.connect() as conn:
            limit = self.timeout + 1 if bounded and self.timeout else None
            fd = transaction_fd(conn) if limit else None
            with WATCHDOG.guard(fd, limit or 0), conn.begin():
                if conn.dialect.name == "postgresql":
                    if not bounded:  # migrations may take as long as they take
                        conn.execute(text("SET LOCAL statement_timeout = 0"))
                    conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": CHAIN_LOCK})
                yield conn

    def insert(self, conn: Connection, rows: list[dict[str, Any]]) -> list[int]:
        """Chain prepared rows after the head and insert them (inside `transaction`)."""
        last = conn.execute(
            select(records.c.seq, records.c.hash).order_by(records.c.seq.desc()).limit(1)
        ).first()
        if last is None:
            last = conn.execute(select(chain_anchor.c.seq, chain_anchor.c.hash)).first()
        seq, prev = (last[0], last[1]) if last else (0, GENESIS)
        written, seqs = [], []
        for row in rows:
            seq += 1
            full = row | {"seq": seq, "prev_hash": prev}
            full["hash"] = prev = self.chain.hash(full)
            written.append(full)
            seqs.append(seq)
        conn.execute(insert(records), written)  # one compiled statement (executemany)
        return seqs

    def append(self, row: dict[str, Any]) -> int:
        """Append one prepared row and return its chain position once it is committed.

        Rows that arrive while a transaction is being written wait and go into the next
        one together. Each caller returns only after its own row is durable.
        """
        mine = _Pending(row)
        with self._queue_lock:
            self._queue.append(mine)
            lead = not self._writing
            self._writing = True
        if not lead:
            # Bounded: a writer stuck on a silent database must not hold every request.
            if not mine.done.wait(self.timeout * 2 + 1 if self.timeout else None):
                raise AuditUnavailable("the audit log did not answer in time")
        else:
            try:
                while True:
                    with self._queue_lock:
                        batch, self._queue = self._queue[:MAX_BATCH], self._queue[MAX_BATCH:]
                        if not batch:
                            self._writing = False
                            break
                    self._write(batch)
            except BaseException:  # interrupted: nobody may be left waiting
                with self._queue_lock:
                    rest, self._queue, self._writing = self._queue, [], False
                for pending in rest:
                    pending.error = AuditUnavailable("the audit writer was interrupted")
                    pending.done.set()
                raise
        if mine.error is not None:
            raise mine.error
        assert mine.seq is not None
        return mine.seq

    def _write(self, batch: list[_Pending]) -> None:
        try:
            self._commit(batch)
        except Exception as exc:
            unreachable = isinstance(exc, OperationalError) or (
                isinstance(exc, DBAPIError) and exc.connection_invalidated
            )
            if len(batch) > 1 and not unreachable:
                # A row the checks did not catch: the others must not fail with it.
                for pending in batch:
                    self._write([pending])
                return
            self._failures.warning("%s", exc)
            self.failed_at = time.monotonic()
            for pending in batch:
                pending.seq, pending.error = None, AuditUnavailable(str(exc))
                pending.done.set()
            return
        self._failures.recovered()
        self.failed_at, self.written_at = None, time.monotonic()
        for pending in batch:
            pending.done.set()

    def _commit(self, batch: list[_Pending]) -> None:
        with self.transaction() as conn:
            seqs = self.insert(conn, [p.row for p in batch])
        for pending, seq in zip(batch, seqs, strict=True):
            pending.seq = seq
