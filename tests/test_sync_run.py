"""The sync use-case against a live fixture site, with the fake embedder: the corpus and
index filled, 304s on the next run, a changed level answered, a removed page dropped, a
broken sitemap refused, robots.txt obeyed, bad pages skipped and never half-indexed."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from sync_site import COMPOUNDS, Page, Site, assessment_html, slug

import bot.sync.plan
from bot.assistant import Assistant
from bot.dialogue import MemorySessionStore
from bot.embedding import FakeEmbedder
from bot.index import CURRENT, load
from bot.settings import Settings
from bot.sync.run import SyncOptions, SyncReport, sync_site
from bot.sync.store import SyncStore


class CountingEmbedder(FakeEmbedder):
    """Counts the passages it embeds, to show a rebuild embeds only what changed."""

    def __init__(self) -> None:
        super().__init__()
        self.embedded = 0

    def encode(self, texts: list[str]) -> np.ndarray:
        self.embedded += len(texts)
        return super().encode(texts)


@pytest.fixture
def site() -> Iterator[Site]:
    with Site() as running:
        running.add("/private/hidden", Page(assessment_html("Velmorax").encode()))
        yield running


@pytest.fixture
def embedder() -> CountingEmbedder:
    return CountingEmbedder()


@pytest.fixture
def sync(site: Site, tmp_path: Path, embedder: CountingEmbedder):
    def run(**options: object) -> SyncReport:
        given = {"timeout": 2, "backoff": 0.01, **options}
        opts = SyncOptions(f"{site.url}/sitemap.xml", **given)  # type: ignore[arg-type]
        return sync_site(opts, tmp_path / "corpus", tmp_path / "index", lambda: embedder)

    return run


def ask(tmp_path: Path, question: str) -> dict:
    settings = Settings(corpus=tmp_path / "corpus", index=tmp_path / "index", embedder="fake")
    assistant = Assistant.create(
        settings, load(tmp_path / "index"), FakeEmbedder(), sessions=MemorySessionStore()
    )
    return assistant.reply(question).to_json()


def page_path(compound: str) -> str:
    return f"/assessments/{slug(compound)}"


def test_a_first_sync_fills_the_corpus_and_the_index(sync, site: Site, tmp_path: Path) -> None:
    report = sync()
    assert report.ok and not report.errors, report.errors
    assert (report.new, report.failed, report.skipped_robots) == (len(COMPOUNDS), 0, 1)
    index = load(tmp_path / "index")
    assert index.manifest.digest == report.index
    assert sorted(a.url for a in index.assessments.values()) == sorted(
        f"{site.url}{page_path(c)}" for c in COMPOUNDS
    )
    reply = ask(
        tmp_path, "What is the evidence level of Tavrenolix for stage IV testcase syndrome?"
    )
    assert reply["status"] == "answered"
    assert reply["citations"][0]["url"].startswith(f"{site.url}{page_path('Tavrenolix')}")
    assert "/private/hidden" not in site.paths()  # disallowed: never fetched
    assert (tmp_path / "corpus" / ".sync" / "last-run.json").is_file()


def test_the_second_sync_fetches_nothing_that_did_not_change(
    sync, site: Site, tmp_path: Path, embedder: CountingEmbedder, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = sync()
    published = (tmp_path / "index" / CURRENT).read_text()
    site.forget()
    embedder.embedded = 0

    def no_parse(*args: object) -> None:
        raise AssertionError("an unchanged page was parsed")

    monkeypatch.setattr(bot.sync.plan, "parse_text", no_parse)
    again = sync()
    assert (again.unchanged, again.not_modified, again.new, again.changed) == (10, 10, 0, 0)
    pages = [r for r in site.requests if r.path.startswith("/assessments/")]
    assert len(pages) == 10 and {r.status for r in pages} == {304}
    assert again.index == first.index and embedder.embedded == 0
    assert (tmp_path / "index" / CURRENT).read_text() == published  # nothing republished


def test_a_changed_level_is_answered_after_the_next_sync(
    sync, site: Site, tmp_path: Path, embedder: CountingEmbedder
) -> None:
    sync()
    question = "What is the evidence level of Mirexafen for stage IV testcase syndrome?"
    assert "Level 4: Fixture case series" in ask(tmp_path, question)["answer"]
    index = load(tmp_path / "index")
    mirexafen = next(a.id for a in index.assessments.values() if a.compound == "Mirexafen")
    passages = len(index.rows_of(mirexafen))
    site.change(page_path("Mirexafen"), assessment_html("Mirexafen", "Level 2: Fixture trials"))
    embedder.embedded = 0
    report = sync()
    assert (report.changed, report.unchanged) == (1, 9)
    assert report.changed_urls == [f"{site.url}{page_path('Mirexafen')}"]
    reply = ask(tmp_path, question)
    assert reply["evidence_level"] == "Level 2: Fixture trials"
    assert 0 < embedder.embedded <= passages  # only the changed page's new passages


def test_a_removed_page_is_dropped_and_then_not_found(sync, site: Site, tmp_path: Path) -> None:
    sync()
    stored = SyncStore(tmp_path / "corpus").load()[f"{site.url}{page_path('Korsavilin')}"]
    site.remove(page_path("Korsavilin"))
    report = sync()
    assert report.removed == 1 and report.removed_urls == [f"{site.url}{page_path('Korsavilin')}"]
    assert not (tmp_path / "corpus" / stored.path).exists()
    reply = ask(
        tmp_path, "What is the evidence level of Korsavilin for stage IV testcase syndrome?"
    )
    assert reply["status"] == "not_found"


def test_a_page_listed_but_gone_is_dropped_too(sync, site: Site) -> None:
    sync()
    site.pages[page_path("Dulnaprex")].status = 404
    report = sync()
    assert report.removed_urls == [f"{site.url}{page_path('Dulnaprex')}"]


def test_a_sitemap_that_suddenly_lists_a_tenth_drops_nothing_without_force(
    sync, site: Site, tmp_path: Path
) -> None:
    first = sync()
    for compound in COMPOUNDS[1:]:
        site.pages[page_path(compound)].listed = False
    report = sync()
    assert report.removed == 0 and report.refused_drop == 9
    assert any("refused to drop 9 of 10" in e and "--force" in e for e in report.errors)
    assert len(SyncStore(tmp_path / "corpus").load()) == 10
    assert load(tmp_path / "index").manifest.digest == first.index
    forced = sync(force=True)
    assert forced.removed == 9 and load(tmp_path / "index").manifest.assessments == 1


def test_an_unreadable_sitemap_drops_nothing(sync, site: Site, tmp_path: Path) -> None:
    sync()
    site.broken["/sitemaps/b.xml.gz"] = 500
    report = sync()
    assert report.removed == 0 and report.refused_drop == 0
    assert any("not listed, kept" in e for e in report.errors)
    assert len(SyncStore(tmp_path / "corpus").load()) == 10


def test_failing_slow_and_flaky_pages(sync, site: Site) -> None:
    site.add("/assessments/broken", Page(assessment_html("Brokenex").encode(), status=500))
    site.add("/assessments/slow", Page(assessment_html("Slowvarin").encode(), slow=True))
    site.add("/assessments/flaky", Page(assessment_html("Flakorin").encode(), fail_times=1))
    report = sync(timeout=0.5, attempts=2)
    reasons = {f["url"].rsplit("/", 1)[1]: f["reason"] for f in report.failures}
    assert reasons == {
        "broken": "HTTP 500 after 2 attempts",
        "slow": "timed out after 0.5 s after 2 attempts",
    }
    assert report.ok and report.new == len(COMPOUNDS) + 1  # the flaky one on its retry


def test_a_page_that_does_not_parse_is_skipped_by_url_and_the_old_one_kept(
    sync, site: Site, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    sync()
    path = page_path("Olvastrinol")
    site.change(path, assessment_html("Olvastrinol").replace("Evidence level:", "Evidence:"))
    site.add("/assessments/not-one", Page(b"<html><h1>About us</h1></html>"))
    with caplog.at_level(logging.WARNING, logger="bot.sync.apply"):
        report = sync()
    assert report.failed == 2 and report.new == 0 and report.changed == 0
    assert f"not synced: {site.url}{path}: not usable as an assessment page" in caplog.text
    assert f"{site.url}/assessments/not-one" in caplog.text
    reply = ask(
        tmp_path, "What is the evidence level of Olvastrinol for stage IV testcase syndrome?"
    )
    assert reply["evidence_level"] == "Level 4: Fixture case series"  # the last good page
    assert not any("not-one" in p.name for p in (tmp_path / "corpus").rglob("*.html"))


def test_only_html_pages_are_stored(sync, site: Site) -> None:
    site.add(
        "/assessments/file.pdf", Page(b"%PDF-1.4", headers={"Content-Type": "application/pdf"})
    )
    report = sync()
    assert report.failures == [
        {"url": f"{site.url}/assessments/file.pdf", "reason": "not an HTML page (application/pdf)"}
    ]


def test_include_and_exclude_patterns(sync, site: Site) -> None:
    site.add("/news/today", Page(assessment_html("Newsolin").encode()))
    report = sync(include=("/assessments/*",), exclude=("*zelnoprine*",))
    # Excluded: the news page, Zelnoprine, and /private/hidden (outside the include).
    assert report.new == len(COMPOUNDS) - 1 and report.excluded == 3
    assert "/news/today" not in site.paths()
    assert page_path("Zelnoprine") not in site.paths()


@pytest.mark.parametrize("broken", ["/robots.txt", "/sitemap.xml"])
def test_nothing_synced_when_robots_or_the_sitemap_cannot_be_read(
    sync, site: Site, tmp_path: Path, broken: str
) -> None:
    site.broken[broken] = 503
    report = sync()
    assert not report.ok and report.synced == 0 and report.errors
    assert not any(p.startswith("/assessments/") for p in site.paths())
    assert not (tmp_path / "index" / CURRENT).exists()
