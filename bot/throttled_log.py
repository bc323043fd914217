"""A warning that repeats at most every few seconds, with how often it happened since: an
outage of thousands of failed requests gives a handful of log lines, never none."""

from __future__ import annotations

import logging
import threading
import time


class ThrottledLog:
    def __init__(self, logger: logging.Logger, what: str, every: float = 10.0) -> None:
        self.logger, self.what, self.every = logger, what, every
        self._lock = threading.Lock()
        self._last = 0.0
        self._count = 0
        self._failing = False

    def warning(self, message: str, *args: object) -> None:
        now = time.monotonic()
        with self._lock:
            self._count += 1
            self._failing = True
            if now - self._last < self.every:
                return
            count, self._count, self._last = self._count, 0, now
        self.logger.warning(f"{self.what} ({count}x): {message}", *args)

    def recovered(self) -> None:
        if not self._failing:  # the common case: no lock taken
            return
        with self._lock:
            if not self._failing:
                return
            self._failing, count, self._count, self._last = False, self._count, 0, 0.0
        self.logger.warning("%s: recovered (%d more failures before)", self.what, count)
