"""Per-client rate limits for the patient-facing API, and the counters staff login
throttling shares (the `limits` library).

Clients are keyed by an HMAC of their address (no address is stored anywhere); the
address is the one bot/service/proxies.py settled on. Counters live in Redis when the
sessions do (so several instances share them), else in memory. Redis gets short socket
timeouts and is never called on the event loop; while it does not answer, counting goes
on in memory for a few seconds at a time rather than holding up requests.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import math
import secrets
import time
from collections.abc import Callable, Sequence
from typing import TypeVar
from urllib.parse import parse_qs

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from limits import RateLimitItem, parse, storage, strategies
from starlette.concurrency import run_in_threadpool
from starlette.types import ASGIApp, Receive, Scope, Send

from bot.model import TriageKind
from bot.service.proxies import Network, resolve
from bot.service.security import MAX_BODY
from bot.settings import Settings
from bot.throttled_log import ThrottledLog
from bot.triage import triage

log = logging.getLogger(__name__)
LIMITED = ("/api/chat", "/api/feedback", "/chat", "/embed")
QUESTIONS = ("/api/chat", "/chat", "/embed")  # where a message in crisis may arrive
REDIS_TIMEOUT = 0.25  # seconds: a Redis that does not answer costs a request this, once
RETRY_REDIS = 5.0  # seconds of counting in memory before Redis is tried again
T = TypeVar("T")


def client_address(request: Request, proxies: Sequence[Network]) -> str:
    """The caller's address from the peer and its X-Forwarded-For (see proxies.resolve)."""
    peer = request.client.host if request.client else "unknown"
    return resolve(peer, request.headers.get("x-forwarded-for"), proxies)


class Counters:
    """Hit counters by key: shared in Redis, or this process's memory."""

    def __init__(self, settings: Settings) -> None:
        self.memory = strategies.MovingWindowRateLimiter(storage.MemoryStorage())
        self.shared: strategies.RateLimiter | None = None
        if settings.session_store == "redis":
            redis = storage.storage_from_string(
                settings.redis_url,
                socket_timeout=REDIS_TIMEOUT,
                socket_connect_timeout=REDIS_TIMEOUT,
            )
            self.shared = strategies.FixedWindowRateLimiter(redis)
        # Instances that share Redis counters must share this key (BOT_SECRET_KEY).
        self.key = (settings.secret_key or secrets.token_hex(32)).encode()
        if self.shared is not None and not settings.secret_key:
            log.warning(
                "BOT_SECRET_KEY is not set: other instances that share these Redis counters "
                "key clients differently, so each counts them separately"
            )
        self._down_until = 0.0
        self._failures = ThrottledLog(log, "rate-limit store unreachable; counting in memory")

    @property
    def remote(self) -> bool:
        """Counting would call Redis now (so not on the event loop)."""
        return self.shared is not None and time.monotonic() >= self._down_until

    def digest(self, kind: str, value: str) -> str:
        """A keyed hash: what is counted cannot be turned back into an address or name."""
        mac = hmac.new(self.key, f"{kind}:{value}".encode(), hashlib.sha256)
        return f"{kind}:{mac.hexdigest()[:32]}"

    def _use(self, call: Callable[[strategies.RateLimiter], T]) -> T:
        if self.remote:
            assert self.shared is not None
            try:
                result = call(self.shared)
            except Exception as exc:  # Redis down or silent: memory, for a while
                self._failures.warning("%s", exc)
                self._down_until = time.monotonic() + RETRY_REDIS
            else:
                self._failures.recovered()
                return result
        return call(self.memory)

    def hit(self, item: RateLimitItem, key: str) -> bool:
        return self._use(lambda limiter: limiter.hit(item, key))

    def allowed(self, item: RateLimitItem, key: str) -> bool:
        return self._use(lambda limiter: limiter.test(item, key))

    def wait(self, item: RateLimitItem, key: str) -> int:
        """Seconds until the key's window lets it through again (at least 1)."""
        reset = self._use(lambda limiter: limiter.get_window_stats(item, key).reset_time)
        return max(1, math.ceil(reset - time.time()))

    def clear(self, item: RateLimitItem, key: str) -> None:
        self._use(lambda limiter: limiter.clear(item, key))


