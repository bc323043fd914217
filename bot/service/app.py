"""The app factory: nothing is created at import time."""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from sqlalchemy.exc import OperationalError

from bot import __version__
from bot.assistant import Assistant, RetrievalUnavailable
from bot.audit import AuditLog, AuditUnavailable
from bot.service import ratelimit, security
from bot.service.audit_pages import router as audit_pages
from bot.service.audit_routes import router as audit_api
from bot.service.crisis import router as crisis_api
from bot.service.form_errors import FormErrors
from bot.service.reload import watch_index
from bot.service.routes import api, pages
from bot.settings import ROOT, Settings
from bot.staff import Staff

WEB = ROOT / "web"
log = logging.getLogger(__name__)


def _describe(errors: list[dict]) -> str:
    parts = []
    for e in errors:
        where = ".".join(str(x) for x in e.get("loc", ()) if x != "body")
        msg = str(e.get("msg", "invalid")).removeprefix("Value error, ")
        if e.get("type") == "json_invalid":
            msg = "request body is not valid JSON"
        parts.append(f"{where}: {msg}" if where else msg)
    return "; ".join(parts) or "invalid request"


def worker_app() -> FastAPI:
    """One worker process of `bot serve` with BOT_WORKERS above 1 (settings from the
    environment; the parent process has already built the index if it was stale)."""
    settings = Settings()
    assistant = Assistant.create(settings)
    assistant.warm_up()
    return create_app(settings, assistant)


def create_app(
    settings: Settings | None = None,
    assistant: Assistant | None = None,
    audit: AuditLog | None = None,
) -> FastAPI:
    """Build the app; loads the index (and the model) unless an assistant is given."""
    settings = settings or Settings()
    assistant = assistant or Assistant.create(settings)
    app = FastAPI(
        lifespan=watch_index,
        title="Evidence FAQ bot",
        version=__version__,
        description="Cited, templated answers about evidence level assessments. "
        "Not medical advice.",
    )
    app.state.settings = settings
    app.state.assistant = assistant
    app.state.audit = audit or AuditLog.open(settings.database_url, settings.redact_questions)
    app.state.staff = Staff(app.state.audit.engine)
    templates = Jinja2Templates(directory=str(WEB / "templates"))
    templates.env.globals["static_url"] = lambda path: app.url_path_for("static", path=path)
    app.state.templates = templates

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [
            {"loc": list(e.get("loc", ())), "msg": str(e.get("msg")), "type": e.get("type")}
            for e in exc.errors()
        ]
        return JSONResponse(
            status_code=422, content={"detail": _describe(exc.errors()), "errors": errors}
        )

    @app.exception_handler(AuditUnavailable)
    async def unlogged(request: Request, exc: AuditUnavailable) -> JSONResponse:
        # Never an answer that staff could not audit later.
        return JSONResponse(
            status_code=503,
            content={
                "detail": "The service cannot record answers right now, so it cannot "
                "answer. Please try again in a moment."
            },
            headers={"Retry-After": "5"},
        )

    @app.exception_handler(OperationalError)
    async def database_down(request: Request, exc: OperationalError) -> JSONResponse:
        # The audit database is unreachable outside a logged write (staff token checks,
        # audit reads): unavailable, not an internal error.
        log.warning("audit database unavailable: %s", exc.orig or exc)
        return JSONResponse(
            status_code=503,
            content={"detail": "The audit log cannot be reached right now. Please try again."},
            headers={"Retry-After": "5"},
        )

    @app.exception_handler(RetrievalUnavailable)
    async def cannot_answer(request: Request, exc: RetrievalUnavailable) -> JSONResponse:
        log.error("cannot answer: %s", exc, exc_info=exc.__cause__ or exc)
        return JSONResponse(
            status_code=503,
            content={
                "detail": "The service cannot answer right now. Please try again in a "
                "moment. If you or someone with you is in danger, call your local "
                "emergency number."
            },
            headers={"Retry-After": "5"},
        )

    ratelimit.install(app, settings)
    # Between the two: the form's 429 and 503 become pages that carry the headers.
    app.add_middleware(FormErrors)
    security.install(app, settings)
    app.include_router(api)
    app.include_router(crisis_api)
    app.include_router(audit_api)
    app.include_router(audit_pages)
    app.include_router(pages)
    app.mount("/static", StaticFiles(directory=str(WEB / "static")), name="static")
    return app
