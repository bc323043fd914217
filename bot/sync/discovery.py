"""Discovery: which pages the site lists (its sitemaps) and which we may fetch (robots.txt).

robots.txt is read with Protego (Google's reading of RFC 9309: longest match wins, `*` and
`$` patterns, Crawl-delay) for our product token. Sitemaps are parsed here with defusedxml
(no DTDs, no entities) rather than a sitemap library: the maintained ones we looked at keep
the URLs read before a parse error and carry on, so a sitemap cut off half-way looks like a
site that removed half its pages, the very failure that must not empty the corpus. Here any
sitemap that cannot be read whole marks the discovery incomplete, and nothing is then
dropped for being unlisted.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass, field
from urllib.parse import urlsplit, urlunsplit
from xml.etree.ElementTree import Element, ParseError

import defusedxml.ElementTree as SafeET
from defusedxml import DefusedXmlException
from protego import Protego

from bot.sync.fetch import ROBOTS_TOKEN, Fetcher

# The sitemap protocol's own limit for one file, uncompressed.
MAX_SITEMAP_BYTES = 50 * 1024 * 1024
MAX_ROBOTS_BYTES = 512 * 1024  # Google reads the first 500 KiB
MAX_DEPTH = 3  # an index of indexes of sitemaps is already unusual
MAX_SITEMAPS = 10_000


class DiscoveryError(Exception):
    """Nothing can be fetched: robots.txt or the sitemap could not be read."""


def origin(url: str) -> tuple[str, str, int]:
    """(scheme, host, port) with the scheme's default port filled in."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    default = 443 if scheme == "https" else 80
    return scheme, (parts.hostname or "").lower(), parts.port or default


def without_fragment(url: str) -> str:
    parts = urlsplit(url.strip())
    return urlunsplit((parts.scheme, parts.netloc, parts.path or "/", parts.query, ""))


@dataclass(frozen=True)
class Robots:
    """What robots.txt lets our product token fetch, and how fast."""

    parser: Protego | None  # None: no robots.txt (4xx), everything allowed

    def allows(self, url: str) -> bool:
        return self.parser is None or self.parser.can_fetch(url, ROBOTS_TOKEN)

    @property
    def delay(self) -> float:
        """Seconds between request starts: Crawl-delay, or what Request-rate implies."""
        if self.parser is None:
            return 0.0
        delay = self.parser.crawl_delay(ROBOTS_TOKEN) or 0.0
        rate = self.parser.request_rate(ROBOTS_TOKEN)
        if rate is not None and rate.requests > 0:
            delay = max(delay, rate.seconds / rate.requests)
        return float(delay)

    @classmethod
    def fetch(cls, fetcher: Fetcher, site_url: str) -> Robots:
        """RFC 9309: a 4xx means no rules; a 5xx or no answer means assume everything is
        disallowed, so the sync stops (DiscoveryError) rather than crawl blind."""
        scheme, _, _ = origin(site_url)
        parts = urlsplit(site_url)
        url = urlunsplit((scheme, parts.netloc, "/robots.txt", "", ""))
        fetched = fetcher.get(url, max_bytes=MAX_ROBOTS_BYTES)
        if 400 <= fetched.status < 500:
            return cls(None)
        if not fetched.ok:
            raise DiscoveryError(
                f"robots.txt at {url} could not be read ({fetched.describe()}); "
                "nothing is fetched without it"
            )
        return cls(Protego.parse(fetched.body.decode("utf-8", errors="replace")))


@dataclass(frozen=True)
class Listed:
    """A page URL as a sitemap lists it."""

    url: str
    lastmod: str | None = None


@dataclass
class Discovery:
    pages: list[Listed] = field(default_factory=list)
    sitemaps: list[str] = field(default_factory=list)  # read whole
    errors: list[str] = field(default_factory=list)  # sitemaps that could not be read

    @property
    def complete(self) -> bool:
        """Every sitemap was read whole: a page it does not list is really gone."""
        return not self.errors


class SitemapError(ValueError):
    pass


