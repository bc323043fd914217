"""Memory and CPU of the server, of the benchmark itself and of the whole machine (psutil).

A server with BOT_WORKERS runs worker children: memory and CPU are summed over the
process and its descendants."""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from pathlib import Path

import psutil

from bench.common import log
from bench.results import Idle


def process_tree(pid: int) -> list[psutil.Process]:
    """The process and its descendants (empty once it has gone)."""
    try:
        root = psutil.Process(pid)
        return [root, *root.children(recursive=True)]
    except psutil.NoSuchProcess:
        return []


@dataclass(frozen=True)
class Memory:
    """RSS, peak RSS (VmHWM) and PSS (mapped pages shared out fairly), in MB."""

    rss_mb: float = 0.0
    peak_mb: float = 0.0
    pss_mb: float = 0.0


def _peak_rss_bytes(pid: int) -> int:
    # psutil has no peak RSS on Linux: the kernel's high-water mark, read directly.
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    return 0


def memory(pid: int) -> Memory:
    """Summed over the process and its workers (zeros once it has gone)."""
    rss = peak = pss = 0
    for member in process_tree(pid):
        try:
            full = member.memory_full_info()
            peak += _peak_rss_bytes(member.pid)
        except (psutil.Error, OSError):
            continue
        rss += full.rss
        pss += full.pss
    mb = 1024 * 1024
    return Memory(rss / mb, peak / mb, pss / mb)


def proc_cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of a process and its workers (all their threads); NaN once
    the process itself has gone."""
    total = 0.0
    members = process_tree(pid)
    if not members:
        return float("nan")
    for member in members:
        try:
            times = member.cpu_times()
        except psutil.Error:
            if member.pid == pid:
                return float("nan")
            continue
        total += times.user + times.system
    return total


def machine_cpu_seconds() -> float:
    """Busy CPU seconds of the whole machine (every core, every process)."""
    t = psutil.cpu_times()
    busy = t.user + t.system
    for extra in ("nice", "irq", "softirq", "steal"):  # Linux-only fields
        busy += getattr(t, extra, 0.0)
    return busy


def self_cpu_seconds() -> float:
    times = psutil.Process().cpu_times()
    return times.user + times.system


def children_cpu_seconds() -> float:
    """CPU of this process's children that have been waited for (finished builds)."""
    times = psutil.Process().cpu_times()
    return times.children_user + times.children_system


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


@dataclass(frozen=True)
class Cores:
    """Cores used over a window: by the server, by this process (the load client), and by
    anything else on the machine (noise in the numbers)."""

    server: float | None
    client: float | None
    other: float | None


class CpuWindow:
    """CPU seconds of the server, this process and the machine from creation to `cores`."""

    def __init__(self, server_pid: int) -> None:
        self.server_pid = server_pid
        self.server = proc_cpu_seconds(server_pid)
        self.client = self_cpu_seconds()
        self.machine = machine_cpu_seconds()

    def cores(self, elapsed: float) -> Cores:
        if not elapsed:
            return Cores(None, None, None)
        server = proc_cpu_seconds(self.server_pid) - self.server
        client = self_cpu_seconds() - self.client
        other = machine_cpu_seconds() - self.machine - server - client
        return Cores(server / elapsed, client / elapsed, max(0.0, other / elapsed))


def wait_idle(max_wait: float, threshold: float = 0.3) -> Idle:
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
            return Idle(busy, waited)
        log(f"machine busy: other processes use {busy:.2f} cores; waiting (max {max_wait:.0f} s)")
