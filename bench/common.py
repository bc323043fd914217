"""What every part of the benchmark shares: paths, run profiles, logging, statistics, and
how `bot` is started (the command and a clean environment)."""

from __future__ import annotations

import os
import statistics
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
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
CONCURRENCY = (1, 8, 32)
STARTED = time.perf_counter()


@dataclass(frozen=True)
class RunProfile:
    """How long each stage runs: counts of requests and samples, seconds per load phase."""

    warmup: int
    sequential: int
    sequential_max_s: float
    phase_s: float
    phase_cap: int
    floor_runs: int
    inproc_runs: int
    embed_batch: int


PROFILES: dict[str, RunProfile] = {
    "full": RunProfile(
        warmup=50,
        sequential=300,
        sequential_max_s=120,
        phase_s=12,
        phase_cap=20_000,
        floor_runs=200,
        inproc_runs=200,
        embed_batch=256,
    ),
    "quick": RunProfile(
        warmup=20,
        sequential=100,
        sequential_max_s=60,
        phase_s=4,
        phase_cap=5_000,
        floor_runs=50,
        inproc_runs=50,
        embed_batch=128,
    ),
}


def log(message: str) -> None:
    print(f"[bench {time.perf_counter() - STARTED:7.1f}s] {message}", file=sys.stderr, flush=True)


def pct(values: Sequence[float], q: float) -> float | None:
    if not values:
        return None
    return float(np.percentile(np.asarray(values, dtype=np.float64), q))


def median(values: Sequence[float]) -> float | None:
    return float(statistics.median(values)) if values else None


def dir_bytes(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


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
