"""Who the client is, decided once per request, from BOT_TRUSTED_PROXIES only.

uvicorn's own proxy handling is off (bot/service/server.py): it trusts 127.0.0.1 by
default, so anyone on the machine could name any client. Here the direct peer's
X-Forwarded-For and X-Forwarded-Proto count only when the peer is a configured proxy; the
client is the right-most forwarded address that is not one of our proxies, and a hop that
is not an IP address counts as the proxy itself (garbage never makes a new client).
Everything after this middleware (rate limits, login throttling, same-origin checks)
reads `scope["client"]` and `scope["scheme"]`.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence

from fastapi import FastAPI
from starlette.types import ASGIApp, Receive, Scope, Send

from bot.settings import Settings

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def networks(setting: str) -> list[Network]:
    return [ipaddress.ip_network(p.strip(), strict=False) for p in setting.split(",") if p.strip()]


def _ip(address: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(address)
    except ValueError:
        return None


def trusted(address: str, proxies: Sequence[Network]) -> bool:
    ip = _ip(address)
    return ip is not None and any(ip in net for net in proxies)


def resolve(peer: str, forwarded: str | None, proxies: Sequence[Network]) -> str:
    """The client's address: the peer, unless the peer is a trusted proxy."""
    if not forwarded or not trusted(peer, proxies):
        return peer
    # From the right: each trusted hop passes us on to the one before it.
    for hop in reversed([h.strip() for h in forwarded.split(",")]):
        if trusted(hop, proxies):
            peer = hop
            continue
        return hop if _ip(hop) is not None else peer
    return peer


class ProxyHeaders:
    """Plain ASGI middleware (outermost): rewrites the client and scheme of requests that
    come through a trusted proxy; strips nothing, so the headers stay visible."""

    def __init__(self, app: ASGIApp, proxies: Sequence[Network]) -> None:
        self.app = app
        self.proxies = list(proxies)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] in ("http", "websocket") and self.proxies and scope.get("client"):
            peer, port = scope["client"]
            if trusted(peer, self.proxies):
                headers = dict(scope["headers"])
                forwarded = headers.get(b"x-forwarded-for", b"").decode("latin-1")
                proto = headers.get(b"x-forwarded-proto", b"").decode("latin-1").strip()
                scope = dict(scope)
                scope["client"] = (resolve(peer, forwarded, self.proxies), port)
                if proto.lower() in ("http", "https"):
                    scope["scheme"] = proto.lower()
        await self.app(scope, receive, send)


def install(app: FastAPI, settings: Settings) -> None:
    """Added after every other middleware, so it runs first."""
    app.add_middleware(ProxyHeaders, proxies=networks(settings.trusted_proxies))
