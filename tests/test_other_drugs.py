"""Never borrow a level: questions naming any other drug are never answered from a page.

Generated, not hand-picked: on a corpus of one invented stage IV page, hundreds of drug
names sampled from the dictionary the bot ships (bot/data/vocab/drugs.tsv.gz: generic
names, brands, synonyms, everyday-word names) and the curated remedies are asked about in
several sentence shapes, first messages and follow-ups. None may be `answered`, and no
reply may state the page's level.
"""

from __future__ import annotations

import random

import pytest

from bot.assistant import Assistant
from bot.dialogue import MemorySessionStore
from bot.embedding import FakeEmbedder
from bot.index import build
from bot.model import Status
from bot.pages import corpus_hash, load_corpus
from bot.settings import Settings
from bot.vocab import load as load_vocabulary

LEVEL = "Level 4: One invented fixture cohort study"
PAGE = f"""Velbrazine for Stage IV Cancer: Evidence Level Assessment

By Fixture Research Team

This is fixture text for tests. Velbrazine is an invented compound used only by the test
suite; this page makes no claim about any real condition.

Current Evidence Classification: Velbrazine + Stage IV Cancer

Evidence level: {LEVEL}

This evidence level is fixture text for tests.

Mechanistic Evidence

Velbrazine operates via: fixture pathway one; fixture pathway two

Medical Disclaimer: This fixture page is invented for tests and is not medical advice.
"""
SHAPES = [
    "Does {x} help stage 4 cancer?",
    "is {x} any good for metastatic cancer",
    "{x} for stage IV cancer",
    "What is the evidence level for {x} in advanced cancer?",
    "my mom takes {x}, does it work for her stage 4 lung cancer?",
    "Has {x} been studied in metastatic breast cancer?",
    "how does {x} work for stage 4 cancer",
    "{x}",
]
FOLLOW_UPS = ["what about {x}?", "and {x}?"]
NAMES = 600


def _sample() -> list[str]:
    """Drug names a patient could type: 1-3 words, letters (and digits), no condition
    words; the remedies file's names too. Deterministic."""
    vocab = load_vocabulary()
    diseases = vocab.diseases
    names = sorted(
        key
        for key, drug in vocab.drugs.items()
        if len(key.split()) <= 3
        and key.replace(" ", "").isalnum()
        and not any(c.isdigit() for c in key.split()[0][:1])
        and key not in diseases
        and not any(w in ("cancer", "tumor", "stage") for w in key.split())
        and not drug.canonical.lower().startswith("velbrazine")
        and drug.source != "therapies"  # acupuncture is no drug name
    )
    weak = [n for n in names if vocab.drugs[n].weak]
    strong = [n for n in names if not vocab.drugs[n].weak]
    remedies = sorted(k for k, d in vocab.drugs.items() if d.source == "remedies")
    rng = random.Random(20261130)
    return rng.sample(strong, NAMES - 80) + rng.sample(weak, 40) + rng.sample(remedies, 40)


@pytest.fixture(scope="module")
def velbrazine(tmp_path_factory: pytest.TempPathFactory) -> Assistant:
    root = tmp_path_factory.mktemp("one-page")
    corpus = root / "corpus"
    corpus.mkdir()
    (corpus / "velbrazine--stage-iv-cancer.txt").write_text(PAGE, encoding="utf-8")
    settings = Settings(corpus=corpus, index=root / "index", embedder="fake")
    embedder = FakeEmbedder()
    loaded = load_corpus(corpus)
    assert [a.evidence_level for a in loaded.assessments] == [LEVEL]
    index = build(loaded.assessments, embedder, settings.index, corpus_hash(corpus))
    return Assistant.create(settings, index, embedder, sessions=MemorySessionStore())


def test_the_sample_is_large_and_varied() -> None:
    names = _sample()
    assert len(set(names)) == NAMES >= 500
    vocab = load_vocabulary()
    assert sum(vocab.drugs[n].weak for n in names) >= 40  # everyday-word names included
    assert sum(" " in n for n in names) >= 50  # and names of several words


def test_no_other_drug_is_answered_from_the_page(velbrazine: Assistant) -> None:
    wrong: list[str] = []
    for i, name in enumerate(_sample()):
        shown = name.title() if i % 3 == 0 else name  # as typed: Keytruda, keytruda
        for shape in (SHAPES[i % len(SHAPES)], SHAPES[(i * 7 + 3) % len(SHAPES)]):
            question = shape.format(x=shown)
            reply = velbrazine.reply(question)
            if reply.status is Status.ANSWERED or LEVEL in reply.answer:
                wrong.append(f"{question!r} -> {reply.status.value}")
        # A follow-up naming the drug after a turn about the page.
        first = velbrazine.reply("What is the evidence for velbrazine in stage 4 cancer?")
        assert first.status is Status.ANSWERED
        follow = FOLLOW_UPS[i % len(FOLLOW_UPS)].format(x=shown)
        reply = velbrazine.reply(follow, first.session_id)
        if reply.status is Status.ANSWERED or LEVEL in reply.answer:
            wrong.append(f"(after velbrazine) {follow!r} -> {reply.status.value}")
    assert wrong == [], f"{len(wrong)} borrowed the level:\n" + "\n".join(wrong[:40])


def test_the_page_itself_is_still_answered(velbrazine: Assistant) -> None:
    for question in (
        "Does velbrazine help stage 4 cancer?",
        "velbrazine for my dad's metastatic lung cancer",
        "is velbrazin any good for advanced cancer",
    ):
        reply = velbrazine.reply(question)
        assert reply.status is Status.ANSWERED and reply.evidence_level == LEVEL, question


def test_naming_the_condition_only_lists_the_page_with_its_level(velbrazine: Assistant) -> None:
    reply = velbrazine.reply("what do you have for stage 4 pancreatic cancer?")
    assert reply.status is Status.ANSWERED and reply.template == "answered_listing"
    assert f"Velbrazine for Stage IV Cancer — Evidence level: {LEVEL}" in reply.answer
