"""One size's HTTP stage: start `bot serve`, cold start, first reply, warm-up, the
sequential client, the load phases (py-spy at 8 clients with --profile), memory along
the way, and the audit rows counted after the server stops."""

from __future__ import annotations

import asyncio
import itertools
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from bench import spy as pyspy
from bench import synth
from bench.clients import FloorProbe, load_phase, sequential
from bench.common import CONCURRENCY, RESULTS, RunProfile, log
from bench.results import Http
from bench.sampling import memory
from bench.server import Server


@dataclass(frozen=True)
class Traffic:
    """The questions one size sends: a unique stream and the one repeated question."""

    questions: Iterator[synth.Question]
    repeated: synth.Question

    def next_unique(self) -> synth.Question | None:
        return next(self.questions, None)

    def next_repeated(self) -> synth.Question | None:
        return self.repeated


def _warm_up(server: Server, traffic: Traffic, out: Http, profile: RunProfile) -> None:
    """Cold start, the first reply, a warm-up, and memory at each point."""
    out.cold_start_s = server.wait_healthy(timeout=900)
    out.rebuilt_index_at_start = server.rebuilt_at_start()
    out.rss_at_healthy_mb = memory(server.pid).rss_mb
    # A question that reaches retrieval, so the reply pays what is built lazily.
    covered = next((q for q in itertools.islice(traffic.questions, 1000) if q.page), None)
    first = sequential(server, lambda: covered, 1, 120)
    out.first_reply_ms = first.p50_ms
    out.replies_2xx += first.ok
    warm = sequential(server, traffic.next_unique, profile.warmup, 120)
    out.replies_2xx += warm.ok
    out.rss_after_warmup_mb = memory(server.pid).rss_mb


def _phases(
    server: Server,
    traffic: Traffic,
    out: Http,
    profile: RunProfile,
    spy: str | None,
    size: int,
    tmp: Path,
) -> None:
    """1, 8 and 32 concurrent clients, unique then repeated questions."""
    for kind in ("unique", "repeated"):
        for c in CONCURRENCY:
            log(f"{size}: {c} concurrent client(s), {kind} questions, {profile.phase_s} s")
            raw = tmp / f"profile-{size}-{kind}.raw"
            spying = pyspy.attach(spy, server.pid, profile.phase_s, raw) if spy and c == 8 else None
            nq = traffic.next_unique if kind == "unique" else traffic.next_repeated
            phase = asyncio.run(load_phase(server, c, nq, profile.phase_s, profile.phase_cap, kind))
            out.replies_2xx += phase.ok
            out.phases.append(phase)
            if spying is not None:
                _collect_profile(spying, raw, kind, out, profile.phase_s)


def _collect_profile(
    spying: subprocess.Popen[bytes], raw: Path, kind: str, out: Http, phase_s: float
) -> None:
    try:
        spying.wait(timeout=phase_s + 60)
        out.profile[kind] = pyspy.summarise(raw)
        RESULTS.mkdir(parents=True, exist_ok=True)
        shutil.copy(raw, RESULTS / raw.name)
    except (subprocess.TimeoutExpired, OSError) as exc:
        spying.kill()
        out.profile_error = str(exc)


def _count_audit_rows(server: Server, out: Http) -> None:
    from bot.audit import AuditLog

    try:
        audit = AuditLog.open(server.database_url)
        out.audit_rows = audit.count("answer")
        audit.engine.dispose()
    except Exception as exc:  # reported, not fatal: the numbers above stand
        out.audit_rows = None
        out.audit_error = repr(exc)


def serve_and_load(
    server: Server,
    traffic: Traffic,
    profile: RunProfile,
    tmp: Path,
    spy: str | None,
    size: int,
    probe: FloorProbe | None = None,
) -> Http:
    out = Http(workers=server.workers)
    try:
        server.start()
        _warm_up(server, traffic, out, profile)
        log(f"{size}: sequential client, {profile.sequential} unique questions")
        seq = sequential(
            server, traffic.next_unique, profile.sequential, profile.sequential_max_s, probe
        )
        out.replies_2xx += seq.ok
        out.sequential = seq
        _phases(server, traffic, out, profile, spy, size, tmp)
        after = memory(server.pid)
        out.rss_after_load_mb, out.rss_peak_mb = after.rss_mb, after.peak_mb
        out.pss_after_load_mb = after.pss_mb
        out.server_alive_after_load = server.alive
    finally:
        server.stop()
    _count_audit_rows(server, out)
    return out
