"""The audit chain on SQLite and on PostgreSQL (127.0.0.1:5432, database `test`)."""

from __future__ import annotations

import threading
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import event, text

from bot.answer import Renderer, Reply, Status, Trace
from bot.audit import GENESIS, AuditLog, AuditUnavailable, Head, redact


@pytest.fixture
def audit(audit_log: AuditLog) -> AuditLog:
    return audit_log


def _reply(n: int = 0, question: str = "q") -> Reply:
    return Renderer().render(
        "smalltalk",
        status=Status.NOT_FOUND,
        disclaimer="Medical Disclaimer: d",
        session_id=f"s{n}",
        answer_id=f"a{n}-{uuid.uuid4().hex[:6]}",
        covered=[],
        trace=Trace(latency_ms=1.5, entities={"compounds": ["X"]}),
    )


def _fill(audit: AuditLog, n: int) -> list[str]:
    ids = []
    for i in range(n):
        reply = _reply(i)
        audit.record(reply, f"question {i}", "api", None, "digest", "model")
        ids.append(reply.answer_id)
    return ids


def _sql(audit: AuditLog, statement: str, **params: object) -> None:
    with audit.engine.begin() as conn:
        conn.execute(text(statement), params)


def test_records_chain_and_verify(audit: AuditLog) -> None:
    assert audit.head() == Head(0, GENESIS) and audit.verify().ok
    ids = _fill(audit, 3)
    assert audit.feedback(ids[1], helpful=True, comment="thanks")
    assert not audit.feedback("unknown", helpful=True, comment=None)
    verdict = audit.verify()
    assert verdict.ok and verdict.checked == 4 and audit.head().seq == 4
    row = audit.answer(ids[1])
    assert row["question"] == "question 1" and row["status"] == "not_found"
    assert row["trace"]["entities"] == {"compounds": ["X"]} and row["latency_ms"] == 1.5
    assert [e["kind"] for e in row["events"]] == ["feedback"]
    assert row["events"][0]["payload"] == {"helpful": True, "comment": "thanks"}
    assert audit.count() == 3 and audit.count("feedback") == 1


def test_verify_finds_an_edited_record(audit: AuditLog) -> None:
    _fill(audit, 4)
    _sql(audit, "UPDATE records SET answer = 'something else' WHERE seq = 3")
    verdict = audit.verify()
    assert not verdict.ok and verdict.seq == 3 and "edited" in (verdict.problem or "")


def test_verify_finds_a_deleted_record(audit: AuditLog) -> None:
    _fill(audit, 4)
    _sql(audit, "DELETE FROM records WHERE seq = 2")
    verdict = audit.verify()
    assert not verdict.ok and verdict.seq == 2 and "missing" in (verdict.problem or "")


def test_verify_finds_reordered_records(audit: AuditLog) -> None:
    _fill(audit, 4)
    # Swap two records' positions (each keeps a hash that matches its own fields' old seq).
    _sql(audit, "UPDATE records SET seq = 100 WHERE seq = 2")
    _sql(audit, "UPDATE records SET seq = 2 WHERE seq = 3")
    _sql(audit, "UPDATE records SET seq = 3 WHERE seq = 100")
    verdict = audit.verify()
    assert not verdict.ok and verdict.seq == 2


def test_verify_against_an_exported_head_finds_truncation(audit: AuditLog) -> None:
    _fill(audit, 5)
    head = Head.parse(audit.head().to_json())
    assert audit.verify(head).ok
    _sql(audit, "DELETE FROM records WHERE seq >= 4")
    assert audit.verify().ok  # a cut tail leaves a valid chain...
    verdict = audit.verify(head)  # ...which only the kept head reveals
    assert not verdict.ok and "truncated" in (verdict.problem or "")


def test_questions_are_redacted_before_storage(audit: AuditLog) -> None:
    reply = _reply()
    question = "I'm jane.doe@example.org, call me on +1 (555) 123-4567 about ketamine"
    audit.record(reply, question, "api", None, "d", "m")
    stored = audit.answer(reply.answer_id)["question"]
    assert "jane.doe" not in stored and "555" not in stored
    assert "[email]" in stored and "[phone]" in stored and "ketamine" in stored


