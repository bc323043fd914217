"""An invented assessment site on loopback, for the site sync tests.

A threaded http.server serving fixture pages of invented compounds (never real medical
content), a sitemap index with a plain and a gzipped sitemap, robots.txt with a disallowed
path and a crawl delay, ETags and Last-Modified with 304s, and the pages a sync must cope
with: a slow one (held until the test releases it), a 500, a flaky one, a page that
changes and one that disappears. Every request is recorded, so tests can assert what was
(and was never) fetched.
"""

from __future__ import annotations

import gzip
import hashlib
import html
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

COMPOUNDS = (
    "Zelnoprine",
    "Brimadol",
    "Quorvastin",
    "Tavrenolix",
    "Mirexafen",
    "Olvastrinol",
    "Pemtrazodex",
    "Korsavilin",
    "Dulnaprex",
    "Xeltrafine",
)
CONDITION = "Stage IV Testcase Syndrome"


def slug(compound: str) -> str:
    return f"{compound.lower()}--stage-iv-testcase-syndrome"


def assessment_html(compound: str, level: str = "Level 4: Fixture case series") -> str:
    """A page of the site's template with neutral fixture text."""
    name = html.escape(compound)
    title = f"{name} for {CONDITION}: Evidence Level Assessment"
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{title} | Fixture site</title></head>
<body><nav class="menu"><a href="/">Home</a></nav><main><article>
<h1>{title}</h1>
<p>By Fixture Research Team</p>
<p>This is fixture text for tests about {name}, an invented compound. Not medical advice.</p>
<h2>Evidence Hierarchy Overview</h2>
<ol><li>Level 1: Fixture level one</li><li>Level 5: Fixture level five</li></ol>
<h2>Current Evidence Classification: {name} + {CONDITION}</h2>
<p>Evidence level: {html.escape(level)}</p>
<p>This classification is fixture text for {name} in {CONDITION}.</p>
<h2>Mechanistic Evidence</h2>
<p>{name} operates via: fixture receptor binding; imaginary pathway blockade</p>
<h2>What This Evidence Level Means for Patients</h2>
<p>This fixture paragraph about {name} is invented text for tests.</p>
<p>Medical Disclaimer: This fixture page is invented for tests and is not medical advice.</p>
<h2>Frequently Asked Questions</h2>
<h3>What grade of evidence exists for {name} in {CONDITION}?</h3>
<p>The fixture classification is: {html.escape(level)}.</p>
</article></main></body></html>
"""


@dataclass
class Page:
    body: bytes
    modified: float = field(default_factory=time.time)
    listed: bool = True
    status: int = 200
    fail_times: int = 0  # answer 503 this many times first (a flaky page)
    slow: bool = False  # held until Site.release is set
    drip: bool = False  # sent a few bytes at a time, chunked, until the client gives up
    gate: bool = False  # held until as many requests as Site.gate_width are in flight
    headers: dict[str, str] = field(default_factory=dict)

    @property
    def etag(self) -> str:
        return '"' + hashlib.sha256(self.body).hexdigest()[:16] + '"'


@dataclass
class Request:
    path: str
    headers: dict[str, str]
    status: int
    port: int  # the client's port: one per connection
    at: float  # when it arrived


class Site:
    """Pages by path; `sitemap.xml` is an index of /sitemaps/a.xml and /sitemaps/b.xml.gz."""

    def __init__(self, compounds: tuple[str, ...] = COMPOUNDS, crawl_delay: float = 0.0) -> None:
        self.pages: dict[str, Page] = {
            f"/assessments/{slug(c)}": Page(assessment_html(c).encode()) for c in compounds
        }
        self.crawl_delay = crawl_delay
        self.disallow = ["/private/"]
        self.release = threading.Event()
        self.requests: list[Request] = []
        self.lock = threading.Lock()
        self.in_flight = 0
        self.most_in_flight = 0
        self.broken: dict[str, int] = {}  # path -> status it answers with, whatever it is
        self.robots_status = 200
        self.gate_width = 2
        self.changed = threading.Condition(self.lock)
        self._server: ThreadingHTTPServer | None = None

    # -- what the site serves ---------------------------------------------------------------

    def add(self, path: str, page: Page) -> None:
        with self.lock:
            self.pages[path] = page

    def change(self, path: str, body: str) -> None:
        with self.lock:
            self.pages[path].body = body.encode()
            self.pages[path].modified = time.time() + 1

    def remove(self, path: str) -> None:
        with self.lock:
            del self.pages[path]

    def robots(self) -> str:
        lines = ["User-agent: *", *(f"Disallow: {p}" for p in self.disallow)]
        if self.crawl_delay:
            lines.append(f"Crawl-delay: {self.crawl_delay}")
        return "\n".join([*lines, f"Sitemap: {self.url}/sitemap.xml", ""])

    def _urlset(self, paths: list[str]) -> bytes:
        items = "".join(
            f"<url><loc>{self.url}{p}</loc><lastmod>{formatdate(self.pages[p].modified)}"
            "</lastmod></url>"
            for p in paths
        )
        return (
            '<?xml version="1.0" encoding="UTF-8"?>\n'
            f'<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">{items}</urlset>'
        ).encode()

    def sitemap_halves(self) -> tuple[list[str], list[str]]:
        with self.lock:
            listed = sorted(p for p, page in self.pages.items() if page.listed)
        middle = len(listed) // 2
        return listed[:middle], listed[middle:]

    def serve(self, path: str, headers: dict[str, str]) -> tuple[int, dict[str, str], bytes]:
        if path in self.broken:
            return self.broken[path], {"Content-Type": "text/plain"}, b"broken"
        if path == "/robots.txt":
            return self.robots_status, {"Content-Type": "text/plain"}, self.robots().encode()
        if path == "/sitemap.xml":
            index = (
                '<?xml version="1.0" encoding="UTF-8"?>\n'
                '<sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
                f"<sitemap><loc>{self.url}/sitemaps/a.xml</loc></sitemap>"
                f"<sitemap><loc>{self.url}/sitemaps/b.xml.gz</loc></sitemap>"
                "</sitemapindex>"
            )
            return 200, {"Content-Type": "application/xml"}, index.encode()
        first, second = self.sitemap_halves()
        if path == "/sitemaps/a.xml":
            return 200, {"Content-Type": "application/xml"}, self._urlset(first)
        if path == "/sitemaps/b.xml.gz":
            body = gzip.compress(self._urlset(second))
            return 200, {"Content-Type": "application/x-gzip"}, body
        with self.lock:
            page = self.pages.get(path)
            if page is not None and page.fail_times > 0:
                page.fail_times -= 1
                return 503, {"Retry-After": "0"}, b"busy"
        if page is None:
            return 404, {"Content-Type": "text/html"}, b"<h1>Not found</h1>"
        if page.slow:
            self.release.wait(30)
        if page.gate:
            # Proceed once the client has as many requests in flight as it should, so the
            # most ever in flight shows whether it keeps to its limit (the timeout only
            # frees the last, lone request).
            with self.changed:
                self.changed.notify_all()
                self.changed.wait_for(lambda: self.in_flight >= self.gate_width, timeout=2)
        if page.status != 200:
            return page.status, {"Content-Type": "text/html", **page.headers}, b"<h1>Error</h1>"
        validators = {"ETag": page.etag, "Last-Modified": formatdate(page.modified, usegmt=True)}
        if headers.get("if-none-match") == page.etag:
            return 304, validators, b""
        head = {"Content-Type": "text/html; charset=utf-8", **validators, **page.headers}
        return 200, head, page.body

    # -- the server -------------------------------------------------------------------------

    @property
    def url(self) -> str:
        assert self._server is not None
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def fetched(self, path: str) -> list[Request]:
        with self.lock:
            return [r for r in self.requests if r.path == path]

    def paths(self) -> list[str]:
        with self.lock:
            return [r.path for r in self.requests]

    def forget(self) -> None:
        with self.lock:
            self.requests.clear()

    def __enter__(self) -> Site:
        site = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # keep-alive: the client can reuse connections

            def do_GET(self) -> None:
                headers = {k.lower(): v for k, v in self.headers.items()}
                # Recorded on arrival: a request held by a slow page has still been made.
                seen = Request(self.path, headers, 0, self.client_address[1], time.time())
                with site.changed:
                    site.requests.append(seen)
                    site.in_flight += 1
                    site.most_in_flight = max(site.most_in_flight, site.in_flight)
                    site.changed.notify_all()
                try:
                    status, extra, body = site.serve(self.path, headers)
                finally:
                    with site.changed:
                        site.in_flight -= 1
                with site.lock:
                    seen.status = status
                    page = site.pages.get(self.path)
                try:
                    self.send_response(status)
                    for name, value in extra.items():
                        self.send_header(name, value)
                    if page is not None and page.drip and status == 200:
                        self._drip()
                        return
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                except OSError:  # the client gave up (timeouts, size caps): expected here
                    self.close_connection = True

            def _drip(self) -> None:
                """A few bytes every 50 ms, chunked: each read is quick, the page never ends
                (until the client hangs up or the test is over)."""
                self.send_header("Transfer-Encoding", "chunked")
                self.end_headers()
                while not site.release.wait(0.05):
                    self.wfile.write(b"4\r\n<!--\r\n")
                    self.wfile.flush()
                self.close_connection = True

            def log_message(self, format: str, *args: object) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release.set()
        assert self._server is not None
        self._server.shutdown()
        self._server.server_close()


def run_site(**kwargs: object) -> Iterator[Site]:
    """For fixtures: `yield from run_site()`."""
    with Site(**kwargs) as site:  # type: ignore[arg-type]
        yield site
