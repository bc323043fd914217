"""Soak: a real `bot serve` (PostgreSQL audit log, Redis sessions, as deployed on several
instances) under a steady stream of conversations over loopback: follow-ups in sessions,
choices from a listing, crisis and dosing messages, feedback on answers.

Zero 5xx (zero errors of any kind), every follow-up answered with its context, and no lost
audit record: the 200 replies are exactly the answers in the log, the feedback posts
exactly its feedback records, and the chain verifies.

SOAK_SECONDS sets the duration (default 20, the short version `make test` runs; `make soak`
sets 300), SOAK_RATE the requests per second (default 20). Bounded: the request count is
SOAK_SECONDS x SOAK_RATE and the test has a timeout of its own.
"""

from __future__ import annotations

import asyncio
import os
import random
import statistics
import subprocess
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
from servers import BOT, bot_env, pg_schema, run_async, serve, stop
from sqlalchemy import create_engine, text

from bot.embedding import FakeEmbedder
from bot.index import build
from bot.pages import corpus_hash, load_corpus

SECONDS = float(os.environ.get("SOAK_SECONDS", "20"))
RATE = float(os.environ.get("SOAK_RATE", "20"))
USERS = 10  # each sends one request every USERS / RATE seconds
REDIS = "redis://127.0.0.1:6379/0"

pytestmark = [pytest.mark.timeout(int(SECONDS) + 240), pytest.mark.postgres, pytest.mark.redis]

# Conversations: (message, expected status, compound the citation must name or None).
CONVERSATIONS = [
    [
        ("What is the evidence level for quorvastin?", "answered", "Quorvastin"),
        ("and how does it work?", "answered", "Quorvastin"),
        ("Are there clinical trials?", "answered", "Quorvastin"),
    ],
    [
        # A listing of both pages; "the second one" picks from it.
        ("What do you have on stage IV testcase syndrome?", "answered", None),
        ("the second one", "answered", "Zelnoprine"),
        ("and how does it work?", "answered", "Zelnoprine"),
    ],
    [
        ("brimadol", "answered", "Brimadol"),
        ("is the evidence strong enough to consider it?", "answered", "Brimadol"),
    ],
    [
        ("turmeric for chronic fakeitis?", "not_found", None),
        ("what about quorvastin then?", "answered", "Quorvastin"),
    ],
    [("How much zelnoprine should I take?", "declined", "Zelnoprine")],
    [("I want to kill myself", "urgent", None)],
    [
        ("hello", "not_found", None),
        ("How does brimadol work?", "answered", "Brimadol"),
        ("thanks!", "not_found", None),
    ],
    [("Is zelnoprine studied in people with suicidal thoughts?", "answered", "Zelnoprine")],
]


@pytest.fixture
def pg_url() -> Iterator[str]:
    with pg_schema("soak") as url:
        yield url


@pytest.fixture
def server(corpus_dir: Path, tmp_path: Path, pg_url: str) -> Iterator[tuple[str, int, dict]]:
    index = tmp_path / "index"
    build(load_corpus(corpus_dir).assessments, FakeEmbedder(), index, corpus_hash(corpus_dir))
    env = bot_env(corpus_dir, index) | {
        "BOT_DATABASE_URL": pg_url,
        "BOT_SESSION_STORE": "redis",
        "BOT_REDIS_URL": REDIS,
        "BOT_SESSION_TTL": "600",
    }
    log = tmp_path / "server.log"
    proc, url = serve(env, log)
    try:
        yield url, proc.pid, env
    finally:
        stop(proc)
    assert "Traceback" not in log.read_text(), log.read_text()[-3000:]


@dataclass
class Tally:
    statuses: dict[int, int] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)
    wrong: list[str] = field(default_factory=list)
    answers: list[str] = field(default_factory=list)
    feedback: int = 0
    latencies: list[float] = field(default_factory=list)

    def count(self, r: httpx.Response, took: float) -> None:
        self.statuses[r.status_code] = self.statuses.get(r.status_code, 0) + 1
        self.latencies.append(took)

    @property
    def sent(self) -> int:
        return sum(self.statuses.values()) + len(self.errors)


