"""Scheduled sync in a running app: the first sync at start, a changed level answered after
the next one without a restart, /healthz and the audit log; one instance at a time; a
shutdown not held up by a crawl delay."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sync_site import COMPOUNDS, Site, assessment_html, slug

from bot.assistant import Assistant
from bot.embedding import FakeEmbedder
from bot.service import create_app
from bot.settings import Settings
from bot.sync.run import SyncOptions, exclusive, sync_site
from bot.sync.schedule import SyncScheduler

# Not the fixture corpus's compounds (Zelnoprine, Brimadol, Quorvastin): no duplicates.
SITE_COMPOUNDS = COMPOUNDS[3:]


@pytest.fixture
def site() -> Iterator[Site]:
    with Site(compounds=SITE_COMPOUNDS) as running:
        yield running


def synced(settings: Settings, site: Site, **changes: Any) -> Settings:
    return settings.model_copy(
        update={"sync_sitemap": f"{site.url}/sitemap.xml", "sync_timeout": 5.0, **changes}
    )


def wait_for(condition: Callable[[], Any], seconds: float = 30) -> Any:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if value := condition():
            return value
        time.sleep(0.05)
    raise AssertionError("condition not met in time")


def test_a_serving_app_syncs_and_answers_a_changed_level_without_a_restart(
    settings: Settings, assistant: Assistant, site: Site
) -> None:
    # Hot reload off: the scheduled sync switches to its own build at once.
    live = synced(settings, site, sync_interval=1.0, reload_interval=0.0)
    app = create_app(live, Assistant.create(live, assistant.index, assistant.embedder))
    question = {
        "message": "What is the evidence level of Tavrenolix for stage IV testcase syndrome?"
    }
    with TestClient(app) as client:

        def last_sync() -> dict | None:
            return (client.get("/healthz").json()["sync"] or {}).get("last")

        def serving(digest: str) -> bool:
            return client.get("/healthz").json()["index"] == digest

        first = wait_for(last_sync)
        assert first["ok"] and first["counts"]["new"] == len(SITE_COMPOUNDS), first
        wait_for(lambda: serving(first["index"]))
        reply = client.post("/api/chat", json=question).json()
        assert reply["status"] == "answered" and reply["disclaimer"]
        assert reply["citations"][0]["url"].startswith(f"{site.url}/assessments/")

        site.change(
            f"/assessments/{slug('Tavrenolix')}",
            assessment_html("Tavrenolix", "Level 2: Fixture trials"),
        )
        changed = wait_for(lambda: (s := last_sync()) and s["counts"]["changed"] == 1 and s)
        wait_for(lambda: serving(changed["index"]))
        reply = client.post("/api/chat", json=question).json()
        assert reply["evidence_level"] == "Level 2: Fixture trials"
        health = client.get("/healthz").json()["sync"]
        assert health["scheduled"] and health["interval"] == 1.0 and health["problem"] is None
    assert app.state.audit.count("sync") >= 2


def test_instances_sharing_an_index_sync_once_per_interval(settings: Settings, site: Site) -> None:
    live = synced(settings, site, sync_interval=3600.0)
    first, second = (SyncScheduler(live, FakeEmbedder) for _ in range(2))
    assert first.run_once() is not None
    assert second.due_in() > 3500
    assert second.run_once() is None  # synced by the other one a moment ago
    assert sum(r.path == "/sitemap.xml" for r in site.requests) == 1


def test_a_sync_in_progress_elsewhere_is_not_joined(settings: Settings, site: Site) -> None:
    live = synced(settings, site)
    with exclusive(live.index) as held:
        assert held
        assert SyncScheduler(live, FakeEmbedder).run_once() is None
    assert site.requests == []


def test_stopping_ends_a_sync_waiting_on_the_crawl_delay(settings: Settings, site: Site) -> None:
    site.crawl_delay = 30
    scheduler = SyncScheduler(synced(settings, site), FakeEmbedder)
    scheduler.start()
    wait_for(lambda: "/robots.txt" in site.paths())
    started = time.monotonic()
    scheduler.stop(timeout=10)
    assert time.monotonic() - started < 5
    assert scheduler._thread is not None and not scheduler._thread.is_alive()
    assert scheduler.last.get()["cancelled"] is True
    assert "/sitemap.xml" not in site.paths()


def test_healthz_shows_a_sync_run_from_the_command_line(
    settings: Settings, assistant: Assistant, site: Site, tmp_path: Path
) -> None:
    client = TestClient(create_app(settings, assistant))
    assert client.get("/healthz").json()["sync"] is None
    options = SyncOptions(f"{site.url}/sitemap.xml", backoff=0.01)
    sync_site(options, settings.corpus, tmp_path / "other-index", FakeEmbedder)
    health = client.get("/healthz").json()["sync"]
    assert health["scheduled"] is False
    assert health["last"]["counts"]["new"] == len(SITE_COMPOUNDS)
    assert set(health["last"]) >= {"started_at", "finished_at", "ok", "counts", "errors"}
