"""The Guard middleware at the ASGI level: bodies are limited as they stream in, whatever
Content-Length says (or does not say)."""

from __future__ import annotations

import json
from typing import Any

from servers import run_async

from bot.service.security import MAX_BODY, Guard

Message = dict[str, Any]


async def _echo(scope: dict, receive: Any, send: Any) -> None:
    """An app that reads the whole body, as FastAPI does, and answers its length."""
    body = b""
    while True:
        message = await receive()
        body += message.get("body", b"")
        if not message.get("more_body"):
            break
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": str(len(body)).encode()})


def _call(chunks: Any, headers: list[tuple[bytes, bytes]] | None = None) -> tuple[list, int]:
    """Run one POST through Guard; returns what was sent and how many chunks were read."""
    read = 0
    sent: list[Message] = []

    async def receive() -> Message:
        nonlocal read
        try:
            chunk = next(chunks)
        except StopIteration:
            return {"type": "http.request", "body": b"", "more_body": False}
        read += 1
        return {"type": "http.request", "body": chunk, "more_body": True}

    async def send(message: Message) -> None:
        sent.append(message)

    scope = {
        "type": "http",
        "method": "POST",
        "path": "/api/chat",
        "headers": headers or [(b"transfer-encoding", b"chunked")],
        "query_string": b"",
        "scheme": "http",
        "server": ("testserver", 80),
        "client": ("127.0.0.1", 5000),
    }
    run_async(Guard(_echo, [])(scope, receive, send))
    return sent, read


def test_a_chunked_body_is_refused_once_it_streams_past_the_limit() -> None:
    # 200 MB offered in 1 MB chunks, with no Content-Length: only the first is ever read.
    endless = (b"x" * (1 << 20) for _ in range(200))
    sent, read = _call(endless)
    assert sent[0]["status"] == 413 and read == 1
    assert "over 65536 bytes" in json.loads(sent[1]["body"])["detail"]
    headers = dict(sent[0]["headers"])
    assert b"content-security-policy" in headers  # refusals carry the security headers


def test_a_lying_content_length_does_not_get_a_larger_body_through() -> None:
    small_claim = [(b"content-length", b"10")]
    sent, read = _call((b"y" * 4096 for _ in range(100)), small_claim)
    assert sent[0]["status"] == 413 and read == MAX_BODY // 4096 + 1


def test_a_body_under_the_limit_reaches_the_app_whole() -> None:
    sent, _ = _call(iter([b"a" * 1000, b"b" * 1000]))
    assert sent[0]["status"] == 200 and sent[1]["body"] == b"2000"
