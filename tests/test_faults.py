"""Faults: the bot keeps answering, or fails clearly, when a part it depends on breaks.

- Redis down: answers go on with each instance's own (memory) conversation context;
  `/healthz` stays 200 and says `sessions.ok: false, fallback: memory`. Decision:
  healthy-but-degraded, not 503: every instance shares the one Redis, so a load balancer
  that took them out for it would turn a loss of cross-instance follow-ups into an outage.
- PostgreSQL down (a real `bot serve` whose database is reached through a TCP proxy the
  test cuts and restores): every reply is a 503 with a JSON `detail`, never a 500 and never
  an answer that was not logged; when the database returns so do the answers, logged, and
  the chain verifies. `bot serve` refuses to start without its database, saying why.
  `/healthz` stays 200 meanwhile (it reports the index; the database is shared by every
  instance, as Redis is).
- The model or the index failing at run time: triage runs before retrieval, so a crisis
  message still gets `urgent` with the contacts first (and is logged); a question that
  needs retrieval gets a 503 with a JSON `detail`, never a 500. (An index that is
  unreadable at start makes `bot serve` refuse to start: tests/test_cli.py.)
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import subprocess
import threading
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient
from servers import BOT, PG, free_port, pg_schema, run_async, serve, stop
from sqlalchemy import create_engine, text

from bot.answer import Status
from bot.assistant import Assistant
from bot.audit import AuditLog
from bot.dialogue import FallbackSessionStore, MemorySessionStore, RedisSessionStore
from bot.embedding import FakeEmbedder
from bot.index import Index
from bot.service import create_app
from bot.settings import Settings
from bot.staff import Staff

PG_PORT, REDIS_PORT = 5432, 6379
CRISIS = "I want to kill myself tonight"
QUESTION = "How does quorvastin work?"


class TcpProxy:
    """127.0.0.1:<port> <-> 127.0.0.1:<target>, relayed by threads. `stop()` closes the
    listening socket (new connections are refused) and cuts every open connection, as a
    dead server or network would; `start()` listens on the same port again."""

    def __init__(self, target_port: int) -> None:
        self.target = ("127.0.0.1", target_port)
        self.port = free_port()
        self._lock = threading.Lock()
        self._open: set[socket.socket] = set()
        self._running = False
        self._acceptor: threading.Thread | None = None
        self._thawed = threading.Event()
        self._thawed.set()

    def freeze(self) -> None:
        """Keep every connection open and accept new ones, but relay nothing: a database
        that stops answering while TCP still looks fine."""
        self._thawed.clear()

    def thaw(self) -> None:
        self._thawed.set()

    def start(self) -> None:
        listener = socket.create_server(("127.0.0.1", self.port))  # SO_REUSEADDR
        listener.settimeout(0.1)
        with self._lock:
            self._running = True
        self._acceptor = threading.Thread(target=self._accept, args=(listener,), daemon=True)
        self._acceptor.start()

    def stop(self) -> None:
        with self._lock:
            self._running = False
        if self._acceptor is not None:
            self._acceptor.join(timeout=5)  # it closes the listener within 0.1 s
        with self._lock:
            cut = list(self._open)
        for s in cut:
            with contextlib.suppress(OSError):
                s.shutdown(socket.SHUT_RDWR)

    def _accept(self, listener: socket.socket) -> None:
        with listener:
            while self._running:
                try:
                    client, _ = listener.accept()
                except TimeoutError:
                    continue
                except OSError:
                    return
                threading.Thread(target=self._relay, args=(client,), daemon=True).start()

    def _relay(self, client: socket.socket) -> None:
        client.settimeout(None)
        self._thawed.wait()
        try:
            upstream = socket.create_connection(self.target, timeout=5)
        except OSError:
            client.close()
            return
        upstream.settimeout(None)
        pair = (client, upstream)
        with self._lock:
            self._open.update(pair)
        back = threading.Thread(target=self._pipe, args=(upstream, client), daemon=True)
        back.start()
        self._pipe(client, upstream)
        back.join(timeout=30)
        with self._lock:
            self._open.difference_update(pair)
        for s in pair:
            s.close()

    def _pipe(self, source: socket.socket, sink: socket.socket) -> None:
        with contextlib.suppress(OSError):
            while data := source.recv(65536):
                self._thawed.wait()
                sink.sendall(data)
        for s in (source, sink):  # one side ended: end the other direction too
            with contextlib.suppress(OSError):
                s.shutdown(socket.SHUT_RDWR)


@pytest.fixture
def pg_proxy() -> Iterator[TcpProxy]:
    proxy = TcpProxy(PG_PORT)
    proxy.start()
    yield proxy
    proxy.stop()


@pytest.fixture
def schema_options() -> Iterator[str]:
    """A fresh PostgreSQL schema; yields its `options` query string."""
    with pg_schema("faults") as url:
        yield url.split("?", 1)[1]


def _is_unavailable(r: httpx.Response) -> bool:
    """A clear 503: JSON with a `detail` in words, and when to try again."""
    return (
        r.status_code == 503
        and r.headers["content-type"].startswith("application/json")
        and isinstance(r.json().get("detail"), str)
        and len(r.json()["detail"]) > 20
        and int(r.headers["retry-after"]) > 0
    )


# --- Redis ---------------------------------------------------------------------------------


@pytest.mark.parametrize("rate_limit", ["off", "1000/minute"])
def test_redis_down_keeps_answering_with_follow_ups_and_healthz_says_degraded(
    settings: Settings, fixture_index: Index, fake_embedder: FakeEmbedder, rate_limit: str
) -> None:
    closed = free_port()  # nothing listens there: refused at once
    settings = settings.model_copy(
        update={
            "session_store": "redis",
            "redis_url": f"redis://127.0.0.1:{closed}/0",
            "rate_limit": rate_limit,  # its counters also live in Redis: in memory meanwhile
            "reload_interval": 0,
        }
    )
    assistant = Assistant.create(settings, fixture_index, fake_embedder)
    assert isinstance(assistant.sessions, FallbackSessionStore)
    client = TestClient(create_app(settings, assistant))

    session = f"redis-down-{uuid.uuid4().hex}"
    first = client.post(
        "/api/chat",
        json={"message": "What is the evidence level for quorvastin?", "session_id": session},
    )
    assert first.status_code == 200 and first.json()["status"] == "answered"
    follow = client.post(
        "/api/chat", json={"message": "and how does it work?", "session_id": session}
    )
    assert follow.status_code == 200
    data = follow.json()
    assert data["status"] == "answered" and data["citations"][0]["compound"] == "Quorvastin"
    assert data["citations"][0]["section"] == "Mechanistic Evidence"
    # Without the session the same words have no topic: the context came from memory.
    alone = client.post("/api/chat", json={"message": "and how does it work?"})
    assert alone.status_code == 200 and alone.json()["status"] == "not_found"

    health = client.get("/healthz")
    assert health.status_code == 200
    body = health.json()
    assert body["status"] == "ok"
    sessions = body["sessions"]
    assert sessions["backend"] == "redis" and sessions["ok"] is False
    assert sessions["fallback"] == "memory"
    # What failed, and where Redis is, goes to the log, not to anyone who asks (finding 12).
    assert "error" not in sessions and str(closed) not in health.text
    assert body["audit"] == {"ok": True, "pending": 0, "kept": 0, "written_late": 0}
    assert client.app.state.audit.count() == 3  # every answer logged as usual


@pytest.mark.redis
def test_redis_returning_takes_over_again_with_the_outages_context(
    settings: Settings, fixture_index: Index, fake_embedder: FakeEmbedder
) -> None:
    proxy = TcpProxy(REDIS_PORT)
    proxy.start()
    try:
        primary = RedisSessionStore(f"redis://127.0.0.1:{proxy.port}/0", 60)
        try:
            primary.client.ping()
        except Exception as exc:  # pragma: no cover - the machine's Redis is required
            pytest.fail(f"no Redis at 127.0.0.1:{REDIS_PORT}: {exc}")
        store = FallbackSessionStore(primary, MemorySessionStore(60), retry_seconds=0.2)
        assistant = Assistant.create(settings, fixture_index, fake_embedder, sessions=store)
        client = TestClient(create_app(settings, assistant))
        assert client.get("/healthz").json()["sessions"] == {"backend": "redis", "ok": True}

        proxy.stop()
        session = f"outage-{uuid.uuid4().hex}"
        asked = {"message": "What is the evidence level for quorvastin?", "session_id": session}
        assert client.post("/api/chat", json=asked).status_code == 200
        degraded = client.get("/healthz")
        assert degraded.status_code == 200 and degraded.json()["sessions"]["ok"] is False

        proxy.start()
        deadline = time.monotonic() + 10
        while client.get("/healthz").json()["sessions"]["ok"] is not True:
            assert time.monotonic() < deadline, "the session store did not recover"
            time.sleep(0.25)
        # The turn taken during the outage moves to Redis with the next one.
        follow = client.post(
            "/api/chat", json={"message": "and how does it work?", "session_id": session}
        )
        assert follow.json()["citations"][0]["compound"] == "Quorvastin"
        assert primary.get(session) is not None
        primary.client.delete(primary.prefix + session)
    finally:
        proxy.stop()


# --- PostgreSQL ----------------------------------------------------------------------------


async def _paced(
    url: str, seconds: float, rate: float, during: list[tuple[float, object]]
) -> list[httpx.Response | Exception]:
    """`rate` chats a second for `seconds`; each (at, fn) of `during` runs at `at` seconds."""
    loop = asyncio.get_running_loop()

    async def events() -> None:
        started = loop.time()
        for at, fn in during:
            await asyncio.sleep(max(0.0, started + at - loop.time()))
            await asyncio.to_thread(fn)

    async with httpx.AsyncClient(timeout=30) as client:

        async def one(i: int) -> httpx.Response | Exception:
            try:
                return await client.post(
                    f"{url}/api/chat",
                    json={"message": QUESTION, "session_id": f"paced-{i % 7}"},
                )
            except httpx.HTTPError as exc:
                return exc

        side = asyncio.create_task(events())
        started, tasks = loop.time(), []
        for i in range(int(seconds * rate)):
            await asyncio.sleep(max(0.0, started + i / rate - loop.time()))
            tasks.append(asyncio.create_task(one(i)))
        results = await asyncio.gather(*tasks)
        await side
    return list(results)


def _logged(url: str) -> list[str]:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(text("SELECT answer_id FROM records WHERE kind = 'answer'"))
            return [r[0] for r in rows]
    finally:
        engine.dispose()


@pytest.mark.postgres
def test_postgresql_down_is_a_clear_503_and_answers_return_logged_with_it(
    built: dict[str, str], pg_proxy: TcpProxy, schema_options: str, tmp_path: Path
) -> None:
    direct = f"{PG}?{schema_options}"
    proxied = f"postgresql+psycopg://postgres@127.0.0.1:{pg_proxy.port}/test?{schema_options}"
    log = AuditLog.open(direct)
    staff = Staff(log.engine)
    staff.add("ops", "a long enough password")
    auth = {"Authorization": f"Bearer {staff.new_token('ops')}"}
    log.engine.dispose()
    env = built | {"BOT_DATABASE_URL": proxied, "BOT_AUDIT_BACKLOG": str(tmp_path / "backlog")}
    proc, url = serve(env, tmp_path / "server.log")
    ok: list[str] = []
    try:
        with httpx.Client(base_url=url, timeout=30) as client:

            def chat(message: str = QUESTION) -> httpx.Response:
                return client.post("/api/chat", json={"message": message})

            # Up.
            for _ in range(3):
                r = chat()
                assert r.status_code == 200, r.text
                ok.append(r.json()["answer_id"])
            fb = {"answer_id": ok[0], "helpful": True}
            assert client.post("/api/feedback", json=fb).status_code == 200

            # Down: a clear 503 everywhere an answer or the log is needed; no answer logged.
            pg_proxy.stop()
            for message in (QUESTION, "brimadol", QUESTION):
                r = chat(message)
                assert _is_unavailable(r), (r.status_code, r.text)
                assert "answer_id" not in r.json()
            # ... except a crisis: its contacts go out at once and its record waits.
            r = chat(CRISIS)
            assert r.status_code == 200 and r.json()["status"] == "urgent", r.text
            ok.append(r.json()["answer_id"])
            assert _is_unavailable(client.post("/api/feedback", json=fb))
            assert _is_unavailable(client.get("/api/audit/answers", headers=auth))
            assert _is_unavailable(client.get(f"/api/audit/answers/{ok[0]}", headers=auth))
            health = client.get("/healthz")
            assert health.status_code == 200 and health.json()["status"] == "degraded"
            audit = health.json()["audit"]
            assert audit["ok"] is False and audit["pending"] == 1 and audit["kept"] == 1

            # Back: answers return (the pool drops its dead connections), logged.
            pg_proxy.start()
            deadline = time.monotonic() + 15
            while (r := chat()).status_code != 200:
                assert _is_unavailable(r), (r.status_code, r.text)
                assert time.monotonic() < deadline, "answers did not come back"
                time.sleep(0.2)
            ok.append(r.json()["answer_id"])
            for _ in range(3):
                r = chat()
                assert r.status_code == 200, r.text
                ok.append(r.json()["answer_id"])
            assert client.post("/api/feedback", json=fb).status_code == 200
            assert client.get(f"/api/audit/answers/{ok[-1]}", headers=auth).status_code == 200
            # The crisis reply's record was written once the database came back.
            deadline = time.monotonic() + 15
            while (audit := client.get("/healthz").json()["audit"])["pending"]:
                assert time.monotonic() < deadline, audit
                time.sleep(0.2)
            assert audit["written_late"] == 1
        assert sorted(_logged(direct)) == sorted(ok)  # exactly the 200s, nothing else

        # Cut and restored while requests are in flight: a 200 or a clear 503, never a
        # 500, and every 200 logged. (A request cut between its commit and the reply may
        # be logged and still get a 503: logged-but-not-shown is allowed, never the reverse.)
        results = run_async(
            _paced(url, 3.0, 40, during=[(1.0, pg_proxy.stop), (2.0, pg_proxy.start)])
        )
        assert all(isinstance(r, httpx.Response) for r in results), results[:3]
        statuses = [r.status_code for r in results]
        assert set(statuses) <= {200, 503}, sorted(set(statuses))
        assert statuses.count(503) > 0 and statuses[-1] == 200
        assert all(_is_unavailable(r) for r in results if r.status_code == 503)
        paced_ok = [r.json()["answer_id"] for r in results if r.status_code == 200]
        logged = _logged(direct)
        assert len(logged) == len(set(logged))
        assert set(ok + paced_ok) <= set(logged)
        assert len(logged) - len(ok + paced_ok) <= statuses.count(503)
    finally:
        stop(proc)
    assert "Traceback" not in (tmp_path / "server.log").read_text()

    verify = subprocess.run(
        [BOT, "audit", "verify"],
        env=built | {"BOT_DATABASE_URL": direct},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert verify.returncode == 0 and verify.stdout.startswith("OK: "), verify.stderr


@pytest.mark.postgres
def test_a_postgresql_that_stops_answering_gives_503s_within_seconds(
    built: dict[str, str], pg_proxy: TcpProxy, schema_options: str, tmp_path: Path
) -> None:
    direct = f"{PG}?{schema_options}"
    proxied = f"postgresql+psycopg://postgres@127.0.0.1:{pg_proxy.port}/test?{schema_options}"
    env = built | {"BOT_DATABASE_URL": proxied, "BOT_DATABASE_TIMEOUT": "2"}
    proc, url = serve(env, tmp_path / "server.log")
    ok: list[str] = []
    try:
        with httpx.Client(base_url=url, timeout=60) as client:
            r = client.post("/api/chat", json={"message": QUESTION})
            assert r.status_code == 200, r.text
            ok.append(r.json()["answer_id"])

            pg_proxy.freeze()  # connections stay open; nothing comes back
            started = time.monotonic()
            with ThreadPoolExecutor(6) as pool:
                chats = list(
                    pool.map(
                        lambda _: client.post("/api/chat", json={"message": QUESTION}), range(6)
                    )
                )
            assert all(_is_unavailable(r) for r in chats), [r.status_code for r in chats]
            assert time.monotonic() - started < 12  # (was: hung for minutes)
            health = client.get("/healthz")
            assert health.status_code == 200 and health.json()["status"] == "degraded"
            assert health.json()["audit"]["ok"] is False and health.json()["audit"]["pending"] == 0

            pg_proxy.thaw()
            deadline = time.monotonic() + 20
            while (r := client.post("/api/chat", json={"message": QUESTION})).status_code != 200:
                assert _is_unavailable(r), (r.status_code, r.text)
                assert time.monotonic() < deadline, "answers did not come back"
            ok.append(r.json()["answer_id"])
            assert client.get("/healthz").json()["audit"]["ok"] is True
    finally:
        pg_proxy.thaw()
        stop(proc)
    log = (tmp_path / "server.log").read_text()
    assert "audit log unavailable" in log and "Traceback" not in log  # said, once or so
    assert set(ok) <= set(_logged(direct))


@pytest.mark.parametrize(
    ("database_url", "reason"),
    [
        ("postgresql+psycopg://postgres@127.0.0.1:{free}/test", "Connection refused"),
        ("not a database url", "URL is not usable"),
    ],
    ids=["unreachable", "malformed"],
)
def test_serve_refuses_to_start_without_its_audit_database(
    built: dict[str, str], database_url: str, reason: str
) -> None:
    started = time.monotonic()
    result = subprocess.run(
        [BOT, "serve", "--port", str(free_port())],
        env=built | {"BOT_DATABASE_URL": database_url.format(free=free_port())},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 1, result.stderr[-2000:]
    assert "Error: " in result.stderr and reason in result.stderr
    assert "audit log" in result.stderr and "Traceback" not in result.stderr
    assert time.monotonic() - started < 60


# --- Model or index failing at run time --------------------------------------------------


class BrokenEmbedder:
    """The model could not be loaded or crashed: every encode fails."""

    name = FakeEmbedder().name
    dim = FakeEmbedder().dim

    def __init__(self) -> None:
        self.calls = 0

    def encode(self, texts: object) -> object:
        self.calls += 1
        raise RuntimeError("model file missing")


@pytest.mark.parametrize("broken", ["model", "index", "both"])
def test_crisis_is_still_answered_when_the_model_or_index_fails(
    settings: Settings,
    fixture_index: Index,
    fake_embedder: FakeEmbedder,
    monkeypatch: pytest.MonkeyPatch,
    broken: str,
) -> None:
    embedder = BrokenEmbedder() if broken in ("model", "both") else fake_embedder
    searched: list[str] = []
    if broken in ("index", "both"):

        def gone(*args: object, **kwargs: object) -> object:
            searched.append("search")
            raise OSError("index file gone")

        monkeypatch.setattr(fixture_index, "search", gone)
        monkeypatch.setattr(fixture_index, "lexical_search", gone)
    assistant = Assistant.create(settings, fixture_index, embedder)
    # raise_server_exceptions (the default): an unhandled error would fail the test here.
    client = TestClient(create_app(settings, assistant))

    r = client.post("/api/chat", json={"message": CRISIS})
    assert r.status_code == 200, r.text
    reply = r.json()
    assert reply["status"] == "urgent"
    assert reply["answer"].startswith(assistant.contacts[0].text)
    assert "tel:" in reply["html"]
    # Triage answered before anything was retrieved: neither the model nor the index ran.
    assert searched == [] and getattr(embedder, "calls", 0) == 0
    logged = client.app.state.audit.answer(reply["answer_id"])
    assert logged is not None and logged["status"] == "urgent"

    # A question that needs retrieval: a clear 503, not a 500, and nothing logged.
    r = client.post("/api/chat", json={"message": QUESTION})
    assert _is_unavailable(r), (r.status_code, r.text)
    assert "cannot answer right now" in r.json()["detail"]
    assert client.app.state.audit.count() == 1
    # Replies that need no retrieval still come.
    declined = client.post("/api/chat", json={"message": "How much zelnoprine should I take?"})
    assert declined.status_code == 200 and declined.json()["status"] == Status.DECLINED.value
    assert client.get("/healthz").status_code == 200
