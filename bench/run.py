"""The benchmark: `python -m bench.run [--sizes 1000,10000] [--large] [--quick] ...`.

For each corpus size it generates synthetic pages (bench/synth.py) in a temporary folder,
times `bot build` (subprocesses, as a user runs them), starts `bot serve` on 127.0.0.1 and
drives `POST /api/chat` over real HTTP, and measures the in-process floor (one query
embedding + search) in the same run. It prints one table (rows = metrics, columns = sizes,
then the issue's target and PASS/MISS) and writes JSON under bench/results/.

Every loop is bounded in count and in time; all traffic goes to 127.0.0.1 only.
See bench/README.md for what each number means.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import itertools
import json
import math
import os
import platform
import re
import resource
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import zlib
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp
import httpx
import numpy as np

from bench import recall, synth

ROOT = Path(__file__).resolve().parent.parent
WORKERS = 1  # bot serve's BOT_WORKERS (--workers)
RESULTS = ROOT / "bench" / "results"
# The real model as the product serves it (BOT_EMBEDDER's default); BENCH_EMBEDDER=minilm
# measures the torch backend instead.
REAL_EMBEDDER = os.environ.get("BENCH_EMBEDDER", "onnx")
KEEP_RUNS = 5
TARGET_SIZE = 10_000
# Above this many pages the real-model build is only estimated unless --full-build.
REAL_BUILD_MAX = 2_000
ASSUMED_PASSAGES_PER_S = 70.0  # the torch fp32 figure, used before anything is measured
HOST = "127.0.0.1"

PROFILES: dict[str, dict[str, float]] = {
    "full": {
        "warmup": 50,
        "sequential": 300,
        "sequential_max_s": 120,
        "phase_s": 12,
        "phase_cap": 20_000,
        "floor_runs": 200,
        "inproc_runs": 200,
        "embed_batch": 256,
    },
    "quick": {
        "warmup": 20,
        "sequential": 100,
        "sequential_max_s": 60,
        "phase_s": 4,
        "phase_cap": 5_000,
        "floor_runs": 50,
        "inproc_runs": 50,
        "embed_batch": 128,
    },
}
CONCURRENCY = (1, 8, 32)
STARTED = time.perf_counter()


def log(message: str) -> None:
    print(f"[bench {time.perf_counter() - STARTED:7.1f}s] {message}", file=sys.stderr, flush=True)


# --- small helpers ---------------------------------------------------------------------


def pct(values: Sequence[float], q: float) -> float | None:
    if not values:
        return None
    return float(np.percentile(np.asarray(values, dtype=np.float64), q))


def median(values: Sequence[float]) -> float | None:
    return float(statistics.median(values)) if values else None


def dir_bytes(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


def bot_command(*args: str) -> list[str]:
    # The same process as the `bot` console script (so its pid is the server's pid).
    return [sys.executable, "-c", "from bot.cli import main; main()", *args]


def bot_env(embedder: str, database_url: str | None = None) -> dict[str, str]:
    """A clean environment: no BOT_* of the caller's shell leaks into a measurement."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("BOT_")}
    env.update(
        HF_HUB_OFFLINE="1",
        TRANSFORMERS_OFFLINE="1",
        TOKENIZERS_PARALLELISM="false",
        PYTHONUNBUFFERED="1",
        BOT_EMBEDDER=embedder,
        BOT_RATE_LIMIT="off",
        BOT_SESSION_STORE="memory",
    )
    if database_url:
        env["BOT_DATABASE_URL"] = database_url
    return env


def process_tree(pid: int) -> list[int]:
    """The process and its descendants (a server with BOT_WORKERS runs worker children)."""
    parents: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        parents.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    tree, todo = [], [pid]
    while todo:
        current = todo.pop()
        tree.append(current)
        todo += parents.get(current, [])
    return tree


def proc_status(pid: int) -> dict[str, int]:
    """VmRSS / VmHWM (and PSS, which shares mapped pages out fairly) in kB, summed over the
    process and its workers (empty once it has gone)."""
    out: dict[str, int] = {}
    for member in process_tree(pid):
        try:
            for line in Path(f"/proc/{member}/status").read_text().splitlines():
                key, _, value = line.partition(":")
                if key in ("VmRSS", "VmHWM"):
                    out[key] = out.get(key, 0) + int(value.split()[0])
            for line in Path(f"/proc/{member}/smaps_rollup").read_text().splitlines():
                if line.startswith("Pss:"):
                    out["Pss"] = out.get("Pss", 0) + int(line.split()[1])
        except OSError:
            pass
    return out


