"""Per-client rate limits: 429 with Retry-After, proxy headers only from trusted proxies,
counters shared through Redis, and no failure while Redis is down."""

from __future__ import annotations

import contextlib
import socket
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest
from fastapi.testclient import TestClient
from starlette.requests import Request

from bot.assistant import Assistant
from bot.service import create_app
from bot.service.ratelimit import client_address
from bot.settings import Settings


def _client(settings: Settings, assistant: Assistant, **changes: object) -> TestClient:
    return TestClient(create_app(settings.model_copy(update=changes), assistant))


def test_over_the_limit_gets_429_with_retry_after(settings: Settings, assistant: Assistant) -> None:
    client = _client(settings, assistant, rate_limit="3/minute")
    for _ in range(3):
        assert client.post("/api/chat", json={"message": "quorvastin?"}).status_code == 200
    refused = client.post("/api/chat", json={"message": "quorvastin?"})
    assert refused.status_code == 429
    assert 1 <= int(refused.headers["retry-after"]) <= 60
    assert "please wait" in refused.json()["detail"]
    # The form post and feedback count too; health checks and pages do not.
    assert client.post("/chat", data={"message": "quorvastin?"}).status_code == 429
    assert client.get("/healthz").status_code == 200 and client.get("/").status_code == 200


def test_a_client_over_the_limit_in_crisis_still_gets_the_contacts(
    settings: Settings, assistant: Assistant
) -> None:
    client = _client(settings, assistant, rate_limit="2/minute")
    for _ in range(2):
        assert client.post("/api/chat", json={"message": "quorvastin?"}).status_code == 200
    assert client.post("/api/chat", json={"message": "quorvastin?"}).status_code == 429
    crisis = client.post("/api/chat", json={"message": "i want to end my life tonight"})
    assert crisis.status_code == 200 and crisis.json()["status"] == "urgent"
    assert client.app.state.audit.answer(crisis.json()["answer_id"])["status"] == "urgent"
    # The same through the no-JS form, and through the embed's form.
    form = client.post("/chat", data={"message": "he's going to hurt me, he's outside"})
    assert form.status_code == 200 and "911" in form.text
    # Anything else is still refused, and feedback is never a way around the limit.
    assert client.post("/chat", data={"message": "and how does it work?"}).status_code == 429
    assert (
        client.post(
            "/api/chat", content=b"not json", headers={"content-type": "application/json"}
        ).status_code
        == 429
    )
    feedback = {"answer_id": crisis.json()["answer_id"], "helpful": True}
    assert client.post("/api/feedback", json=feedback).status_code == 429


def test_off_disables_it(settings: Settings, assistant: Assistant) -> None:
    client = _client(settings, assistant, rate_limit="off")
    assert all(
        client.post("/api/chat", json={"message": "quorvastin?"}).status_code == 200
        for _ in range(40)
    )


def test_a_bad_rate_is_a_clear_settings_error() -> None:
    with pytest.raises(ValueError, match="not a rate like 30/minute"):
        Settings(rate_limit="lots")


def _request(peer: str, forwarded: str | None = None) -> Request:
    headers = [(b"x-forwarded-for", forwarded.encode())] if forwarded else []
    return Request({"type": "http", "client": (peer, 1234), "headers": headers})


def test_proxy_headers_are_trusted_only_from_trusted_proxies() -> None:
    import ipaddress

    proxies = [ipaddress.ip_network("10.0.0.0/8")]
    # A direct client cannot choose its own key by sending the header.
    assert client_address(_request("203.0.113.9", "198.51.100.1"), proxies) == "203.0.113.9"
    # Behind our proxy: the right-most address that is not one of our proxies.
    assert client_address(_request("10.0.0.5", "198.51.100.1, 10.0.0.7"), proxies) == (
        "198.51.100.1"
    )
    assert client_address(_request("10.0.0.5"), proxies) == "10.0.0.5"


