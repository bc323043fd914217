"""The app factory: nothing is created at import time."""

from __future__ import annotations

import importlib.resources
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from sqlalchemy.exc import OperationalError

from bot import __version__
from bot.assistant import Assistant, RetrievalUnavailable
from bot.audit import AuditLog, AuditRefused, AuditUnavailable
from bot.audit.backlog import Backlog
from bot.index import IndexUnavailable
from bot.resources import WEB
from bot.service import proxies, ratelimit, security
from bot.service.audit_pages import router as audit_pages
from bot.service.audit_routes import router as audit_api
from bot.service.crisis import router as crisis_api
from bot.service.form_errors import FormErrors
from bot.service.reload import watch_index
from bot.service.routes import api, pages
from bot.service.sync import sync_schedule
from bot.settings import Settings
from bot.staff import Staff
from bot.throttled_log import ThrottledLog
from bot.usecases import open_assistant

log = logging.getLogger(__name__)
# An outage answers thousands of 503s: a few log lines say so, with how many.
_unlogged = ThrottledLog(log, "audit log unavailable, replies refused")
_cannot_answer = ThrottledLog(log, "cannot answer (model or index failing)")


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
    """One worker process of `bot serve` with BOT_WORKERS above 1 (the parent's settings,
    handed over by run_workers; the parent has already built the index if it was stale)."""
    from bot.service.server import worker_settings  # uvicorn's: only its workers need it

    settings = worker_settings()
    return create_app(settings, open_assistant(settings, warm=True))


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    """Background work of a running server: index hot reload and the scheduled site sync."""
    async with watch_index(app), sync_schedule(app):
        try:
            yield
        finally:
            app.state.audit_backlog.close()


def create_app(
    settings: Settings | None = None,
    assistant: Assistant | None = None,
    audit: AuditLog | None = None,
) -> FastAPI:
    """Build the app; loads the index (and the model) unless an assistant is given."""
    settings = settings or Settings()
    assistant = assistant or open_assistant(settings)
    app = FastAPI(
        lifespan=lifespan,
        title="Evidence FAQ bot",
        version=__version__,
        description="Cited, templated answers about evidence level assessments. "
        "Not medical advice.",
        # FastAPI's own /docs loads Swagger UI from a CDN with an inline script, which our
        # CSP refuses: ours serves it from the installed package (routes.docs).
        docs_url=None,
        redoc_url=None,
    )
    _keep_state(app, settings, assistant, audit)
    _handle_errors(app)
    _add_middleware(app, settings)
    _add_routes(app)
    return app


def _keep_state(
    app: FastAPI, settings: Settings, assistant: Assistant, audit: AuditLog | None
) -> None:
    """What the routes share: settings, assistant, audit log (and its backlog), staff
    accounts, the site sync and the page templates."""
    app.state.settings = settings
    app.state.assistant = assistant
    app.state.audit = audit or AuditLog.open(
        settings.database_url,
        settings.redact_questions,
        settings.audit_key or None,
        settings.database_timeout,
    )
    audit_log = app.state.audit
    app.state.audit_backlog = Backlog(
        lambda row: audit_log.append_row(row),
        lambda answer_id: audit_log.answer(answer_id) is not None,
        settings.audit_backlog,
    )
    app.state.staff = Staff(app.state.audit.engine)
    app.state.sync = None  # the scheduled site sync, once the app has started
    templates = Jinja2Templates(directory=str(WEB / "templates"))
    templates.env.globals["static_url"] = lambda path: app.url_path_for("static", path=path)
    app.state.templates = templates


async def _invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
    errors = [
        {"loc": list(e.get("loc", ())), "msg": str(e.get("msg")), "type": e.get("type")}
        for e in exc.errors()
    ]
    return JSONResponse(
        status_code=422, content={"detail": _describe(exc.errors()), "errors": errors}
    )


async def _unlogged_reply(request: Request, exc: AuditUnavailable) -> JSONResponse:
    # Never an answer that staff could not audit later.
    _unlogged.warning("%s", exc)
    return JSONResponse(
        status_code=503,
        content={
            "detail": "The service cannot record answers right now, so it cannot "
            "answer. Please try again in a moment."
        },
        headers={"Retry-After": "5"},
    )


async def _unstorable(request: Request, exc: AuditRefused) -> JSONResponse:
    # This request's own text cannot be logged (the others in its batch were).
    return JSONResponse(
        status_code=422, content={"detail": f"the request cannot be logged as sent: {exc}"}
    )


async def _database_down(request: Request, exc: OperationalError) -> JSONResponse:
    # The audit database is unreachable outside a logged write (staff token checks,
    # audit reads): unavailable, not an internal error.
    _unlogged.warning("%s", exc.orig or exc)
    return JSONResponse(
        status_code=503,
        content={"detail": "The audit log cannot be reached right now. Please try again."},
        headers={"Retry-After": "5"},
    )


async def _cannot_answer_reply(request: Request, exc: Exception) -> JSONResponse:
    _cannot_answer.warning("%r", exc.__cause__ or exc)
    return JSONResponse(
        status_code=503,
        content={
            "detail": "The service cannot answer right now. Please try again in a "
            "moment. If you or someone with you is in danger, call your local "
            "emergency number."
        },
        headers={"Retry-After": "5"},
    )


def _handle_errors(app: FastAPI) -> None:
    """Errors as the clients expect them: 422 with a readable detail, 503 with
    Retry-After when nothing can be answered or recorded."""
    app.add_exception_handler(RequestValidationError, _invalid)
    app.add_exception_handler(AuditUnavailable, _unlogged_reply)
    app.add_exception_handler(AuditRefused, _unstorable)
    app.add_exception_handler(OperationalError, _database_down)
    app.add_exception_handler(RetrievalUnavailable, _cannot_answer_reply)
    app.add_exception_handler(IndexUnavailable, _cannot_answer_reply)


def _add_middleware(app: FastAPI, settings: Settings) -> None:
    ratelimit.install(app, settings)
    # Between the two: the form's 429 and 503 become pages that carry the headers.
    app.add_middleware(FormErrors)
    security.install(app, settings)
    proxies.install(app, settings)  # last added, so first to run: the client is settled


def _add_routes(app: FastAPI) -> None:
    app.include_router(api)
    app.include_router(crisis_api)
    app.include_router(audit_api)
    app.include_router(audit_pages)
    app.include_router(pages)
    app.mount("/static", StaticFiles(directory=str(WEB / "static")), name="static")
    docs_assets = importlib.resources.files("fastapi_offline") / "static"
    app.mount("/docs-assets", StaticFiles(directory=str(docs_assets)), name="docs-assets")
