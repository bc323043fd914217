"""Who may call the bot, and the headers every response carries."""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request, Response
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import JSONResponse
from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from bot.settings import Settings

log = logging.getLogger(__name__)
MAX_BODY = 64 * 1024
# Our pages load nothing from elsewhere and run no inline script.
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; "
    "form-action 'self'; frame-ancestors {ancestors}"
)
EMBEDDABLE = ("/embed",)
# Swagger UI sets inline style attributes: /docs alone allows inline styles (never scripts).
DOCS = "/docs"


def own_origin(request: Request) -> str:
    return f"{request.url.scheme}://{request.url.netloc}".lower()


class Guard:
    """Refuses other sites' API calls and oversized bodies; adds the security headers.

    A plain ASGI middleware: `@app.middleware("http")` runs every request through an extra
    task and stream, which cost more than the rest of a cached reply.
    """

    def __init__(self, app: ASGIApp, allowed: list[str], hosts: list[str] | None = None) -> None:
        self.app = app
        self.allowed = allowed
        self.hosts = hosts or ["*"]
        ancestors = " ".join(["'self'", *allowed])
        common = {
            "X-Content-Type-Options": "nosniff",
            "Referrer-Policy": "strict-origin-when-cross-origin",
            "Permissions-Policy": "camera=(), microphone=(), geolocation=()",
        }
        self.embeddable = {**common, "Content-Security-Policy": CSP.format(ancestors=ancestors)}
        self.framed_nowhere = {
            **common,
            "Content-Security-Policy": CSP.format(ancestors="'none'"),
            "X-Frame-Options": "DENY",
        }
        self.docs = self.framed_nowhere | {
            "Content-Security-Policy": CSP.format(ancestors="'none'").replace(
                "style-src 'self'", "style-src 'self' 'unsafe-inline'"
            )
        }

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = scope["path"]
        extra = (
            self.embeddable
            if path in EMBEDDABLE
            else self.docs
            if path == DOCS
            else self.framed_nowhere
        )

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in extra.items():
                    headers[name] = value
            await send(message)

        refusal = self._refusal(Request(scope))
        if refusal is None:
            # Content-Length can be absent (chunked) or lie: the body is read here, up to
            # the limit, before anything parses it; past the limit the rest is never read.
            body = await _read_body(receive)
            if body is None:
                refusal = _too_large()
            elif isinstance(body, bytes):
                receive = _replay(body, receive)
        if refusal is not None:
            await refusal(scope, receive, send_with_headers)
            return
        started = False

        async def watched(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send_with_headers(message)

        try:
            await self.app(scope, receive, watched)
        except Exception:
            # Here rather than in Starlette's outermost handler, so a 500 carries the
            # security headers too; logged with its traceback, never shown.
            log.exception("unhandled error in %s %s", scope.get("method"), scope["path"])
            if started:
                raise
            error = JSONResponse(
                status_code=500, content={"detail": "Internal error: it has been logged."}
            )
            await error(scope, receive, send_with_headers)

    def _host_ok(self, request: Request) -> bool:
        host = (request.url.hostname or "").lower()
        return any(
            pattern == "*"
            or host == pattern
            or (pattern.startswith("*.") and host.endswith(pattern[1:]))
            for pattern in self.hosts
        )

    def _refusal(self, request: Request) -> Response | None:
        if not self._host_ok(request):
            # A Host we do not serve: no page of ours may be rendered with it (links, own
            # origin checks, cookies).
            return JSONResponse(status_code=400, content={"detail": "Invalid Host header."})
        # Messages are at most 1000 characters: refuse huge bodies before parsing them.
        length = request.headers.get("content-length")
        if length and (not length.isdigit() or int(length) > MAX_BODY):
            return _too_large()
        origin = request.headers.get("origin")
        if (
            request.url.path.startswith("/api/")
            and origin
            and origin.lower() != own_origin(request)
            and origin.lower().rstrip("/") not in self.allowed
        ):
            # No CORS header: the calling page cannot read anything, and the widget (which
            # knows the allowed list) says so instead of failing silently.
            return JSONResponse(
                status_code=403,
                content={"detail": f"This site ({origin}) is not allowed to use the assistant."},
            )
        return None


def _too_large() -> JSONResponse:
    # Connection: close, so the server stops taking in the rest of the body.
    return JSONResponse(
        status_code=413,
        content={"detail": f"request body over {MAX_BODY} bytes"},
        headers={"Connection": "close"},
    )


async def _read_body(receive: Receive) -> bytes | Message | None:
    """The whole request body, or None once it passes MAX_BODY (the rest stays unread);
    a disconnect before the end is returned as it came (nothing to replay)."""
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] != "http.request":
            return message
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > MAX_BODY:
            return None
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks)


def _replay(body: bytes, receive: Receive) -> Receive:
    """A receive that hands the app the body already read, then waits as the server does."""
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay


def install(app: FastAPI, settings: Settings) -> None:
    """CORS for the allowed origins only; refusal of others; security headers."""
    allowed = settings.origins
    app.add_middleware(
        CORSMiddleware,
        allow_origins=allowed,
        allow_methods=["GET", "POST"],
        allow_headers=["Content-Type", "X-Evidence-Channel"],
        # The widget reads Retry-After to say how long to wait after a 429.
        expose_headers=["Retry-After"],
        max_age=600,
    )
    # Added last, so outermost: refusals and error replies carry the headers too.
    app.add_middleware(Guard, allowed=allowed, hosts=settings.hosts)
