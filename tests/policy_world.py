"""A fixture world for tests of what the assistant answers: pages whose condition titles
need reading (specific and general cancer pages, conditions named the way a site titles
them, brands given in a title or an introduction), built over the fake embedder.
Invented compounds only."""

from __future__ import annotations

from pathlib import Path

from bot.assistant import Assistant
from bot.dialogue import MemorySessionStore
from bot.embedding import FakeEmbedder
from bot.evaluate import invariant_violations
from bot.index import build
from bot.pages import corpus_hash, load_corpus
from bot.settings import Settings

PAGES = {
    # file stem: (compound, condition, sentence naming a brand or "")
    "velbrazine-velbrex--stage-iv-cancer": ("Velbrazine (Velbrex)", "Stage IV Cancer", ""),
    "velbrazine-velbrex--glioblastoma": ("Velbrazine (Velbrex)", "Glioblastoma", ""),
    "orvantide--cancer-pain": (
        "Orvantide",
        "Cancer Pain",
        "Orvantide is sold under the brand name Orvanta in this fixture world.",
    ),
    "pemtarol--cancer-related-anxiety-and-depression": (
        "Pemtarol",
        "Cancer-Related Anxiety and Depression",
        "",
    ),
    "pemtarol--treatment-resistant-depression": ("Pemtarol", "Treatment-Resistant Depression", ""),
    "kelvadine--chemotherapy-induced-nausea": ("Kelvadine", "Chemotherapy-Induced Nausea", ""),
    "kelvadine--metastatic-pancreatic-cancer": ("Kelvadine", "Metastatic Pancreatic Cancer", ""),
    "talmexin--multiple-sclerosis": ("Talmexin", "Multiple Sclerosis", ""),
    "dravostin--stage-iv-cancer": ("Dravostin", "Stage IV Cancer", ""),
    "dravostin--colorectal-cancer": ("Dravostin", "Colorectal Cancer", ""),
}


def _page(compound: str, condition: str, brand: str) -> str:
    level = f"Level 5: Fixture opinion on {compound} in {condition}"
    return f"""{compound} for {condition}: Evidence Level Assessment

By Fixture Research Team

This is fixture text for tests about {compound} and {condition}. {brand}

Current Evidence Classification: {compound} + {condition}

Evidence level: {level}

This evidence level is fixture text for tests.

Mechanistic Evidence

{compound} operates via: fixture pathway one; fixture pathway two

Medical Disclaimer: This fixture page is invented for tests and is not medical advice.
"""


def make_bot(root: Path) -> Assistant:
    """The assistant over the fixture pages, its corpus and index under `root`."""
    corpus = root / "corpus"
    corpus.mkdir()
    for stem, (compound, condition, brand) in PAGES.items():
        (corpus / f"{stem}.txt").write_text(_page(compound, condition, brand), encoding="utf-8")
    loaded = load_corpus(corpus)
    assert len(loaded.assessments) == len(PAGES) and not loaded.problems
    embedder = FakeEmbedder()
    settings = Settings(corpus=corpus, index=root / "index", embedder="fake")
    index = build(loaded.assessments, embedder, settings.index, corpus_hash(corpus))
    return Assistant.create(settings, index, embedder, sessions=MemorySessionStore())


def ask(bot: Assistant, question: str, session: str | None = None):
    """The reply, checked against the invariants every reply must hold."""
    reply = bot.reply(question, session)
    assert invariant_violations(reply, bot) == [], question
    return reply


def title_of(reply) -> str:
    return f"{reply.citations[0].compound} for {reply.citations[0].condition}"


def titles_of(reply) -> list[str]:
    return [f"{c.compound} for {c.condition}" for c in reply.citations]