def proc_cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of a process and its workers (all their threads)."""
    total = 0.0
    for member in process_tree(pid):
        try:
            fields = Path(f"/proc/{member}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            if member == pid:
                return float("nan")
            continue
        total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return total


def machine_cpu_seconds() -> float:
    """Busy CPU seconds of the whole machine (every core, every process)."""
    try:
        fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    except (OSError, ValueError):
        return float("nan")
    user, nice, system, _idle, _iowait, irq, softirq, steal = (fields + [0] * 8)[:8]
    return (user + nice + system + irq + softirq + steal) / os.sysconf("SC_CLK_TCK")


def self_cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def children_cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


class OtherCpu:
    """Cores used by every process except this one and its (waited-for) children."""

    def __init__(self, extra_pid: int | None = None) -> None:
        self.extra_pid = extra_pid
        self.start = self._sample()
        self.t = time.perf_counter()

    def _sample(self) -> float:
        extra = proc_cpu_seconds(self.extra_pid) if self.extra_pid else 0.0
        return machine_cpu_seconds() - self_cpu_seconds() - children_cpu_seconds() - extra

    def cores(self) -> float | None:
        elapsed = time.perf_counter() - self.t
        value = (self._sample() - self.start) / elapsed if elapsed > 0 else float("nan")
        return max(0.0, value) if math.isfinite(value) else None


def wait_idle(max_wait: float, threshold: float = 0.3) -> dict[str, float | None]:
    """Wait (at most max_wait s) until other processes use under `threshold` cores."""
    started = time.perf_counter()
    while True:
        probe = OtherCpu()
        time.sleep(2.0)
        busy = probe.cores()
        waited = time.perf_counter() - started
        if busy is None or busy < threshold or waited >= max_wait:
            if busy is not None and busy >= threshold:
                log(f"machine still busy: other processes use {busy:.2f} cores; measuring anyway")
            return {"other_cpu_cores": busy, "waited_s": waited}
        log(f"machine busy: other processes use {busy:.2f} cores; waiting (max {max_wait:.0f} s)")


# --- builds ----------------------------------------------------------------------------


def run_build(
    corpus: Path,
    index: Path,
    embedder: str,
    timeout: float,
    logfile: Path,
    spy: tuple[str, Path] | None = None,
) -> dict:
    """`bot build` as a subprocess: wall time, passages, and what it printed.

    With spy=(py-spy, raw file) the build runs under `py-spy record` (a few % slower)."""
    from bot.index import IndexUnavailable, read_manifest

    command = bot_command("build", "--corpus", str(corpus), "--index", str(index))
    if spy:
        command = [spy[0], "record", "--rate", "100", "--format", "raw"]
        command += ["--output", str(spy[1]), "--nonblocking", "--", *bot_command()[:3]]
        command += ["build", "--corpus", str(corpus), "--index", str(index)]
    other = OtherCpu()
    started = time.perf_counter()
    with logfile.open("ab") as out:
        out.write(f"\n$ BOT_EMBEDDER={embedder} bot build\n".encode())
        out.flush()
        proc = subprocess.Popen(
            command,
            env=bot_env(embedder),
            stdout=out,
            stderr=out,
            cwd=ROOT,
        )
        try:
            rc = proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=30)
            return {"ok": False, "error": f"timed out after {timeout:.0f} s", "seconds": None}
    seconds = time.perf_counter() - started
    other_cores = other.cores()
    if rc != 0:
        tail = logfile.read_text(errors="replace")[-800:]
        return {"ok": False, "error": f"exit {rc}: {tail}", "seconds": seconds}
    try:
        manifest = read_manifest(index)
    except IndexUnavailable as exc:
        return {"ok": False, "error": str(exc), "seconds": seconds}
    text = logfile.read_text(errors="replace")
    said = re.findall(r"passages in ([0-9.]+) s", text)
    return {
        "ok": True,
        "seconds": seconds,
        "reported_seconds": float(said[-1]) if said else None,
        "passages": manifest.passages,
        "assessments": manifest.assessments,
        "passages_per_s": manifest.passages / seconds if seconds else None,
        "model": manifest.model,
        "other_cpu_cores": other_cores,
        "profiled": bool(spy),
    }


def index_size(index: Path) -> dict[str, int | None]:
    from bot.index import IndexUnavailable, current_build

    try:
        current = current_build(index)
    except IndexUnavailable:
        return {"current_build_bytes": None, "index_dir_bytes": None}
    return {
        "current_build_bytes": dir_bytes(current),
        "index_dir_bytes": dir_bytes(index),
        "files": {p.name: p.stat().st_size for p in sorted(current.iterdir()) if p.is_file()},
    }


class SurrogateEmbedder:
    """Stands in for the real model when building a large serving index quickly.

    It carries the real model's name and dimension, so `bot serve` (with the real model)
    accepts the index as current and embeds every question with the real model, while the
    passage vectors are seeded random unit vectors: a flat FAISS search costs the same
    whatever the values, and answers are chosen by entities and section routing, which do
    not depend on them. Used only in temporary folders of the benchmark.
    """

    dim = 384

    def __init__(self) -> None:
        from bot.embedding import make_embedder

        self.name = make_embedder(REAL_EMBEDDER).name  # no model is loaded for the name

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        rng = np.random.default_rng(zlib.crc32("\x1f".join(texts).encode()))
        vectors = rng.standard_normal((len(texts), self.dim)).astype(np.float32)
        return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


def build_surrogate(corpus: Path, index: Path) -> float:
    from bot.index import build
    from bot.pages import corpus_hash, load_corpus

    started = time.perf_counter()
    loaded = load_corpus(corpus)
    build(loaded.assessments, SurrogateEmbedder(), index, corpus_hash(corpus))
    return time.perf_counter() - started


# --- in-process floor and breakdown --------------------------------------------------------


def measure_in_process(
    corpus: Path,
    index_dir: Path,
    embedder_kind: str,
    asked: Sequence[synth.Question],
    profile: dict[str, float],
    tmp: Path,
) -> tuple[dict[str, Any], Callable[[synth.Question], tuple[float, float] | None]]:
    """The floor (one query embedding + search) and where the rest of a reply goes.

    Also returns a probe that times the floor for one question (embed ms, search ms), so
    the sequential HTTP client can interleave floor samples with its requests: both then
    see the same machine, however busy it is."""
    import faiss

    from bot.assistant import Assistant
    from bot.audit import AuditLog
    from bot.dialogue import MemorySessionStore
    from bot.embedding import make_embedder
    from bot.index import load
    from bot.settings import Settings

    out: dict[str, Any] = {}
    other = OtherCpu()
    started = time.perf_counter()
    index = load(index_dir)
    out["index_load_s"] = time.perf_counter() - started
    embedder = make_embedder(embedder_kind)
    started = time.perf_counter()
    embedder.encode(["warm up"])
    out["model_load_s"] = time.perf_counter() - started
    by_source = {a.source: a for a in index.assessments.values()}
    covered = [q for q in asked if q.page in by_source]
    runs = int(profile["floor_runs"])

    def timed(fn: Callable[[], object], n: int) -> list[float]:
        times = []
        for _ in range(n):
            t = time.perf_counter()
            fn()
            times.append((time.perf_counter() - t) * 1000)
        return times

    embed_ms, scoped_ms, flat_ms = [], [], []
    for q in (covered * (runs // max(1, len(covered)) + 1))[:runs]:
        t = time.perf_counter()
        vector = embedder.encode([q.text])[0]
        t1 = time.perf_counter()
        index.search(vector, 5, [by_source[q.page].id])
        t2 = time.perf_counter()
        index.search(vector, 5)
        t3 = time.perf_counter()
        embed_ms.append((t1 - t) * 1000)
        scoped_ms.append((t2 - t1) * 1000)
        flat_ms.append((t3 - t2) * 1000)
    vector = embedder.encode([covered[0].text])[0]
    threads = faiss.omp_get_max_threads()
    faiss.omp_set_num_threads(1)
    flat_1t = timed(lambda: index.search(vector, 5), runs)
    faiss.omp_set_num_threads(threads)
    floor = [e + s for e, s in zip(embed_ms, scoped_ms, strict=True)]
    out |= {
        "embed_ms_p50": median(embed_ms),
        "scoped_search_ms_p50": median(scoped_ms),
        "flat_search_ms_p50": median(flat_ms),
        "flat_search_1thread_ms_p50": median(flat_1t),
        "faiss_threads": threads,
        "floor_ms_p50": median(floor),
        "floor_definition": "one query embedding + search scoped to the page's passages",
        "floor_runs": len(floor),
    }
    # Bulk embedding rate on this corpus's passages, as `bot build` does it.
    if embedder_kind == REAL_EMBEDDER:
        texts = [p.embed_text for p in index.passages[: int(profile["embed_batch"])]]
        t = time.perf_counter()
        embedder.encode(texts)
        out["bulk_embed_passages_per_s"] = len(texts) / (time.perf_counter() - t)

    settings = Settings(corpus=corpus, index=index_dir, embedder=embedder_kind)
    t = time.perf_counter()
    assistant = Assistant.create(settings, index, embedder, sessions=MemorySessionStore())
    out["assistant_create_s"] = time.perf_counter() - t
    t = time.perf_counter()
    _ = index.lexical  # loaded with the index (format 2): stays ~0 unless built lazily
    out["bm25_build_s"] = time.perf_counter() - t
    lexicon, retriever = assistant.lexicon, assistant.retriever
    sample = list(asked[: int(profile["inproc_runs"])])
    analyse = timed_each(lambda q: lexicon.analyse(q.text), sample)
    entities = [lexicon.resolve(q.text) for q in sample]
    candidates = timed_each(lambda e: retriever.candidates(e), entities)
    lexical = timed_each(
        lambda q: index.lexical_search(q.text, 10_000, [by_source[q.page].id]), covered[:runs]
    )
    replies = []
    reply_ms = []
    for q in sample:
        t = time.perf_counter()
        replies.append(assistant.reply(q.text))
        reply_ms.append((time.perf_counter() - t) * 1000)
    statuses = Counter(r.status.value for r in replies)
    audit = AuditLog.open(f"sqlite:///{tmp / 'inprocess-audit.sqlite3'}")
    record_ms = []
    for q, reply in zip(sample, replies, strict=True):
        t = time.perf_counter()
        audit.record(
            reply,
            q.text,
            channel="api",
            origin=None,
            index_digest=index.manifest.digest,
            model=index.manifest.model,
        )
        record_ms.append((time.perf_counter() - t) * 1000)
    audit.engine.dispose()
    out |= {
        "entities_ms_p50": median(analyse),
        "candidates_ms_p50": median(candidates),
        "bm25_scoped_ms_p50": median(lexical),
        "reply_ms_p50": median(reply_ms),
        "reply_ms_p99": pct(reply_ms, 99),
        "audit_record_ms_p50": median(record_ms),
        "audit_record_ms_p99": pct(record_ms, 99),
        "reply_statuses": dict(statuses),
        "other_cpu_cores": other.cores(),
    }

    def probe(q: synth.Question) -> tuple[float, float] | None:
        if q.page not in by_source:
            return None
        t = time.perf_counter()
        vector = embedder.encode([q.text])[0]
        t1 = time.perf_counter()
        index.search(vector, 5, [by_source[q.page].id])
        return (t1 - t) * 1000, (time.perf_counter() - t1) * 1000

    return out, probe


def timed_each(fn: Callable[[Any], object], items: Sequence[Any]) -> list[float]:
    times = []
    for item in items:
        t = time.perf_counter()
        fn(item)
        times.append((time.perf_counter() - t) * 1000)
    return times


# --- the server ----------------------------------------------------------------------------


class Server:
    def __init__(self, corpus: Path, index: Path, embedder: str, tmp: Path) -> None:
        self.port = free_port()
        self.base = f"http://{HOST}:{self.port}"
        self.database_url = f"sqlite:///{tmp / 'audit.sqlite3'}"
        self.logfile = tmp / "serve.log"
        self.args = ("serve", "--corpus", str(corpus), "--index", str(index))
        self.args += ("--host", HOST, "--port", str(self.port))
        self.embedder = embedder
        self.proc: subprocess.Popen[bytes] | None = None
        self._log: Any = None

    def start(self) -> None:
        self._log = self.logfile.open("ab")
        env = bot_env(self.embedder, self.database_url)
        if WORKERS > 1:  # workers share conversations through Redis (127.0.0.1:6379)
            env.update(BOT_WORKERS=str(WORKERS), BOT_SESSION_STORE="redis")
        self.proc = subprocess.Popen(
            bot_command(*self.args),
            env=env,
            stdout=self._log,
            stderr=self._log,
            cwd=ROOT,
        )

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def wait_healthy(self, timeout: float) -> float:
        """Seconds from process start to the first 200 of /healthz."""
        assert self.proc is not None
        started = time.perf_counter()
        with httpx.Client(base_url=self.base, timeout=1.0, trust_env=False) as client:
            while time.perf_counter() - started < timeout:
                if self.proc.poll() is not None:
                    raise RuntimeError(f"bot serve exited ({self.proc.returncode}): {self.tail()}")
                try:
                    if client.get("/healthz").status_code == 200:
                        return time.perf_counter() - started
                except httpx.HTTPError:
                    pass
                time.sleep(0.05)
        raise RuntimeError(f"bot serve not healthy after {timeout:.0f} s: {self.tail()}")

    def rebuilt_at_start(self) -> bool:
        return "building" in self.logfile.read_text(errors="replace").split("$ ")[-1]

    def tail(self) -> str:
        return self.logfile.read_text(errors="replace")[-1500:]

    def stop(self) -> None:
        if self.proc is None:
            return
        if self.proc.poll() is None:
            for sig, wait in ((signal.SIGINT, 20), (signal.SIGTERM, 10), (signal.SIGKILL, 10)):
                self.proc.send_signal(sig)
                try:
                    self.proc.wait(timeout=wait)
                    break
                except subprocess.TimeoutExpired:
                    continue
        if self._log:
            self._log.close()


def check(q: synth.Question, response: httpx.Response) -> bool:
    """Did the reply match the question's label (status and verbatim level)?"""
    try:
        return matches(q, response.json())
    except ValueError:
        return False


