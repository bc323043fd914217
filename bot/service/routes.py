"""Routes: the JSON API, the health check, the chat page (with a no-JS form post), the
iframe embed and the widget script."""

from __future__ import annotations

import functools
import json
import logging
import re
from typing import Any
from urllib.parse import urlsplit

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response
from pydantic import ValidationError
from starlette.concurrency import run_in_threadpool

from bot.answer import Reply
from bot.assistant import Assistant
from bot.audit import AuditLog
from bot.audit.log import pseudonym
from bot.resources import WEB
from bot.service.crisis import book_for, page_contacts
from bot.service.deps import AssistantDep, AuditDep, SettingsDep, TemplatesDep
from bot.service.schemas import (
    MAX_MESSAGE,
    ChatReply,
    ChatRequest,
    FeedbackReply,
    FeedbackRequest,
    Health,
    errors,
)
from bot.service.security import own_origin
from bot.service.starters import starters_for
from bot.service.sync import sync_health
from bot.throttled_log import ThrottledLog
from bot.triage import ContactBook
from bot.usecases import Asked, answer_and_record

api = APIRouter()
log = logging.getLogger(__name__)
_index_damage = ThrottledLog(log, "the served index is damaged")
_sessions_down = ThrottledLog(log, "the session store is unreachable")
pages = APIRouter(include_in_schema=False)

CHANNELS = frozenset({"widget", "embed", "page"})
# Without JavaScript, the form carries the ids of the conversation's earlier answers so
# the page shows them again (read back from the audit log, for the same session only).
HISTORY = 20
HISTORY_ID = re.compile(r"[0-9a-f]{32}")
WIDGET_JS = WEB / "static" / "widget.js"
# The chat core the page loads as a script of its own; the widget gets it inside its
# function, in place of this token.
CHAT_CORE_JS = WEB / "static" / "chat-core.js"
CHAT_CORE = "/*CHAT_CORE*/"


def _answer(
    request: Request,
    assistant: Assistant,
    audit: AuditLog,
    message: str,
    session_id: str | None,
    channel: str,
    book: ContactBook | None = None,
) -> Reply:
    """Reply, and record it before it is returned (AuditUnavailable -> 503), except an
    urgent reply: the contacts go out at once and its record waits in the backlog.
    `book`: the contacts of the request's locale, for an urgent reply."""
    asked = Asked(message, session_id, channel, request.headers.get("origin"), book)
    return answer_and_record(assistant, audit, asked, request.app.state.audit_backlog)


@api.post(
    "/api/chat",
    response_model=ChatReply,
    tags=["chat"],
    responses=errors(400, 403, 413, 422, 429, 503),
)
def chat(
    body: ChatRequest,
    request: Request,
    assistant: AssistantDep,
    audit: AuditDep,
    settings: SettingsDep,
) -> dict[str, Any]:
    """Answer one message. Every reply carries the disclaimer; `answered` replies state
    the cited page's evidence level verbatim. Every reply is logged before it is sent."""
    # A plain `def` (thread pool), measured: ONNX Runtime releases the GIL, so on 2 cores
    # threads overlap embedding with the rest (143 vs 118 replies/s at 8 clients as async).
    channel = request.headers.get("x-evidence-channel", "api")
    channel = channel if channel in CHANNELS else "api"
    # The visitor's locale (the widget's data-locale) picks an urgent reply's contacts;
    # one the contacts file lacks keeps BOT_LOCALE's.
    book = book_for(body.locale, settings)
    reply = _answer(request, assistant, audit, body.message, body.session_id, channel, book)
    return reply.to_json()


@api.post(
    "/api/feedback",
    response_model=FeedbackReply,
    tags=["chat"],
    responses=errors(400, 403, 404, 413, 422, 429, 503),
)
def feedback(body: FeedbackRequest, audit: AuditDep) -> dict[str, str]:
    """Thumbs up or down (and an optional comment) on one answer, stored against it."""
    if not audit.feedback(body.answer_id, body.helpful, body.comment):
        raise HTTPException(status_code=404, detail=f"no answer with answer_id {body.answer_id}")
    return {"status": "recorded"}


