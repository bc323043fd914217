"""Routes: the JSON API, the health check and the chat page (with a no-JS form post)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from pydantic import ValidationError

from bot.service.deps import AssistantDep, SettingsDep, TemplatesDep
from bot.service.schemas import MAX_MESSAGE, ChatReply, ChatRequest, Health

api = APIRouter()
pages = APIRouter(include_in_schema=False)


@api.post("/api/chat", response_model=ChatReply, tags=["chat"])
def chat(body: ChatRequest, assistant: AssistantDep) -> dict[str, Any]:
    """Answer one message. Every reply carries the disclaimer; `answered` replies state
    the cited page's evidence level verbatim."""
    return assistant.reply(body.message, body.session_id).to_json()


@api.get("/healthz", response_model=Health, tags=["ops"])
def healthz(assistant: AssistantDep) -> dict[str, Any]:
    """200 when the index is loaded."""
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


def _page(
    request: Request,
    templates: TemplatesDep,
    settings: SettingsDep,
    status_code: int = 200,
    **context: Any,
) -> HTMLResponse:
    defaults = {
        "exchanges": [],
        "session_id": None,
        "error": None,
        "message": "",
        "max_length": MAX_MESSAGE,
        "site_name": settings.site_name,
    }
    return templates.TemplateResponse(
        request, "chat.html", {**defaults, **context}, status_code=status_code
    )


@pages.get("/", response_class=HTMLResponse)
def chat_page(request: Request, templates: TemplatesDep, settings: SettingsDep) -> HTMLResponse:
    return _page(request, templates, settings)


@pages.post("/chat", response_class=HTMLResponse)
async def chat_form(
    request: Request, assistant: AssistantDep, templates: TemplatesDep, settings: SettingsDep
) -> HTMLResponse:
    """The chat without JavaScript: a plain form post that renders the page again."""
    form = await request.form()
    # A suggestion button submits its own `message` before the (empty) textarea's.
    messages = [str(m) for m in form.getlist("message") if str(m).strip()]
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
            error=error,
            message=messages[0][: MAX_MESSAGE * 2] if messages else "",
            session_id=session if session and len(session) <= 128 else None,
        )
    reply = assistant.reply(body.message, body.session_id)
    return _page(
        request,
        templates,
        settings,
        exchanges=[{"question": body.message, "reply": reply.to_json()}],
        session_id=reply.session_id,
    )
