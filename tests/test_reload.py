"""Hot reload: a build published while the server runs is switched to, with no failed
request; a broken build is not."""

from __future__ import annotations

import threading
import time
from pathlib import Path

from fastapi.testclient import TestClient

from bot.assistant import Assistant
from bot.embedding import FakeEmbedder
from bot.index import build
from bot.pages import corpus_hash, load_corpus
from bot.service import create_app
from bot.service.reload import reload_once
from bot.settings import Settings


def _add_page(corpus_dir: Path) -> None:
    page = (corpus_dir / "zelnoprine--stage-iv-testcase-syndrome.txt").read_text()
    (corpus_dir / "zelnoprine--chronic-fakeitis.txt").write_text(
        page.replace("Stage IV Testcase Syndrome", "Chronic Fakeitis")
    )


def _rebuild(settings: Settings) -> str:
    loaded = load_corpus(settings.corpus)
    index = build(loaded.assessments, FakeEmbedder(), settings.index, corpus_hash(settings.corpus))
    return index.manifest.digest


def _wait_for(client: TestClient, digest: str, seconds: float = 10) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if client.get("/healthz").json()["index"] == digest:
            return
        time.sleep(0.05)
    raise AssertionError("the server did not switch to the new index")


def test_a_new_build_is_served_without_a_failed_request(
    settings: Settings, assistant: Assistant, corpus_dir: Path
) -> None:
    fast = settings.model_copy(update={"reload_interval": 0.1})
    app = create_app(fast, Assistant.create(fast, assistant.index, assistant.embedder))
    statuses: list[int] = []
    stop = threading.Event()
    with TestClient(app) as client:
        before = client.post("/api/chat", json={"message": "zelnoprine for chronic fakeitis?"})
        assert before.json()["status"] == "not_found"

        def hammer() -> None:
            while not stop.is_set():
                r = client.post("/api/chat", json={"message": "How does quorvastin work?"})
                statuses.append(r.status_code)

        worker = threading.Thread(target=hammer)
        worker.start()
        try:
            _add_page(corpus_dir)
            _wait_for(client, _rebuild(fast))
            time.sleep(0.3)  # keep the load on across the switch
        finally:
            stop.set()
            worker.join()
        after = client.post("/api/chat", json={"message": "zelnoprine for chronic fakeitis?"})
        assert after.json()["status"] == "answered"
    assert statuses and set(statuses) == {200}


def test_a_broken_build_is_not_switched_to(settings: Settings, assistant: Assistant) -> None:
    app = create_app(settings, assistant)
    digest = assistant.index.manifest.digest
    loaded = load_corpus(settings.corpus)
    broken = build(loaded.assessments[:1], FakeEmbedder(), settings.index, "other")
    (broken.path / "vectors.faiss").write_bytes(b"not an index")
    assert reload_once(app) is False
    assert app.state.assistant.index.manifest.digest == digest
    assert reload_once(app) is False  # and it keeps serving the old one


def test_reload_off(settings: Settings, assistant: Assistant) -> None:
    still = settings.model_copy(update={"reload_interval": 0})
    with TestClient(create_app(still, assistant)) as client:
        digest = client.get("/healthz").json()["index"]
        _rebuild(still)
        time.sleep(0.3)
        assert client.get("/healthz").json()["index"] == digest
