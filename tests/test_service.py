"""The HTTP contract, through the app factory with a fixture index."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from bot.assistant import Assistant
from bot.evaluate import invariant_violations
from bot.service import create_app
from bot.settings import Settings


@pytest.fixture
def client(settings: Settings, assistant: Assistant) -> TestClient:
    return TestClient(create_app(settings, assistant))


def test_chat_answers_with_the_contract_object(
    client: TestClient,
    assistant: Assistant,
    reply_keys: frozenset[str],
    citation_keys: frozenset[str],
) -> None:
    r = client.post("/api/chat", json={"message": "How does quorvastin work?", "session_id": None})
    assert r.status_code == 200
    data = r.json()
    assert set(data) == reply_keys
    assert set(data["citations"][0]) == citation_keys
    assert data["status"] == "answered"
    assert data["evidence_level"] == "Level 4: Cohort fixture data; no RCTs"
    assert data["citations"][0]["section"] == "Mechanistic Evidence"
    assert data["citations"][0]["evidence_level"] == data["evidence_level"]
    assert invariant_violations(data, assistant) == []
    assert data["session_id"] and data["answer_id"]


def test_session_id_is_kept(client: TestClient) -> None:
    r = client.post("/api/chat", json={"message": "quorvastin evidence", "session_id": "abc-123"})
    assert r.json()["session_id"] == "abc-123"


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        ({"message": ""}, "1-1000 characters"),
        ({"message": "    \n "}, "1-1000 characters"),
        ({"message": "x" * 1001}, "1-1000 characters"),
        ({}, "message: Field required"),
        ({"message": 42}, "message"),
        ({"message": None}, "message"),
        ({"message": "hi", "session_id": "bad id with spaces"}, "session_id"),
        ({"message": "hi", "session_id": "x" * 129}, "session_id"),
        ([1, 2], "valid dictionary"),
    ],
)
def test_bad_input_gets_a_clear_422(client: TestClient, body: object, fragment: str) -> None:
    r = client.post("/api/chat", json=body)
    assert r.status_code == 422
    detail = r.json()["detail"]
    assert isinstance(detail, str) and fragment in detail


def test_malformed_json_is_a_4xx(client: TestClient) -> None:
    r = client.post(
        "/api/chat", content=b'{"message": ', headers={"content-type": "application/json"}
    )
    assert r.status_code == 422
    assert "not valid JSON" in r.json()["detail"]


def test_huge_body_is_refused_before_parsing(client: TestClient) -> None:
    r = client.post("/api/chat", json={"message": "x" * 100_000})
    assert r.status_code == 413


def test_wrong_method_and_unknown_route(client: TestClient) -> None:
    assert client.get("/api/chat").status_code == 405
    assert client.get("/nope").status_code == 404


def test_healthz_reports_the_loaded_index(client: TestClient, assistant: Assistant) -> None:
    r = client.get("/healthz")
    assert r.status_code == 200
    data = r.json()
    assert data["status"] == "ok" and data["assessments"] == 3
    assert data["passages"] == len(assistant.index.passages)
    assert data["index"] == assistant.index.manifest.digest


def test_openapi_docs(client: TestClient) -> None:
    assert client.get("/docs").status_code == 200
    schema = client.get("/openapi.json").json()
    assert "/api/chat" in schema["paths"] and "/healthz" in schema["paths"]


def test_chat_page_has_a_working_form(client: TestClient) -> None:
    r = client.get("/")
    assert r.status_code == 200
    html = r.text
    assert 'method="post" action="/chat"' in html
    assert 'name="message"' in html and 'name="session_id"' in html
    assert "/static/chat.js" in html and "<script>" not in html
    assert client.get("/static/chat.js").status_code == 200
    assert client.get("/static/chat.css").status_code == 200


def test_form_post_without_javascript_shows_the_answer(client: TestClient) -> None:
    r = client.post("/chat", data={"message": "How does quorvastin work?", "session_id": ""})
    assert r.status_code == 200
    assert '<span class="badge-value">Level 4: Cohort fixture data; no RCTs</span>' in r.text
    assert "synthetic enzyme blocking" in r.text
    assert "Medical Disclaimer:" in r.text
    # The session continues through the hidden field.
    assert 'name="session_id" value="' in r.text


def test_form_suggestion_button_wins_over_the_empty_textarea(client: TestClient) -> None:
    r = client.post("/chat", data={"message": ["How does brimadol work?", ""]})
    assert r.status_code == 200 and "imaginary ion exchange" in r.text


def test_form_post_errors_are_shown_on_the_page(client: TestClient) -> None:
    r = client.post("/chat", data={"message": "   "})
    assert r.status_code == 422
    assert "1-1000 characters" in r.text and 'role="alert"' in r.text


def test_user_and_corpus_text_is_escaped_on_the_page(client: TestClient) -> None:
    payload = "brimadol <img src=x onerror=alert(1)> evidence"
    r = client.post("/chat", data={"message": payload})
    assert "<img src=x" not in r.text
    assert "&lt;img src=x onerror=alert(1)&gt;" in r.text
    api = client.post("/api/chat", json={"message": payload}).json()
    assert "<img" not in api["html"]
    faq = client.post("/api/chat", json={"message": "Are there clinical trials for brimadol?"})
    assert "<script>" not in faq.json()["html"]


ALLOWED = "https://partner.example"


@pytest.fixture
def shared_client(settings: Settings, assistant: Assistant) -> TestClient:
    allowed = settings.model_copy(update={"allowed_origins": f"{ALLOWED}/,http://localhost:9"})
    return TestClient(create_app(allowed, assistant))


def test_every_reply_is_logged_before_it_is_returned(
    shared_client: TestClient, tmp_path: Path
) -> None:
    r = shared_client.post(
        "/api/chat",
        json={"message": "How does brimadol work?", "session_id": "s-1"},
        headers={"X-Evidence-Channel": "widget", "Origin": ALLOWED},
    )
    row = shared_client.app.state.audit.answer(r.json()["answer_id"])
    assert row["question"] == "How does brimadol work?" and row["status"] == "answered"
    assert row["answer"] == r.json()["answer"] and row["channel"] == "widget"
    assert row["origin"] == ALLOWED and row["session"] != "s-1"
    assert row["citations"][0]["passage_id"] and row["trace"]["intent"] == "mechanism"
    form = shared_client.post("/chat", data={"message": "How does brimadol work?"})
    assert form.status_code == 200 and shared_client.app.state.audit.count() == 2


def test_an_unlogged_answer_is_never_returned(client: TestClient) -> None:
    with client.app.state.audit.engine.begin() as conn:
        conn.exec_driver_sql("DROP TABLE records")
    r = client.post("/api/chat", json={"message": "How does brimadol work?"})
    assert r.status_code == 503 and "cannot record answers" in r.json()["detail"]
    assert "answer" not in r.json()


def test_feedback_is_stored_against_the_answer(client: TestClient) -> None:
    answer_id = client.post("/api/chat", json={"message": "quorvastin?"}).json()["answer_id"]
    r = client.post(
        "/api/feedback", json={"answer_id": answer_id, "helpful": False, "comment": "too short"}
    )
    assert r.status_code == 200 and r.json() == {"status": "recorded"}
    [event] = client.app.state.audit.answer(answer_id)["events"]
    assert event["kind"] == "feedback"
    assert event["payload"] == {"helpful": False, "comment": "too short"}


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ({"answer_id": "nope", "helpful": True}, 404),
        ({"answer_id": "x", "helpful": "maybe"}, 422),
        ({"helpful": True}, 422),
        ({"answer_id": "x", "helpful": True, "comment": "x" * 1001}, 422),
    ],
)
def test_feedback_errors(client: TestClient, body: dict, status: int) -> None:
    r = client.post("/api/feedback", json=body)
    assert r.status_code == status and isinstance(r.json()["detail"], str)


def test_cors_answers_only_allowed_origins(shared_client: TestClient) -> None:
    preflight = shared_client.options(
        "/api/chat",
        headers={
            "Origin": ALLOWED,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "content-type",
        },
    )
    assert preflight.status_code == 200
    assert preflight.headers["access-control-allow-origin"] == ALLOWED
    ok = shared_client.post(
        "/api/chat", json={"message": "quorvastin?"}, headers={"Origin": ALLOWED}
    )
    assert ok.status_code == 200 and ok.headers["access-control-allow-origin"] == ALLOWED
    for method in ("options", "post"):
        kwargs = {"json": {"message": "quorvastin?"}} if method == "post" else {}
        other = getattr(shared_client, method)(
            "/api/chat",
            headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "POST"},
            **kwargs,
        )
        assert other.status_code == 403
        assert "access-control-allow-origin" not in other.headers
        assert "https://evil.example" in other.json()["detail"]


def test_the_bots_own_origin_is_always_allowed(client: TestClient) -> None:
    r = client.post(
        "/api/chat", json={"message": "quorvastin?"}, headers={"Origin": "http://testserver"}
    )
    assert r.status_code == 200


def test_security_headers_on_every_page(shared_client: TestClient) -> None:
    for path in ("/", "/healthz", "/static/chat.js", "/nope"):
        headers = shared_client.get(path).headers
        csp = headers["content-security-policy"]
        assert "object-src 'none'" in csp and "base-uri 'none'" in csp
        assert "script-src 'self'" in csp and "unsafe-inline" not in csp
        assert "frame-ancestors 'none'" in csp and headers["x-frame-options"] == "DENY"
        assert headers["x-content-type-options"] == "nosniff"
        assert headers["referrer-policy"] == "strict-origin-when-cross-origin"


def test_embed_may_be_framed_by_allowed_origins_only(shared_client: TestClient) -> None:
    r = shared_client.get("/embed")
    assert r.status_code == 200 and 'id="chat-form"' in r.text
    csp = r.headers["content-security-policy"]
    assert "frame-ancestors 'self' https://partner.example http://localhost:9" in csp
    assert "x-frame-options" not in r.headers


def test_widget_script_knows_the_allowed_origins(shared_client: TestClient) -> None:
    r = shared_client.get("/widget.js")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/javascript")
    assert '"allowedOrigins": ["https://partner.example", "http://localhost:9"]' in r.text
    assert "/*BOT_CONFIG*/" not in r.text


def test_invalid_allowed_origin_is_a_clear_settings_error() -> None:
    with pytest.raises(ValueError, match="is not an origin"):
        Settings(allowed_origins="https://ok.example,javascript:alert(1)")
