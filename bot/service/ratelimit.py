"""Per-client rate limits for the patient-facing API (the `limits` library).

Clients are keyed by an HMAC of their address (no address is stored anywhere), taken from
X-Forwarded-For only when the direct peer is a configured proxy. Counters live in Redis
when the sessions do (so several instances share them), else in memory; while Redis is
unreachable, counting goes on in memory rather than failing requests.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import logging
import math
import secrets
import time

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from limits import RateLimitItem, parse, storage, strategies
from starlette.types import ASGIApp, Receive, Scope, Send

from bot.settings import Settings

log = logging.getLogger(__name__)
LIMITED = ("/api/chat", "/api/feedback", "/chat")


def client_address(request: Request, proxies: list[ipaddress._BaseNetwork]) -> str:
    """The caller's address; proxy headers count only when the peer is a trusted proxy."""
    peer = request.client.host if request.client else "unknown"
    forwarded = request.headers.get("x-forwarded-for")
    if not forwarded or not _trusted(peer, proxies):
        return peer
    # Walk from the right: the first address not of our own proxies is the client.
    for hop in reversed([h.strip() for h in forwarded.split(",") if h.strip()]):
        if not _trusted(hop, proxies):
            return hop
    return peer


def _trusted(address: str, proxies: list[ipaddress._BaseNetwork]) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in net for net in proxies)


class RateLimiter:
    def __init__(self, settings: Settings) -> None:
        self.item: RateLimitItem | None = (
            None if settings.rate_limit.lower() == "off" else parse(settings.rate_limit)
        )
        self.proxies = [
            ipaddress.ip_network(p.strip(), strict=False)
            for p in settings.trusted_proxies.split(",")
            if p.strip()
        ]
        # Instances that share Redis counters must share this key (BOT_SECRET_KEY).
        self.key = (settings.secret_key or secrets.token_hex(32)).encode()
        self.memory = strategies.MovingWindowRateLimiter(storage.MemoryStorage())
        self.shared = (
            strategies.FixedWindowRateLimiter(storage.storage_from_string(settings.redis_url))
            if settings.session_store == "redis"
            else None
        )
        self._shared_down_until = 0.0

    def _limiter(self) -> strategies.RateLimiter:
        if self.shared is not None and time.monotonic() >= self._shared_down_until:
            return self.shared
        return self.memory

    def check(self, request: Request) -> int | None:
        """None when allowed, else the seconds to wait."""
        if self.item is None:
            return None
        address = client_address(request, self.proxies)
        key = hmac.new(self.key, address.encode(), hashlib.sha256).hexdigest()[:32]
        limiter = self._limiter()
        try:
            if limiter.hit(self.item, "chat", key):
                return None
            reset = limiter.get_window_stats(self.item, "chat", key).reset_time
        except Exception as exc:  # Redis down: count in memory, try Redis again later
            log.warning("rate-limit store unreachable (%s); counting in memory", exc)
            self._shared_down_until = time.monotonic() + 5
            if self.memory.hit(self.item, "chat", key):
                return None
            reset = self.memory.get_window_stats(self.item, "chat", key).reset_time
        return max(1, math.ceil(reset - time.time()))


class Limit:
    """Answers 429 with Retry-After once a client is over the limit (plain ASGI middleware)."""

    def __init__(self, app: ASGIApp, limiter: RateLimiter) -> None:
        self.app = app
        self.limiter = limiter

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] == "POST" and scope["path"] in LIMITED:
            wait = self.limiter.check(Request(scope))
            if wait is not None:
                response = JSONResponse(
                    status_code=429,
                    content={"detail": f"Too many questions; please wait {wait} seconds."},
                    headers={"Retry-After": str(wait)},
                )
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)


def install(app: FastAPI, settings: Settings) -> None:
    limiter = RateLimiter(settings)
    app.state.rate_limiter = limiter
    app.add_middleware(Limit, limiter=limiter)
