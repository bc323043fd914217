"""The review's lower findings (12): each one's regression test."""

from __future__ import annotations

import logging
import re
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner
from fastapi.testclient import TestClient
from servers import pg_schema
from sqlalchemy import event

from bot.answer import Renderer, Status
from bot.assistant import Assistant
from bot.audit import AuditLog, AuditUnavailable
from bot.cli import main
from bot.model import Trace
from bot.service import create_app
from bot.settings import Settings
from bot.staff import Staff, StaffError

BASE = "http://127.0.0.1:8000"
PASSWORD = "correct horse battery"


def test_a_500_carries_the_security_headers(settings: Settings, assistant: Assistant) -> None:
    app = create_app(settings, assistant)

    def boom() -> None:
        raise RuntimeError("a bug")

    app.add_api_route("/boom", boom)
    r = TestClient(app, raise_server_exceptions=False).get("/boom")
    assert r.status_code == 500 and "a bug" not in r.text
    assert "object-src 'none'" in r.headers["content-security-policy"]
    assert r.headers["x-content-type-options"] == "nosniff"


@pytest.fixture
def pg_client(settings: Settings, assistant: Assistant) -> Iterator[TestClient]:
    with pg_schema("hard") as url:
        client = TestClient(
            create_app(settings.model_copy(update={"database_url": url}), assistant),
            base_url=BASE,
        )
        client.app.state.staff.add("ana", PASSWORD)
        yield client
        client.app.state.audit.engine.dispose()


def _login(client: TestClient) -> None:
    form = client.get("/audit/login").text
    csrf = re.search(r'name="csrf" value="([^"]+)"', form).group(1)
    r = client.post(
        "/audit/login",
        data={"name": "ana", "password": PASSWORD, "csrf": csrf},
        headers={"Origin": BASE},
        follow_redirects=False,
    )
    assert r.status_code == 303


@pytest.mark.postgres
def test_nul_in_staff_pages_on_postgresql_is_a_clear_4xx(pg_client: TestClient) -> None:
    answer_id = pg_client.post("/api/chat", json={"message": "quorvastin?"}).json()["answer_id"]
    _login(pg_client)
    assert pg_client.get("/audit", params={"q": "a\x00b"}).status_code == 422
    assert pg_client.get("/audit", params={"assessment": "\x00"}).status_code == 422
    assert pg_client.get("/audit/export.csv", params={"q": "\x00"}).status_code == 422
    assert pg_client.get("/audit/answers/a%00b").status_code == 404
    page = pg_client.get(f"/audit/answers/{answer_id}").text
    csrf = re.search(r'name="csrf" value="([^"]+)"', page).group(1)
    review = pg_client.post(
        f"/audit/answers/{answer_id}/review",
        data={"label": "correct", "note": "fine\x00", "csrf": csrf},
        headers={"Origin": BASE},
        follow_redirects=False,
    )
    assert review.status_code == 303  # stored, escaped inside the record's JSON
    export = pg_client.get("/audit/export.jsonl")
    assert export.status_code == 200 and answer_id in export.text
    assert pg_client.app.state.audit.verify().ok


def test_an_export_whose_database_fails_is_a_503_not_a_cut_download(
    settings: Settings, assistant: Assistant
) -> None:
    client = TestClient(create_app(settings, assistant), base_url=BASE)
    client.app.state.staff.add("ana", PASSWORD)
    _login(client)
    engine = client.app.state.audit.engine

    @event.listens_for(engine, "before_cursor_execute")
    def fail(conn: object, cursor: object, statement: str, *args: object) -> None:
        if "FROM records" in statement and "kind" in statement:
            raise AuditUnavailable("down")

    r = client.get("/audit/export.csv")
    event.remove(engine, "before_cursor_execute", fail)
    assert r.status_code == 503 and "Retry-After" in r.headers


