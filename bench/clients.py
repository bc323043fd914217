"""The two HTTP clients: a sequential one (httpx) and N concurrent ones (aiohttp). Every
reply is checked against its question's label (status and verbatim evidence level)."""

from __future__ import annotations

import asyncio
import json
import statistics
import time
from collections import Counter
from collections.abc import Callable
from typing import Any

import aiohttp
import httpx

from bench import synth
from bench.common import median, pct
from bench.results import Phase, Sequential
from bench.sampling import CpuWindow
from bench.server import Server

NextQuestion = Callable[[], synth.Question | None]
FloorProbe = Callable[[synth.Question], tuple[float, float] | None]


def matches(q: synth.Question, body: Any) -> bool:
    """Did the reply match the question's label (status and verbatim level)?"""
    if not isinstance(body, dict):
        return False
    if body.get("status") != q.expected_status:
        return False
    return q.evidence_level is None or body.get("evidence_level") == q.evidence_level


def check(q: synth.Question, response: httpx.Response) -> bool:
    try:
        return matches(q, response.json())
    except ValueError:
        return False


def sequential(
    server: Server,
    next_q: NextQuestion,
    n: int,
    max_s: float,
    probe: FloorProbe | None = None,
) -> Sequential:
    """One client, one request at a time; with a probe, one in-process floor sample after
    each reply (the server is idle then)."""
    latencies: list[float] = []
    floor: list[tuple[float, float]] = []
    out = Sequential()
    cpu = CpuWindow(server.pid)
    started = time.perf_counter()
    with httpx.Client(base_url=server.base, timeout=30.0, trust_env=False) as client:
        for _ in range(n):
            if time.perf_counter() - started > max_s:
                break
            q = next_q()
            if q is None:
                break
            t = time.perf_counter()
            try:
                r = client.post("/api/chat", json={"message": q.text, "session_id": None})
            except httpx.HTTPError:
                out.errors += 1
                continue
            latencies.append((time.perf_counter() - t) * 1000)
            if not r.is_success:
                out.non2xx += 1
            elif not check(q, r):
                out.mismatched += 1
            if probe is not None and (sample := probe(q)) is not None:
                floor.append(sample)
    cores = cpu.cores(time.perf_counter() - started)
    out.requests, out.ok = len(latencies) + out.errors, len(latencies) - out.non2xx
    out.p50_ms, out.p95_ms, out.p99_ms = (pct(latencies, p) for p in (50, 95, 99))
    out.mean_ms = statistics.fmean(latencies) if latencies else None
    out.max_ms = max(latencies) if latencies else None
    out.server_cpu_cores, out.other_cpu_cores = cores.server, cores.other
    out.floor_samples = len(floor)
    out.floor_embed_ms_p50 = median([e for e, _ in floor])
    out.floor_search_ms_p50 = median([s for _, s in floor])
    out.floor_ms_p50 = median([e + s for e, s in floor])
    return out


class _Load:
    """What the concurrent clients of one phase share: the question source, the budget
    (deadline and request cap), and the tallies."""

    def __init__(self, next_q: NextQuestion, cap: int, seconds: float) -> None:
        self.next_q, self.cap = next_q, cap
        self.deadline = time.perf_counter() + seconds
        self.latencies: list[float] = []
        self.counts: Counter[str] = Counter()
        self.issued = 0

    async def client(self, session: aiohttp.ClientSession) -> None:
        consecutive_errors = 0
        while (
            self.issued < self.cap
            and time.perf_counter() < self.deadline
            and consecutive_errors < 50
        ):
            q = self.next_q()
            if q is None:
                self.counts["exhausted"] += 1
                return
            self.issued += 1
            t = time.perf_counter()
            try:
                async with session.post(
                    "/api/chat", json={"message": q.text, "session_id": None}
                ) as r:
                    status = r.status
                    raw = await r.read()
            except (TimeoutError, aiohttp.ClientError):
                self.counts["errors"] += 1
                consecutive_errors += 1
                continue
            consecutive_errors = 0
            self.latencies.append((time.perf_counter() - t) * 1000)
            self._count(q, status, raw)

    def _count(self, q: synth.Question, status: int, raw: bytes) -> None:
        if not 200 <= status < 300:
            self.counts["non2xx"] += 1
            return
        self.counts["ok"] += 1
        try:
            body = json.loads(raw)
        except ValueError:
            body = None
        if not matches(q, body):
            self.counts["mismatched"] += 1


async def load_phase(
    server: Server,
    concurrency: int,
    next_q: NextQuestion,
    seconds: float,
    cap: int,
    kind: str = "",
) -> Phase:
    """`concurrency` clients, each sending its next request as soon as it has a reply,
    for `seconds` (or `cap` requests); in-flight requests finish after the deadline."""
    # aiohttp, not httpx: at 32 connections httpx's pool took a whole core of the client
    # (measured: ~115 replies/s client-bound vs ~430/s with aiohttp on the same server).
    connector = aiohttp.TCPConnector(limit=concurrency, force_close=False)
    timeout = aiohttp.ClientTimeout(total=30.0)
    async with aiohttp.ClientSession(
        server.base, connector=connector, timeout=timeout, trust_env=False
    ) as session:
        load = _Load(next_q, cap, seconds)
        cpu = CpuWindow(server.pid)
        started = time.perf_counter()
        await asyncio.gather(*(load.client(session) for _ in range(concurrency)))
        elapsed = time.perf_counter() - started
        cores = cpu.cores(elapsed)
    counts = load.counts
    return Phase(
        kind=kind,
        concurrency=concurrency,
        seconds=elapsed,
        requests=load.issued,
        ok=counts["ok"],
        non2xx=counts["non2xx"],
        errors=counts["errors"],
        mismatched=counts["mismatched"],
        replies_per_s=counts["ok"] / elapsed if elapsed else None,
        p50_ms=pct(load.latencies, 50),
        p99_ms=pct(load.latencies, 99),
        server_cpu_cores=cores.server,
        client_cpu_cores=cores.client,
        # Anything else running on the machine meanwhile (noise in these numbers).
        other_cpu_cores=cores.other,
        question_pool_exhausted=bool(counts["exhausted"]),
    )