def matches(q: synth.Question, body: Any) -> bool:
    if not isinstance(body, dict):
        return False
    if body.get("status") != q.expected_status:
        return False
    return q.evidence_level is None or body.get("evidence_level") == q.evidence_level


def sequential(
    server: Server,
    next_q: Callable[[], synth.Question | None],
    n: int,
    max_s: float,
    probe: Callable[[synth.Question], tuple[float, float] | None] | None = None,
) -> dict[str, Any]:
    """One client, one request at a time; with a probe, one in-process floor sample after
    each reply (the server is idle then)."""
    latencies: list[float] = []
    floor: list[tuple[float, float]] = []
    non2xx = errors = mismatched = 0
    cpu = (proc_cpu_seconds(server.pid), self_cpu_seconds(), machine_cpu_seconds())
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
                errors += 1
                continue
            latencies.append((time.perf_counter() - t) * 1000)
            if not r.is_success:
                non2xx += 1
            elif not check(q, r):
                mismatched += 1
            if probe is not None and (sample := probe(q)) is not None:
                floor.append(sample)
    elapsed = time.perf_counter() - started
    server_s, self_s = proc_cpu_seconds(server.pid) - cpu[0], self_cpu_seconds() - cpu[1]
    other_s = machine_cpu_seconds() - cpu[2] - server_s - self_s
    return {
        "requests": len(latencies) + errors,
        "ok": len(latencies) - non2xx,
        "non2xx": non2xx,
        "errors": errors,
        "mismatched": mismatched,
        "p50_ms": pct(latencies, 50),
        "p95_ms": pct(latencies, 95),
        "p99_ms": pct(latencies, 99),
        "mean_ms": statistics.fmean(latencies) if latencies else None,
        "max_ms": max(latencies) if latencies else None,
        "server_cpu_cores": server_s / elapsed if elapsed else None,
        "other_cpu_cores": max(0.0, other_s / elapsed) if elapsed else None,
        "floor_samples": len(floor),
        "floor_embed_ms_p50": median([e for e, _ in floor]),
        "floor_search_ms_p50": median([s for _, s in floor]),
        "floor_ms_p50": median([e + s for e, s in floor]),
    }