def gunzip(data: bytes, limit: int = MAX_SITEMAP_BYTES) -> bytes:
    """Decompress a gzip file, refusing more than `limit` bytes of output (a gzip bomb)."""
    inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
    try:
        out = inflater.decompress(data, limit + 1)
    except zlib.error as exc:
        raise SitemapError(f"not a valid gzip file ({exc})") from exc
    if len(out) > limit:
        raise SitemapError(f"over {limit} bytes once decompressed")
    if not inflater.eof:
        raise SitemapError("the gzip file is cut short")
    return out


def _local(tag: object) -> str:
    return tag.rsplit("}", 1)[-1] if isinstance(tag, str) else ""


def _child_text(element: Element, name: str) -> str | None:
    for child in element:
        if _local(child.tag) == name:
            text = (child.text or "").strip()
            return text or None
    return None


def parse_sitemap(data: bytes) -> tuple[str, list[Listed]]:
    """A sitemap's bytes (gzip or not) -> ("index" | "urlset", entries). XML with a
    `sitemapindex` or `urlset` root, or the protocol's plain text form (one URL a line)."""
    if data[:2] == b"\x1f\x8b":  # by content, not name: servers label .gz files every way
        data = gunzip(data)
    if len(data) > MAX_SITEMAP_BYTES:
        raise SitemapError(f"over {MAX_SITEMAP_BYTES} bytes")
    head = data.lstrip(b"\xef\xbb\xbf \t\r\n")[:1]
    if head != b"<":
        lines = data.decode("utf-8", errors="replace").splitlines()
        urls = [line.strip() for line in lines if line.strip()]
        if not urls or not all(u.startswith(("http://", "https://")) for u in urls):
            raise SitemapError("neither XML nor a plain list of URLs")
        return "urlset", [Listed(without_fragment(u)) for u in urls]
    try:
        root = SafeET.fromstring(data, forbid_dtd=True)
    except (ParseError, DefusedXmlException) as exc:
        raise SitemapError(f"not well-formed XML ({exc})") from exc
    kind = _local(root.tag)
    if kind not in ("sitemapindex", "urlset"):
        raise SitemapError(f"root element is <{kind}>, not <urlset> or <sitemapindex>")
    item = "sitemap" if kind == "sitemapindex" else "url"
    entries = []
    for element in root:
        if _local(element.tag) != item:
            continue
        loc = _child_text(element, "loc")
        if loc and loc.startswith(("http://", "https://")):
            entries.append(Listed(without_fragment(loc), _child_text(element, "lastmod")))
    return ("index" if kind == "sitemapindex" else "urlset"), entries


def discover(
    sitemap_url: str,
    fetcher: Fetcher,
    robots: Robots,
) -> Discovery:
    """Walk the sitemap (and the sitemaps an index names, on the same site) and list every
    page once, in the order found. A sitemap that cannot be read is an error of the
    discovery, not an exception: the pages of the others are still listed."""
    found = Discovery()
    home = origin(sitemap_url)
    seen_pages: set[str] = set()
    seen_maps: set[str] = set()
    queue = [(without_fragment(sitemap_url), 0)]
    while queue:
        url, depth = queue.pop(0)
        if url in seen_maps:
            continue
        seen_maps.add(url)
        if len(seen_maps) > MAX_SITEMAPS:
            found.errors.append(f"more than {MAX_SITEMAPS} sitemaps; the rest were not read")
            break
        if origin(url) != home:
            found.errors.append(f"{url}: on another site than {sitemap_url}, not read")
            continue
        if not robots.allows(url):
            found.errors.append(f"{url}: disallowed by robots.txt, not read")
            continue
        fetched = fetcher.get(
            url,
            max_bytes=MAX_SITEMAP_BYTES,
            allowed=lambda target: None if origin(target) == home else "another site",
        )
        if not fetched.ok:
            found.errors.append(f"{url}: {fetched.describe()}")
            continue
        try:
            kind, entries = parse_sitemap(fetched.body)
        except SitemapError as exc:
            found.errors.append(f"{url}: {exc}")
            continue
        found.sitemaps.append(url)
        if kind == "index":
            if depth >= MAX_DEPTH:
                found.errors.append(f"{url}: sitemap indexes nested deeper than {MAX_DEPTH}")
                continue
            queue.extend((entry.url, depth + 1) for entry in entries)
            continue
        for entry in entries:
            if entry.url not in seen_pages:
                seen_pages.add(entry.url)
                found.pages.append(entry)
    return found
