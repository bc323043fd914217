"""py-spy (--profile): sampling a build or the running server, and summarising the stacks."""

from __future__ import annotations

import math
import re
import shutil
import subprocess
import sys
from collections import Counter
from pathlib import Path

from bench.results import SpySummary


def py_spy() -> str | None:
    found = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
    return found if Path(found).exists() else None


def record(spy: str, raw: Path, rate: int) -> list[str]:
    """The start of a `py-spy record` command writing raw stacks to `raw`."""
    return [spy, "record", "--rate", str(rate), "--format", "raw", "--output", str(raw)]


def wrap(spy: str, raw: Path, command: list[str]) -> list[str]:
    """`command` run under py-spy (a few % slower)."""
    return [*record(spy, raw, 100), "--nonblocking", "--", *command]


def attach(spy: str, pid: int, seconds: float, raw: Path) -> subprocess.Popen[bytes]:
    """Sample a running process for `seconds`."""
    command = [*record(spy, raw, 200), "--nonblocking"]
    command += ["--pid", str(pid), "--duration", str(math.ceil(seconds))]
    return subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def summarise(raw: Path, top: int = 20) -> SpySummary:
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
        return SpySummary()
    return SpySummary(
        samples=total,
        own=[(f, round(100 * c / total, 1)) for f, c in own.most_common(top)],
        inclusive=[(f, round(100 * c / total, 1)) for f, c in inclusive.most_common(top)],
    )
