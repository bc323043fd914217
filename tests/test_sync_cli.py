"""`bot sync` on the command line, and the issue's "done when" end to end with the real
console script and a real `bot serve` process against a loopback fixture site."""

from __future__ import annotations

import json
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner
from servers import BOT, bot_env, serve, stop
from sync_site import COMPOUNDS, Page, Site, assessment_html, slug

from bot.audit import AuditLog
from bot.cli import main
from bot.index import CURRENT
from bot.sync.run import exclusive


@pytest.fixture
def site() -> Iterator[Site]:
    with Site() as running:
        running.add("/private/hidden", Page(assessment_html("Velmorax").encode()))
        yield running


@pytest.fixture
def folders(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, Path]:
    paths = {"corpus": tmp_path / "corpus", "index": tmp_path / "index"}
    monkeypatch.setenv("BOT_EMBEDDER", "fake")
    monkeypatch.setenv("BOT_DATABASE_URL", f"sqlite:///{tmp_path / 'audit.sqlite3'}")
    monkeypatch.setenv("BOT_CORPUS", str(paths["corpus"]))
    monkeypatch.setenv("BOT_INDEX", str(paths["index"]))
    return paths


def test_sync_needs_a_sitemap_url(folders: dict[str, Path]) -> None:
    result = CliRunner().invoke(main, ["sync"])
    assert result.exit_code == 2 and "BOT_SYNC_SITEMAP" in result.output
    result = CliRunner().invoke(main, ["sync", "ftp://site.example/sitemap.xml"])
    assert result.exit_code == 2 and "not an http(s) URL" in result.output


def test_sync_prints_a_summary_and_records_an_audit_event(
    folders: dict[str, Path], site: Site, tmp_path: Path
) -> None:
    result = CliRunner().invoke(main, ["sync", f"{site.url}/sitemap.xml", "--json"])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert summary["ok"] and summary["counts"]["new"] == len(COMPOUNDS)
    assert summary["counts"]["skipped_robots"] == 1
    audit = AuditLog.open(f"sqlite:///{tmp_path / 'audit.sqlite3'}")
    assert audit.count("sync") == 1 and audit.verify().ok


def test_a_sync_already_running_is_not_joined(folders: dict[str, Path], site: Site) -> None:
    with exclusive(folders["index"]):
        result = CliRunner().invoke(main, ["sync", f"{site.url}/sitemap.xml"])
    assert result.exit_code == 1 and "another sync" in result.output
    assert site.requests == []


def test_exit_status_1_when_nothing_could_be_synced(folders: dict[str, Path], site: Site) -> None:
    site.broken["/sitemap.xml"] = 404
    result = CliRunner().invoke(main, ["sync", f"{site.url}/sitemap.xml"])
    assert result.exit_code == 1
    assert "error: " in result.output and "sitemap.xml: HTTP 404" in result.output


def _bot(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([BOT, *args], env=env, capture_output=True, text=True, timeout=120)


def _chat(url: str, message: str) -> dict:
    return httpx.post(f"{url}/api/chat", json={"message": message}, timeout=30).json()


def _until(condition: Callable[[], bool], seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.1)


def test_done_when(site: Site, tmp_path: Path) -> None:
    """From fresh folders: `bot sync URL` fills the corpus and the index; answers cite the
    pages' URLs; a second run fetches nothing unchanged (304s, counted); a sitemap listing
    10% drops nothing; a running server answers a changed level and a removed page's
    not_found after its next scheduled sync, without a restart; the disallowed path is
    never fetched."""
    corpus, index = tmp_path / "corpus", tmp_path / "index"
    env = bot_env(corpus, index) | {"BOT_DATABASE_URL": f"sqlite:///{tmp_path / 'audit.db'}"}
    sitemap = f"{site.url}/sitemap.xml"

    first = _bot(env, "sync", sitemap)
    assert first.returncode == 0, first.stderr
    assert f"{len(COMPOUNDS)} new" in first.stdout and "1 skipped by robots.txt" in first.stdout
    assert len(list(corpus.rglob("*.html"))) == len(COMPOUNDS) and (index / CURRENT).is_file()

    asked = _bot(
        env, "ask", "--json", "Evidence level of Pemtrazodex for stage IV testcase syndrome?"
    )
    reply = json.loads(asked.stdout)
    assert reply["status"] == "answered" and reply["disclaimer"]
    assert reply["citations"][0]["url"].startswith(f"{site.url}/assessments/{slug('Pemtrazodex')}")

    site.forget()
    second = _bot(env, "sync", sitemap)
    assert second.returncode == 0, second.stderr
    assert f"{len(COMPOUNDS)} unchanged ({len(COMPOUNDS)} not modified: 304)" in second.stdout
    assert {r.status for r in site.requests if r.path.startswith("/assessments/")} == {304}

    for compound in COMPOUNDS[1:]:
        site.pages[f"/assessments/{slug(compound)}"].listed = False
    tenth = _bot(env, "sync", sitemap)
    assert "0 removed" in tenth.stdout and "refused to drop 9 of 10" in tenth.stderr
    assert len(list(corpus.rglob("*.html"))) == len(COMPOUNDS)
    for compound in COMPOUNDS[1:]:
        site.pages[f"/assessments/{slug(compound)}"].listed = True

    proc, url = serve(
        env | {"BOT_SYNC_SITEMAP": sitemap, "BOT_SYNC_INTERVAL": "1"}, tmp_path / "serve.log"
    )
    try:
        changed_q = "What is the evidence level of Dulnaprex for stage IV testcase syndrome?"
        assert _chat(url, changed_q)["evidence_level"] == "Level 4: Fixture case series"
        site.change(
            f"/assessments/{slug('Dulnaprex')}",
            assessment_html("Dulnaprex", "Level 2: Fixture trials"),
        )
        _until(lambda: _chat(url, changed_q)["evidence_level"] == "Level 2: Fixture trials")

        removed_q = "What is the evidence level of Xeltrafine for stage IV testcase syndrome?"
        assert _chat(url, removed_q)["status"] == "answered"
        site.remove(f"/assessments/{slug('Xeltrafine')}")
        _until(lambda: _chat(url, removed_q)["status"] == "not_found")
        assert proc.poll() is None  # the same server throughout
        health = httpx.get(f"{url}/healthz").json()["sync"]
        assert health["scheduled"] and health["last"]["ok"]
    finally:
        stop(proc)
    assert "/private/hidden" not in site.paths()
