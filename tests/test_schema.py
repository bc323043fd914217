"""Schemathesis against the app's own OpenAPI schema (in-process, over ASGI): generated
requests, valid and invalid, to the patient API (chat, feedback, health) and the staff API
(with a staff token) never get a 5xx, and every response conforms to the schema: a
documented status code, its content type, headers and body. Requests the schema calls
invalid must be refused. On the SQLite and the PostgreSQL audit log (PostgreSQL refuses
some text, e.g. a NUL, that SQLite stores). Bounded: at most 50 examples per operation and
mode, no deadline, no example database, and the same examples every run (derandomized):
negative mode sometimes sends a query value that is wrong only before serialisation (null
"became array", sent as `q=false`, a valid string) and then reports the API for accepting
it (schemathesis#3962); a suite that fails on a random draw blocks every change.

Not checked: that every schema-valid request is accepted (schemathesis's
`positive_data_acceptance`). Some limits are semantic and JSON Schema cannot state them:
a message is "1-1000 characters *after trimming*", `since`/`until` must be a real date.
Their refusal is a documented 422 with a `detail`, and that body is checked like any other.

schemathesis's pytest glue (`schemathesis.pytest.from_fixture`) fails under pytest 9.2
(it sets `node._nodeid`), so each operation's strategy is driven by Hypothesis here."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import schemathesis
from fastapi import FastAPI
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode
from schemathesis.checks import positive_data_acceptance
from servers import pg_schema

from bot.assistant import Assistant
from bot.service import create_app
from bot.settings import Settings

POSITIVE, NEGATIVE = GenerationMode.POSITIVE, GenerationMode.NEGATIVE
CASES = [
    ("POST", "/api/chat", POSITIVE),
    ("POST", "/api/chat", NEGATIVE),
    ("POST", "/api/feedback", POSITIVE),
    ("POST", "/api/feedback", NEGATIVE),
    ("GET", "/healthz", POSITIVE),  # takes nothing that could be invalid
    ("GET", "/api/crisis-contacts", POSITIVE),
    ("GET", "/api/crisis-contacts", NEGATIVE),
    ("GET", "/api/audit/answers", POSITIVE),
    ("GET", "/api/audit/answers", NEGATIVE),
    ("GET", "/api/audit/answers/{answer_id}", POSITIVE),
    ("GET", "/api/audit/answers/{answer_id}", NEGATIVE),
]


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, settings: Settings) -> Iterator[str]:
    if request.param == "sqlite":
        yield settings.database_url
        return
    with pg_schema("schema") as url:
        yield url


@pytest.fixture
def api_app(settings: Settings, assistant: Assistant, database_url: str) -> Iterator[FastAPI]:
    update = {"reload_interval": 0, "database_url": database_url}
    app = create_app(settings.model_copy(update=update), assistant)
    # A few real answers, so feedback and the audit API also meet known ids.
    for question in ("How does quorvastin work?", "brimadol", "I want to kill myself"):
        reply = assistant.reply(question)
        app.state.audit.record(reply, question, "api", None, "digest", "model")
    yield app
    app.state.audit.engine.dispose()


def test_the_schema_documents_every_error_response(api_app: FastAPI) -> None:
    paths = api_app.openapi()["paths"]
    chat = paths["/api/chat"]["post"]["responses"]
    assert {"200", "400", "403", "413", "422", "429", "503"} <= set(chat)
    assert "InvalidOut" in str(chat["422"]["content"])  # our body, not FastAPI's default
    assert {"401", "404", "503"} <= set(paths["/api/audit/answers/{answer_id}"]["get"]["responses"])


@pytest.mark.parametrize(("method", "path", "mode"), CASES)
def test_api_conforms_to_its_schema(
    api_app: FastAPI, method: str, path: str, mode: GenerationMode
) -> None:
    operation = schemathesis.openapi.from_asgi("/openapi.json", api_app)[path][method]
    headers = {}
    if path.startswith("/api/audit"):
        api_app.state.staff.add("schema", "a long enough password")
        headers["Authorization"] = f"Bearer {api_app.state.staff.new_token('schema')}"

    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(
        max_examples=50,
        deadline=None,
        database=None,
        derandomize=True,
        suppress_health_check=list(HealthCheck),
    )
    def check(case: schemathesis.Case) -> None:
        case.call_and_validate(headers=headers, excluded_checks=[positive_data_acceptance])

    check()


@pytest.mark.parametrize(
    ("method", "url", "body"),
    [
        # Found by the fuzzer here or on PostgreSQL: each was a 5xx (some on PostgreSQL only).
        ("GET", "/api/audit/answers?cursor=9223372036854775808", None),
        ("GET", "/api/audit/answers?since=9999-12-31T23:59:59-05:00", None),
        ("GET", "/api/audit/answers?q=a%00b", None),
        ("GET", "/api/audit/answers?channel=%00", None),
        ("GET", "/api/audit/answers/a%00b", None),
        ("POST", "/api/chat", {"message": "How does quorvastin work?\x00"}),
        ("POST", "/api/feedback", {"answer_id": "a\x00b", "helpful": True}),
    ],
)
def test_inputs_no_database_takes_are_a_clear_422(
    api_app: FastAPI, method: str, url: str, body: dict | None
) -> None:
    api_app.state.staff.add("schema", "a long enough password")
    token = api_app.state.staff.new_token("schema")
    client = TestClient(api_app, raise_server_exceptions=False)
    r = client.request(method, url, json=body, headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 422 and isinstance(r.json()["detail"], str), r.text
