"""Staff accounts (Argon2id), API tokens, sessions, and the bearer-token audit API."""

from __future__ import annotations

import functools
import os
import subprocess
import sys
from pathlib import Path

import argon2
import pytest
from click.testing import CliRunner
from fastapi.testclient import TestClient

import bot.staff
from bot.assistant import Assistant
from bot.audit import AuditLog, pseudonym
from bot.cli import main
from bot.service import create_app
from bot.settings import Settings
from bot.staff import Staff, StaffError

PASSWORD = "correct horse battery"


@pytest.fixture
def staff(tmp_path: Path) -> Staff:
    return Staff(AuditLog.open(f"sqlite:///{tmp_path / 'a.sqlite3'}").engine, idle_seconds=60)


def test_passwords_are_argon2id_and_checked(staff: Staff) -> None:
    staff.add("ana", PASSWORD)
    with staff.engine.connect() as conn:
        stored = conn.exec_driver_sql("SELECT password_hash FROM staff").scalar_one()
    assert stored.startswith("$argon2id$") and PASSWORD not in stored
    assert staff.check_password("ana", PASSWORD)
    assert not staff.check_password("ana", "wrong password!!")
    assert not staff.check_password("nobody", PASSWORD)


def test_the_product_hashes_with_the_librarys_defaults(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The suite hashes cheaply (conftest.py); the product must not."""
    monkeypatch.setattr(bot.staff, "PasswordHasher", argon2.PasswordHasher)
    # A fresh cache: the process's dummy hash was made with the suite's cheap hasher.
    fresh = functools.cache(bot.staff._dummy_hash.__wrapped__)
    monkeypatch.setattr(bot.staff, "_dummy_hash", fresh)
    staff = Staff(AuditLog.open(f"sqlite:///{tmp_path / 'a.sqlite3'}").engine)
    defaults = argon2.PasswordHasher()
    assert (staff.hasher.time_cost, staff.hasher.memory_cost, staff.hasher.parallelism) == (
        defaults.time_cost,
        defaults.memory_cost,
        defaults.parallelism,
    )
    staff.add("ana", PASSWORD)
    with staff.engine.connect() as conn:
        stored = conn.exec_driver_sql("SELECT password_hash FROM staff").scalar_one()
    assert f"m={defaults.memory_cost},t={defaults.time_cost}" in stored
    assert f"m={defaults.memory_cost}" in staff._dummy  # "no such user" costs as much


@pytest.mark.parametrize(
    ("name", "password", "message"),
    [("bad name!", PASSWORD, "staff name"), ("ana", "short", "at least 12")],
)
def test_bad_accounts_are_refused(staff: Staff, name: str, password: str, message: str) -> None:
    with pytest.raises(StaffError, match=message):
        staff.add(name, password)


def test_tokens_are_stored_as_hashes_and_die_with_the_account(staff: Staff) -> None:
    staff.add("ana", PASSWORD)
    token = staff.new_token("ana")
    assert staff.by_token(token) == "ana" and staff.by_token(token + "x") is None
    with staff.engine.connect() as conn:
        assert token not in str(conn.exec_driver_sql("SELECT * FROM staff_tokens").all())
    staff.remove("ana")
    assert staff.by_token(token) is None
    with pytest.raises(StaffError):
        staff.new_token("ana")


def test_sessions_rotate_expire_and_end(staff: Staff, monkeypatch: pytest.MonkeyPatch) -> None:
    staff.add("ana", PASSWORD)
    assert staff.login("ana", "wrong password!!") is None
    first_id, first = staff.login("ana", PASSWORD)
    second_id, _ = staff.login("ana", PASSWORD)
    assert first_id != second_id and staff.session(first_id) == first
    staff.logout(first_id)
    assert staff.session(first_id) is None
    clock = [1000.0]
    monkeypatch.setattr("bot.staff.time.time", lambda: clock[0])
    third_id, _ = staff.login("ana", PASSWORD)
    clock[0] += 61
    assert staff.session(third_id) is None  # idle too long


def test_staff_cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BOT_DATABASE_URL", f"sqlite:///{tmp_path / 'a.sqlite3'}")
    runner = CliRunner()
    added = runner.invoke(main, ["staff", "add", "ana", "--password-stdin"], input=PASSWORD)
    assert added.exit_code == 0, added.output
    token = runner.invoke(main, ["staff", "token", "ana"]).stdout.strip()
    assert token.startswith("ebt_")
    assert runner.invoke(main, ["staff", "list"]).stdout == "ana\n"
    again = runner.invoke(main, ["staff", "add", "ana", "--password-stdin"], input=PASSWORD)
    assert again.exit_code == 1 and "already exists" in again.output
    prompted = runner.invoke(main, ["staff", "add", "bo"], input=f"{PASSWORD}\n{PASSWORD}\n")
    assert prompted.exit_code == 0
    assert runner.invoke(main, ["staff", "remove", "ana"]).exit_code == 0
    assert runner.invoke(main, ["staff", "token", "ana"]).exit_code == 1


@pytest.fixture
def api(settings: Settings, assistant: Assistant) -> tuple[TestClient, str]:
    client = TestClient(create_app(settings, assistant))
    client.app.state.staff.add("ana", PASSWORD)
    return client, client.app.state.staff.new_token("ana")


def test_audit_api_refuses_without_a_valid_token(api: tuple[TestClient, str]) -> None:
    client, _ = api
    for headers in ({}, {"Authorization": "Bearer nope"}, {"Authorization": "Basic abc"}):
        r = client.get("/api/audit/answers", headers=headers)
        assert r.status_code == 401 and r.headers["www-authenticate"] == "Bearer"
        assert client.get("/api/audit/answers/x", headers=headers).status_code == 401


def test_audit_api_lists_filters_pages_and_logs_the_views(api: tuple[TestClient, str]) -> None:
    client, token = api
    auth = {"Authorization": f"Bearer {token}"}
    asked = [
        client.post("/api/chat", json={"message": m}).json()
        for m in ("How does brimadol work?", "turmeric?", "How does quorvastin work?")
    ]
    client.post("/api/feedback", json={"answer_id": asked[0]["answer_id"], "helpful": True})
    page = client.get("/api/audit/answers?limit=2", headers=auth).json()
    assert [i["answer_id"] for i in page["items"]] == [asked[2]["answer_id"], asked[1]["answer_id"]]
    rest = client.get(f"/api/audit/answers?limit=2&cursor={page['next']}", headers=auth).json()
    assert [i["answer_id"] for i in rest["items"]] == [asked[0]["answer_id"]]
    assert rest["next"] is None and rest["items"][0]["feedback"] == [
        {"helpful": True, "comment": None}
    ]
    item = rest["items"][0]
    assert {
        "answer_id",
        "created_at",
        "question",
        "status",
        "answer",
        "evidence_level",
        "citations",
        "feedback",
    } <= set(item)
    found = client.get("/api/audit/answers?q=TURMERIC&status=not_found", headers=auth).json()
    assert [i["answer_id"] for i in found["items"]] == [asked[1]["answer_id"]]
    none = client.get("/api/audit/answers?since=2999-01-01", headers=auth).json()
    assert none == {"items": [], "next": None}
    bad = client.get("/api/audit/answers?since=yesterday", headers=auth)
    assert bad.status_code == 422 and "since" in bad.json()["detail"]
    one = client.get(f"/api/audit/answers/{asked[0]['answer_id']}", headers=auth).json()
    assert one["answer"] == asked[0]["answer"] and one["trace"]["intent"] == "mechanism"
    assert client.get("/api/audit/answers/nope", headers=auth).status_code == 404
    log = client.app.state.audit
    # Four list reads and one answer read; refused reads (422, 404) log nothing.
    assert log.count("view") == 5 and log.verify().ok
    [view] = [e for e in log.answer(asked[0]["answer_id"])["events"] if e["kind"] == "view"]
    assert view["actor"] == "ana"


def test_audit_api_refuses_a_filter_given_twice(api: tuple[TestClient, str]) -> None:
    # schemathesis found "?q=U&q=%23" accepted (the last value kept silently).
    client, token = api
    auth = {"Authorization": f"Bearer {token}"}
    answer = client.get("/api/audit/answers?q=a&q=b&cursor=1&cursor=2", headers=auth)
    assert answer.status_code == 422
    assert "cursor, q" in answer.json()["detail"]
    assert client.get("/api/audit/answers?q=a&limit=2", headers=auth).status_code == 200


def test_audit_api_lists_one_conversation(api: tuple[TestClient, str]) -> None:
    client, token = api
    auth = {"Authorization": f"Bearer {token}"}
    said = [
        client.post("/api/chat", json={"message": m, "session_id": s}).json()["answer_id"]
        for m, s in (("How does brimadol work?", "one"), ("turmeric?", "two"), ("why?", "one"))
    ]
    found = client.get(f"/api/audit/answers?session={pseudonym('one')}", headers=auth).json()
    assert [i["answer_id"] for i in found["items"]] == [said[2], said[0]]
    for bad in ("one", pseudonym("one").upper(), f"{pseudonym('one')}&session={pseudonym('two')}"):
        assert client.get(f"/api/audit/answers?session={bad}", headers=auth).status_code == 422


def test_staff_add_prints_no_migration_chatter(tmp_path: Path) -> None:
    """A new database is migrated by `bot staff add`: Alembic's INFO lines stay out of
    what the command prints (a real process: pytest's own log handlers hide them)."""
    env = {**os.environ, "BOT_DATABASE_URL": f"sqlite:///{tmp_path / 'a.sqlite3'}"}
    bot = Path(sys.executable).with_name("bot")
    done = subprocess.run(
        [str(bot), "staff", "add", "ana", "--password-stdin"],
        input=PASSWORD,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stderr == "Added staff member ana.\n" and done.stdout == ""
