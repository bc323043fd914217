"""Entity resolution: which compound and condition a question names, and which it names
that the corpus has no assessment of.

The lexicon is built from the fixture pages (invented compounds) plus the real seed page.
Pages made in code below use the site template with placeholder text: no medical claims.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from bot.entities import (
    FUZZY_MIN_LEN,
    Entities,
    Lexicon,
    Relation,
    Synonyms,
    compound_forms,
    condition_forms,
)
from bot.pages import Assessment, parse_page, parse_text
from bot.text import basic

FIXTURE_CORPUS = Path(__file__).parent / "fixtures" / "corpus"
SEED_PAGE = (
    Path(__file__).resolve().parents[1] / "corpus" / "ketamine-iv-esketamine--stage-iv-cancer.txt"
)

KETAMINE = "Ketamine (IV / Esketamine)"
BRIMADOL = "Brimadol (Low-Dose)"
ZELNOPRINE = "Zelnoprine (Oral / Inhaled)"
QUORVASTIN = "Quorvastin"
STAGE_IV_CANCER = "Stage IV Cancer"
TESTCASE = "Stage IV Testcase Syndrome"
FAKEITIS = "Chronic Fakeitis"


def _page(compound: str, condition: str) -> Assessment:
    """A small .txt page in the site template, with placeholder text only."""
    subject = f"{compound} for {condition}"
    text = f"""{subject}: Evidence Level Assessment

By Fixture Research Team

This is fixture text for tests about {compound} and {condition}.

Current Evidence Classification: {compound} + {condition}

Evidence level: Fixture level for tests

This evidence level is fixture text for tests.

Mechanistic Evidence

{compound} operates via: fixture pathway one; fixture pathway two