async def load_phase(
    server: Server,
    concurrency: int,
    next_q: Callable[[], synth.Question | None],
    seconds: float,
    cap: int,
) -> dict[str, Any]:
    """`concurrency` clients, each sending its next request as soon as it has a reply,
    for `seconds` (or `cap` requests); in-flight requests finish after the deadline."""
    # aiohttp, not httpx: at 32 connections httpx's pool took a whole core of the client
    # (measured: ~115 replies/s client-bound vs ~430/s with aiohttp on the same server).
    connector = aiohttp.TCPConnector(limit=concurrency, force_close=False)
    timeout = aiohttp.ClientTimeout(total=30.0)
    latencies: list[float] = []
    counts = Counter()
    issued = 0
    async with aiohttp.ClientSession(
        server.base, connector=connector, timeout=timeout, trust_env=False
    ) as client:
        deadline = time.perf_counter() + seconds
        cpu_server, cpu_self = proc_cpu_seconds(server.pid), self_cpu_seconds()
        cpu_machine = machine_cpu_seconds()
        started = time.perf_counter()

        async def client_loop() -> None:
            nonlocal issued
            consecutive_errors = 0
            while issued < cap and time.perf_counter() < deadline and consecutive_errors < 50:
                q = next_q()
                if q is None:
                    counts["exhausted"] += 1
                    return
                issued += 1
                t = time.perf_counter()
                try:
                    async with client.post(
                        "/api/chat", json={"message": q.text, "session_id": None}
                    ) as r:
                        status = r.status
                        raw = await r.read()
                except (TimeoutError, aiohttp.ClientError):
                    counts["errors"] += 1
                    consecutive_errors += 1
                    continue
                consecutive_errors = 0
                latencies.append((time.perf_counter() - t) * 1000)
                if not 200 <= status < 300:
                    counts["non2xx"] += 1
                else:
                    counts["ok"] += 1
                    try:
                        body = json.loads(raw)
                    except ValueError:
                        body = None
                    if not matches(q, body):
                        counts["mismatched"] += 1

        await asyncio.gather(*(client_loop() for _ in range(concurrency)))
        elapsed = time.perf_counter() - started
        cpu_server = proc_cpu_seconds(server.pid) - cpu_server
        cpu_self = self_cpu_seconds() - cpu_self
        cpu_other = machine_cpu_seconds() - cpu_machine - cpu_server - cpu_self
    return {
        "concurrency": concurrency,
        "seconds": elapsed,
        "requests": issued,
        "ok": counts["ok"],
        "non2xx": counts["non2xx"],
        "errors": counts["errors"],
        "mismatched": counts["mismatched"],
        "replies_per_s": counts["ok"] / elapsed if elapsed else None,
        "p50_ms": pct(latencies, 50),
        "p99_ms": pct(latencies, 99),
        "server_cpu_cores": cpu_server / elapsed if elapsed else None,
        "client_cpu_cores": cpu_self / elapsed if elapsed else None,
        # Anything else running on the machine meanwhile (noise in these numbers).
        "other_cpu_cores": max(0.0, cpu_other / elapsed) if elapsed else None,
        "question_pool_exhausted": bool(counts["exhausted"]),
    }


def py_spy() -> str | None:
    found = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
    return found if Path(found).exists() else None


def summarise_profile(raw: Path, top: int = 20) -> dict[str, list[tuple[str, float]]]:
    """Self and inclusive shares of samples per function from py-spy's raw output."""
    own: Counter[str] = Counter()
    inclusive: Counter[str] = Counter()
    total = 0
    for line in raw.read_text(errors="replace").splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        n = int(count)
        frames = [re.sub(r":\d+\)$", ")", f) for f in stack.split(";")]
        total += n
        own[frames[-1]] += n
        for frame in set(frames):
            inclusive[frame] += n
    if not total:
        return {"self": [], "inclusive": []}
    return {
        "samples": total,  # type: ignore[dict-item]
        "self": [(f, round(100 * c / total, 1)) for f, c in own.most_common(top)],
        "inclusive": [(f, round(100 * c / total, 1)) for f, c in inclusive.most_common(top)],
    }


