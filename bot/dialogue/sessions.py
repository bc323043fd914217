"""Where a conversation's context is kept between turns: one process's memory, or Redis
shared by every server instance with memory standing in while Redis is unreachable.
Redis is imported only when a Redis store is made."""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Callable
from typing import Protocol, TypeVar

from cachetools import TTLCache

from bot.dialogue.context import Context

log = logging.getLogger(__name__)
T = TypeVar("T")
Clock = Callable[[], float]


class SessionStore(Protocol):
    backend: str  # "memory" | "redis"

    def get(self, session_id: str) -> Context | None: ...
    def put(self, session_id: str, context: Context) -> None: ...
    def health(self) -> dict[str, object]: ...


class MemorySessionStore:
    """One process's sessions, least recently used evicted first; a put restarts the TTL."""

    backend = "memory"

    def __init__(
        self, ttl_seconds: float = 1800, max_sessions: int = 100_000, timer: Clock = time.monotonic
    ) -> None:
        self._cache: TTLCache[str, Context] = TTLCache(max_sessions, ttl_seconds, timer=timer)
        self._lock = threading.Lock()  # TTLCache is not thread-safe

    def get(self, session_id: str) -> Context | None:
        with self._lock:
            return self._cache.get(session_id)

    def put(self, session_id: str, context: Context) -> None:
        with self._lock:
            self._cache[session_id] = context

    def pop(self, session_id: str) -> Context | None:
        with self._lock:
            return self._cache.pop(session_id, None)

    def health(self) -> dict[str, object]:
        with self._lock:
            self._cache.expire()
            return {"backend": self.backend, "ok": True, "sessions": len(self._cache)}


class RedisSessionStore:
    """Sessions every server instance shares. Raises redis errors: see FallbackSessionStore."""

    backend = "redis"

    def __init__(self, url: str, ttl_seconds: float = 1800, prefix: str = "bot:session:") -> None:
        import redis  # here, so that memory-only deployments never load it

        # Short timeouts: a hung Redis may cost a reply half a second, not minutes.
        self.client = redis.Redis.from_url(url, socket_timeout=0.5, socket_connect_timeout=0.5)
        self.ttl_seconds = max(1, math.ceil(ttl_seconds))  # EX takes whole seconds
        self.prefix = prefix

    def get(self, session_id: str) -> Context | None:
        raw = self.client.get(self.prefix + session_id)
        return None if raw is None else Context.from_json(raw)

    def put(self, session_id: str, context: Context) -> None:
        self.client.set(self.prefix + session_id, context.to_json(), ex=self.ttl_seconds)

    def health(self) -> dict[str, object]:
        from redis.exceptions import RedisError

        try:
            self.client.ping()
        except RedisError as exc:
            return {"backend": self.backend, "ok": False, "error": str(exc) or repr(exc)}
        return {"backend": self.backend, "ok": True}


class FallbackSessionStore:
    """The primary store, or memory while it is unreachable: a Redis outage costs follow-ups
    their context across instances, never a reply."""

    def __init__(
        self,
        primary: SessionStore,
        memory: MemorySessionStore,
        retry_seconds: float = 5.0,
        clock: Clock = time.monotonic,
    ) -> None:
        from redis.exceptions import RedisError

        self._errors = (RedisError,)
        self.primary, self.memory, self.backend = primary, memory, primary.backend
        self.retry_seconds, self._clock = retry_seconds, clock
        self._lock = threading.Lock()
        self._error: str | None = None  # set while degraded
        self._next_try = 0.0

    def _set_error(self, error: str | None) -> None:
        with self._lock:
            was, self._error = self._error, error
            self._next_try = self._clock() + self.retry_seconds
        if was is None and error is not None:  # one warning per outage, not per request
            log.warning("%s session store unavailable, using memory: %s", self.backend, error)
        elif was is not None and error is None:
            log.warning("%s session store answers again", self.backend)

    def _attempt(self, call: Callable[[], T]) -> tuple[bool, T | None]:
        """(True, result) when the primary answered. While degraded one caller per
        `retry_seconds` probes it; the others use memory rather than each wait for a timeout."""
        with self._lock:
            if self._error is not None:
                if self._clock() < self._next_try:
                    return False, None
                self._next_try = self._clock() + self.retry_seconds
        try:
            result = call()
        except self._errors as exc:
            self._set_error(str(exc) or repr(exc))
            return False, None
        self._set_error(None)
        return True, result

    def get(self, session_id: str) -> Context | None:
        ok, context = self._attempt(lambda: self.primary.get(session_id))
        if not ok:
            return self.memory.get(session_id)
        kept = self.memory.pop(session_id)  # stored during an outage: newer than the primary's
        if kept is not None:
            self.put(session_id, kept)
            return kept
        return context

    def put(self, session_id: str, context: Context) -> None:
        ok, _ = self._attempt(lambda: self.primary.put(session_id, context))
        if ok:
            self.memory.pop(session_id)  # an outage copy must not win over this turn later
        else:
            self.memory.put(session_id, context)

    def health(self) -> dict[str, object]:
        def probe() -> None:
            report = self.primary.health()
            if not report.get("ok"):  # RedisSessionStore reports a failed ping, not raises it
                raise self._errors[0](str(report.get("error") or "unavailable"))

        self._attempt(probe)
        with self._lock:
            error = self._error
        if error is None:
            return {"backend": self.backend, "ok": True}
        return {"backend": self.backend, "ok": False, "fallback": "memory", "error": error}


def make_store(kind: str, redis_url: str, ttl_seconds: float) -> SessionStore:
    if kind == "memory":
        return MemorySessionStore(ttl_seconds)
    if kind == "redis":
        primary = RedisSessionStore(redis_url, ttl_seconds)
        return FallbackSessionStore(primary, MemorySessionStore(ttl_seconds))
    raise ValueError(f"unknown session store {kind!r}: expected 'memory' or 'redis'")
