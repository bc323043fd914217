"""Fetching: one HTTP client for a whole sync, polite to the site and bounded in what it takes.

httpx keeps connections open across requests; a `_Host` gate per host limits how many
requests are in flight there and spaces their starts by the robots.txt crawl delay;
tenacity retries 429/5xx and network errors with exponential backoff (or the server's
Retry-After). Every response is read under a size cap and a deadline, so a huge or
slow-dripping page cannot hold a sync. Redirects are followed by hand, so each hop can be
checked (same site, allowed by robots.txt) before it is requested.
"""

from __future__ import annotations

import contextlib
import email.utils
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from urllib.parse import urljoin, urlsplit

import httpx
import tenacity

from bot import __version__

# The product token is what a site names in robots.txt to address this bot.
ROBOTS_TOKEN = "EvidenceFAQBot"
USER_AGENT = f"{ROBOTS_TOKEN}/{__version__} (site sync of the Evidence FAQ bot)"
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
MAX_REDIRECTS = 5


class Cancelled(Exception):
    """The sync was asked to stop (the server is shutting down)."""


@dataclass(frozen=True)
class Fetched:
    """What one GET came to, after retries. `status` 0: no HTTP answer (see `error`)."""

    url: str  # after redirects
    status: int
    body: bytes = b""
    headers: Mapping[str, str] = field(default_factory=dict)
    error: str | None = None
    transient: bool = False  # worth another try (network error, timeout)
    attempts: int = 1
    location: str | None = None  # where a redirect points

    @property
    def ok(self) -> bool:
        return self.status == 200 and self.error is None

    @property
    def retry_after(self) -> float | None:
        """The server's Retry-After in seconds (a number or an HTTP date), if any."""
        value = self.headers.get("retry-after")
        if not value:
            return None
        if value.strip().isdigit():
            return float(value.strip())
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        return max(0.0, (when - datetime.now(UTC)).total_seconds())

    def describe(self) -> str:
        tries = f" after {self.attempts} attempts" if self.attempts > 1 else ""
        return f"{self.error or f'HTTP {self.status}'}{tries}"


def _retry_worth_it(fetched: Fetched) -> bool:
    return fetched.status in RETRY_STATUSES or fetched.transient


def _last_answer(state: tenacity.RetryCallState) -> Fetched:
    """The attempt's answer (attempts return answers; only Cancelled is raised, and it is
    never retried). Out of attempts, the last answer is the result: its status says why."""
    assert state.outcome is not None
    return state.outcome.result()


def _drain(response: httpx.Response) -> None:
    """Read the little a redirect, error or 304 carries, so its connection is reused (an
    unread body closes it); a long one is left unread."""
    for _ in zip(response.iter_raw(), range(16), strict=False):
        pass


class _Host:
    """Per-host politeness: at most `slots` requests in flight, starts `delay` s apart."""

    def __init__(self, slots: int) -> None:
        self._slots = threading.BoundedSemaphore(slots)
        self._lock = threading.Lock()
        self._next_start = 0.0
        self._last_start = 0.0
        self.delay = 0.0

    def set_delay(self, seconds: float) -> None:
        """Learnt from robots.txt, which was itself a request: the delay counts from it."""
        with self._lock:
            self.delay = max(0.0, seconds)
            self._next_start = max(self._next_start, self._last_start + self.delay)

    def defer(self, seconds: float) -> None:
        """The host said it is overloaded (429/503): every request to it waits, not one."""
        with self._lock:
            self._next_start = max(self._next_start, time.monotonic() + seconds)

    @contextlib.contextmanager
    def turn(self, cancel: threading.Event) -> Iterator[None]:
        self._slots.acquire()
        try:
            with self._lock:
                start = max(time.monotonic(), self._next_start)
                self._last_start = start
                self._next_start = start + self.delay
            if cancel.wait(max(0.0, start - time.monotonic())):
                raise Cancelled()
            yield
        finally:
            self._slots.release()