@api.get("/healthz", response_model=Health, tags=["ops"], responses=errors(503))
def healthz(request: Request, assistant: AssistantDep, audit: AuditDep) -> Any:
    """200 while the index is loaded and intact; 503 once its files changed on disk under
    the running server. Degraded states stay 200 and say so: with Redis down the bot
    answers with each instance's own conversation context (`sessions.ok` false,
    `fallback` "memory"); with the audit database unreachable no reply can be logged, so
    none is given (`status` "degraded", `audit.ok` false). Error details go to the log,
    not to whoever asks."""
    damage = assistant.index.damage()
    if damage is not None:
        _index_damage.warning("%s", damage)
        return JSONResponse(
            status_code=503,
            content={"status": "unavailable", "detail": "The search index is damaged."},
            headers={"Retry-After": "5"},
        )
    sessions = dict(assistant.sessions.health())
    if error := sessions.pop("error", None):  # it names the Redis address
        _sessions_down.warning("%s", error)
    audit_ok = audit.health()
    m = assistant.index.manifest
    return {
        "status": "ok" if audit_ok else "degraded",
        "assessments": m.assessments,
        "passages": m.passages,
        "model": m.model,
        "built_at": m.built_at,
        "index": m.digest,
        "sessions": sessions,
        "audit": {"ok": audit_ok, **request.app.state.audit_backlog.health()},
        "sync": sync_health(request.app),
    }


@pages.get("/widget.js")
def widget(settings: SettingsDep, assistant: AssistantDep) -> Response:
    """The embeddable widget, told which sites may use it."""
    config = {
        "allowedOrigins": settings.origins,
        "maxLength": MAX_MESSAGE,
        "siteName": settings.site_name,
        # Shown in the empty panel: what the corpus can answer.
        "starters": starters_for(assistant),
        # Kept by the widget: shown, tap-to-call, when it cannot get an answer.
        "crisis": {"locale": settings.locale, "contacts": page_contacts(settings)},
    }
    # "</" cannot end a script here, but keep the config inert in any context.
    payload = json.dumps(config).replace("<", "\\u003c")
    script = widget_source().replace("/*BOT_CONFIG*/{}", payload, 1)
    return Response(
        script,
        media_type="text/javascript; charset=utf-8",
        headers={"Cache-Control": "public, max-age=300"},
    )


@functools.cache
def widget_source() -> str:
    """widget.js with the chat core put inside its function: one script tag for the host
    page, one core for the page and the widget, no global added to the host page. Put
    together once per process (the files change only with a new release)."""
    widget = WIDGET_JS.read_text(encoding="utf-8")
    if CHAT_CORE not in widget:
        raise RuntimeError(f"{WIDGET_JS} has no {CHAT_CORE} for the chat core")
    return widget.replace(CHAT_CORE, CHAT_CORE_JS.read_text(encoding="utf-8"), 1)


def _page(
    request: Request,
    templates: TemplatesDep,
    settings: SettingsDep,
    status_code: int = 200,
    template: str = "chat.html",
    **context: Any,
) -> HTMLResponse:
    defaults = {
        "exchanges": [],
        "session_id": None,
        "error": None,
        "message": "",
        "max_length": MAX_MESSAGE,
        "site_name": settings.site_name,
        "embed": template == "embed.html",
        "starters": [],
        "history": "",
        # In the page itself: an error state cannot fetch them.
        "crisis_contacts": page_contacts(settings),
    }
    return templates.TemplateResponse(
        request, template, {**defaults, **context}, status_code=status_code
    )


@pages.get("/docs", response_class=HTMLResponse)
def docs(request: Request, templates: TemplatesDep) -> HTMLResponse:
    """The OpenAPI schema in Swagger UI."""
    context = {"title": request.app.title, "openapi_url": request.app.openapi_url}
    return templates.TemplateResponse(request, "docs.html", context)


@pages.get("/", response_class=HTMLResponse)
def chat_page(
    request: Request, templates: TemplatesDep, settings: SettingsDep, assistant: AssistantDep
) -> HTMLResponse:
    return _page(request, templates, settings, starters=starters_for(assistant))


@pages.get("/embed", response_class=HTMLResponse)
def embed_page(
    request: Request, templates: TemplatesDep, settings: SettingsDep, assistant: AssistantDep
) -> HTMLResponse:
    """The chat panel as a page for an <iframe> on an allowed site."""
    return _page(
        request, templates, settings, template="embed.html", starters=starters_for(assistant)
    )


