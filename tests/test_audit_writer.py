"""The writer: a row that cannot be stored fails its own request only (finding 2)."""

from __future__ import annotations

import threading
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import event

from bot.answer import Renderer, Reply, Status
from bot.assistant import Assistant
from bot.audit import AuditLog, AuditRefused, AuditUnavailable
from bot.model import Trace
from bot.service import create_app
from bot.settings import Settings


def _reply(n: int) -> Reply:
    return Renderer().render(
        "smalltalk",
        status=Status.NOT_FOUND,
        disclaimer="Medical Disclaimer: d",
        session_id=f"s{n}",
        answer_id=f"a{n}-{uuid.uuid4().hex[:6]}",
        covered=[],
        trace=Trace(latency_ms=1.0),
    )


@pytest.mark.parametrize(
    ("question", "origin"),
    [("hello \ud800", None), ("NUL \x00 here", None), ("fine", "https://" + "o" * 300)],
    ids=["lone-surrogate", "nul", "long-origin"],
)
def test_a_row_that_cannot_be_stored_fails_only_its_own_request(
    audit_log: AuditLog, question: str, origin: str | None
) -> None:
    barrier = threading.Barrier(16)

    def write(i: int) -> str:
        barrier.wait()  # all at once, so the bad row lands in a batch with good ones
        bad = i % 4 == 0
        try:
            audit_log.record(
                _reply(i),
                question if bad else f"q{i}",
                "api",
                origin if bad else None,
                "d",
                "m",
            )
        except AuditRefused:
            return "refused" if bad else "wrongly refused"
        return "recorded" if not bad else "wrongly recorded"

    with ThreadPoolExecutor(16) as pool:
        outcomes = list(pool.map(write, range(16)))
    assert outcomes.count("refused") == 4 and outcomes.count("recorded") == 12, outcomes
    assert audit_log.count() == 12 and audit_log.verify().ok


def test_a_failed_batch_is_retried_row_by_row(audit_log: AuditLog) -> None:
    barrier = threading.Barrier(8)

    @event.listens_for(audit_log.engine, "before_cursor_execute")
    def refuse(conn: object, cursor: object, statement: str, params: object, *args: object) -> None:
        rows = params if isinstance(params, list) else [params]  # executemany: a list
        values = [v for r in rows for v in (r.values() if isinstance(r, dict) else r)]
        if statement.lstrip().upper().startswith("INSERT INTO RECORDS") and "poison" in values:
            raise RuntimeError("the database refused one row")

    def write(i: int) -> str:
        barrier.wait()
        try:
            audit_log.record(_reply(i), "poison" if i == 3 else f"q{i}", "api", None, "d", "m")
        except AuditUnavailable:
            return "refused"
        return "recorded"

    with ThreadPoolExecutor(8) as pool:
        outcomes = list(pool.map(write, range(8)))
    event.remove(audit_log.engine, "before_cursor_execute", refuse)
    assert outcomes[3] == "refused" and outcomes.count("recorded") == 7, outcomes
    assert audit_log.count() == 7 and audit_log.verify().ok


def test_http_requests_that_cannot_be_logged_get_422_and_others_200(
    settings: Settings, assistant: Assistant
) -> None:
    client = TestClient(create_app(settings, assistant))
    surrogate = client.post(
        "/api/chat",
        content=b'{"message": "hello \\ud800"}',
        headers={"content-type": "application/json"},
    )
    assert surrogate.status_code == 422 and "lone surrogate" in surrogate.json()["detail"]
    comment = client.post(
        "/api/feedback",
        content=b'{"answer_id": "x", "helpful": true, "comment": "\\udfff"}',
        headers={"content-type": "application/json"},
    )
    assert comment.status_code == 422
    host = "h" * 300
    long_origin = client.post(
        "/api/chat",
        json={"message": "quorvastin?"},
        headers={"host": host, "origin": f"http://{host}"},
    )
    assert long_origin.status_code == 422 and "origin" in long_origin.json()["detail"]
    assert client.post("/api/chat", json={"message": "quorvastin?"}).status_code == 200
    assert client.app.state.audit.count() == 1
