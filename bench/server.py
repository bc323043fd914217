"""`bot serve` as a subprocess on 127.0.0.1: start, wait until healthy, stop."""

from __future__ import annotations

import signal
import socket
import subprocess
import time
from pathlib import Path
from typing import IO

import httpx

from bench.common import HOST, ROOT, bot_command, bot_env


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


class Server:
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
        self._log: IO[bytes] | None = None

    def start(self) -> None:
        self._log = self.logfile.open("ab")
        env = bot_env(self.embedder, self.database_url)
        if self.workers > 1:  # workers share conversations through Redis (127.0.0.1:6379)
            env.update(BOT_WORKERS=str(self.workers), BOT_SESSION_STORE="redis")
        self.proc = subprocess.Popen(
            bot_command(*self.args), env=env, stdout=self._log, stderr=self._log, cwd=ROOT
        )

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
