"""The no-JavaScript form (POST /chat) fails as a page, never as raw JSON.

The rate limiter (429) and the error handlers (503) answer in JSON, which is right for
the API but shows braces to someone who posted the form. This middleware sits inside the
security headers and outside the rate limiter, and turns those answers into the chat page:
a short error, the crisis contacts, and the question kept in the box.
"""

from __future__ import annotations

import logging
import re
from urllib.parse import parse_qs

from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from bot.service.routes import _page
from bot.service.security import MAX_BODY

log = logging.getLogger(__name__)
FORM_PATH = "/chat"
SESSION = re.compile(r"[A-Za-z0-9_.:-]{1,128}")
MSG_DOWN = "The assistant can\u2019t answer right now. Please try again in a moment."


def _busy(retry_after: str | None) -> str:
    if retry_after and retry_after.isdigit() and 0 < int(retry_after) <= 3600:
        seconds = int(retry_after)
        unit = "second" if seconds == 1 else "seconds"
        return f"Too many questions right now; please wait {seconds} {unit} and try again."
    return "Too many questions right now; please wait a moment and try again."


class FormErrors:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "POST" or scope["path"] != FORM_PATH:
            await self.app(scope, receive, send)
            return
        body = bytearray()
        body_done = False
        started = False
        failed: Message | None = None

        # Keep the posted form as the app reads it: the page shown instead needs it.
        async def tee() -> Message:
            nonlocal body_done
            message = await receive()
            if message["type"] == "http.request":
                if len(body) <= MAX_BODY:
                    body.extend(message.get("body", b""))
                body_done = not message.get("more_body", False)
            return message

        async def intercept(message: Message) -> None:
            nonlocal started, failed
            if message["type"] == "http.response.start":
                if message["status"] == 429 or message["status"] >= 500:
                    failed = message
                    return
                started = True
            elif message["type"] == "http.response.body" and failed is not None:
                return  # the JSON error body: replaced below
            await send(message)

        try:
            await self.app(scope, tee, intercept)
        except Exception:
            if started:
                raise
            await self._error_page(scope, tee, send, 500, None, body, body_done)
            raise  # still logged by the server as the error it is
        if failed is not None:
            headers = {
                k.decode("latin-1").lower(): v.decode("latin-1") for k, v in failed["headers"]
            }
            await self._error_page(
                scope, tee, send, failed["status"], headers.get("retry-after"), body, body_done
            )

    async def _error_page(
        self,
        scope: Scope,
        receive: Receive,
        send: Send,
        status: int,
        retry_after: str | None,
        body: bytearray,
        body_done: bool,
    ) -> None:
        # The rate limiter answers before the form is read: read it now.
        while not body_done:
            message = await receive()
            if message["type"] != "http.request":
                break
            body_done = not message.get("more_body", False)
        form = parse_qs(bytes(body[:MAX_BODY]).decode("utf-8", "replace"))
        messages = [m for m in form.get("message", []) if m.strip()]
        session = (form.get("session_id") or [""])[0]
        app = scope["app"]
        request = Request(scope)
        response = _page(
            request,
            app.state.templates,
            app.state.settings,
            status_code=status,
            template="embed.html" if form.get("embed") == ["1"] else "chat.html",
            error=_busy(retry_after) if status == 429 else MSG_DOWN,
            message=messages[0][:2000] if messages else "",
            session_id=session if SESSION.fullmatch(session) else None,
        )
        if retry_after:
            response.headers["Retry-After"] = retry_after
        await response(scope, receive, send)
