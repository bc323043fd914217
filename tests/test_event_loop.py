"""Blocking work (the model, Argon2, audit commits) never runs on the event loop: while one
request is inside it, the server still answers others (finding 10)."""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from fastapi.testclient import TestClient

from bot.assistant import Assistant
from bot.embedding import FakeEmbedder
from bot.index import Index
from bot.service import create_app
from bot.settings import Settings

BASE = "http://127.0.0.1:8000"


class Gate:
    """Wraps a blocking call: it waits inside until released, and says when it is inside."""

    def __init__(self, call: Callable[..., Any]) -> None:
        self.call = call
        self.inside = threading.Event()
        self.release = threading.Event()

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        self.inside.set()
        assert self.release.wait(10), "never released"
        return self.call(*args, **kwargs)


def _loop_answers_while(client: TestClient, gate: Gate, request: Callable[[], Any]) -> Any:
    with ThreadPoolExecutor(1) as pool:
        pending = pool.submit(request)
        try:
            assert gate.inside.wait(10), "the request never reached the blocking call"
            started = time.monotonic()
            assert client.get("/static/chat.css").status_code == 200
            assert time.monotonic() - started < 1, "the event loop was blocked"
        finally:
            gate.release.set()
        return pending.result(timeout=10)


def test_the_no_js_chat_form_embeds_off_the_event_loop(
    settings: Settings, fixture_index: Index
) -> None:
    embedder = FakeEmbedder()
    gate = Gate(embedder.encode)
    embedder.encode = gate  # type: ignore[method-assign]
    client = TestClient(create_app(settings, Assistant.create(settings, fixture_index, embedder)))
    with client:
        r = _loop_answers_while(
            client, gate, lambda: client.post("/chat", data={"message": "How does brimadol work?"})
        )
    assert r.status_code == 200 and "imaginary ion exchange" in r.text


def test_login_checks_the_password_off_the_event_loop(
    settings: Settings, assistant: Assistant, monkeypatch: pytest.MonkeyPatch
) -> None:
    client = TestClient(create_app(settings, assistant), base_url=BASE)
    staff = client.app.state.staff
    staff.add("ana", "correct horse battery")
    gate = Gate(staff.check_password)  # Argon2: ~90 ms of CPU
    monkeypatch.setattr(staff, "check_password", gate)
    with client:
        form = client.get("/audit/login").text
        csrf = re.search(r'name="csrf" value="([^"]+)"', form).group(1)
        data = {"name": "ana", "password": "correct horse battery", "csrf": csrf}
        r = _loop_answers_while(
            client,
            gate,
            lambda: client.post(
                "/audit/login", data=data, headers={"Origin": BASE}, follow_redirects=False
            ),
        )
    assert r.status_code == 303
