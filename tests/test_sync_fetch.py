"""Fetching against a real loopback server: retries and backoff, conditional requests, the
size cap and deadline, redirects, the per-host limit, crawl delay, connection reuse and
stopping."""

from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest
from sync_site import Page, Site, assessment_html

from bot.sync.fetch import USER_AGENT, Cancelled, Fetcher

MB = 1_000_000


@pytest.fixture
def site() -> Iterator[Site]:
    with Site(compounds=()) as running:
        yield running


def page(**kwargs: object) -> Page:
    return Page(assessment_html("Zelnoprine").encode(), **kwargs)  # type: ignore[arg-type]


def test_a_page_with_validators_costs_a_304_the_second_time(site: Site) -> None:
    site.add("/a", page())
    with Fetcher(backoff=0.01) as fetcher:
        first = fetcher.get(f"{site.url}/a", max_bytes=MB)
        assert first.ok and first.body == site.pages["/a"].body
        again = fetcher.get(
            f"{site.url}/a",
            max_bytes=MB,
            validators={
                "etag": first.headers["etag"],
                "last_modified": first.headers["last-modified"],
            },
        )
    assert again.status == 304 and again.body == b""
    sent = site.fetched("/a")[1].headers
    assert sent["if-none-match"] == first.headers["etag"] and "if-modified-since" in sent
    assert sent["user-agent"] == USER_AGENT


def test_5xx_is_retried_with_backoff_until_it_works(site: Site) -> None:
    site.add("/flaky", page(fail_times=2))
    with Fetcher(attempts=3, backoff=0.01) as fetcher:
        fetched = fetcher.get(f"{site.url}/flaky", max_bytes=MB)
    assert fetched.ok and fetched.attempts == 3
    assert [r.status for r in site.fetched("/flaky")] == [503, 503, 200]


def test_a_page_that_keeps_failing_gives_up_after_the_attempts(site: Site) -> None:
    site.add("/broken", page(status=500))
    with Fetcher(attempts=3, backoff=0.01) as fetcher:
        fetched = fetcher.get(f"{site.url}/broken", max_bytes=MB)
    assert fetched.status == 500 and not fetched.ok
    assert fetched.describe() == "HTTP 500 after 3 attempts"
    assert len(site.fetched("/broken")) == 3


def test_a_404_is_not_retried(site: Site) -> None:
    with Fetcher(attempts=3, backoff=0.01) as fetcher:
        assert fetcher.get(f"{site.url}/missing", max_bytes=MB).status == 404
    assert len(site.fetched("/missing")) == 1


def test_a_retry_after_longer_than_we_wait_is_not_waited_for(site: Site) -> None:
    site.add("/busy", page(status=429, headers={"Retry-After": "3600"}))
    started = time.monotonic()
    with Fetcher(attempts=3, backoff=0.01, max_retry_after=60) as fetcher:
        fetched = fetcher.get(f"{site.url}/busy", max_bytes=MB)
    assert fetched.status == 429 and fetched.retry_after == 3600
    assert len(site.fetched("/busy")) == 1 and time.monotonic() - started < 5


def test_a_page_over_the_size_cap_is_refused(site: Site) -> None:
    site.add("/big", page())
    with Fetcher() as fetcher:
        fetched = fetcher.get(f"{site.url}/big", max_bytes=1000)
    assert not fetched.ok and "1000-byte limit" in (fetched.error or "")


def test_a_page_that_never_ends_is_cut_at_the_deadline(site: Site) -> None:
    # Each chunk arrives well within the read timeout: only the whole-page deadline stops it.
    site.add("/drip", page(drip=True))
    started = time.monotonic()
    with Fetcher(timeout=0.5, attempts=1) as fetcher:
        fetched = fetcher.get(f"{site.url}/drip", max_bytes=MB)
    assert fetched.error == "took over 0.5 s" and fetched.transient
    assert time.monotonic() - started < 5


def test_a_slow_page_times_out_and_is_retried(site: Site) -> None:
    site.add("/slow", page(slow=True))
    with Fetcher(timeout=0.3, attempts=2, backoff=0.01) as fetcher:
        fetched = fetcher.get(f"{site.url}/slow", max_bytes=MB)
    assert fetched.error == "timed out after 0.3 s" and fetched.attempts == 2
    assert len(site.fetched("/slow")) == 2


def test_redirects_are_followed_only_where_allowed(site: Site) -> None:
    site.add("/new", page())
    site.add("/old", page(status=301, headers={"Location": "/new"}))
    site.add("/away", page(status=302, headers={"Location": "/private/x"}))
    with Fetcher() as fetcher:
        moved = fetcher.get(f"{site.url}/old", max_bytes=MB)
        assert moved.ok and moved.url == f"{site.url}/new"
        refused = fetcher.get(
            f"{site.url}/away",
            max_bytes=MB,
            allowed=lambda url: "disallowed" if "/private/" in url else None,
        )
    assert "not followed: disallowed" in (refused.error or "")
    assert "/private/x" not in site.paths()


def test_no_more_requests_in_flight_to_a_host_than_the_limit(site: Site) -> None:
    for n in range(6):
        site.add(f"/p{n}", page(gate=True))
    site.gate_width = 2  # a request is held until two are in flight
    with Fetcher(per_host=2) as fetcher, ThreadPoolExecutor(6) as pool:
        results = list(pool.map(lambda n: fetcher.get(f"{site.url}/p{n}", max_bytes=MB), range(6)))
    assert all(r.ok for r in results)
    assert site.most_in_flight == 2  # used, never exceeded


def test_crawl_delay_spaces_the_requests(site: Site) -> None:
    for n in range(4):
        site.add(f"/p{n}", page())
    with Fetcher(per_host=4) as fetcher, ThreadPoolExecutor(4) as pool:
        fetcher.set_delay(site.url, 0.2)
        list(pool.map(lambda n: fetcher.get(f"{site.url}/p{n}", max_bytes=MB), range(4)))
    starts = sorted(r.at for r in site.requests)
    gaps = [b - a for a, b in itertools.pairwise(starts)]
    assert len(gaps) == 3 and min(gaps) >= 0.15, gaps


def test_connections_are_reused(site: Site) -> None:
    for n in range(5):
        site.add(f"/p{n}", page())
    with Fetcher(per_host=1) as fetcher:
        for n in range(5):
            assert fetcher.get(f"{site.url}/p{n}", max_bytes=MB).ok
    assert len({r.port for r in site.requests}) == 1


def test_stopping_interrupts_a_wait(site: Site) -> None:
    site.add("/a", page())
    cancel = threading.Event()
    with Fetcher(cancel=cancel) as fetcher:
        fetcher.set_delay(site.url, 30)
        assert fetcher.get(f"{site.url}/a", max_bytes=MB).ok
        threading.Timer(0.1, cancel.set).start()
        started = time.monotonic()
        with pytest.raises(Cancelled):
            fetcher.get(f"{site.url}/a", max_bytes=MB)
    assert time.monotonic() - started < 5