class Fetcher:
    """GETs with politeness, retries, conditional requests, a size cap and a deadline.

    Safe to use from several threads at once (httpx.Client is; each host has its gate).
    """

    def __init__(
        self,
        *,
        timeout: float = 30.0,
        per_host: int = 2,
        attempts: int = 3,
        backoff: float = 1.0,
        max_retry_after: float = 120.0,
        cancel: threading.Event | None = None,
    ) -> None:
        if per_host < 1 or attempts < 1 or timeout <= 0:
            raise ValueError("per_host and attempts must be at least 1, timeout above 0")
        self.timeout = timeout
        self.per_host = per_host
        self.attempts = attempts
        self.max_retry_after = max_retry_after
        self.cancel = cancel or threading.Event()
        self._backoff = tenacity.wait_exponential_jitter(initial=backoff, max=60, jitter=backoff)
        self._hosts: dict[str, _Host] = {}
        self._hosts_lock = threading.Lock()
        self.requests = 0  # HTTP requests sent, every attempt and hop counted
        self._count_lock = threading.Lock()
        self.client = httpx.Client(
            headers={"User-Agent": USER_AGENT},
            timeout=httpx.Timeout(timeout),
            follow_redirects=False,
            # Connections are reused per host; no more than the gate lets through.
            limits=httpx.Limits(max_connections=None, max_keepalive_connections=per_host * 4),
        )

    def close(self) -> None:
        self.client.close()

    def __enter__(self) -> Fetcher:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _host(self, url: str) -> _Host:
        key = urlsplit(url).netloc.lower()
        with self._hosts_lock:
            if key not in self._hosts:
                self._hosts[key] = _Host(self.per_host)
            return self._hosts[key]

    def set_delay(self, url: str, seconds: float) -> None:
        """Space the starts of requests to this URL's host (robots.txt Crawl-delay)."""
        self._host(url).set_delay(seconds)

    def get(
        self,
        url: str,
        *,
        max_bytes: int,
        validators: Mapping[str, str] | None = None,
        allowed: Callable[[str], str | None] | None = None,
    ) -> Fetched:
        """GET `url`. `validators` (etag, last_modified) make it conditional (304 when
        unchanged); `allowed(url)` returns why a redirect target may not be fetched, or None.
        Raises Cancelled when the sync is stopped, never an HTTP error."""
        headers = {}
        if validators and validators.get("etag"):
            headers["If-None-Match"] = validators["etag"]
        if validators and validators.get("last_modified"):
            headers["If-Modified-Since"] = validators["last_modified"]
        tries = 0

        def attempt() -> Fetched:
            nonlocal tries
            tries += 1
            return self._follow(url, headers, max_bytes, allowed)

        retrying = tenacity.Retrying(
            stop=self._give_up,
            wait=self._wait,
            retry=tenacity.retry_if_result(_retry_worth_it),
            sleep=self._sleep,
            retry_error_callback=_last_answer,
        )
        result = retrying(attempt)
        return replace(result, attempts=tries)

    def _sleep(self, seconds: float) -> None:
        if self.cancel.wait(seconds):
            raise Cancelled()

    def _wait(self, state: tenacity.RetryCallState) -> float:
        fetched = _last_answer(state)
        asked = fetched.retry_after
        seconds = asked if asked is not None else self._backoff(state)
        if fetched.status in (429, 503):
            # Being told to slow down concerns every request to the host, not just this one.
            self._host(fetched.url).defer(seconds)
        return seconds

    def _give_up(self, state: tenacity.RetryCallState) -> bool:
        """Out of attempts, or told to come back later than we are willing to wait."""
        asked = _last_answer(state).retry_after
        too_long = asked is not None and asked > self.max_retry_after
        return state.attempt_number >= self.attempts or too_long

    def _follow(
        self,
        url: str,
        headers: Mapping[str, str],
        max_bytes: int,
        allowed: Callable[[str], str | None] | None,
    ) -> Fetched:
        for _ in range(MAX_REDIRECTS + 1):
            fetched = self._once(url, headers, max_bytes)
            if fetched.location is None:
                return fetched
            target = urljoin(url, fetched.location)
            refusal = allowed(target) if allowed else None
            if refusal:
                return Fetched(url, 0, error=f"redirected to {target}, not followed: {refusal}")
            url = target
        return Fetched(url, 0, error=f"more than {MAX_REDIRECTS} redirects")

    def _once(self, url: str, headers: Mapping[str, str], max_bytes: int) -> Fetched:
        """One request (one hop), its body read only when it is a 200."""
        with self._host(url).turn(self.cancel):
            with self._count_lock:
                self.requests += 1
            # httpx's read timeout bounds each wait for data; this deadline bounds the whole
            # response, so a server dripping a byte at a time cannot hold the sync.
            deadline = time.monotonic() + self.timeout
            try:
                with self.client.stream("GET", url, headers=headers) as response:
                    return self._read(url, response, max_bytes, deadline)
            except httpx.TimeoutException:
                error = f"timed out after {self.timeout:g} s"
                return Fetched(url, 0, error=error, transient=True)
            except httpx.TransportError as exc:
                return Fetched(url, 0, error=f"network error: {exc!r}", transient=True)
            except httpx.HTTPError as exc:  # a malformed URL or response: trying again won't help
                return Fetched(url, 0, error=f"HTTP error: {exc!r}")

    def _read(self, url: str, response: httpx.Response, max_bytes: int, deadline: float) -> Fetched:
        found = {k.lower(): v for k, v in response.headers.items()}
        status = response.status_code
        if response.is_redirect and "location" in found:
            _drain(response)
            return Fetched(url, status, headers=found, location=found["location"])
        if status != 200:
            _drain(response)
            return Fetched(url, status, headers=found)
        declared = found.get("content-length", "")
        if declared.isdigit() and int(declared) > max_bytes:
            return Fetched(url, 0, error=f"over the {max_bytes}-byte limit ({declared} bytes)")
        body = bytearray()
        for piece in response.iter_bytes():
            body.extend(piece)
            if len(body) > max_bytes:
                return Fetched(url, 0, error=f"over the {max_bytes}-byte limit")
            if time.monotonic() > deadline:
                error = f"took over {self.timeout:g} s"
                return Fetched(url, 0, error=error, transient=True)
            if self.cancel.is_set():
                raise Cancelled()
        return Fetched(url, 200, bytes(body), found)
