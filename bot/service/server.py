"""How `bot serve` runs uvicorn: one place for the options that defend the process.

- Request headers are capped (MAX_HEADER_BYTES for the request line and every header
  together): httptools, uvicorn's fast parser, buffers a header of any size before uvicorn
  sees it, so the cap is counted on the raw bytes received while a request's head is read.
- Proxy headers are never uvicorn's business: it trusts 127.0.0.1 by default and would
  rewrite the client from X-Forwarded-For before our rate limits see it. The bot reads
  them itself, from BOT_TRUSTED_PROXIES only (bot/service/proxies.py).
- Worker processes get the parent's resolved settings whole (run_workers), not the
  environment read again.
"""

from __future__ import annotations

import logging
import os
from typing import Any

import uvicorn
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from bot.settings import Settings

MAX_HEADER_BYTES = 32 * 1024
WORKER_HEALTHCHECK = 60
# The one variable `bot serve` sets while its workers run: their Settings as JSON.
WORKER_SETTINGS = "BOT_SERVE_WORKER_SETTINGS"
log = logging.getLogger(__name__)


class HeaderLimitedProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol that answers 431 and closes the connection once a
    request's head passes MAX_HEADER_BYTES, before the parser buffers any more of it."""

    _head_bytes: int | None = 0  # bytes of the current head; None while a body is read
    _tail = b""  # the last bytes of the head so far: its end may straddle two reads

    def on_message_begin(self) -> None:
        super().on_message_begin()
        if self._head_bytes is None:
            self._head_bytes = 0
            self._tail = b""

    def on_headers_complete(self) -> None:
        self._head_bytes = None
        super().on_headers_complete()

    def on_message_complete(self) -> None:
        self._head_bytes = 0
        super().on_message_complete()

    def data_received(self, data: bytes) -> None:
        if self._head_bytes is not None:
            allowed = MAX_HEADER_BYTES - self._head_bytes
            # One read may carry a short head and the start of a large body: only the bytes
            # before the blank line that ends the head count.
            head_ends = b"\r\n\r\n" in self._tail + data[:allowed]
            self._head_bytes += len(data)
            self._tail = (self._tail + data[-3:])[-3:]
            if self._head_bytes > MAX_HEADER_BYTES and not head_ends:
                log.warning("refused a request whose headers passed %d bytes", MAX_HEADER_BYTES)
                body = b"request headers too large"
                self.transport.write(
                    b"HTTP/1.1 431 Request Header Fields Too Large\r\n"
                    b"content-type: text/plain; charset=utf-8\r\n"
                    b"content-length: " + str(len(body)).encode() + b"\r\n"
                    b"connection: close\r\n\r\n" + body
                )
                self.transport.close()
                return
        super().data_received(data)


def uvicorn_options(settings: Settings, workers: bool = False) -> dict[str, Any]:
    """Keyword arguments of `uvicorn.run` for every way `bot serve` starts."""
    extra: dict[str, Any] = {}
    if workers:
        # uvicorn kills a worker that does not answer its ping within this many seconds. A
        # starting worker loads the index, the model and the vocabularies; during a full
        # test run on a 2-core machine workers missed the default 5 s and were killed and
        # restarted in a loop ("Child process died", no traceback), never serving.
        extra["timeout_worker_healthcheck"] = WORKER_HEALTHCHECK
    return extra | {
        "host": settings.host,
        "port": settings.port,
        "http": HeaderLimitedProtocol,
        "proxy_headers": False,
        "log_level": "info",
        "access_log": settings.access_log,
    }


def run_workers(settings: Settings) -> None:
    """Serve with settings.workers processes, each building its app from exactly these
    settings (bot.service.app:worker_app)."""
    # uvicorn starts workers as fresh interpreters that import the app by name, and a
    # spawned process inherits only the environment: one variable carries the settings, and
    # is gone again once the server stops.
    previous = os.environ.get(WORKER_SETTINGS)
    os.environ[WORKER_SETTINGS] = settings.model_dump_json()
    try:
        uvicorn.run(
            "bot.service.app:worker_app",
            factory=True,
            workers=settings.workers,
            **uvicorn_options(settings, workers=True),
        )
    finally:
        if previous is None:
            del os.environ[WORKER_SETTINGS]
        else:
            os.environ[WORKER_SETTINGS] = previous


def worker_settings() -> Settings:
    """In a worker process of run_workers: the parent's settings (validated again, but not
    merged with BOT_* variables: pydantic-settings reads those only in Settings())."""
    return Settings.model_validate_json(os.environ[WORKER_SETTINGS])
