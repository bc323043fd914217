"""Browser tests: a live bot server, host sites on other origins, and Debian's Chromium.

Three servers run for the whole session, all on 127.0.0.1:
- the bot (uvicorn in a thread) over a tmp corpus = the real seed page + the fixture pages,
  indexed with the fake embedder; its allowed origin is the host site below;
- the *host* site (an allowed, different origin) serving `widget.html` (one script tag, and
  deliberately hostile CSS) and `iframe.html`;
- the *stranger* site (another origin, NOT allowed) serving the same pages.

Every test gets a fresh browser context (own sessionStorage); dialogs (alert/confirm) fail
the test, console errors are recorded for the tests that assert a clean console.
"""

from __future__ import annotations

import functools
import shutil
import threading
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from browser_helpers import HERE, PageLog
from playwright.sync_api import Browser, Page, sync_playwright

from bench import server as harness
from bot.assistant import Assistant
from bot.embedding import FakeEmbedder
from bot.index import build
from bot.pages import corpus_hash, load_corpus
from bot.service import create_app
from bot.settings import ROOT, Settings

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]

# Playwright's default is 30 s; a local server answers in milliseconds.
TIMEOUT_MS = 8_000


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Every test in this folder drives a browser: mark it `browser`."""
    for item in items:
        if HERE in Path(item.path).parents:
            item.add_marker(pytest.mark.browser)


# --------------------------------------------------------------------------- servers


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


@dataclass
class StaticSite:
    root: Path
    server: ThreadingHTTPServer
    thread: threading.Thread

    @property
    def origin(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def url(self, path: str) -> str:
        return f"{self.origin}/{path.lstrip('/')}"

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)


def _static_site(root: Path) -> StaticSite:
    root.mkdir(parents=True, exist_ok=True)
    handler = functools.partial(_QuietHandler, directory=str(root))
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, name=f"static-{root.name}", daemon=True)
    thread.start()
    return StaticSite(root, server, thread)


# Hostile on purpose: none of this may reach the widget's shadow DOM.
HOSTILE_CSS = """
  * { font-family: serif !important; line-height: 3 !important; }
  button { background: red !important; color: yellow !important; font-size: 30px !important; }
  div { border: 5px solid lime !important; }
  textarea { width: 50px !important; }
  p { color: #333 !important; letter-spacing: 3px !important; }
"""


def _widget_page(bot_origin: str, site: str) -> str:
    return f"""<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <title>{site} - a partner site</title>
  <link rel="icon" href="data:,">
  <style>{HOSTILE_CSS}</style>
</head>
<body>
  <header><a href="#content" id="host-first-link">Skip to content</a></header>
  <main id="content">
    <h1>{site}: our patient information</h1>
    <p>This host page has its own (ugly) styles. The help widget must look the same anyway.</p>
    <div class="host-box"><a href="#content" id="host-second-link">Read more</a></div>
  </main>
  <script src="{bot_origin}/widget.js" async data-title="Ask about evidence"></script>
</body>
</html>
"""


def _two_page_fixture(compound: str, condition: str) -> str:
    """An invented assessment page (fixture text, no medical claim)."""
    return f"""{compound} for {condition}: Evidence Level Assessment

By Fixture Research Team

This is fixture text for tests about {compound} and {condition}.

Current Evidence Classification: {compound} + {condition}

Evidence level: Level 4: Fixture cohort on {compound} in {condition}

This evidence level is fixture text for tests.

Medical Disclaimer: This fixture page is invented for tests and is not medical advice.
"""


def _iframe_page(bot_origin: str, site: str) -> str:
    return f"""<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <title>{site} - iframe embed</title>
  <link rel="icon" href="data:,">
</head>
<body>
  <main>
    <h1>{site}: ask our assistant</h1>
    <iframe src="{bot_origin}/embed" title="Evidence assistant" width="420" height="640"></iframe>
  </main>
</body>
</html>
"""


@dataclass
class BotServer:
    url: str
    app: Any
    settings: Settings
    server: uvicorn.Server
    thread: threading.Thread

    def get(self, path: str) -> tuple[int, dict[str, str], bytes]:
        with urllib.request.urlopen(self.url + path, timeout=10) as r:
            return r.status, {k.lower(): v for k, v in r.headers.items()}, r.read()

    def audit_answer(self, answer_id: str) -> dict[str, Any] | None:
        return self.app.state.audit.answer(answer_id)


@dataclass
class Sites:
    bot: BotServer
    host: StaticSite  # allowed origin
    stranger: StaticSite  # not allowed


@pytest.fixture(scope="session")
def sites(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sites]:
    tmp = tmp_path_factory.mktemp("browser")
    host = _static_site(tmp / "host-site")
    stranger = _static_site(tmp / "stranger-site")

    corpus = tmp / "corpus"
    corpus.mkdir()
    for page in sorted((ROOT / "corpus").glob("*.txt")):
        shutil.copy(page, corpus / page.name)
    for page in sorted((ROOT / "tests" / "fixtures" / "corpus").iterdir()):
        shutil.copy(page, corpus / page.name)
    # One compound with two pages: "tavilor?" asks which one is meant (a clarify).
    for condition in ("Chronic Fakeitis", "Mock Migraine"):
        stem = f"tavilor--{condition.lower().replace(' ', '-')}.txt"
        (corpus / stem).write_text(_two_page_fixture("Tavilor", condition), encoding="utf-8")
    settings = Settings(
        corpus=corpus,
        index=tmp / "index",
        embedder="fake",
        database_url=f"sqlite:///{tmp / 'audit.sqlite3'}",
        allowed_origins=host.origin,
        # Every test browses from 127.0.0.1: one client for the per-client limit.
        rate_limit="off",
    )
    embedder = FakeEmbedder()
    loaded = load_corpus(corpus)
    assert not loaded.problems, loaded.problems
    index = build(loaded.assessments, embedder, settings.index, corpus_hash(corpus))
    app = create_app(settings, Assistant.create(settings, index, embedder))

    sock = harness.bound_socket()
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(
        target=server.run, kwargs={"sockets": [sock]}, name="bot-server", daemon=True
    )
    thread.start()
    bot = BotServer(f"http://127.0.0.1:{port}", app, settings, server, thread)
    harness.wait_healthy(bot.url, thread.is_alive, timeout=20)

    for site, name in ((host, "Partner Clinic"), (stranger, "Stranger Site")):
        (site.root / "widget.html").write_text(_widget_page(bot.url, name), encoding="utf-8")
        (site.root / "iframe.html").write_text(_iframe_page(bot.url, name), encoding="utf-8")
    try:
        yield Sites(bot, host, stranger)
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()
        host.stop()
        stranger.stop()


# --------------------------------------------------------------------------- browser


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield b
        finally:
            b.close()


NewPage = Callable[..., tuple[Page, PageLog]]


@pytest.fixture
def new_page(browser: Browser) -> Iterator[NewPage]:
    """Factory: a page in a fresh context (kwargs go to new_context), with its PageLog.
    A dialog in any of them fails the test."""
    opened: list[tuple[Any, PageLog]] = []

    def make(**context_kwargs: Any) -> tuple[Page, PageLog]:
        context_kwargs.setdefault("viewport", {"width": 1280, "height": 900})
        context = browser.new_context(**context_kwargs)
        context.set_default_timeout(TIMEOUT_MS)
        page = context.new_page()
        log = PageLog()
        page.on("console", log.on_console)
        page.on("dialog", log.on_dialog)
        page.on("request", lambda req: log.requests.append(req.url))
        opened.append((context, log))
        return page, log

    yield make
    dialogs = [d for _, log in opened for d in log.dialogs]
    for context, _ in opened:
        context.close()
    assert not dialogs, f"a dialog fired (page or user text ran as code): {dialogs}"


@pytest.fixture
def page_and_log(new_page: NewPage) -> tuple[Page, PageLog]:
    return new_page()


@pytest.fixture
def page(page_and_log: tuple[Page, PageLog]) -> Page:
    return page_and_log[0]


@pytest.fixture
def page_log(page_and_log: tuple[Page, PageLog]) -> PageLog:
    return page_and_log[1]