def serve_and_load(
    corpus: Path,
    index: Path,
    embedder: str,
    questions: Iterator[synth.Question],
    repeated: synth.Question,
    profile: dict[str, float],
    tmp: Path,
    profile_with: str | None,
    size: int,
    probe: Callable[[synth.Question], tuple[float, float] | None] | None = None,
) -> dict[str, Any]:
    from bot.audit import AuditLog

    out: dict[str, Any] = {}
    server = Server(corpus, index, embedder, tmp)
    ok_total = 0

    def next_unique() -> synth.Question | None:
        return next(questions, None)

    try:
        server.start()
        out["cold_start_s"] = server.wait_healthy(timeout=900)
        out["rebuilt_index_at_start"] = server.rebuilt_at_start()
        out["rss_at_healthy_mb"] = proc_status(server.pid).get("VmRSS", 0) / 1024
        # A question that reaches retrieval, so the reply pays what is built lazily.
        covered = next((q for q in itertools.islice(questions, 1000) if q.page), None)
        first = sequential(server, lambda: covered, 1, 120)
        out["first_reply_ms"] = first["p50_ms"]
        ok_total += first["ok"]
        warm = sequential(server, next_unique, int(profile["warmup"]), 120)
        ok_total += warm["ok"]
        out["rss_after_warmup_mb"] = proc_status(server.pid).get("VmRSS", 0) / 1024
        log(f"{size}: sequential client, {int(profile['sequential'])} unique questions")
        seq = sequential(
            server, next_unique, int(profile["sequential"]), profile["sequential_max_s"], probe
        )
        ok_total += seq["ok"]
        out["sequential"] = seq
        phases = []
        for kind in ("unique", "repeated"):
            for c in CONCURRENCY:
                log(f"{size}: {c} concurrent client(s), {kind} questions, {profile['phase_s']} s")
                spy = None
                if profile_with and c == 8:
                    raw = tmp / f"profile-{size}-{kind}.raw"
                    spy = subprocess.Popen(
                        [
                            *(profile_with, "record", "--pid", str(server.pid)),
                            *("--duration", str(math.ceil(profile["phase_s"])), "--rate", "200"),
                            *("--format", "raw", "--output", str(raw), "--nonblocking"),
                        ],
                        stdout=subprocess.DEVNULL,
                        stderr=subprocess.DEVNULL,
                    )
                nq = next_unique if kind == "unique" else (lambda: repeated)
                phase = asyncio.run(
                    load_phase(server, c, nq, profile["phase_s"], int(profile["phase_cap"]))
                )
                phase["kind"] = kind
                ok_total += phase["ok"]
                phases.append(phase)
                if spy is not None:
                    try:
                        spy.wait(timeout=profile["phase_s"] + 60)
                        out.setdefault("profile", {})[kind] = summarise_profile(raw)
                        RESULTS.mkdir(parents=True, exist_ok=True)
                        shutil.copy(raw, RESULTS / raw.name)
                    except (subprocess.TimeoutExpired, OSError) as exc:
                        spy.kill()
                        out["profile_error"] = str(exc)
        out["phases"] = phases
        status = proc_status(server.pid)
        out["rss_after_load_mb"] = status.get("VmRSS", 0) / 1024
        out["rss_peak_mb"] = status.get("VmHWM", 0) / 1024
        out["pss_after_load_mb"] = status.get("Pss", 0) / 1024
        out["workers"] = WORKERS
        out["server_alive_after_load"] = server.proc is not None and server.proc.poll() is None
    finally:
        server.stop()
    try:
        audit = AuditLog.open(server.database_url)
        out["audit_rows"] = audit.count("answer")
        audit.engine.dispose()
    except Exception as exc:  # reported, not fatal: the numbers above stand
        out["audit_rows"] = None
        out["audit_error"] = repr(exc)
    out["replies_2xx"] = ok_total
    return out


# --- one size ------------------------------------------------------------------------------