@pages.post("/chat", response_class=HTMLResponse)
async def chat_form(
    request: Request,
    assistant: AssistantDep,
    audit: AuditDep,
    templates: TemplatesDep,
    settings: SettingsDep,
) -> HTMLResponse:
    """The chat without JavaScript: a plain form post that renders the page again."""
    async with request.form() as form:  # closes any uploaded file, even an unwanted one
        # Embedding, retrieval and the audit commit block: run them where /api/chat runs.
        return await run_in_threadpool(
            _chat_form, request, form, assistant, audit, templates, settings
        )


@pages.post("/embed", response_class=HTMLResponse)
async def embed_form(
    request: Request,
    assistant: AssistantDep,
    audit: AuditDep,
    templates: TemplatesDep,
    settings: SettingsDep,
) -> HTMLResponse:
    """The iframe's form post: answered under /embed, whose headers let allowed sites
    frame it (the page it replaces was framed there)."""
    async with request.form() as form:
        return await run_in_threadpool(
            _chat_form, request, form, assistant, audit, templates, settings, True
        )


def _cross_site(request: Request) -> bool:
    """A form post that a browser sent from another site (Sec-Fetch-Site, else Origin or
    Referer); scripts and tools that send neither are not browsers acting for a visitor."""
    fetch_site = request.headers.get("sec-fetch-site")
    if fetch_site is not None:
        return fetch_site not in ("same-origin", "none")
    claimed = request.headers.get("origin") or request.headers.get("referer")
    if not claimed:
        return False
    if claimed == "null":  # a sandboxed or opaque origin
        return True
    parts = urlsplit(claimed)
    return f"{parts.scheme}://{parts.netloc}".lower() != own_origin(request)


def _chat_form(
    request: Request,
    form: Any,
    assistant: Assistant,
    audit: AuditLog,
    templates: Any,
    settings: Any,
    embed: bool = False,
) -> HTMLResponse:
    template = "embed.html" if embed or form.get("embed") == "1" else "chat.html"
    if _cross_site(request):
        return _page(
            request,
            templates,
            settings,
            status_code=403,
            template=template,
            error="Questions can only be sent from this site's own chat form.",
        )
    values = form.getlist("message") + form.getlist("session_id")
    if any(not isinstance(v, str) for v in values):  # a file where text belongs
        return _page(
            request,
            templates,
            settings,
            status_code=422,
            template=template,
            error="message must be text, not a file",
        )
    # A suggestion button submits its own `message` before the (empty) textarea's.
    messages = [m for m in form.getlist("message") if m.strip()]
    raw_session = form.get("session_id")
    session = str(raw_session) if raw_session else None
    try:
        body = ChatRequest(message=messages[0] if messages else "", session_id=session)
    except ValidationError as exc:
        error = "; ".join(e["msg"].removeprefix("Value error, ") for e in exc.errors())
        return _page(
            request,
            templates,
            settings,
            status_code=422,
            template=template,
            error=error,
            message=messages[0][: MAX_MESSAGE * 2] if messages else "",
            session_id=session if session and len(session) <= 128 else None,
        )
    earlier = _history(audit, form.get("history"), body.session_id)
    reply = _answer(request, assistant, audit, body.message, body.session_id, "form")
    exchanges = [*earlier, {"question": body.message, "reply": reply.to_json()}]
    return _page(
        request,
        templates,
        settings,
        template=template,
        exchanges=exchanges,
        session_id=reply.session_id,
        history=" ".join(ex["reply"]["answer_id"] for ex in exchanges[-HISTORY:]),
    )


def _history(audit: AuditLog, raw: Any, session_id: str | None) -> list[dict[str, Any]]:
    """The earlier exchanges the form names, as the audit log holds them (the question as
    stored, redacted where it held identifiers): only answers of this very session, so
    ids alone never show anyone else's conversation. Suggestions stay with the latest."""
    if not isinstance(raw, str) or not session_id:
        return []
    own = pseudonym(session_id)
    ids = [i for i in raw.split() if HISTORY_ID.fullmatch(i)][-HISTORY:]
    out = []
    for answer_id in dict.fromkeys(ids):
        row = audit.answer(answer_id)
        if row is None or row.get("session") != own:
            continue
        reply = {
            "status": row["status"],
            "answer": row["answer"],
            "html": row["html"],
            "evidence_level": row["evidence_level"],
            "answer_id": answer_id,
            "suggestions": [],
        }
        out.append({"question": row["question"], "reply": reply})
    return out