def test_write_failures_leave_a_log_line(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    log = AuditLog.open(f"sqlite:///{tmp_path / 'a.sqlite3'}")

    @event.listens_for(log.engine, "before_cursor_execute")
    def full(conn: object, cursor: object, statement: str, *args: object) -> None:
        if statement.lstrip().upper().startswith("INSERT INTO RECORDS"):
            raise OSError(28, "No space left on device")

    reply = Renderer().render(
        "smalltalk",
        status=Status.NOT_FOUND,
        disclaimer="d",
        session_id="s",
        answer_id=uuid.uuid4().hex,
        covered=[],
        trace=Trace(),
    )
    with caplog.at_level(logging.WARNING), pytest.raises(AuditUnavailable):
        log.record(reply, "q", "api", None, "d", "m")
    assert any("No space left on device" in r.getMessage() for r in caplog.records)


@pytest.mark.parametrize("password", ["aaaaaaaaaaaa", "password1234", "qwertyuiop12"])
def test_weak_staff_passwords_are_refused(tmp_path: Path, password: str) -> None:
    staff = Staff(AuditLog.open(f"sqlite:///{tmp_path / 'a.sqlite3'}").engine)
    with pytest.raises(StaffError, match="too easy to guess"):
        staff.add("ana", password)


def test_tokens_expire_and_are_revoked_one_by_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("BOT_DATABASE_URL", f"sqlite:///{tmp_path / 'a.sqlite3'}")
    runner = CliRunner()
    assert (
        runner.invoke(main, ["staff", "add", "ana", "--password-stdin"], input=PASSWORD).exit_code
        == 0
    )
    first = runner.invoke(main, ["staff", "token", "ana"]).stdout.strip()
    second = runner.invoke(main, ["staff", "token", "ana", "--days", "1"]).stdout.strip()
    staff = Staff(AuditLog.open(f"sqlite:///{tmp_path / 'a.sqlite3'}").engine)
    assert staff.by_token(first) == staff.by_token(second) == "ana"
    listed = runner.invoke(main, ["staff", "tokens", "ana"]).stdout
    ids = re.findall(r"^(\w{12})  ana", listed, re.M)
    assert len(ids) == 2 and first not in listed
    revoked = runner.invoke(main, ["staff", "revoke", ids[0]])
    assert revoked.exit_code == 0
    assert staff.by_token(first) is None and staff.by_token(second) == "ana"
    with staff.engine.begin() as conn:  # a day later
        conn.exec_driver_sql("UPDATE staff_tokens SET expires_at = '2000-01-01T00:00:00.000000Z'")
    assert staff.by_token(second) is None


def test_hosts_outside_the_trusted_list_are_refused(
    settings: Settings, assistant: Assistant
) -> None:
    trusted = settings.model_copy(update={"trusted_hosts": "bot.example.org,*.example.net"})
    app = create_app(trusted, assistant)
    assert TestClient(app, base_url="http://evil.example").get("/").status_code == 400
    assert TestClient(app, base_url="http://bot.example.org").get("/").status_code == 200
    assert TestClient(app, base_url="https://a.example.net").get("/healthz").status_code == 200


@pytest.mark.parametrize(
    ("headers", "status"),
    [
        ({"Origin": "https://evil.example"}, 403),
        ({"Referer": "https://evil.example/page"}, 403),
        ({"Sec-Fetch-Site": "cross-site", "Origin": "https://evil.example"}, 403),
        ({"Origin": "null"}, 403),
        ({"Origin": BASE}, 200),
        ({"Sec-Fetch-Site": "same-origin", "Origin": BASE}, 200),
        ({}, 200),  # not a browser acting for someone
    ],
)
def test_cross_site_form_posts_are_refused(
    settings: Settings, assistant: Assistant, headers: dict[str, str], status: int
) -> None:
    client = TestClient(create_app(settings, assistant), base_url=BASE)
    for path in ("/chat", "/embed"):
        r = client.post(path, data={"message": "How does brimadol work?"}, headers=headers)
        assert r.status_code == status, (path, r.text[:200])
    assert client.app.state.audit.count() == (2 if status == 200 else 0)


def test_a_file_sent_as_the_message_is_refused(settings: Settings, assistant: Assistant) -> None:
    client = TestClient(create_app(settings, assistant), base_url=BASE)
    r = client.post("/chat", files={"message": ("q.txt", b"How does brimadol work?")})
    assert r.status_code == 422 and "must be text" in r.text
    assert client.app.state.audit.count() == 0


def test_the_iframe_form_posts_to_a_framable_page(settings: Settings, assistant: Assistant) -> None:
    allowed = settings.model_copy(update={"allowed_origins": "https://partner.example"})
    client = TestClient(create_app(allowed, assistant), base_url=BASE)
    assert 'action="/embed"' in client.get("/embed").text
    r = client.post("/embed", data={"message": "How does brimadol work?"}, headers={"Origin": BASE})
    assert r.status_code == 200 and "imaginary ion exchange" in r.text
    csp = r.headers["content-security-policy"]
    assert "frame-ancestors 'self' https://partner.example" in csp
    assert 'action="/embed"' in r.text  # the next question stays in the frame too


def test_docs_are_served_without_a_cdn_or_inline_script(
    settings: Settings, assistant: Assistant
) -> None:
    client = TestClient(create_app(settings, assistant))
    page = client.get("/docs")
    assert page.status_code == 200 and "cdn" not in page.text.lower()
    assert "<script>" not in page.text
    for asset in re.findall(r'(?:src|href)="(/[^"]+)"', page.text):
        assert client.get(asset).status_code == 200, asset
    assert "script-src 'self';" in page.headers["content-security-policy"]