def run_size(size: int, args: argparse.Namespace, profile: dict[str, float], state: dict) -> dict:
    tmp = Path(tempfile.mkdtemp(prefix=f"bot-bench-{size}-"))
    result: dict[str, Any] = {"pages": size, "tmp": str(tmp)}
    try:
        corpus = tmp / "corpus"
        t = time.perf_counter()
        specs = synth.write_corpus(corpus, size, seed=args.seed)
        result["generate_s"] = time.perf_counter() - t
        result["grid"] = dict(zip(("compounds", "conditions"), synth.grid(size), strict=True))
        log(f"{size}: {size} pages generated in {result['generate_s']:.1f} s -> {corpus}")
        logs = tmp / "build.log"

        real = size <= args.real_max or args.full_build
        passages_guess = size * 9
        rate = state.get("real_passages_per_s") or ASSUMED_PASSAGES_PER_S
        estimate = passages_guess / rate
        result["real_build_estimate_s"] = estimate
        if not real:
            log(
                f"{size}: a real-model build of ~{passages_guess} passages would take "
                f"~{estimate / 60:.0f} min at {rate:.0f} passages/s; not measured "
                "(pass --full-build to measure it); extrapolating instead"
            )

        build_cap = max(900.0, 3 * estimate + 300)
        spy = py_spy() if args.profile else None
        result["idle_before_builds"] = wait_idle(args.wait_idle)
        log(f"{size}: bot build, fake embedder")
        result["build_fake"] = run_build(corpus, tmp / "index-fake", "fake", build_cap, logs)
        if real:
            log(f"{size}: bot build, real model (estimate ~{estimate:.0f} s)")
            result["build_real"] = run_build(
                corpus, tmp / "index-real", REAL_EMBEDDER, build_cap, logs
            )
            if result["build_real"]["ok"]:
                state["real_passages_per_s"] = result["build_real"]["passages_per_s"]
        edited = synth.edit_page(corpus, specs, which=size // 2, revision=1)
        result["edited_page"] = edited.name
        log(f"{size}: edited {edited.name}; rebuilding")
        raw = tmp / "rebuild-fake.raw"
        result["rebuild_fake"] = run_build(
            corpus, tmp / "index-fake", "fake", build_cap, logs, (spy, raw) if spy else None
        )
        if spy and raw.exists():
            result["rebuild_fake"]["profile"] = summarise_profile(raw)
        if real:
            raw = tmp / "rebuild-real.raw"
            result["rebuild_real"] = run_build(
                corpus,
                tmp / "index-real",
                REAL_EMBEDDER,
                build_cap,
                logs,
                (spy, raw) if spy else None,
            )
            if spy and raw.exists():
                result["rebuild_real"]["profile"] = summarise_profile(raw)
        measured = result.get("build_real", {}).get("ok")
        if measured:
            serve_index, serve_embedder, serving = tmp / "index-real", REAL_EMBEDDER, "real"
        elif args.fake_serving:
            serve_index, serve_embedder, serving = tmp / "index-fake", "fake", "fake"
        else:
            log(f"{size}: writing a serving index with surrogate passage vectors")
            serve_index, serve_embedder, serving = tmp / "index-serve", REAL_EMBEDDER, "surrogate"
            result["surrogate_build_s"] = build_surrogate(corpus, serve_index)
        result["serving_index"] = serving
        result["index_size"] = index_size(serve_index)

        uncovered = synth.uncovered_compounds(size, seed=args.seed)
        questions = synth.questions(specs, uncovered, seed=args.seed)
        inproc_questions = [next(questions) for _ in range(int(profile["inproc_runs"]))]
        result["idle_before_in_process"] = wait_idle(args.wait_idle)
        log(f"{size}: in-process floor and breakdown ({serve_embedder})")
        result["in_process"], probe = measure_in_process(
            corpus, serve_index, serve_embedder, inproc_questions, profile, tmp
        )
        gc.collect()
        if not state.get("bulk_embed_passages_per_s") and result["in_process"].get(
            "bulk_embed_passages_per_s"
        ):
            state["bulk_embed_passages_per_s"] = result["in_process"]["bulk_embed_passages_per_s"]
        if measured:  # real vectors: how far the IVF index above APPROX_ABOVE is from exact
            log(f"{size}: IVF recall@{recall.K} against flat on the real build's vectors")
            result["in_process"]["ivf_recall"] = recall.measure_index(
                serve_index, [q.text for q in inproc_questions], serve_embedder
            )
        result["idle_before_serve"] = wait_idle(args.wait_idle)
        log(f"{size}: bot serve ({serving} index, BOT_EMBEDDER={serve_embedder})")
        result["http"] = serve_and_load(
            corpus,
            serve_index,
            serve_embedder,
            questions,
            synth.repeated_question(specs),
            profile,
            tmp,
            spy,
            size,
            probe,
        )
        del probe
        gc.collect()
        if measured:
            state["reference"] = result
    finally:
        if not args.keep:
            shutil.rmtree(tmp, ignore_errors=True)
    return result


def extrapolate(result: dict, state: dict) -> None:
    """Real-model build times for a size whose real build was not measured."""
    if result.get("build_real", {}).get("ok"):
        return
    fake, refake = result["build_fake"], result["rebuild_fake"]
    if not (fake.get("ok") and refake.get("ok")):
        return
    passages = fake["passages"]
    ref = state.get("reference")
    if ref:
        rp = ref["build_real"]["passages"]
        model_s = ref["build_real"]["seconds"] - ref["build_fake"]["seconds"]
        per_passage = model_s / rp
        incr_model = ref["rebuild_real"]["seconds"] - ref["rebuild_fake"]["seconds"]
        full_like = incr_model > 0.5 * model_s
        basis = f"from the {ref['pages']}-page real build in this run"
    else:
        rate = state.get("bulk_embed_passages_per_s") or ASSUMED_PASSAGES_PER_S
        per_passage, full_like, incr_model = 1 / rate, True, 0.0
        basis = f"from an in-process embedding rate of {rate:.0f} passages/s"
    full = fake["seconds"] + per_passage * passages
    incr = refake["seconds"] + (per_passage * passages if full_like else incr_model)
    result["build_real_extrapolated"] = {
        "seconds": full,
        "passages": passages,
        "passages_per_s": passages / full,
        "rebuild_seconds": incr,
        "rebuild_is_full": full_like,
        "basis": basis + " (fake-embedder build at this size + model time per passage)",
    }


# --- the table -----------------------------------------------------------------------------


def get(d: dict, *path: str) -> Any:
    for key in path:
        if not isinstance(d, dict):
            return None
        d = d.get(key)  # type: ignore[assignment]
    return d


def phase_value(r: dict, kind: str, c: int, key: str = "replies_per_s") -> float | None:
    for p in get(r, "http", "phases") or []:
        if p["kind"] == kind and p["concurrency"] == c:
            return p.get(key)
    return None


def metric_rows(r: dict) -> dict[str, tuple[Any, str]]:
    """metric -> (value, mark); mark: '' measured, '*' extrapolated, 'f' fake embedder."""
    rows: dict[str, tuple[Any, str]] = {}
    real, ext = r.get("build_real"), r.get("build_real_extrapolated")
    fake, refake = r.get("build_fake", {}), r.get("rebuild_fake", {})
    rows["passages"] = (fake.get("passages"), "")
    rows["serving"] = (r.get("serving_index"), "")
    if real and real.get("ok"):
        rows["build_real_s"] = (real["seconds"], "")
        rows["build_rate"] = (real["passages_per_s"], "")
        rows["rebuild_real_s"] = (get(r, "rebuild_real", "seconds"), "")
    elif ext:
        rows["build_real_s"] = (ext["seconds"], "*")
        rows["build_rate"] = (ext["passages_per_s"], "*")
        rows["rebuild_real_s"] = (ext["rebuild_seconds"], "*")
    rows["build_fake_s"] = (fake.get("seconds"), "f")
    rows["bulk_embed"] = (get(r, "in_process", "bulk_embed_passages_per_s"), "")
    rows["rebuild_fake_s"] = (refake.get("seconds"), "f")
    size = get(r, "index_size", "current_build_bytes")
    rows["index_mb"] = (size / 1e6 if size else None, "")
    http, inproc = r.get("http", {}), r.get("in_process", {})
    rows["cold_start_s"] = (http.get("cold_start_s"), "")
    rows["first_reply_ms"] = (http.get("first_reply_ms"), "")
    rows["rss_warm_mb"] = (http.get("rss_after_warmup_mb"), "")
    rows["rss_load_mb"] = (http.get("rss_after_load_mb"), "")
    rows["rss_peak_mb"] = (http.get("rss_peak_mb"), "")
    rows["pss_load_mb"] = (http.get("pss_after_load_mb"), "")
    seq = http.get("sequential", {})
    # The floor measured between the sequential client's requests (same machine state);
    # before the server started when there is none.
    rows["embed_ms_p50"] = (seq.get("floor_embed_ms_p50") or inproc.get("embed_ms_p50"), "")
    rows["scoped_search_ms_p50"] = (
        seq.get("floor_search_ms_p50") or inproc.get("scoped_search_ms_p50"),
        "",
    )
    rows["floor_ms_p50"] = (seq.get("floor_ms_p50") or inproc.get("floor_ms_p50"), "")
    rows["embed_before_ms"] = (inproc.get("embed_ms_p50"), "")
    for key in (
        "flat_search_ms_p50",
        "flat_search_1thread_ms_p50",
        "bm25_build_s",
        "entities_ms_p50",
        "candidates_ms_p50",
        "bm25_scoped_ms_p50",
        "reply_ms_p50",
        "audit_record_ms_p50",
    ):
        rows[key] = (inproc.get(key), "")
    ivf = inproc.get("ivf_recall")
    rows["ivf_recall"] = (100 * ivf["recall_at_k"] if ivf else None, "")
    rows["ivf_search"] = (
        f"{ivf['ivf_search_ms_p50']:.2f} ({ivf['nprobe']}/{ivf['lists']})" if ivf else None,
        "",
    )
    for key in ("p50_ms", "p95_ms", "p99_ms"):
        rows[f"seq_{key}"] = (seq.get(key), "")
    floor = rows["floor_ms_p50"][0]
    rows["ratio"] = (seq["p50_ms"] / floor if floor and seq.get("p50_ms") else None, "")
    for kind in ("unique", "repeated"):
        for c in CONCURRENCY:
            rows[f"{kind}_{c}"] = (phase_value(r, kind, c), "")
    rows["p99_load"] = (phase_value(r, "unique", 32, "p99_ms"), "")
    rows["server_cpu"] = (phase_value(r, "unique", 32, "server_cpu_cores"), "")
    rows["client_cpu"] = (phase_value(r, "unique", 32, "client_cpu_cores"), "")
    phases = [*(http.get("phases") or []), seq]
    stages = [*phases, r.get("build_fake"), r.get("build_real"), r.get("rebuild_fake")]
    stages += [r.get("rebuild_real"), inproc]
    others = [p["other_cpu_cores"] for p in stages if p and p.get("other_cpu_cores") is not None]
    rows["other_cpu"] = (max(others) if others else None, "")
    rows["non2xx"] = (sum((p.get("non2xx") or 0) + (p.get("errors") or 0) for p in phases), "")
    done = sum(p.get("ok") or 0 for p in phases)
    wrong = sum(p.get("mismatched") or 0 for p in phases)
    rows["labelled"] = (100 * (done - wrong) / done if done else None, "")
    audit_rows = http.get("audit_rows")
    rows["audited"] = (
        f"{audit_rows}/{http.get('replies_2xx')}" if audit_rows is not None else None,
        "",
    )
    return rows


# (key, label, target text, verdict function on the value or None)
TABLE: tuple[tuple[str, str, str, Callable[[Any], bool] | None], ...] = (
    ("passages", "passages", "", None),
    ("serving", "serving index (vectors)", "", None),
    ("build_real_s", "full build, real model (s)", "<= 900", lambda v: v <= 900),
    ("build_rate", "  passages/s (whole build)", "", None),
    ("rebuild_real_s", "edit 1 page -> rebuild, real (s)", "<= 10", lambda v: v <= 10),
    ("build_fake_s", "full build, fake embedder (s)", "", None),
    ("rebuild_fake_s", "edit 1 page -> rebuild, fake (s)", "", None),
    ("bulk_embed", "bulk embedding, in-process (passages/s)", "", None),
    ("index_mb", "index on disk, one build (MB)", "", None),
    ("cold_start_s", "cold start to /healthz 200 (s)", "<= 5", lambda v: v <= 5),
    ("first_reply_ms", "first reply after healthy (ms)", "", None),
    ("rss_warm_mb", "server RSS after warm-up (MB)", "<= 700", lambda v: v <= 700),
    ("rss_load_mb", "server RSS after load (MB)", "<= 700", lambda v: v <= 700),
    ("rss_peak_mb", "server RSS peak, VmHWM (MB)", "", None),
    ("pss_load_mb", "  PSS after load (MB, shared pages split)", "", None),
    ("embed_ms_p50", "floor: embed 1 question (ms)", "", None),
    ("scoped_search_ms_p50", "floor: search in the page (ms)", "", None),
    ("floor_ms_p50", "floor: embed + search (ms)", "", None),
    ("embed_before_ms", "  embed, before the server started (ms)", "", None),
    ("flat_search_ms_p50", "whole-index FAISS search (ms)", "", None),
    ("flat_search_1thread_ms_p50", "  same, 1 OpenMP thread (ms)", "", None),
    ("ivf_recall", "IVF recall@5 vs flat, real vectors (%)", ">= 98", lambda v: v >= 98),
    ("ivf_search", "  IVF search (ms) (nprobe/lists)", "", None),
    ("bm25_build_s", "BM25 ready after index load (s)", "", None),
    ("entities_ms_p50", "in-proc: entities (ms)", "", None),
    ("candidates_ms_p50", "in-proc: candidate pages (ms)", "", None),
    ("bm25_scoped_ms_p50", "in-proc: BM25 for 1 page (ms)", "", None),
    ("reply_ms_p50", "in-proc: Assistant.reply (ms)", "", None),
    ("audit_record_ms_p50", "in-proc: audit record (ms)", "", None),
    ("seq_p50_ms", "HTTP sequential p50 (ms)", "", None),
    ("seq_p95_ms", "HTTP sequential p95 (ms)", "", None),
    ("seq_p99_ms", "HTTP sequential p99 (ms)", "<= 30", lambda v: v <= 30),
    ("ratio", "HTTP p50 / floor", "<= 2.0", lambda v: v <= 2.0),
    ("unique_1", "unique, 1 client (replies/s)", "", None),
    ("unique_8", "unique, 8 clients (replies/s)", ">= 150", lambda v: v >= 150),
    ("unique_32", "unique, 32 clients (replies/s)", ">= 150", lambda v: v >= 150),
    ("repeated_1", "repeated, 1 client (replies/s)", "", None),
    ("repeated_8", "repeated, 8 clients (replies/s)", ">= 800", lambda v: v >= 800),
    ("repeated_32", "repeated, 32 clients (replies/s)", ">= 800", lambda v: v >= 800),
    ("p99_load", "unique, 32 clients p99 (ms)", "", None),
    ("server_cpu", "  server CPU at 32 (cores)", "", None),
    ("client_cpu", "  load client CPU at 32 (cores)", "", None),
    ("other_cpu", "other processes' CPU, worst stage (cores)", "< 0.3", None),
    ("non2xx", "non-2xx or failed requests", "0", lambda v: v == 0),
    ("labelled", "replies as labelled (%)", "", None),
    ("audited", "audit rows / 2xx replies", "equal", None),
)


def fmt(value: Any, mark: str) -> str:
    if value is None:
        return "-"
    if isinstance(value, str):
        return value + mark
    if isinstance(value, float) and not math.isfinite(value):
        return "-"
    if isinstance(value, int) or abs(value) >= 100:
        text = f"{value:,.0f}"
    elif abs(value) >= 10:
        text = f"{value:.1f}"
    else:
        text = f"{value:.2f}"
    return text + mark


def table(results: dict[int, dict]) -> str:
    sizes = sorted(results)
    judged = TARGET_SIZE if TARGET_SIZE in results else sizes[-1]
    columns = {s: metric_rows(results[s]) for s in sizes}
    header = ["metric", *[f"{s:,} pages" for s in sizes], "target", f"@{judged:,}"]
    lines = []
    for key, label, target, verdict in TABLE:
        cells = [fmt(*columns[s].get(key, (None, ""))) for s in sizes]
        value, _ = columns[judged].get(key, (None, ""))
        if key == "audited" and isinstance(value, str):
            a, _, b = value.partition("/")
            mark = "PASS" if a == b else "MISS"
        elif verdict and value is not None and not isinstance(value, str):
            mark = "PASS" if verdict(value) else "MISS"
        else:
            mark = ""
        lines.append([label, *cells, target, mark])
    widths = [max(len(str(row[i])) for row in [header, *lines]) for i in range(len(header))]

    def render(row: list[str]) -> str:
        first = str(row[0]).ljust(widths[0])
        rest = [str(c).rjust(w) for c, w in zip(row[1:], widths[1:], strict=True)]
        return "  ".join([first, *rest]).rstrip()

    out = [render(header), "  ".join("-" * w for w in widths)]
    out += [render(row) for row in lines]
    notes = [
        "",
        "* extrapolated: not measured at this size (see build_real_extrapolated.basis in "
        "the JSON); f: measured with BOT_EMBEDDER=fake (pipeline without the model).",
        "serving index: real = built by `bot build` with the real model; surrogate = same "
        "pages and passages, seeded random vectors under the real model's name, questions "
        "embedded by the real model (see bench/README.md).",
        "floor = one query embedding + search scoped to the question's page, in-process, "
        "median of samples taken between the sequential client's requests.",
        "IVF recall: bot.index's IVF index forced on at this size vs exact search, on the "
        "real build's vectors, in-process questions (bench/recall.py).",
        "other processes' CPU above ~0.3 cores means the machine was shared: the timings "
        "are then pessimistic. Targets are the issue's, for 10k pages;",
        f"the last column judges the {judged:,}-page column"
        + ("" if judged == TARGET_SIZE else " (no 10k column in this run)")
        + ".",
    ]
    return "\n".join(out + notes)


# --- main ----------------------------------------------------------------------------------


def meta(args: argparse.Namespace, profile_name: str) -> dict[str, Any]:
    cpu = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    commit = None
    try:  # read, never run, git
        head = (ROOT / ".git" / "HEAD").read_text().strip()
        ref = ROOT / ".git" / head.removeprefix("ref: ") if head.startswith("ref: ") else None
        commit = ref.read_text().strip() if ref and ref.exists() else head
    except OSError:
        pass
    import torch

    return {
        "started_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "profile": profile_name,
        "args": vars(args),
        "cpu": cpu,
        "cores": os.cpu_count(),
        "python": platform.python_version(),
        "torch": torch.__version__,
        "torch_threads": torch.get_num_threads(),
        "commit": commit,
    }


def save(report: dict, quick: bool, final: bool = True) -> Path:
    """latest.json (quick-latest.json) every time; a timestamped copy of a finished run."""
    RESULTS.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    prefix = "quick" if quick else "run"
    text = json.dumps(report, indent=2, default=str)
    if final:
        (RESULTS / f"{prefix}-{stamp}.json").write_text(text)
    latest = RESULTS / ("quick-latest.json" if quick else "latest.json")
    latest.write_text(text)
    for old in sorted(RESULTS.glob(f"{prefix}-*.json"), reverse=True)[KEEP_RUNS:]:
        old.unlink()
    return latest


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__.split("\n")[0])
    p.add_argument("--sizes", help="comma-separated page counts (default 1000,10000)")
    p.add_argument("--large", action="store_true", help="also 100000 pages")
    p.add_argument("--quick", action="store_true", help="smoke run: 200 pages, short phases")
    p.add_argument(
        "--full-build",
        action="store_true",
        help="measure the real-model build at every size (10k pages: ~20 min on 2 cores)",
    )
    p.add_argument(
        "--real-max",
        type=int,
        default=REAL_BUILD_MAX,
        help=f"largest size built with the real model without --full-build ({REAL_BUILD_MAX})",
    )
    p.add_argument(
        "--fake-serving",
        action="store_true",
        help="serve sizes without a real build with BOT_EMBEDDER=fake (default: surrogate "
        "vectors, real query model)",
    )
    p.add_argument(
        "--profile",
        action="store_true",
        help="py-spy (if installed) the rebuilds and the server at 8 clients",
    )
    p.add_argument(
        "--wait-idle",
        type=float,
        default=60.0,
        metavar="S",
        help="before each stage, wait up to S s for other processes to quiet down (60)",
    )
    p.add_argument("--seed", type=int, default=0)
    p.add_argument(
        "--workers",
        type=int,
        default=1,
        help="BOT_WORKERS of the server (above 1 with Redis sessions); RSS and CPU are "
        "summed over its processes",
    )
    p.add_argument("--keep", action="store_true", help="keep the temporary folders")
    args = p.parse_args(argv)
    if args.sizes:
        args.size_list = sorted({int(s.replace("_", "")) for s in args.sizes.split(",") if s})
    else:
        args.size_list = [200] if args.quick else [1000, 10_000]
    if args.large and 100_000 not in args.size_list:
        args.size_list.append(100_000)
    if any(s < 10 for s in args.size_list):
        p.error("sizes must be at least 10 pages")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    args = parse_args(argv)
    global WORKERS
    WORKERS = args.workers
    profile_name = "quick" if args.quick else "full"
    profile = PROFILES[profile_name]
    if args.profile and not py_spy():
        log("--profile: py-spy not found (pip install py-spy); running without it")
    report: dict[str, Any] = {"meta": meta(args, profile_name), "sizes": {}}
    # Read torch, transformers and the model once, so the first timed build or start does
    # not pay for a cold page cache that later ones do not.
    log("warming the page cache (import + model load in a subprocess)")
    started = time.perf_counter()
    subprocess.run(
        [
            sys.executable,
            "-c",
            f"from bot.embedding import make_embedder; "
            f"make_embedder({REAL_EMBEDDER!r}).encode(['warm up'])",
        ],
        env=bot_env(REAL_EMBEDDER),
        cwd=ROOT,
        timeout=600,
        check=False,
        capture_output=True,
    )
    report["meta"]["warm_up_s"] = time.perf_counter() - started
    report["meta"]["loadavg_at_start"] = Path("/proc/loadavg").read_text().split()[:3]
    results: dict[int, dict] = {}
    state: dict[str, Any] = {}
    for size in args.size_list:
        log(f"=== {size} pages ===")
        try:
            results[size] = run_size(size, args, profile, state)
        except Exception as exc:  # one size failing must not lose the others
            log(f"{size}: FAILED: {exc!r}")
            results[size] = {"pages": size, "error": repr(exc)}
            continue
        extrapolate(results[size], state)
        report["sizes"][str(size)] = results[size]
        save(report | {"partial": True}, args.quick, final=False)
    ok = {s: r for s, r in results.items() if "error" not in r}
    if ok:
        rendered = table(ok)
        report["table"] = rendered.splitlines()
        print(rendered)
    for s, r in results.items():
        if "error" in r:
            print(f"{s:,} pages: FAILED: {r['error']}")
            report["sizes"][str(s)] = r
    path = save(report, args.quick)
    log(f"results: {path}")
    return 0 if len(ok) == len(results) else 1


if __name__ == "__main__":
    sys.exit(main())
