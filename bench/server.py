"""Server processes on 127.0.0.1, for the benchmark and the tests alike: a free port, start a
process, wait until its /healthz answers 200, stop it.

Waiting is always on a condition (the health endpoint answers, the process exited, the
time ran out), polled every POLL_S; nothing sleeps for a fixed time hoping the server is up.
The tests import this module (tests/servers.py, tests/browser/conftest.py), so what they
start and what the benchmark measures come up and go down the same way.
"""

from __future__ import annotations

import signal
import socket
import subprocess
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

import httpx

from bench.common import HOST, ROOT, bot_command, bot_env

POLL_S = 0.05
# How a server is asked to stop: each signal, then how long to wait before the next one.
# SIGTERM is what a process manager sends; the benchmark starts with Ctrl-C's SIGINT.
TERMINATE: tuple[tuple[signal.Signals, float], ...] = ((signal.SIGTERM, 30), (signal.SIGKILL, 10))
INTERRUPT = ((signal.SIGINT, 20), (signal.SIGTERM, 10), (signal.SIGKILL, 10))


class NotHealthy(RuntimeError):
    """The server exited, or its /healthz did not answer 200 in time."""


def free_port(host: str = HOST) -> int:
    """A port nothing listens on right now (for a child process to bind)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


def bound_socket(host: str = HOST) -> socket.socket:
    """A socket already bound to a free port, for a server run in this process: no moment
    in which another process could take the port."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, 0))
    return sock


def launch(
    command: Sequence[str], env: Mapping[str, str], log: Path, cwd: Path | None = None
) -> subprocess.Popen[bytes]:
    """Start `command` with its output appended to `log`."""
    with log.open("ab") as out:  # the child keeps its own copy of the descriptor
        return subprocess.Popen(
            list(command), env=dict(env), stdout=out, stderr=subprocess.STDOUT, cwd=cwd
        )


def wait_healthy(
    base: str, alive: Callable[[], bool], timeout: float, tail: Callable[[], str] = str
) -> float:
    """Seconds until GET {base}/healthz answered 200. NotHealthy (with `tail()`, e.g. the
    end of the server's log) when `alive()` turns false or `timeout` seconds pass."""
    started = time.perf_counter()
    with httpx.Client(base_url=base, timeout=1.0, trust_env=False) as client:
        while True:
            if not alive():
                raise NotHealthy(f"the server at {base} stopped before it was healthy: {tail()}")
            try:
                if client.get("/healthz").status_code == 200:
                    return time.perf_counter() - started
            except httpx.HTTPError:
                pass
            if time.perf_counter() - started > timeout:
                raise NotHealthy(f"{base} not healthy after {timeout:.0f} s: {tail()}")
            time.sleep(POLL_S)


def stop(
    proc: subprocess.Popen[bytes], ladder: Sequence[tuple[signal.Signals, float]] = TERMINATE
) -> None:
    """Send each signal of `ladder` in turn until the process has exited."""
    for sig, grace in ladder:
        if proc.poll() is not None:
            return
        proc.send_signal(sig)
        try:
            proc.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            continue


def tail_of(log: Path, chars: int = 2000) -> str:
    try:
        return log.read_text(errors="replace")[-chars:]
    except OSError:
        return "(no log)"


def serve(
    command: Sequence[str], env: Mapping[str, str], log: Path, timeout: float = 60
) -> tuple[subprocess.Popen[bytes], str]:
    """Start a `bot serve` command (given everything but `--port`) on a free port and wait
    until it is healthy; returns the process and its base URL. A server that does not come
    up is killed before NotHealthy is raised."""
    port = free_port()
    proc = launch([*command, "--port", str(port)], env, log)
    url = f"http://{HOST}:{port}"
    try:
        wait_healthy(url, lambda: proc.poll() is None, timeout, lambda: tail_of(log))
    except NotHealthy:
        stop(proc, ((signal.SIGKILL, 10),))
        raise
    return proc, url


class Server:
    """The benchmark's server: `bot serve` over a corpus and index, its audit log in `tmp`."""

    def __init__(
        self, corpus: Path, index: Path, embedder: str, tmp: Path, workers: int = 1
    ) -> None:
        self.port = free_port()
        self.base = f"http://{HOST}:{self.port}"
        self.database_url = f"sqlite:///{tmp / 'audit.sqlite3'}"
        self.logfile = tmp / "serve.log"
        self.args = ("serve", "--corpus", str(corpus), "--index", str(index))
        self.args += ("--host", HOST, "--port", str(self.port))
        self.embedder = embedder
        self.workers = workers
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        env = bot_env(self.embedder, self.database_url)
        if self.workers > 1:  # workers share conversations through Redis (127.0.0.1:6379)
            env.update(BOT_WORKERS=str(self.workers), BOT_SESSION_STORE="redis")
        self.proc = launch(bot_command(*self.args), env, self.logfile, cwd=ROOT)

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    @property
    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def wait_healthy(self, timeout: float) -> float:
        """Seconds from process start to the first 200 of /healthz."""
        assert self.proc is not None
        return wait_healthy(self.base, lambda: self.alive, timeout, self.tail)

    def rebuilt_at_start(self) -> bool:
        return "building" in self.logfile.read_text(errors="replace").split("$ ")[-1]

    def tail(self) -> str:
        return tail_of(self.logfile, 1500)

    def stop(self) -> None:
        if self.proc is not None:
            stop(self.proc, INTERRUPT)
