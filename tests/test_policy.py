"""The answer policy (bot/policy.py), end to end over pages whose condition titles need
reading: specific and general cancer pages, conditions named the way a site titles them
("Cancer-Related Anxiety and Depression", "Cancer Pain", "Chemotherapy-Induced
Nausea"), and brands given in a title or an introduction. Invented compounds only."""

from __future__ import annotations

import pytest

from bot.assistant import Assistant
from bot.dialogue import MemorySessionStore
from bot.embedding import FakeEmbedder
from bot.evaluate import invariant_violations
from bot.index import build
from bot.model import Entities, Relation, Status
from bot.pages import corpus_hash, load_corpus
from bot.policy import Catalogue, Verdict, decide
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


@pytest.fixture(scope="module")
def bot(tmp_path_factory: pytest.TempPathFactory) -> Assistant:
    root = tmp_path_factory.mktemp("policy")
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


def _ask(bot: Assistant, question: str, session: str | None = None):
    reply = bot.reply(question, session)
    assert invariant_violations(reply, bot) == [], question
    return reply


def _title(reply) -> str:
    return f"{reply.citations[0].compound} for {reply.citations[0].condition}"


@pytest.mark.parametrize(
    ("question", "page"),
    [
        # a page for the specific condition wins over the general one
        ("velbrazine for glioblastoma", "Velbrazine (Velbrex) for Glioblastoma"),
        ("is velbrex any good for gbm?", "Velbrazine (Velbrex) for Glioblastoma"),
        # brands: in the title's brackets, in the introduction
        ("Velbrex for metastatic cancer", "Velbrazine (Velbrex) for Stage IV Cancer"),
        ("Orvanta for cancer pain", "Orvantide for Cancer Pain"),
        # conditions as the pages title them
        (
            "pemtarol for anxiety in cancer patients",
            "Pemtarol for Cancer-Related Anxiety and Depression",
        ),
        (
            "does pemtarol help depression after a cancer diagnosis",
            "Pemtarol for Cancer-Related Anxiety and Depression",
        ),
        ("orvantide for the pain from my cancer", "Orvantide for Cancer Pain"),
        ("kelvadine for nausea from chemo", "Kelvadine for Chemotherapy-Induced Nausea"),
        ("kelvadine for pancreatic cancer", "Kelvadine for Metastatic Pancreatic Cancer"),
        ("talmexin for MS", "Talmexin for Multiple Sclerosis"),
        # a stage alone: the pages about stage IV disease
        ("velbrazine stage 4", "Velbrazine (Velbrex) for Stage IV Cancer"),
        ("kelvadine for stage 4", "Kelvadine for Metastatic Pancreatic Cancer"),
    ],
)
def test_the_page_that_fits_best_is_answered(bot: Assistant, question: str, page: str) -> None:
    reply = _ask(bot, question)
    assert reply.status is Status.ANSWERED and _title(reply) == page


def test_a_general_page_says_it_is_not_specific(bot: Assistant) -> None:
    reply = _ask(bot, "velbrazine for my dad's stage 4 lung cancer")
    assert _title(reply) == "Velbrazine (Velbrex) for Stage IV Cancer"
    assert (
        "This assessment is about Stage IV Cancer in general; it is not specific to "
        "stage 4 lung cancer." in reply.answer
    )
    specific = _ask(bot, "velbrazine for glioblastoma")
    assert "not specific" not in specific.answer
    # ... and the general page is offered next to the specific one
    assert any("Stage IV Cancer" in s for s in specific.suggestions)


def test_a_narrower_page_says_what_it_is_about(bot: Assistant) -> None:
    reply = _ask(bot, "pemtarol - not for cancer, for depression")
    assert _title(reply) == "Pemtarol for Treatment-Resistant Depression"
    assert "specifically, not depression in general" in reply.answer


@pytest.mark.parametrize(
    ("question", "missing"),
    [
        ("talmexin for diabetes", "Talmexin for diabetes"),
        ("kelvadine for motion sickness", "Kelvadine for motion sickness"),
        ("velbrazine for stage 2 breast cancer", "Velbrazine (Velbrex) for stage II breast cancer"),
        ("talmexin for stage 4 cancer", "Talmexin for stage 4 cancer"),
        ("does norvaxil help glioblastoma?", "norvaxil"),
        ("Keytruda for glioblastoma", "Keytruda (pembrolizumab)"),
    ],
)
def test_what_no_page_covers_is_not_found(bot: Assistant, question: str, missing: str) -> None:
    reply = _ask(bot, question)
    assert reply.status is Status.NOT_FOUND
    assert f"We have no assessment of {missing}" in reply.answer


def test_a_condition_alone_lists_the_pages_specific_first(bot: Assistant) -> None:
    reply = _ask(bot, "anything for glioblastoma?")
    assert reply.status is Status.ANSWERED and reply.template == "answered_listing"
    titles = [f"{c.compound} for {c.condition}" for c in reply.citations]
    assert titles[0] == "Velbrazine (Velbrex) for Glioblastoma"
    assert "Velbrazine (Velbrex) for Stage IV Cancer" in titles
    assert "Kelvadine for Metastatic Pancreatic Cancer" not in titles  # another cancer


def test_a_compound_alone(bot: Assistant) -> None:
    assert _ask(bot, "velbrazine").status is Status.CLARIFY
    listed = _ask(bot, "what do you have on pemtarol?")
    assert listed.status is Status.ANSWERED and len(listed.citations) == 2
    assert _title(_ask(bot, "orvantide")) == "Orvantide for Cancer Pain"


def test_a_follow_up_about_it_keeps_the_compound(bot: Assistant) -> None:
    first = _ask(bot, "talmexin for ms")
    again = _ask(bot, "could it help my dad's stage 4 lung cancer?", first.session_id)
    assert again.status is Status.NOT_FOUND and "Talmexin for stage 4 lung cancer" in again.answer
    first = _ask(bot, "orvantide for my mom's cancer pain")
    dose = _ask(bot, "can she take it together with her morphine?", first.session_id)
    assert dose.status is Status.DECLINED and _title(dose) == "Orvantide for Cancer Pain"


def test_decide_names_the_rule_of_each_decision(bot: Assistant) -> None:
    catalogue = Catalogue.of(bot.index.assessments.values())
    assert decide(Entities(unknown_compounds=("x",)), catalogue).rule == "unknown-compound"
    assert decide(Entities(), catalogue).rule == "no-names"
    d = decide(Entities(compounds=("Talmexin",), unknown_conditions=("gout",)), catalogue)
    assert (d.verdict, d.rule, d.missing) == (
        Verdict.NOT_FOUND,
        "unknown-condition",
        "Talmexin for gout",
    )
    d = decide(Entities(compounds=("Orvantide",)), catalogue)
    assert (d.verdict, d.rule) == (Verdict.ANSWER, "compound-only")
    reply = bot.reply("velbrazine for my stage 4 lung cancer")
    assert reply.trace.policy == "pair"
    assert reply.trace.conditions[0]["relation"] == Relation.BROADER.name.lower()
