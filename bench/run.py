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
import json
import os
import platform
import subprocess
import sys
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

import psutil

from bench.builds import RunState, extrapolate
from bench.common import (
    KEEP_RUNS,
    PROFILES,
    REAL_BUILD_MAX,
    REAL_EMBEDDER,
    RESULTS,
    ROOT,
    bot_env,
    log,
)
from bench.orchestrate import run_size
from bench.report import table
from bench.results import Meta, Report, SizeResult, to_json
from bench.spy import py_spy


def cpu_model() -> str:
    # psutil does not name the CPU; Linux says it in /proc/cpuinfo.
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor()


def git_commit() -> str | None:
    try:  # read, never run, git
        head = (ROOT / ".git" / "HEAD").read_text().strip()
        ref = ROOT / ".git" / head.removeprefix("ref: ") if head.startswith("ref: ") else None
        return ref.read_text().strip() if ref and ref.exists() else head
    except OSError:
        return None


def meta(args: argparse.Namespace, profile_name: str) -> Meta:
    import torch

    return Meta(
        started_at=datetime.now(UTC).isoformat(timespec="seconds"),
        profile=profile_name,
        args=vars(args),
        cpu=cpu_model(),
        cores=os.cpu_count(),
        python=platform.python_version(),
        torch=torch.__version__,
        torch_threads=torch.get_num_threads(),
        commit=git_commit(),
    )


def save(report: Report, quick: bool, final: bool = True) -> Path:
    """latest.json (quick-latest.json) every time; a timestamped copy of a finished run."""
    RESULTS.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    prefix = "quick" if quick else "run"
    text = json.dumps(to_json(report), indent=2, default=str)
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


def warm_page_cache() -> float:
    """Read torch, transformers and the model once, so the first timed build or start does
    not pay for a cold page cache that later ones do not."""
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
    return time.perf_counter() - started


def main(argv: Sequence[str] | None = None) -> int:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    args = parse_args(argv)
    profile_name = "quick" if args.quick else "full"
    profile = PROFILES[profile_name]
    if args.profile and not py_spy():
        log("--profile: py-spy not found (pip install py-spy); running without it")
    report = Report(meta(args, profile_name))
    report.meta.warm_up_s = warm_page_cache()
    report.meta.loadavg_at_start = [round(x, 2) for x in psutil.getloadavg()]
    results: dict[int, SizeResult] = {}
    state = RunState()
    for size in args.size_list:
        log(f"=== {size} pages ===")
        try:
            results[size] = run_size(size, args, profile, state)
        except Exception as exc:  # one size failing must not lose the others
            log(f"{size}: FAILED: {exc!r}")
            results[size] = SizeResult(pages=size, error=repr(exc))
            continue
        extrapolate(results[size], state)
        report.sizes[str(size)] = results[size]
        report.partial = True
        save(report, args.quick, final=False)
    report.partial = False
    ok = {s: r for s, r in results.items() if r.error is None}
    if ok:
        rendered = table(ok)
        report.table = rendered.splitlines()
        print(rendered)
    for s, r in results.items():
        if r.error is not None:
            print(f"{s:,} pages: FAILED: {r.error}")
            report.sizes[str(s)] = r
    path = save(report, args.quick)
    log(f"results: {path}")
    return 0 if len(ok) == len(results) else 1


if __name__ == "__main__":
    sys.exit(main())