def test_redaction_can_be_turned_off(tmp_path: Path) -> None:
    log = AuditLog.open(f"sqlite:///{tmp_path / 'a.sqlite3'}", redact_questions=False)
    reply = _reply()
    log.record(reply, "mail me at a@b.org", "api", None, "d", "m")
    assert log.answer(reply.answer_id)["question"] == "mail me at a@b.org"


@pytest.mark.parametrize(
    ("text", "kept"),
    [
        ("What is the evidence level for ketamine in stage IV cancer?", True),
        ("Is 50 mg of ketamine safe?", True),
        ("Level 2: RCTs from 2019 and 2021", True),
    ],
)
def test_redaction_keeps_ordinary_questions(text: str, kept: bool) -> None:
    assert (redact(text) == text) is kept


def test_concurrent_writers_keep_one_chain(audit: AuditLog) -> None:
    errors: list[BaseException] = []

    def write(worker: int) -> None:
        try:
            for i in range(15):
                audit.record(_reply(worker * 100 + i), "q", "api", None, "d", "m")
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=write, args=(w,)) for w in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    verdict = audit.verify()
    assert verdict.ok and verdict.checked == 60 and audit.count() == 60


def test_concurrent_rows_share_transactions_and_each_caller_gets_its_own_seq(
    audit: AuditLog,
) -> None:
    commits = 0

    @event.listens_for(audit.engine, "commit")
    def count(_: object) -> None:
        nonlocal commits
        commits += 1

    with ThreadPoolExecutor(16) as pool:
        seqs = list(
            pool.map(lambda i: audit.record(_reply(i), f"q{i}", "api", None, "d", "m"), range(400))
        )
    assert sorted(seqs) == list(range(1, 401))
    assert audit.verify().ok and audit.count() == 400
    # Each caller's seq is its own row.
    with audit.engine.connect() as conn:
        rows = dict(conn.execute(text("SELECT seq, question FROM records")).all())
    assert all(rows[seq] == f"q{i}" for i, seq in enumerate(seqs))
    assert commits < 400  # grouped: fewer transactions than rows


def test_a_failed_group_commit_fails_every_caller_in_it(audit: AuditLog) -> None:
    _fill(audit, 1)
    barrier = threading.Barrier(8)

    @event.listens_for(audit.engine, "before_cursor_execute")
    def refuse(conn: object, cursor: object, statement: str, *args: object) -> None:
        if statement.lstrip().upper().startswith("INSERT INTO RECORDS"):
            raise RuntimeError("disk full")

    def write(i: int) -> str:
        barrier.wait()
        try:
            audit.record(_reply(100 + i), "q", "api", None, "d", "m")
        except AuditUnavailable:
            return "refused"
        return "recorded"

    with ThreadPoolExecutor(8) as pool:
        outcomes = list(pool.map(write, range(8)))
    assert outcomes == ["refused"] * 8
    event.remove(audit.engine, "before_cursor_execute", refuse)
    assert audit.count() == 1 and audit.verify().ok
    _fill(audit, 1)  # the writer is free again
    assert audit.count() == 2


def test_purge_keeps_the_chain_verifiable(audit: AuditLog) -> None:
    _fill(audit, 3)
    head_before = audit.head()
    assert audit.purge(timedelta(days=0)) == 3
    verdict = audit.verify()
    assert verdict.ok and verdict.checked == 1  # the purge event itself
    assert audit.head().seq == head_before.seq + 1
    _fill(audit, 2)
    assert audit.verify().ok and audit.verify(head_before).ok
    assert audit.purge(timedelta(days=30)) == 0


def test_an_unreachable_database_is_reported(tmp_path: Path) -> None:
    with pytest.raises(AuditUnavailable):
        AuditLog.open("postgresql+psycopg://postgres@127.0.0.1:1/test?connect_timeout=1")
