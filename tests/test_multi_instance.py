"""Several real `bot serve` processes: one PostgreSQL chain under concurrent load, and no
lost answer when a server is killed (kill -9) mid-load."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from servers import BOT, pg_schema, run_async, serve
from sqlalchemy import create_engine, text

from bot.audit import AuditLog

QUESTIONS = [
    "How does brimadol work?",
    "What is the evidence level for quorvastin?",
    "turmeric for chronic fakeitis?",
    "Are there clinical trials for zelnoprine?",
    "What do you have on stage IV testcase syndrome?",
]


@pytest.fixture
def pg_url() -> Iterator[str]:
    with pg_schema("mi") as url:
        yield url


async def _chats(urls: list[str], n: int, concurrency: int) -> list[httpx.Response | Exception]:
    limit = asyncio.Semaphore(concurrency)
    async with httpx.AsyncClient(timeout=30) as client:

        async def one(i: int) -> httpx.Response | Exception:
            async with limit:
                try:
                    return await client.post(
                        f"{urls[i % len(urls)]}/api/chat",
                        json={"message": QUESTIONS[i % len(QUESTIONS)], "session_id": f"c{i}"},
                    )
                except httpx.HTTPError as exc:
                    return exc

        return await asyncio.gather(*(one(i) for i in range(n)))


def _verify(env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [BOT, "audit", "verify", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.mark.postgres
def test_two_servers_on_one_postgresql_chain(
    built: dict[str, str], pg_url: str, tmp_path: Path
) -> None:
    env = built | {"BOT_DATABASE_URL": pg_url}
    servers = [serve(env, tmp_path / f"server{i}.log") for i in range(2)]
    try:
        results = run_async(_chats([url for _, url in servers], 500, concurrency=40))
    finally:
        for proc, _ in servers:
            proc.terminate()
            proc.wait(timeout=30)
    ok = [r for r in results if isinstance(r, httpx.Response) and r.status_code == 200]
    assert len(ok) == 500, [r for r in results if r not in ok][:3]
    answered = {r.json()["answer_id"] for r in ok}
    log = AuditLog.open(pg_url)
    with log.engine.connect() as conn:
        logged = [
            row[0]
            for row in conn.execute(text("SELECT answer_id FROM records WHERE kind = 'answer'"))
        ]
    log.engine.dispose()
    assert len(logged) == len(set(logged)) == 500 and set(logged) == answered
    head = subprocess.run(
        [BOT, "audit", "head"], env=env, capture_output=True, text=True, check=True
    ).stdout
    first = _verify(env, "--head", head)
    assert first.returncode == 0 and "OK: 500 records verified" in first.stdout

    admin = create_engine(pg_url)

    def sql(statement: str) -> None:
        with admin.begin() as conn:
            conn.execute(text(statement))

    # Edited, then put back.
    sql("UPDATE records SET answer = answer || ' (edited)' WHERE seq = 250")
    assert "record 250 was edited" in _verify(env).stderr
    sql("UPDATE records SET answer = left(answer, length(answer) - 9) WHERE seq = 250")
    assert _verify(env).returncode == 0
    # Deleted, then put back.
    sql("CREATE TABLE saved AS SELECT * FROM records WHERE seq = 123")
    sql("DELETE FROM records WHERE seq = 123")
    assert "records 123..123 are missing" in _verify(env).stderr
    sql("INSERT INTO records SELECT * FROM saved")
    assert _verify(env).returncode == 0
    # Truncated: a cut tail leaves a valid chain, which only the exported head reveals.
    sql("DELETE FROM records WHERE seq >= 400")
    assert _verify(env).returncode == 0
    truncated = _verify(env, "--head", head)
    assert truncated.returncode == 1 and "truncated" in truncated.stderr
    admin.dispose()


def test_kill_minus_9_loses_no_answer_that_got_a_200(built: dict[str, str], tmp_path: Path) -> None:
    db = tmp_path / "audit.sqlite3"
    env = built | {"BOT_DATABASE_URL": f"sqlite:///{db}"}
    proc, url = serve(env, tmp_path / "server.log")

    async def load_then_kill() -> tuple[list[httpx.Response | Exception], int]:
        """16 clients chat without pause until the server is gone; it is killed once 50
        answers are in and every client has a request out (waited for, not timed)."""
        results: list[httpx.Response | Exception] = []
        in_flight, answered, killed = 0, asyncio.Event(), False
        async with httpx.AsyncClient(timeout=30) as client:

            async def worker(w: int) -> None:
                nonlocal in_flight
                i = 0
                while not killed:
                    in_flight += 1
                    try:
                        r: httpx.Response | Exception = await client.post(
                            f"{url}/api/chat",
                            json={"message": QUESTIONS[i % len(QUESTIONS)], "session_id": f"w{w}"},
                        )
                    except httpx.HTTPError as exc:
                        r = exc
                    in_flight -= 1
                    results.append(r)
                    i += 1
                    if sum(isinstance(x, httpx.Response) for x in results) >= 50:
                        answered.set()

            workers = [asyncio.create_task(worker(w)) for w in range(16)]
            await answered.wait()
            while in_flight < 16:  # every client is waiting for an answer right now
                await asyncio.sleep(0)
            flying = in_flight
            os.kill(proc.pid, signal.SIGKILL)
            killed = True
            await asyncio.gather(*workers)
        return results, flying

    results, flying = run_async(load_then_kill())
    assert flying == 16
    proc.wait(timeout=10)
    ok = [
        r.json()["answer_id"]
        for r in results
        if isinstance(r, httpx.Response) and r.status_code == 200
    ]
    failed = [r for r in results if not isinstance(r, httpx.Response)]
    assert ok and failed, "the kill must land while requests are in flight"
    restarted, _ = serve(env, tmp_path / "server.log")
    restarted.terminate()
    restarted.wait(timeout=30)
    log = AuditLog.open(f"sqlite:///{db}")
    missing = [a for a in ok if log.answer(a) is None]
    assert not missing
    assert log.verify().ok


@pytest.mark.redis
def test_workers_answer_follow_ups_and_keep_one_sqlite_chain(
    built: dict[str, str], tmp_path: Path
) -> None:
    database = tmp_path / "audit.sqlite3"
    env = built | {
        "BOT_WORKERS": "2",
        "BOT_SESSION_STORE": "redis",
        "BOT_DATABASE_URL": f"sqlite:///{database}",
    }
    proc, url = serve(env, tmp_path / "workers.log")
    try:
        workers = subprocess.run(
            ["pgrep", "-P", str(proc.pid)], capture_output=True, text=True, check=False
        ).stdout.split()
        assert len(workers) >= 2, (tmp_path / "workers.log").read_text()[-2000:]
        results = run_async(_chats([url], 300, concurrency=30))
        # A follow-up on a new connection may reach the other worker: the context is in Redis.
        follow_ups = []
        for _ in range(10):
            with httpx.Client(base_url=url, timeout=30) as first:
                topic = first.post("/api/chat", json={"message": QUESTIONS[1]}).json()
            with httpx.Client(base_url=url, timeout=30) as second:
                follow_ups.append(
                    second.post(
                        "/api/chat",
                        json={
                            "message": "and how does it work?",
                            "session_id": topic["session_id"],
                        },
                    ).json()
                )
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    ok = [r for r in results if isinstance(r, httpx.Response) and r.status_code == 200]
    assert len(ok) == 300, [r for r in results if r not in ok][:3]
    assert all(f["status"] == "answered" for f in follow_ups)
    assert {f["citations"][0]["compound"] for f in follow_ups} == {"Quorvastin"}
    verified = _verify(env)
    assert verified.returncode == 0 and "OK: 320 records verified" in verified.stdout
    log = AuditLog.open(f"sqlite:///{database}")
    assert log.count() == 320
    log.engine.dispose()