Medical Disclaimer: This fixture page is invented for tests and is not medical advice.
"""
    return parse_text(text, "txt", f"{compound}--{condition}.txt".lower().replace(" ", "-"))


@pytest.fixture(scope="module")
def assessments() -> list[Assessment]:
    pages = [*sorted(FIXTURE_CORPUS.iterdir()), SEED_PAGE]
    return [parse_page(p) for p in pages]


@pytest.fixture(scope="module")
def lexicon(assessments: list[Assessment]) -> Lexicon:
    return Lexicon.build(assessments)


def test_corpus_names_are_what_the_tests_expect(assessments: list[Assessment]) -> None:
    pairs = {(a.compound, a.condition) for a in assessments}
    assert pairs == {
        (KETAMINE, STAGE_IV_CANCER),
        (BRIMADOL, TESTCASE),
        (ZELNOPRINE, TESTCASE),
        (QUORVASTIN, FAKEITIS),
    }


# --- compounds --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("question", "compound"),
    [
        ("ketamine", KETAMINE),
        ("esketamine", KETAMINE),
        ("IV ketamine", KETAMINE),
        ("ketamine IV", KETAMINE),
        ("intravenous ketamine", KETAMINE),
        ("Ketamine's", KETAMINE),
        ("Ketamine’s evidence level", KETAMINE),
        ("KETAMINE", KETAMINE),
        ("What is the evidence for ketamine?", KETAMINE),
        ("brimadol", BRIMADOL),
        ("low dose brimadol", BRIMADOL),
        ("low-dose brimadol", BRIMADOL),
        ("Brimadol (Low-Dose)", BRIMADOL),
        ("zelnoprine", ZELNOPRINE),
        ("inhaled zelnoprine", ZELNOPRINE),
        ("oral zelnoprine", ZELNOPRINE),
        ("quorvastin", QUORVASTIN),
    ],
)
def test_compound_forms_resolve(lexicon: Lexicon, question: str, compound: str) -> None:
    entities = lexicon.resolve(question)
    assert entities.compounds == (compound,)
    assert entities.unknown_compounds == ()


@pytest.mark.parametrize(
    "question",
    [
        "IV",
        "iv",
        "oral",
        "inhaled",
        "low dose",
        "low-dose",
        "dose",
        "intravenous",
        "oral inhaled",
        "Is the IV form studied?",
        "what does low dose mean?",
    ],
)
def test_qualifiers_alone_never_name_a_compound(lexicon: Lexicon, question: str) -> None:
    assert lexicon.resolve(question).compounds == ()


def test_two_compounds_in_one_question(lexicon: Lexicon) -> None:
    entities = lexicon.resolve("Compare zelnoprine and brimadol for stage IV testcase syndrome")
    assert set(entities.compounds) == {ZELNOPRINE, BRIMADOL}
    assert entities.conditions == (TESTCASE,)


# --- conditions -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("question", "condition"),
    [
        ("stage IV cancer", STAGE_IV_CANCER),
        ("stage 4 cancer", STAGE_IV_CANCER),
        ("stage four cancer", STAGE_IV_CANCER),
        ("Stage-4 cancer", STAGE_IV_CANCER),
        ("stage 4b cancer", STAGE_IV_CANCER),
        ("metastatic cancer", STAGE_IV_CANCER),
        ("advanced cancer", STAGE_IV_CANCER),
        ("cancer", STAGE_IV_CANCER),
        ("cancers", STAGE_IV_CANCER),
        ("Chronic Fakeitis", FAKEITIS),
        ("fakeitis", FAKEITIS),
        ("stage IV testcase syndrome", TESTCASE),
        ("stage 4 testcase syndrome", TESTCASE),
    ],
)
def test_condition_forms_resolve(lexicon: Lexicon, question: str, condition: str) -> None:
    entities = lexicon.resolve(question)
    assert entities.conditions == (condition,)
    assert entities.unknown_conditions == ()


def test_compound_and_condition_together(lexicon: Lexicon) -> None:
    entities = lexicon.resolve("is ketamine any good for my stage 4 cancer?")
    assert entities == Entities(compounds=(KETAMINE,), conditions=(STAGE_IV_CANCER,))


@pytest.mark.parametrize("text", ["stage iv cancer", "stage 4 cancer", "IV ketamine", "ms terms"])
def test_normalise_is_idempotent(lexicon: Lexicon, text: str) -> None:
    # "stage 4" -> "stage iv" must not go on to become "stage intravenous" on a second pass,
    # or the page's own "Stage IV" and a question's "stage 4" would normalise differently.
    once = lexicon.normalise(text)
    assert lexicon.normalise(once) == once


def test_stage_iv_is_not_rewritten_as_the_route_iv(lexicon: Lexicon) -> None:
    assert lexicon.normalise("Stage IV cancer") == "stage iv cancer"
    assert lexicon.normalise("stage four cancer") == "stage iv cancer"
    assert lexicon.normalise("IV ketamine") == "intravenous ketamine"
    assert "stage iv cancer" in lexicon.conditions


# --- typos ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("question", "compound", "condition"),
    [
        ("ketamin", KETAMINE, None),
        ("esketamin", KETAMINE, None),
        ("zelnoprin", ZELNOPRINE, None),
        ("brimadl", BRIMADOL, None),
        ("quorvastn", QUORVASTIN, None),
        ("cancr", None, STAGE_IV_CANCER),
        ("fakeitus", None, FAKEITIS),
        ("is ketamin any good for stage 4 cancr", KETAMINE, STAGE_IV_CANCER),
    ],
)
def test_typos_resolve(
    lexicon: Lexicon, question: str, compound: str | None, condition: str | None
) -> None:
    entities = lexicon.resolve(question)
    assert entities.compounds == ((compound,) if compound else ())
    assert entities.conditions == ((condition,) if condition else ())


def test_short_words_are_not_fuzzily_matched() -> None:
    lex = Lexicon.build(
        [_page("Zolt", "Chronic Fakeitis"), _page("Quorvamin K", "Chronic Fakeitis")]
    )
    assert lex.resolve("zolt").compounds == ("Zolt",)
    assert lex.resolve("quorvamin k").compounds == ("Quorvamin K",)
    # a one-letter typo in a word under FUZZY_MIN_LEN letters is another word
    assert len("zolk") < FUZZY_MIN_LEN
    assert lex.resolve("zolk").compounds == ()
    assert lex.resolve("what about zolk").compounds == ()
    # ... also inside a longer name: "quorvamin j" is not "Quorvamin K"
    assert lex.resolve("quorvamin j").compounds == ()


@pytest.mark.parametrize(
    "question",
    [
        "what is the evidence",
        "can you help me",
        "tell me about studies",
        "What does this mean for patients?",
        "How do evidence levels change over time?",
        "Are there clinical trials?",
        "Is the evidence strong enough?",
        "What does level 2 mean?",
        "thanks, that was helpful",
        "how does it work",
        "what about the mechanism",
        "explain the hierarchy of evidence please",
        "stages of evidence",
        "answer the question",
        "cancel",
        "dancer",
        "change",
        "chance",
        "stamina",
        "oral history",
    ],
)
def test_common_words_produce_no_entities(lexicon: Lexicon, question: str) -> None:
    assert lexicon.resolve(question).empty, lexicon.resolve(question)


def test_words_of_the_pages_own_prose_are_not_compounds(
    lexicon: Lexicon, assessments: list[Assessment]
) -> None:
    # Every word a page uses (bar the names themselves) is a realistic false-positive probe.
    name_words = {w for a in assessments for w in lexicon.normalise(a.compound).split()}
    prose = " ".join(p for a in assessments for s in a.sections for p in s.paragraphs) + " ".join(
        f"{f.question} {f.answer}" for a in assessments for f in a.faqs
    )
    words = {w for w in re.findall(r"[a-z]+", prose.lower()) if len(w) >= 3} - name_words
    assert len(words) > 100
    false_hits = {w: lexicon.resolve(w).compounds for w in words if lexicon.resolve(w).compounds}
    assert false_hits == {}


# --- names the corpus lacks -------------------------------------------------------------


@pytest.mark.parametrize(
    ("question", "unknown"),
    [
        ("turmeric", "turmeric"),
        ("metformin", "metformin"),
        ("vitamin d", "vitamin d"),
        ("Vitamin-D", "vitamin d"),
        ("What is the evidence for turmeric in stage 4 cancer?", "turmeric"),
    ],
)
def test_unknown_compounds(lexicon: Lexicon, question: str, unknown: str) -> None:
    entities = lexicon.resolve(question)
    # named as the question wrote it ("Vitamin-D"), with the drug it is when that differs
    assert tuple(basic(u.partition(" (")[0]) for u in entities.unknown_compounds) == (unknown,)
    assert entities.compounds == ()


def test_vitamin_c_is_not_vitamin_d(lexicon: Lexicon) -> None:
    assert lexicon.resolve("vitamin c").unknown_compounds == ("vitamin c",)
    assert lexicon.resolve("vitamin d").unknown_compounds == ("vitamin d",)


def test_a_drug_word_naming_biology_is_no_compound(lexicon: Lexicon) -> None:
    # A drug followed by a word of the body's biology (bot/data/vocab/biology_words.txt)
    # names a target, not a compound: "the morphine pathway", "opioid receptor modulation".
    for question in (
        "what does the morphine pathway mean for ketamine?",
        "what does the opioid receptor modulation mean for ketamine?",
    ):
        entities = lexicon.resolve(question)
        assert entities.compounds == (KETAMINE,) and entities.unknown_compounds == ()
    assert lexicon.resolve("what does morphine mean for ketamine?").unknown_compounds == (
        "morphine",
    )


@pytest.mark.parametrize(
    ("question", "unknown"),
    [
        ("depression", "depression"),
        # earlier stages are not what a stage IV page covers
        ("stage 3 cancer", "stage iii cancer"),
        ("stage III cancer", "stage iii cancer"),
        ("stage two cancer", "stage ii cancer"),
        ("stage 1 cancer", "stage i cancer"),
        ("stage 2b cancer", "stage ii cancer"),
        ("stage 2 breast cancer", "stage ii breast cancer"),
        ("early stage breast cancer", "early stage breast cancer"),
    ],
)
def test_unknown_conditions(lexicon: Lexicon, question: str, unknown: str) -> None:
    entities = lexicon.resolve(question)
    assert tuple(basic(u) for u in entities.unknown_conditions) == (unknown,)
    assert STAGE_IV_CANCER not in entities.conditions
    assert entities.conditions == ()


@pytest.mark.parametrize(
    ("question", "mention"),
    [
        ("metastatic breast cancer", "metastatic breast cancer"),
        ("stage 4 breast cancer", "stage 4 breast cancer"),
        # a typo in either word still names breast cancer
        ("stage 4 brest cancer", "breast cancer"),
        ("metastatic breast cancr", "breast cancer"),
        ("my mom's stage iv pancreatic cancer", "stage iv pancreatic cancer"),
        ("advanced ovarian", "advanced ovarian"),
        ("lung cancer that has spread to the brain", "lung cancer"),
        ("colon cancer with mets to the liver", "colon cancer"),
        ("metastatic renal cell carcinoma", "metastatic renal cell carcinoma"),
        ("colorectal, and now it came back in her lungs", "colorectal"),
        ("bowel cancer that went to the liver", "bowel cancer"),
    ],
)
def test_a_specific_cancer_is_covered_by_the_stage_iv_page_in_general(
    lexicon: Lexicon, question: str, mention: str
) -> None:
    """A "Stage IV Cancer" page is about stage IV cancer in general: it fits a question
    about one cancer that has spread broadly (the answer says it is not specific to it)."""
    entities = lexicon.resolve(question)
    assert entities.conditions == (STAGE_IV_CANCER,)
    match = entities.match(STAGE_IV_CANCER)
    assert match is not None and match.relation is Relation.BROADER and not match.unstaged
    assert match.mention.lower() == mention
    assert entities.unknown_conditions == ()


@pytest.mark.parametrize(
    "question",
    ["breast cancer", "Does ketamine help with breast cancer?", "brest cancer", "glioblastoma"],
)
def test_a_cancer_with_no_stage_given_is_not_answered_by_the_stage_iv_page(
    lexicon: Lexicon, question: str
) -> None:
    """The stage IV page covers it only if it has spread, which the question does not say:
    the page is a fit to list (unstaged), not a condition to answer."""
    entities = lexicon.resolve(question)
    assert entities.conditions == ()
    match = entities.match(STAGE_IV_CANCER)
    assert match is not None and match.relation is Relation.BROADER and match.unstaged
    assert entities.unknown_conditions == ()


def test_unknown_condition_next_to_known_compound(lexicon: Lexicon) -> None:
    entities = lexicon.resolve("Is ketamine studied for depression?")
    assert entities.compounds == (KETAMINE,)
    assert entities.unknown_conditions == ("depression",)
    assert entities.conditions == ()


def test_known_name_wins_over_vocabulary(assessments: list[Assessment]) -> None:
    metformin = _page("Metformin", TESTCASE)
    assert metformin.compound == "Metformin"
    lex = Lexicon.build([*assessments, metformin])
    assert lex.resolve("metformin") == Entities(compounds=("Metformin",))
    assert lex.resolve("metfromin") == Entities(compounds=("Metformin",))
    # ... and so do the dictionary's other names for the same drug (its brands)
    assert lex.resolve("glucophage") == Entities(compounds=("Metformin",))
    # the other vocabulary is untouched
    assert lex.resolve("turmeric").unknown_compounds == ("turmeric",)


def test_known_condition_wins_over_vocabulary(assessments: list[Assessment]) -> None:
    lex = Lexicon.build([*assessments, _page(QUORVASTIN, "Depression")])
    assert lex.resolve("depression") == Entities(conditions=("Depression",))


def test_without_vocabulary_unknown_names_are_ignored(assessments: list[Assessment]) -> None:
    lex = Lexicon.build(assessments, vocabulary=False)
    assert lex.resolve("turmeric").empty
    assert lex.resolve("breast cancer").unknown_conditions == ()


# --- synonyms ---------------------------------------------------------------------------


def test_synonyms_parse() -> None:
    syn = Synonyms.parse(
        [
            "multiple sclerosis = MS",
            "stage iv = stage 4, Stage Four, metastatic",
            "no equals sign here",
            "# comment = ignored",
            "",
        ]
    )
    assert dict(syn.pairs) == {
        "ms": "multiple sclerosis",
        "stage 4": "stage iv",
        "stage four": "stage iv",
        "metastatic": "stage iv",
    }
    lengths = [len(v) for v, _ in syn.pairs]
    assert lengths == sorted(lengths, reverse=True)


def test_synonyms_ignore_an_empty_canonical_form() -> None:
    syn = Synonyms.parse(["= foo, bar", "baz = qux"])
    assert syn.pairs == (("qux", "baz"),)
    assert syn.apply("foo bar qux") == "foo bar baz"


def test_synonyms_apply_on_whole_words_only() -> None:
    syn = Synonyms.parse(["multiple sclerosis = ms", "low dose naltrexone = ldn"])
    assert syn.apply("ms") == "multiple sclerosis"
    assert (
        syn.apply("is ldn studied in ms") == "is low dose naltrexone studied in multiple sclerosis"
    )
    assert syn.apply("terms of the forms") == "terms of the forms"
    assert syn.apply("msg ms2 mss") == "msg ms2 mss"


def test_synonyms_longest_variant_first() -> None:
    syn = Synonyms.parse(["stage iv = stage 4", "end stage = end stage 4"])
    # "end stage 4" is one variant: it is not read as "end" + "stage 4"
    assert syn.apply("end stage 4 disease") == "end stage disease"
    assert syn.apply("stage 4 disease") == "stage iv disease"


def test_canonical_phrase_is_not_rewritten_by_a_shorter_variant() -> None:
    syn = Synonyms.parse(["stage iv = stage 4", "intravenous = iv"])
    assert syn.apply("stage iv") == "stage iv"
    assert syn.apply("stage 4") == "stage iv"
    assert syn.apply("iv infusion") == "intravenous infusion"
    assert syn.apply(syn.apply("stage 4 and iv")) == "stage iv and intravenous"


def test_synonyms_empty() -> None:
    syn = Synonyms.parse([])
    assert syn.pairs == ()
    assert syn.apply("anything at all") == "anything at all"


def test_default_synonyms_file() -> None:
    syn = Synonyms.load()
    assert syn.apply("ms") == "multiple sclerosis"
    assert syn.apply("stage 4") == "stage iv"
    assert syn.apply("terms") == "terms"


def test_synonyms_load_custom_file(tmp_path: Path, assessments: list[Assessment]) -> None:
    path = tmp_path / "synonyms.txt"
    path.write_text(
        "# staff notes: one group per line\n"
        "\n"
        "zelnoprine = zelnoprinum, ZPX-7\n"
        "  # an indented comment = not a group\n"
        "fakeitis = fake itis\n",
        encoding="utf-8",
    )
    syn = Synonyms.load(path)
    assert dict(syn.pairs) == {
        "zelnoprinum": "zelnoprine",
        "zpx 7": "zelnoprine",
        "fake itis": "fakeitis",
    }
    lex = Lexicon.build(assessments, synonyms=syn)
    assert lex.resolve("Is ZPX-7 studied?").compounds == (ZELNOPRINE,)
    assert lex.resolve("zelnoprinum").compounds == (ZELNOPRINE,)
    assert lex.resolve("fake itis").conditions == (FAKEITIS,)
    # a custom file replaces the default one
    assert lex.resolve("stage 4 testcase syndrome").conditions == (TESTCASE,)
    assert lex.normalise("ms") == "ms"


# --- forms ------------------------------------------------------------------------------


def test_compound_forms_of_a_name_with_route_and_alternative() -> None:
    forms = compound_forms(KETAMINE)
    assert {"ketamine", "esketamine", "iv ketamine", "ketamine iv"} <= forms
    assert not forms & {"iv", "intravenous", ""}


def test_compound_forms_of_a_name_with_a_dose_qualifier() -> None:
    forms = compound_forms(BRIMADOL)
    assert {"brimadol", "low dose brimadol", "brimadol low dose"} <= forms
    assert not forms & {"low", "dose", "low dose"}


def test_compound_forms_of_a_name_with_two_routes() -> None:
    forms = compound_forms(ZELNOPRINE)
    assert {"zelnoprine", "oral zelnoprine", "inhaled zelnoprine", "zelnoprine oral"} <= forms
    assert not forms & {"oral", "inhaled", "oral inhaled"}


def test_compound_forms_of_plain_and_leading_qualifier_names() -> None:
    assert compound_forms(QUORVASTIN) == {"quorvastin"}
    assert compound_forms("Low-Dose Brimadol") == {"low dose brimadol", "brimadol"}
    assert compound_forms("Zelnoprine (Oral, Inhaled or Topical)") >= {
        "zelnoprine",
        "oral zelnoprine",
        "topical zelnoprine",
    }


@pytest.mark.parametrize(
    ("name", "forms"),
    [
        (STAGE_IV_CANCER, {"stage iv cancer", "cancer"}),
        (FAKEITIS, {"chronic fakeitis", "fakeitis"}),
        (TESTCASE, {"stage iv testcase syndrome", "testcase"}),
        # generic heads alone never identify a condition
        ("Chronic Syndrome", {"chronic syndrome"}),
        # a short head is too ambiguous on its own
        ("Stage IV Abc", {"stage iv abc"}),
    ],
)
def test_condition_forms(name: str, forms: set[str]) -> None:
    assert condition_forms(name) == forms


def test_entities_empty() -> None:
    assert Entities().empty
    assert not Entities(unknown_conditions=("depression",)).empty


def test_a_negation_reaches_no_further_than_its_sentence(lexicon: Lexicon) -> None:
    assert lexicon.analyse("I'm not asking about quorvastin").entities.compounds == ()
    question = "I'm sick of things that don't work. Has quorvastin been tested in trials?"
    assert lexicon.analyse(question).entities.compounds == (QUORVASTIN,)
    assert lexicon.analyse("Not this one! quorvastin please").entities.compounds == (QUORVASTIN,)
