"""Time limits on the database, so a server that stops answering costs a request seconds,
never minutes: connect and pool timeouts, PostgreSQL's statement_timeout, and a watchdog.

statement_timeout only helps while PostgreSQL itself runs. A server that is frozen, or a
network path that swallows packets, leaves a client blocked in recv() with every TCP
ACK still arriving. The watchdog shuts down the socket of a connection whose statement
has run past its deadline: the blocked call fails at once, SQLAlchemy discards the
connection, and the request gets a 503.
"""

from __future__ import annotations

import contextlib
import heapq
import itertools
import math
import os
import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Engine


class Watchdog:
    """One thread for every deadline of the process."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._heap: list[tuple[float, int, int]] = []  # (deadline, token, fd)
        self._live: set[int] = set()
        self._tokens = itertools.count()
        self._thread: threading.Thread | None = None

    def arm(self, fd: int, seconds: float) -> int:
        token = next(self._tokens)
        with self._cond:
            heapq.heappush(self._heap, (time.monotonic() + seconds, token, fd))
            self._live.add(token)
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="db-watchdog", daemon=True)
                self._thread.start()
            self._cond.notify()
        return token

    def disarm(self, token: int) -> None:
        with self._cond:
            self._live.discard(token)

    @contextlib.contextmanager
    def guard(self, fd: int | None, seconds: float) -> Iterator[None]:
        token = self.arm(fd, seconds) if fd is not None else None
        try:
            yield
        finally:
            if token is not None:
                self.disarm(token)

    def _run(self) -> None:
        while True:
            with self._cond:
                while self._heap and self._heap[0][1] not in self._live:
                    heapq.heappop(self._heap)  # finished in time
                wait = self._heap[0][0] - time.monotonic() if self._heap else None
                if wait is None or wait > 0:
                    self._cond.wait(wait)
                    continue
                _, token, fd = heapq.heappop(self._heap)
                self._live.discard(token)
            _cut(fd)


def _cut(fd: int) -> None:
    """Shut the socket down without closing the descriptor its driver still owns."""
    with contextlib.suppress(OSError):
        dup = os.dup(fd)
        with socket.socket(fileno=dup) as s:
            s.shutdown(socket.SHUT_RDWR)


WATCHDOG = Watchdog()


def _fd(dbapi_connection: Any) -> int | None:
    try:
        return int(dbapi_connection.fileno())
    except (AttributeError, TypeError, ValueError, OSError):
        return None


def engine_options(url: str, seconds: float) -> dict[str, Any]:
    """create_engine keyword arguments: connect and pool timeouts."""
    options: dict[str, Any] = {"pool_pre_ping": not url.startswith("sqlite")}
    if url.startswith("postgresql"):
        options["pool_timeout"] = seconds
        # libpq counts whole seconds, 2 at the least.
        options["connect_args"] = {"connect_timeout": max(2, math.ceil(seconds))}
    return options


def install(engine: Engine, seconds: float) -> None:
    """statement_timeout on every PostgreSQL connection, and the watchdog on every
    statement (with a second of grace, so the server's own timeout speaks first)."""
    if engine.dialect.name != "postgresql":
        return

    @event.listens_for(engine, "connect")
    def on_connect(dbapi_connection: Any, _: Any) -> None:
        with WATCHDOG.guard(_fd(dbapi_connection), seconds + 1):
            cursor = dbapi_connection.cursor()
            cursor.execute(f"SET statement_timeout = {int(seconds * 1000)}")
            cursor.close()
            dbapi_connection.commit()

    ping = engine.dialect.do_ping

    def guarded_ping(dbapi_connection: Any) -> bool:
        # The pool's pre-ping runs outside the cursor events below.
        with WATCHDOG.guard(_fd(dbapi_connection), seconds):
            return ping(dbapi_connection)

    engine.dialect.do_ping = guarded_ping  # type: ignore[method-assign]

    @event.listens_for(engine, "before_cursor_execute")
    def before(
        conn: Any, cursor: Any, statement: str, params: Any, context: Any, many: bool
    ) -> None:
        if context is not None:
            fd = _fd(conn.connection.dbapi_connection)
            context._watchdog = WATCHDOG.arm(fd, seconds + 1) if fd is not None else None

    @event.listens_for(engine, "after_cursor_execute")
    def after(
        conn: Any, cursor: Any, statement: str, params: Any, context: Any, many: bool
    ) -> None:
        token = getattr(context, "_watchdog", None)
        if token is not None:
            WATCHDOG.disarm(token)

    @event.listens_for(engine, "handle_error")
    def failed(context: Any) -> None:
        token = getattr(context.execution_context, "_watchdog", None)
        if token is not None:
            WATCHDOG.disarm(token)


def transaction_fd(conn: Any) -> int | None:
    """The socket of a SQLAlchemy connection's driver connection (PostgreSQL), if any."""
    if conn.dialect.name != "postgresql":
        return None
    return _fd(conn.connection.dbapi_connection)
