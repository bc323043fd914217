"""Discovery: sitemap parsing (index, gzip, lastmod, text) that refuses what it cannot read
whole, robots.txt rules and delay, and the walk of a live site's sitemap tree."""

from __future__ import annotations

import gzip
from collections.abc import Iterator

import pytest
from protego import Protego
from sync_site import Page, Site

from bot.sync.discovery import (
    DiscoveryError,
    Listed,
    Robots,
    SitemapError,
    discover,
    gunzip,
    parse_sitemap,
)
from bot.sync.fetch import Fetcher

NS = 'xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"'
URLSET = (
    f'<?xml version="1.0" encoding="UTF-8"?>\n<urlset {NS}>'
    "<url><loc> https://site.example/a#top </loc><lastmod>2026-01-02</lastmod></url>"
    "<url><loc>https://site.example/b</loc></url>"
    "<url><loc>ftp://site.example/c</loc></url>"
    "</urlset>"
)


@pytest.fixture
def site() -> Iterator[Site]:
    with Site() as running:
        yield running


@pytest.fixture
def fetcher() -> Iterator[Fetcher]:
    with Fetcher(timeout=5, backoff=0.01) as client:
        yield client


def test_a_urlset_lists_pages_with_lastmod_without_fragments() -> None:
    kind, entries = parse_sitemap(URLSET.encode())
    assert kind == "urlset"
    assert entries == [
        Listed("https://site.example/a", "2026-01-02"),
        Listed("https://site.example/b", None),
    ]


def test_a_sitemap_index_lists_sitemaps() -> None:
    index = f"<sitemapindex {NS}><sitemap><loc>https://site.example/s1.xml</loc></sitemap></sitemapindex>"
    assert parse_sitemap(index.encode()) == ("index", [Listed("https://site.example/s1.xml")])


def test_gzip_is_recognised_by_its_bytes_not_its_name() -> None:
    assert parse_sitemap(gzip.compress(URLSET.encode()))[1][0].url == "https://site.example/a"


def test_a_gzip_bomb_is_refused() -> None:
    with pytest.raises(SitemapError, match="decompressed"):
        gunzip(gzip.compress(b"\0" * 100_000), limit=10_000)


def test_a_cut_off_gzip_is_refused() -> None:
    packed = gzip.compress(URLSET.encode())
    with pytest.raises(SitemapError, match="cut short"):
        gunzip(packed[: len(packed) // 2])


def test_a_cut_off_sitemap_is_refused_not_read_in_part() -> None:
    # The reason for not using a tolerant parser: half a sitemap would drop half the site.
    with pytest.raises(SitemapError, match="well-formed"):
        parse_sitemap(URLSET[: URLSET.index("<url><loc>https://site.example/b")].encode())


def test_entities_and_dtds_are_refused() -> None:
    bomb = (
        '<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;">]>'
        f"<urlset {NS}><url><loc>https://site.example/&lol2;</loc></url></urlset>"
    )
    with pytest.raises(SitemapError):
        parse_sitemap(bomb.encode())


def test_a_plain_text_sitemap_and_garbage() -> None:
    assert parse_sitemap(b"https://site.example/a\n\nhttps://site.example/b\n")[1] == [
        Listed("https://site.example/a"),
        Listed("https://site.example/b"),
    ]
    with pytest.raises(SitemapError, match="neither"):
        parse_sitemap(b"hello world")
    with pytest.raises(SitemapError, match="root element"):
        parse_sitemap(b"<html><body>Not a sitemap</body></html>")


def test_robots_rules_and_delay_for_our_token() -> None:
    robots = Robots(
        Protego.parse(
            "User-agent: *\nDisallow: /\n\n"
            "User-agent: EvidenceFAQBot\nDisallow: /private/\nAllow: /private/open$\n"
            "Crawl-delay: 2\nRequest-rate: 1/5s\n"
        )
    )
    assert robots.allows("https://site.example/assessments/x")
    assert not robots.allows("https://site.example/private/x")
    assert robots.allows("https://site.example/private/open")
    assert robots.delay == 5.0  # the stricter of Crawl-delay and Request-rate
    assert Robots(None).allows("https://site.example/private/x") and Robots(None).delay == 0


def test_robots_txt_missing_allows_all_but_unreachable_stops(site: Site, fetcher: Fetcher) -> None:
    site.robots_status = 404
    assert Robots.fetch(fetcher, f"{site.url}/sitemap.xml").allows(f"{site.url}/private/x")
    site.robots_status = 500
    with pytest.raises(DiscoveryError, match=r"robots\.txt"):
        Robots.fetch(fetcher, f"{site.url}/sitemap.xml")


def test_discover_walks_the_index_and_its_gzipped_sitemap(site: Site, fetcher: Fetcher) -> None:
    robots = Robots.fetch(fetcher, site.url)
    found = discover(f"{site.url}/sitemap.xml", fetcher, robots)
    assert found.complete, found.errors
    assert sorted(p.url for p in found.pages) == sorted(f"{site.url}{p}" for p in site.pages)
    assert all(p.lastmod for p in found.pages)
    assert f"{site.url}/sitemaps/b.xml.gz" in found.sitemaps


def test_a_sitemap_that_fails_makes_the_discovery_incomplete(site: Site, fetcher: Fetcher) -> None:
    site.broken["/sitemaps/b.xml.gz"] = 500
    found = discover(f"{site.url}/sitemap.xml", fetcher, Robots(None))
    assert not found.complete
    assert "b.xml.gz: HTTP 500 after 3 attempts" in found.errors[0]
    assert found.pages  # the other sitemap's pages are still listed


def test_sitemaps_elsewhere_or_disallowed_are_not_fetched(site: Site, fetcher: Fetcher) -> None:
    robots = Robots(Protego.parse("User-agent: *\nDisallow: /sitemaps/a.xml\n"))
    found = discover(f"{site.url}/sitemap.xml", fetcher, robots)
    assert "/sitemaps/a.xml" not in site.paths()
    assert any("disallowed by robots.txt" in e for e in found.errors)
    elsewhere = site.url.replace("127.0.0.1", "localhost")
    index = f"<sitemapindex {NS}><sitemap><loc>{elsewhere}/s.xml</loc></sitemap></sitemapindex>"
    site.add("/other-index.xml", Page(index.encode()))
    found = discover(f"{site.url}/other-index.xml", fetcher, Robots(None))
    assert "on another site" in found.errors[0] and not found.pages
    assert "/s.xml" not in site.paths()
