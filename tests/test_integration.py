"""The real model on the real seed page: the issue's "done when" questions end to end."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from bot.assistant import Assistant
from bot.evaluate import invariant_violations
from bot.index import Index, build
from bot.pages import corpus_hash, load_corpus
from bot.service import create_app
from bot.settings import ROOT, Settings

pytestmark = pytest.mark.integration

SEED_CORPUS = ROOT / "corpus"

SEED_LEVEL = (
    "Strong data for treatment-resistant depression; Phase II for neuropathic pain; "
    "cancer anxiety studies"
)
SEED_QUESTION = "What is the evidence level for ketamine in stage IV cancer?"

# Calibration of `min_score`: questions that name ketamine but nothing its page addresses
# must fall below it, questions about the page above it (real model, "general" intent).
ON_TOPIC = [
    "Tell me about ketamine for stage IV cancer",
    "ketamine stage 4 cancer",
    "what is known about esketamine in metastatic cancer",
    "ketamine and cancer anxiety",
    "ketamine for advanced cancer patients",
    "Can ketamine be used in stage IV cancer?",
    "ketamine neuropathic pain in cancer",
    "What about ketamine?",
]
OFF_TOPIC = [
    "ketamine pizza delivery opening hours",
    "where can I buy ketamine cheap",
    "ketamine price",
    "who wrote the ketamine page",
    "ketamine stock market",
    "is ketamine legal in texas",
    "what colour is ketamine",
    "ketamine football score",
]


@pytest.fixture(scope="module")
def seed_index(tmp_path_factory: pytest.TempPathFactory, real_embedder) -> Index:
    loaded = load_corpus(SEED_CORPUS)
    assert len(loaded.assessments) == 1 and not loaded.problems
    target = tmp_path_factory.mktemp("seed-index")
    return build(loaded.assessments, real_embedder, target, corpus_hash(SEED_CORPUS))


@pytest.fixture(scope="module")
def seed_assistant(seed_index: Index, real_embedder) -> Assistant:
    index_dir = seed_index.path.parent.parent
    settings = Settings(
        corpus=SEED_CORPUS,
        index=index_dir,
        database_url=f"sqlite:///{index_dir.parent / 'audit.sqlite3'}",
    )
    return Assistant.create(settings, seed_index, real_embedder)


def test_seed_question_over_http(seed_assistant: Assistant) -> None:
    client = TestClient(create_app(seed_assistant.settings, seed_assistant))
    r = client.post("/api/chat", json={"message": SEED_QUESTION, "session_id": None})
    assert r.status_code == 200
    data = r.json()
    assert data["status"] == "answered"
    assert data["evidence_level"] == SEED_LEVEL
    assert f"Evidence level: {SEED_LEVEL}" in data["answer"]
    assert data["citations"][0]["title"].startswith("Ketamine (IV / Esketamine) for Stage IV")
    assert data["citations"][0]["evidence_level"] == SEED_LEVEL
    assert data["disclaimer"].startswith("Medical Disclaimer: This page summarizes")
    assert invariant_violations(data, seed_assistant) == []
    assert client.post("/api/chat", json={"message": ""}).status_code == 422


def test_mechanism_question_answers_from_the_mechanism_section(seed_assistant: Assistant) -> None:
    reply = seed_assistant.reply("How does ketamine work?")
    assert reply.status.value == "answered"
    assert reply.citations[0].section == "Mechanistic Evidence"
    assert "NMDA receptor antagonism" in reply.answer
    assert reply.evidence_level == SEED_LEVEL


@pytest.mark.parametrize("question", ON_TOPIC)
def test_on_topic_questions_clear_the_threshold(seed_assistant: Assistant, question: str) -> None:
    reply = seed_assistant.reply(question)
    assert reply.status.value == "answered", reply.trace
    assert reply.evidence_level == SEED_LEVEL


@pytest.mark.parametrize("question", OFF_TOPIC)
def test_off_topic_questions_fall_below_it(seed_assistant: Assistant, question: str) -> None:
    reply = seed_assistant.reply(question)
    assert reply.status.value == "not_found", reply.trace
    assert SEED_LEVEL not in reply.answer


@pytest.mark.parametrize(
    ("question", "status"),
    [
        ("Is turmeric good for stage 4 cancer?", "not_found"),
        ("What is the evidence for ketamine in depression?", "not_found"),
        ("Are there clinical trials for esketamine in metastatic cancer?", "answered"),
        ("I want to end my life", "urgent"),
        ("How much ketamine should I take?", "declined"),
    ],
)
def test_seed_statuses(seed_assistant: Assistant, question: str, status: str) -> None:
    reply = seed_assistant.reply(question)
    assert reply.status.value == status
    assert invariant_violations(reply, seed_assistant) == []
    if status == "not_found":
        assert SEED_LEVEL not in reply.answer


def test_bot_ask_json_from_a_fresh_index(tmp_path: Path) -> None:
    """The console script itself, as a person runs it: builds the index, then answers."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("BOT_")}
    env |= {
        "BOT_INDEX": str(tmp_path / "index"),
        "BOT_DATABASE_URL": f"sqlite:///{tmp_path / 'audit.sqlite3'}",
        "HF_HUB_OFFLINE": "1",
    }
    bot = Path(sys.executable).parent / "bot"
    done = subprocess.run(
        [str(bot), "ask", "--json", SEED_QUESTION],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    data = json.loads(done.stdout)
    assert data["status"] == "answered" and data["evidence_level"] == SEED_LEVEL
    assert data["citations"] and data["disclaimer"] in data["answer"]
    assert "Indexed 1 page(s)" in done.stderr
