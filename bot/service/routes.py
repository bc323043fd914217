"""Routes: the JSON API, the health check, the chat page (with a no-JS form post), the
iframe embed and the widget script."""

from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import ValidationError

from bot.answer import Reply
from bot.assistant import Assistant
from bot.audit import AuditLog
from bot.service.crisis import page_contacts
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
from bot.settings import ROOT

api = APIRouter()
pages = APIRouter(include_in_schema=False)

CHANNELS = frozenset({"widget", "embed", "page"})
WIDGET_JS = ROOT / "web" / "static" / "widget.js"


def _answer(
    request: Request,
    assistant: Assistant,
    audit: AuditLog,
    message: str,
    session_id: str | None,
    channel: str,
) -> Reply:
    """Reply, and record it before it is returned (AuditUnavailable -> 503)."""
    reply = assistant.reply(message, session_id)
    audit.record(
        reply,
        message,
        channel=channel,
        origin=request.headers.get("origin"),
        index_digest=assistant.index.manifest.digest,
        model=assistant.index.manifest.model,
    )
    return reply


@api.post(
    "/api/chat",
    response_model=ChatReply,
    tags=["chat"],
    responses=errors(400, 403, 413, 422, 429, 503),
)
def chat(
    body: ChatRequest, request: Request, assistant: AssistantDep, audit: AuditDep
) -> dict[str, Any]:
    """Answer one message. Every reply carries the disclaimer; `answered` replies state
    the cited page's evidence level verbatim. Every reply is logged before it is sent."""
    # A plain `def` (thread pool), measured: ONNX Runtime releases the GIL, so on 2 cores
    # threads overlap embedding with the rest (143 vs 118 replies/s at 8 clients as async).
    channel = request.headers.get("x-evidence-channel", "api")
    channel = channel if channel in CHANNELS else "api"
    return _answer(request, assistant, audit, body.message, body.session_id, channel).to_json()


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


@api.get("/healthz", response_model=Health, tags=["ops"])
def healthz(assistant: AssistantDep) -> dict[str, Any]:
    """200 when the index is loaded. Also 200 while degraded: with Redis down the bot
    answers with each instance's own conversation context, and `sessions` says so
    (`ok` false, `fallback` "memory")."""
    m = assistant.index.manifest
    return {
        "status": "ok",
        "assessments": m.assessments,
        "passages": m.passages,
        "model": m.model,
        "built_at": m.built_at,
        "index": m.digest,
        "sessions": assistant.sessions.health(),
    }


@pages.get("/widget.js")
def widget(settings: SettingsDep) -> Response:
    """The embeddable widget, told which sites may use it."""
    config = {
        "allowedOrigins": settings.origins,
        "maxLength": MAX_MESSAGE,
        "siteName": settings.site_name,
        # Kept by the widget: shown, tap-to-call, when it cannot get an answer.
        "crisis": {"locale": settings.locale, "contacts": page_contacts(settings)},
    }
    # "</" cannot end a script here, but keep the config inert in any context.
    payload = json.dumps(config).replace("<", "\\u003c")
    script = WIDGET_JS.read_text(encoding="utf-8").replace("/*BOT_CONFIG*/{}", payload, 1)
    return Response(
        script,
        media_type="text/javascript; charset=utf-8",
        headers={"Cache-Control": "public, max-age=300"},
    )


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
        # In the page itself: an error state cannot fetch them.
        "crisis_contacts": page_contacts(settings),
    }
    return templates.TemplateResponse(
        request, template, {**defaults, **context}, status_code=status_code
    )


@pages.get("/", response_class=HTMLResponse)
def chat_page(request: Request, templates: TemplatesDep, settings: SettingsDep) -> HTMLResponse:
    return _page(request, templates, settings)


@pages.get("/embed", response_class=HTMLResponse)
def embed_page(request: Request, templates: TemplatesDep, settings: SettingsDep) -> HTMLResponse:
    """The chat panel as a page for an <iframe> on an allowed site."""
    return _page(request, templates, settings, template="embed.html")


@pages.post("/chat", response_class=HTMLResponse)
async def chat_form(
    request: Request,
    assistant: AssistantDep,
    audit: AuditDep,
    templates: TemplatesDep,
    settings: SettingsDep,
) -> HTMLResponse:
    """The chat without JavaScript: a plain form post that renders the page again."""
    form = await request.form()
    # A suggestion button submits its own `message` before the (empty) textarea's.
    messages = [str(m) for m in form.getlist("message") if str(m).strip()]
    raw_session = form.get("session_id")
    session = str(raw_session) if raw_session else None
    template = "embed.html" if form.get("embed") == "1" else "chat.html"
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
    reply = _answer(request, assistant, audit, body.message, body.session_id, "form")
    return _page(
        request,
        templates,
        settings,
        template=template,
        exchanges=[{"question": body.message, "reply": reply.to_json()}],
        session_id=reply.session_id,
    )
