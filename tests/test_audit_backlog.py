"""Crisis replies are never held back by the audit log: an urgent reply whose record cannot
be written at once is returned, and its record waits (memory and a spool file), is retried
and counted, and survives a restart."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from bot.assistant import Assistant
from bot.audit import AuditLog, AuditRefused, AuditUnavailable
from bot.audit.backlog import Backlog
from bot.service import create_app
from bot.settings import Settings

CRISIS = "I want to kill myself tonight"


@pytest.fixture
def client(settings: Settings, assistant: Assistant) -> TestClient:
    return TestClient(create_app(settings, assistant))


def _down(log: AuditLog, monkeypatch: pytest.MonkeyPatch) -> None:
    def unavailable(row: dict) -> int:
        raise AuditUnavailable("database unreachable (test)")

    monkeypatch.setattr(log, "append_row", unavailable)


def test_an_urgent_reply_is_returned_and_its_record_written_later(
    client: TestClient, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    log, backlog = client.app.state.audit, client.app.state.audit_backlog
    backlog._start = lambda: None  # this test drives the retries itself
    with monkeypatch.context() as down:
        _down(log, down)
        r = client.post("/api/chat", json={"message": CRISIS})
        assert r.status_code == 200 and r.json()["status"] == "urgent"
        # Anything else is still refused rather than returned unlogged.
        assert client.post("/api/chat", json={"message": "quorvastin?"}).status_code == 503
        audit = client.get("/healthz").json()["audit"]
        assert (audit["pending"], audit["kept"], audit["written_late"]) == (1, 1, 0)
        assert backlog.flush() == 1  # still down: kept
    assert "kept for a later write" in caplog.text
    answer_id = r.json()["answer_id"]
    assert log.answer(answer_id) is None
    assert backlog.flush() == 0
    row = log.answer(answer_id)
    assert row["status"] == "urgent" and row["question"] == CRISIS
    assert log.verify().ok
    assert client.get("/healthz").json()["audit"]["written_late"] == 1
    assert not list(backlog.folder.glob("audit-backlog.*"))  # nothing left to adopt


def test_a_record_that_landed_after_all_is_not_written_twice(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    log, backlog = client.app.state.audit, client.app.state.audit_backlog
    backlog._start = lambda: None
    real = log.append_row

    def timed_out(row: dict) -> int:
        real(row)  # committed, but the caller heard nothing in time
        raise AuditUnavailable("the audit log did not answer in time")

    monkeypatch.setattr(log, "append_row", timed_out)
    answer_id = client.post("/api/chat", json={"message": CRISIS}).json()["answer_id"]
    monkeypatch.setattr(log, "append_row", real)
    assert backlog.flush() == 0
    assert log.count() == 1 and log.answer(answer_id) is not None


def test_the_background_thread_writes_it_without_being_asked(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    log, backlog = client.app.state.audit, client.app.state.audit_backlog
    backlog.every = 0.05
    real = log.append_row
    calls = []

    def flaky(row: dict) -> int:
        calls.append(row["answer_id"])
        if len(calls) < 3:
            raise AuditUnavailable("down for two tries")
        return real(row)

    monkeypatch.setattr(log, "append_row", flaky)
    answer_id = client.post("/api/chat", json={"message": CRISIS}).json()["answer_id"]
    # Wait for the condition (the row in the log), not for a fixed time.
    deadline = time.monotonic() + 20
    while log.answer(answer_id) is None or backlog.pending:
        assert time.monotonic() < deadline, calls
        time.sleep(0.02)
    assert len(calls) == 3
    backlog.close()


def test_a_spool_left_by_a_process_that_is_gone_is_adopted(tmp_path: Path) -> None:
    # A pid that is surely gone: a child that has exited.
    child = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        capture_output=True,
        text=True,
        check=True,
    )
    dead = int(child.stdout)
    rows = [{"answer_id": "a1", "kind": "answer"}, {"answer_id": "a2", "kind": "answer"}]
    spool = tmp_path / f"audit-backlog.{dead}.jsonl"
    spool.write_text("".join(json.dumps(r) + "\n" for r in rows) + "not json\n")
    alive = tmp_path / f"audit-backlog.{os.getppid()}.jsonl"  # a running process keeps its own
    alive.write_text(json.dumps({"answer_id": "b1"}) + "\n")
    written: list[str] = []

    def append(row: dict) -> int:
        if row["answer_id"] == "a2":
            raise AuditRefused("cannot be stored")
        written.append(row["answer_id"])
        return len(written)

    backlog = Backlog(append, lambda answer_id: False, tmp_path, every=3600)
    assert backlog.pending == 2 and not spool.exists() and alive.exists()
    assert backlog.flush() == 0
    assert written == ["a1"]  # a2 could never be stored: dropped, with an error logged
    backlog.close()
    assert not backlog.spool.exists()


def test_without_a_folder_it_keeps_them_in_memory() -> None:
    written: list[str] = []
    backlog = Backlog(lambda row: written.append(row["answer_id"]) or 1, lambda a: False, None)
    backlog._start = lambda: None
    backlog.keep({"answer_id": "x"}, "test")
    assert backlog.pending == 1 and backlog.flush() == 0 and written == ["x"]