@pytest.mark.redis
def test_instances_share_counters_through_redis(settings: Settings, assistant: Assistant) -> None:
    shared = {
        "rate_limit": "2/minute",
        "session_store": "redis",
        # A fresh key per run keeps this test's counters apart from earlier runs'.
        "secret_key": uuid.uuid4().hex,
    }
    one = _client(settings, assistant, **shared)
    two = _client(settings, assistant, **shared)
    assert one.post("/api/chat", json={"message": "quorvastin?"}).status_code == 200
    assert two.post("/api/chat", json={"message": "quorvastin?"}).status_code == 200
    assert one.post("/api/chat", json={"message": "quorvastin?"}).status_code == 429
    assert two.post("/api/chat", json={"message": "quorvastin?"}).status_code == 429


def test_redis_down_still_limits_in_memory(settings: Settings, assistant: Assistant) -> None:
    client = _client(
        settings,
        assistant,
        rate_limit="2/minute",
        session_store="redis",
        redis_url="redis://127.0.0.1:1/0",
    )
    codes = [
        client.post("/api/chat", json={"message": "quorvastin?"}).status_code for _ in range(3)
    ]
    assert codes == [200, 200, 429]


class BlackHole:
    """A server that accepts connections and reads, and never answers (a hung Redis)."""

    def __init__(self) -> None:
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.asked = threading.Event()
        self.gave_up = threading.Event()  # a connection's silence ran out (10 s)
        self._open: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self.listener.accept()
            except OSError:
                return
            self._open.append(conn)
            threading.Thread(target=self._read, args=(conn,), daemon=True).start()

    def _read(self, conn: socket.socket) -> None:
        with contextlib.suppress(OSError):
            conn.settimeout(10)  # gives up after 10 s, so a test of old code still ends
            try:
                while conn.recv(4096):
                    self.asked.set()
            except TimeoutError:
                self.gave_up.set()

    def close(self) -> None:
        self.listener.close()
        for conn in self._open:
            with contextlib.suppress(OSError):
                conn.close()


def test_a_redis_that_never_answers_does_not_freeze_the_server(
    settings: Settings, assistant: Assistant
) -> None:
    hole = BlackHole()
    try:
        app = create_app(
            settings.model_copy(
                update={
                    "rate_limit": "100/minute",
                    "session_store": "redis",  # the counters; this assistant keeps memory
                    "redis_url": f"redis://127.0.0.1:{hole.port}/0",
                    "secret_key": "k",
                }
            ),
            assistant,
        )
        with TestClient(app) as client, ThreadPoolExecutor(1) as pool:
            started = time.monotonic()
            chat = pool.submit(client.post, "/api/chat", json={"message": "quorvastin?"})
            assert hole.asked.wait(10), "the rate limiter never asked Redis"
            # The limiter is waiting on Redis right now: the event loop must not be.
            assert client.get("/static/chat.css").status_code == 200
            # Answered while Redis is still silent (it was: once the silence ran out); a
            # condition, not a clock, which a loaded machine stretches.
            assert not hole.gave_up.is_set()
            assert chat.result(timeout=10).status_code == 200  # counted in memory
            assert time.monotonic() - started < 5
            # The next ones are answered as quickly (Redis is left alone for a while).
            codes = [client.post("/api/chat", json={"message": "q?"}).status_code for _ in range(3)]
            assert codes == [200, 200, 200] and time.monotonic() - started < 8
    finally:
        hole.close()


def test_rating_answers_does_not_use_up_questions(settings: Settings, assistant: Assistant) -> None:
    client = _client(settings, assistant, rate_limit="2/minute")
    first = client.post("/api/chat", json={"message": "quorvastin?"})
    assert first.status_code == 200
    vote = {"answer_id": first.json()["answer_id"], "helpful": True}
    # Votes and comments have a count of their own...
    for _ in range(2):
        assert client.post("/api/feedback", json=vote).status_code == 200
    refused = client.post("/api/feedback", json=vote)
    assert refused.status_code == 429 and "Too many ratings" in refused.json()["detail"]
    assert 1 <= int(refused.headers["retry-after"]) <= 60
    # ... so the second question is still answered, and the third refused as before.
    assert client.post("/api/chat", json={"message": "quorvastin?"}).status_code == 200
    over = client.post("/api/chat", json={"message": "quorvastin?"})
    assert over.status_code == 429 and "Too many questions" in over.json()["detail"]
