"""bench/'s typed results, its table and its process sampling (no server, no model)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from bench import sampling, spy, synth
from bench.builds import RunState, extrapolate
from bench.clients import matches
from bench.report import metric_rows, table
from bench.results import (
    Build,
    Http,
    InProcess,
    Phase,
    Sequential,
    SizeResult,
    SpySummary,
    to_json,
)


def measured(pages: int, rps: float) -> SizeResult:
    """A size as the benchmark records it, with the numbers the table reads."""
    build = Build(ok=True, seconds=10.0, passages=9 * pages, passages_per_s=0.9 * pages)
    seq = Sequential(requests=10, ok=10, p50_ms=20.0, p99_ms=25.0, floor_ms_p50=10.0)
    phases = [
        Phase(kind=kind, concurrency=c, ok=100, replies_per_s=rps, other_cpu_cores=0.1)
        for kind in ("unique", "repeated")
        for c in (1, 8, 32)
    ]
    http = Http(cold_start_s=2.0, sequential=seq, phases=phases, audit_rows=610, replies_2xx=610)
    return SizeResult(
        pages=pages,
        build_fake=Build(ok=True, seconds=5.0, passages=9 * pages),
        rebuild_fake=Build(ok=True, seconds=1.0, passages=9 * pages),
        build_real=build,
        rebuild_real=Build(ok=True, seconds=2.0),
        in_process=InProcess(floor_ms_p50=12.0, other_cpu_cores=0.4),
        http=http,
    )


def test_json_keeps_the_keys_of_earlier_runs() -> None:
    summary = SpySummary(samples=4, own=[("f (a.py)", 50.0)], inclusive=[("g (b.py)", 100.0)])
    result = measured(100, 50.0)
    result.rebuild_fake = Build(ok=True, seconds=1.0, profiled=True, profile=summary)
    size = json.loads(json.dumps(to_json({"100": result})))["100"]
    assert size["rebuild_fake"]["profile"]["self"] == [["f (a.py)", 50.0]]
    assert size["http"]["phases"][0]["replies_per_s"] == 50.0
    assert size["http"]["sequential"]["floor_ms_p50"] == 10.0


def test_table_judges_the_10k_column_and_reads_typed_results() -> None:
    rows = metric_rows(measured(10_000, 200.0))
    assert rows["ratio"] == (2.0, "")  # sequential p50 over the floor between its requests
    assert rows["other_cpu"] == (0.4, "")  # the worst stage, in-process included
    assert rows["audited"] == ("610/610", "")
    assert rows["labelled"] == (100.0, "")
    text = table({1000: measured(1000, 50.0), 10_000: measured(10_000, 200.0)})
    line = next(x for x in text.splitlines() if x.startswith("unique, 8 clients"))
    assert line.split()[-1] == "PASS" and "200" in line
    assert next(x for x in text.splitlines() if x.startswith("audit rows")).endswith("PASS")


def test_unmeasured_real_build_is_extrapolated_from_the_reference() -> None:
    state = RunState(reference=measured(1000, 50.0))
    large = measured(10_000, 50.0)
    large.build_real = large.rebuild_real = None
    extrapolate(large, state)
    ext = large.build_real_extrapolated
    assert ext is not None and ext.passages == 90_000
    # fake build 5 s + (real 10 s - fake 5 s) / 9,000 passages x 90,000 passages
    assert abs(ext.seconds - 55.0) < 1e-9
    # the reference's rebuild cost 1 s of model time, not a full build's 5 s: incremental
    assert not ext.rebuild_is_full and ext.rebuild_seconds == 1.0 + 1.0
    assert metric_rows(large)["build_real_s"] == (ext.seconds, "*")


def test_replies_match_their_labels() -> None:
    q = synth.Question("q", "answered", "evidence_level", "A", "B", "Level 2: x", "a.txt")
    assert matches(q, {"status": "answered", "evidence_level": "Level 2: x"})
    assert not matches(q, {"status": "answered", "evidence_level": "Level 3: y"})
    assert not matches(q, None)


def test_spy_summary_of_raw_stacks(tmp_path: Path) -> None:
    raw = tmp_path / "p.raw"
    raw.write_text("main (a.py:1);f (a.py:2) 3\nmain (a.py:1);g (a.py:9) 1\n")
    summary = spy.summarise(raw)
    assert summary.samples == 4
    assert summary.own[0] == ("f (a.py)", 75.0)
    assert ("main (a.py)", 100.0) in summary.inclusive
    assert spy.summarise(tmp_path / "p.raw").inclusive  # re-readable


def test_sampling_sums_a_process_and_its_children() -> None:
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        tree = sampling.process_tree(os.getpid())
        assert child.pid in {p.pid for p in tree}
        alone = sampling.memory(child.pid)
        both = sampling.memory(os.getpid())
        assert 0 < alone.rss_mb < both.rss_mb and both.peak_mb >= both.rss_mb * 0.9  # kB vs pages
        assert both.pss_mb > 0
        assert sampling.proc_cpu_seconds(os.getpid()) > 0
    finally:
        child.kill()
        child.wait()
    assert sampling.process_tree(child.pid) == []
    assert sampling.proc_cpu_seconds(child.pid) != sampling.proc_cpu_seconds(child.pid)  # NaN
    assert sampling.machine_cpu_seconds() > 0