class RateLimiter:
    def __init__(self, settings: Settings, counters: Counters) -> None:
        self.item: RateLimitItem | None = (
            None if settings.rate_limit.lower() == "off" else parse(settings.rate_limit)
        )
        self.counters = counters

    def check(self, client: str) -> int | None:
        """None when allowed, else the seconds to wait."""
        if self.item is None:
            return None
        key = self.counters.digest("chat", client)
        if self.counters.hit(self.item, key):
            return None
        return self.counters.wait(self.item, key)

    def check_feedback(self, client: str) -> int | None:
        """A vote or comment is not a question: counted apart (the same rate), so rating
        answers never uses up a client's questions; refused all the same while the client
        is over the question limit, so it is no way around it."""
        if self.item is None:
            return None
        questions = self.counters.digest("chat", client)
        if not self.counters.allowed(self.item, questions):
            return self.counters.wait(self.item, questions)
        key = self.counters.digest("feedback", client)
        if self.counters.hit(self.item, key):
            return None
        return self.counters.wait(self.item, key)


class Limit:
    """Answers 429 with Retry-After once a client is over the limit (plain ASGI middleware)."""

    def __init__(self, app: ASGIApp, limiter: RateLimiter) -> None:
        self.app = app
        self.limiter = limiter

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] == "http"
            and scope["method"] == "POST"
            and scope["path"] in LIMITED
            and self.limiter.item is not None
        ):
            client = scope["client"][0] if scope.get("client") else "unknown"
            asks = scope["path"] in QUESTIONS
            check = self.limiter.check if asks else self.limiter.check_feedback
            if self.limiter.counters.remote:
                wait = await run_in_threadpool(check, client)
            else:
                wait = check(client)
            if wait is not None and scope["path"] in QUESTIONS:
                # Crisis is never rate limited: read the message, and a crisis goes on.
                body = await _read(receive)
                if body is not None and _in_crisis(scope, body):
                    await self.app(scope, _replay(body), send)
                    return
            if wait is not None:
                what = "questions" if asks else "ratings"
                response = JSONResponse(
                    status_code=429,
                    content={"detail": f"Too many {what}; please wait {wait} seconds."},
                    headers={"Retry-After": str(wait)},
                )
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)


async def _read(receive: Receive) -> bytes | None:
    """The request body (None when it is longer than any message can be)."""
    parts: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] != "http.request":
            return None
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > MAX_BODY:
            return None
        parts.append(chunk)
        if not message.get("more_body"):
            return b"".join(parts)


def _replay(body: bytes) -> Receive:
    sent = False

    async def receive() -> dict:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return {"type": "http.disconnect"}

    return receive


def _in_crisis(scope: Scope, body: bytes) -> bool:
    """Whether the message is urgent by the triage rules (not the semantic layer, so a
    flood of refused requests costs no model time)."""
    headers = dict(scope.get("headers") or ())
    kind = headers.get(b"content-type", b"").split(b";")[0].strip().lower()
    try:
        if kind == b"application/json":
            message = json.loads(body).get("message")
        else:
            message = parse_qs(body.decode("utf-8")).get("message", [None])[0]
    except (ValueError, AttributeError, UnicodeDecodeError):
        return False
    if not isinstance(message, str) or not message.strip():
        return False
    found = triage(message[:2000])
    return found is not None and found.kind is TriageKind.URGENT


def install(app: FastAPI, settings: Settings) -> None:
    counters = Counters(settings)
    app.state.counters = counters
    limiter = RateLimiter(settings, counters)
    app.state.rate_limiter = limiter
    app.add_middleware(Limit, limiter=limiter)
