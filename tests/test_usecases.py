"""The use cases every channel calls (bot/usecases/): an assistant opened one way, reply
then record with the crisis guarantee, replay of a recorded answer."""

from __future__ import annotations

from typing import Any

import pytest

from bot.assistant import Assistant
from bot.audit import AuditLog, AuditUnavailable
from bot.dialogue import MemorySessionStore
from bot.embedding import FakeEmbedder
from bot.index import Index
from bot.model import Status
from bot.settings import Settings
from bot.triage import load_contacts
from bot.usecases import Asked, ReplayError, answer_and_record, open_assistant, replay

URGENT = "I want to kill myself tonight"
ASKED = "How does Zelnoprine work?"


class _Backlog:
    """Where the service keeps an urgent reply's record while the log is down."""

    def __init__(self) -> None:
        self.kept: list[dict[str, Any]] = []

    def keep(self, row: dict[str, Any], reason: BaseException | str) -> None:
        self.kept.append(row)


def _down(audit: AuditLog, monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(row: dict[str, Any]) -> int:
        raise AuditUnavailable("the database is down")

    monkeypatch.setattr(audit, "append_row", refuse)


def test_open_assistant_private_has_its_own_memory_sessions(
    settings: Settings, fixture_index: Index, fake_embedder: FakeEmbedder
) -> None:
    one = open_assistant(settings, fixture_index, fake_embedder, private=True)
    two = open_assistant(settings, fixture_index, fake_embedder, private=True)
    assert isinstance(one, Assistant) and isinstance(one.sessions, MemorySessionStore)
    assert one.sessions is not two.sessions
    shared = MemorySessionStore()
    assert open_assistant(settings, fixture_index, fake_embedder, sessions=shared).sessions is (
        shared
    )
    with pytest.raises(ValueError):
        open_assistant(settings, fixture_index, fake_embedder, sessions=shared, private=True)


def test_a_reply_is_recorded_before_it_is_returned(
    assistant: Assistant, audit_log: AuditLog
) -> None:
    asked = Asked(ASKED, None, "widget", "https://clinic.example")
    reply = answer_and_record(assistant, audit_log, asked)
    row = audit_log.answer(reply.answer_id)
    assert row is not None and row["question"] == ASKED and row["status"] == reply.status.value
    assert row["channel"] == "widget" and row["origin"] == "https://clinic.example"
    assert row["index_digest"] == assistant.index.manifest.digest


def test_an_urgent_reply_goes_out_when_the_log_is_down_and_its_record_waits(
    assistant: Assistant, audit_log: AuditLog, monkeypatch: pytest.MonkeyPatch
) -> None:
    _down(audit_log, monkeypatch)
    backlog = _Backlog()
    book = load_contacts("gb")
    reply = answer_and_record(assistant, audit_log, Asked(URGENT, None, "api", book=book), backlog)
    assert reply.status is Status.URGENT and reply.trace.contacts_locale == "gb"
    assert [row["answer_id"] for row in backlog.kept] == [reply.answer_id]


def test_anything_else_unrecorded_is_refused(
    assistant: Assistant, audit_log: AuditLog, monkeypatch: pytest.MonkeyPatch
) -> None:
    _down(audit_log, monkeypatch)
    backlog = _Backlog()
    with pytest.raises(AuditUnavailable):
        answer_and_record(assistant, audit_log, Asked(ASKED, None, "api"), backlog)
    # Without a backlog (the command line) an urgent reply is not shown either.
    with pytest.raises(AuditUnavailable):
        answer_and_record(assistant, audit_log, Asked(URGENT, None, "cli"))
    assert backlog.kept == []


def test_replay_finds_the_same_reply_or_says_what_differs(
    settings: Settings, assistant: Assistant, audit_log: AuditLog
) -> None:
    reply = answer_and_record(assistant, audit_log, Asked(ASKED, None, "cli"))
    done = replay(settings, audit_log, reply.answer_id)
    assert done.same and done.build == assistant.index.path
    # The log keeps questions redacted by default: the replay says what it asked.
    assert done.notes == ["the stored question was redacted; replaying the redacted text."]
    with audit_log.engine.begin() as conn:
        conn.exec_driver_sql("UPDATE records SET status = 'clarify'")
    changed = replay(settings, audit_log, reply.answer_id)
    assert [(d.name, d.then, d.now) for d in changed.differences] == [
        ("status", "clarify", reply.status.value)
    ]
    with pytest.raises(ReplayError, match="no answer nope"):
        replay(settings, audit_log, "nope")
