"""Who may call the bot, and the headers every response carries."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from fastapi import FastAPI, Request, Response
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import JSONResponse

from bot.settings import Settings

MAX_BODY = 64 * 1024
# Our pages load nothing from elsewhere and run no inline script.
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; "
    "form-action 'self'; frame-ancestors {ancestors}"
)
EMBEDDABLE = ("/embed",)


def own_origin(request: Request) -> str:
    return f"{request.url.scheme}://{request.url.netloc}".lower()


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
    ancestors = " ".join(["'self'", *allowed])

    @app.middleware("http")
    async def refuse_other_origins(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        origin = request.headers.get("origin")
        if (
            request.url.path.startswith("/api/")
            and origin
            and origin.lower() != own_origin(request)
            and origin.lower().rstrip("/") not in allowed
        ):
            # No CORS header: the calling page cannot read anything, and the widget (which
            # knows the allowed list) says so instead of failing silently.
            return JSONResponse(
                status_code=403,
                content={"detail": f"This site ({origin}) is not allowed to use the assistant."},
            )
        return await call_next(request)

    @app.middleware("http")
    async def limit_body(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        # Messages are at most 1000 characters: refuse huge bodies before parsing them.
        length = request.headers.get("content-length")
        if length and (not length.isdigit() or int(length) > MAX_BODY):
            return JSONResponse(
                status_code=413, content={"detail": f"request body over {MAX_BODY} bytes"}
            )
        return await call_next(request)

    @app.middleware("http")
    async def security_headers(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        response = await call_next(request)
        embeddable = request.url.path in EMBEDDABLE
        response.headers["Content-Security-Policy"] = CSP.format(
            ancestors=ancestors if embeddable else "'none'"
        )
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["Referrer-Policy"] = "strict-origin-when-cross-origin"
        response.headers["Permissions-Policy"] = "camera=(), microphone=(), geolocation=()"
        if not embeddable:
            response.headers["X-Frame-Options"] = "DENY"
        return response