async def _soak(url: str, seconds: float, rate: float) -> Tally:
    tally = Tally()
    total = int(seconds * rate)
    loop = asyncio.get_running_loop()
    started = loop.time()
    limits = httpx.Limits(max_connections=USERS * 2, max_keepalive_connections=USERS * 2)

    async with httpx.AsyncClient(base_url=url, timeout=30, limits=limits) as client:

        async def post(path: str, body: dict) -> httpx.Response | None:
            t = time.perf_counter()
            try:
                r = await client.post(path, json=body)
            except httpx.HTTPError as exc:
                tally.errors.append(f"{path}: {exc!r}")
                return None
            tally.count(r, time.perf_counter() - t)
            if r.status_code != 200:
                tally.errors.append(f"{path}: {r.status_code} {r.text[:200]}")
                return None
            return r

        async def user(u: int) -> None:
            rng = random.Random(u)
            slots = range(u, total, USERS)  # this user's share of the steady stream
            turns: list[tuple[str, str, str | None]] = []
            session, last_answer = "", None
            for n, slot in enumerate(slots):
                # Steady: each request at its slot, or at once if the previous ran late.
                await asyncio.sleep(max(0.0, started + slot / rate - loop.time()))
                if last_answer and rng.random() < 0.2:
                    body = {"answer_id": last_answer, "helpful": rng.random() < 0.7}
                    if rng.random() < 0.5:
                        body["comment"] = f"soak comment {u}-{n}, mail me at a@b.example"
                    if await post("/api/feedback", body):
                        tally.feedback += 1
                    last_answer = None
                    continue
                if not turns:
                    turns = list(rng.choice(CONVERSATIONS))
                    session = f"soak-{u}-{n}-{uuid.uuid4().hex[:8]}"
                message, status, compound = turns.pop(0)
                r = await post("/api/chat", {"message": message, "session_id": session})
                if r is None:
                    turns = []
                    continue
                reply = r.json()
                tally.answers.append(reply["answer_id"])
                last_answer = reply["answer_id"]
                cited = reply["citations"][0]["compound"] if reply["citations"] else None
                if reply["status"] != status or (
                    compound and not (cited or "").startswith(compound)
                ):
                    tally.wrong.append(f"{message!r}: {reply['status']} {cited} in {session}")

        await asyncio.gather(*(user(u) for u in range(USERS)))
    return tally


def _rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def test_steady_load_has_no_5xx_and_loses_no_audit_record(
    server: tuple[str, int, dict], pg_url: str
) -> None:
    url, pid, env = server
    rss_before = _rss_mb(pid)
    began = time.monotonic()
    tally = run_async(_soak(url, SECONDS, RATE))
    took = time.monotonic() - began
    rss_after = _rss_mb(pid)

    lat = sorted(tally.latencies)
    p50 = statistics.median(lat) * 1000 if lat else 0.0
    p99 = lat[min(len(lat) - 1, int(len(lat) * 0.99))] * 1000 if lat else 0.0
    print(
        f"\nsoak: {tally.sent} requests in {took:.1f} s ({tally.sent / took:.1f}/s, target "
        f"{RATE:g}/s for {SECONDS:g} s); statuses {tally.statuses}; {len(tally.answers)} "
        f"answers, {tally.feedback} feedback; latency p50 {p50:.1f} ms p99 {p99:.1f} ms; "
        f"server RSS {rss_before:.0f} -> {rss_after:.0f} MB"
    )
    assert not tally.errors, tally.errors[:5]  # no 5xx, no 4xx, no dropped connection
    assert tally.statuses == {200: tally.sent}
    assert tally.sent == int(SECONDS * RATE)
    assert took < SECONDS * 1.25 + 5, "the server did not keep up with the steady rate"
    assert not tally.wrong, tally.wrong[:5]  # follow-ups kept their context
    assert rss_after - rss_before < 150, "server memory grew under steady load"

    engine = create_engine(pg_url)
    try:
        with engine.connect() as conn:
            logged = [
                r[0]
                for r in conn.execute(text("SELECT answer_id FROM records WHERE kind='answer'"))
            ]
            feedback = conn.execute(
                text("SELECT count(*) FROM records WHERE kind = 'feedback'")
            ).scalar_one()
            leaked = conn.execute(
                text("SELECT count(*) FROM records WHERE data LIKE '%a@b.example%'")
            ).scalar_one()
    finally:
        engine.dispose()
    # 2xx replies == audit rows: none lost, none extra.
    assert len(logged) == len(tally.answers) and set(logged) == set(tally.answers)
    assert feedback == tally.feedback
    assert leaked == 0  # feedback comments are redacted like questions
    verify = subprocess.run(
        [BOT, "audit", "verify"], env=env, capture_output=True, text=True, timeout=300, check=False
    )
    assert verify.returncode == 0 and verify.stdout.startswith("OK: "), verify.stderr
