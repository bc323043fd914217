"""The one text pipeline: folding, keyword typos, synonyms, clauses, negation scopes."""

from __future__ import annotations

import pytest

from bot.text import NegationRules, Normaliser, Speller, Synonyms, basic, fold


@pytest.fixture(scope="module")
def normaliser() -> Normaliser:
    english = {"does", "dose", "work", "help", "she", "have", "it"}
    speller = Speller({"work", "mechanism", "trials", "does"}, lambda w: w in english)
    return Normaliser(Synonyms.load(), NegationRules.load(), speller)


def test_fold_and_basic() -> None:
    assert fold("Ketamine’s ‘EVIDENCE’ — level") == "ketamine's 'evidence' - level"
    assert basic("Ketamine’s Low-Dose (IV)") == "ketamine low dose iv"
    assert basic("zero\u200bwidth") == "zerowidth"


def test_keyword_typos_are_corrected_and_remembered(normaliser: Normaliser) -> None:
    n = normaliser.normalise("How does it wrk? Any triels, mechansim?")
    assert "how does it work" in n.folded and "trials" in n.folded
    assert ("wrk", "work") in n.corrections and ("mechansim", "mechanism") in n.corrections
    # a word of its own is never "corrected" into another: dose is not does
    assert normaliser.normalise("what dose").corrections == ()
    assert normaliser.normalise("what dose").folded == "what dose"


def test_a_word_with_a_letter_beyond_english_is_never_corrected_in_pieces(
    normaliser: Normaliser,
) -> None:
    # read in pieces, "mechansimé" had its "mechansim" corrected; "está" as "est" + "á" once
    # became "seta", and a Spanish emergency rule could no longer read it.
    for text in ("mechansimé", "no está respirando", "wrké"):
        n = normaliser.normalise(text)
        assert n.corrections == () and n.folded == fold(text)


def test_synonyms_apply_to_terms_not_to_the_folded_text(normaliser: Normaliser) -> None:
    n = normaliser.normalise("Metastatic cancer, stage 4")
    assert n.terms == ("stage", "iv", "cancer", "stage", "iv")
    assert n.folded == "metastatic cancer, stage 4"


def test_the_compound_and_the_stage_as_other_languages_write_them(
    normaliser: Normaliser,
) -> None:
    n = normaliser.normalise("nível de evidência da cetamina para câncer em estágio IV")
    assert "ketamine" in n.terms and " stage iv " in f" {' '.join(n.terms)} "
    assert "ketamine" in normaliser.normalise("la ketamina en estadio 4").terms


def test_sentences_clauses_and_questions(normaliser: Normaliser) -> None:
    n = normaliser.normalise("My wife has it, sadly. Does ketamine help? tell me")
    assert n.sentences == ("my wife has it, sadly", "does ketamine help", "tell me")
    assert n.asking == (False, True, True)
    assert len(set(n.clause)) == 4  # "sadly" is a clause of its own
    assert n.sentence[n.terms.index("ketamine")] == 1


def test_a_question_after_a_word_or_two_of_lead_in_still_asks(normaliser: Normaliser) -> None:
    n = normaliser.normalise("my mate reckons it. seriously though what's the evidence. hey so how")
    assert n.asking == (False, True, True)
    assert normaliser.normalise("honestly i think the level is fine").asking == (False,)


def _negated(normaliser: Normaliser, text: str) -> set[str]:
    n = normaliser.normalise(text)
    return {t for t, flag in zip(n.terms, n.negated, strict=True) if flag}


@pytest.mark.parametrize(
    ("text", "negated", "kept"),
    [
        ("I don't have cancer, just the depression", {"cancer"}, {"depression"}),
        ("I've never been diagnosed with cancer, how does it work?", {"cancer"}, {"work"}),
        ("she doesn't have glioblastoma it's colon cancer", {"glioblastoma"}, {"colon"}),
        ("not for cancer but for depression", {"cancer"}, {"depression"}),
        ("my depression has nothing to do with cancer", {"cancer"}, {"depression"}),
        ("she is cancer free now", {"cancer"}, {"now"}),
        ("I'm not sure if the cancer spread", set(), {"cancer"}),
        ("isn't ketamine approved for depression?", set(), {"ketamine", "depression"}),
        ("Doesn't it help with anxiety?", set(), {"anxiety"}),
    ],
)
def test_negation_by_scope(
    normaliser: Normaliser, text: str, negated: set[str], kept: set[str]
) -> None:
    found = _negated(normaliser, text)
    assert negated <= found and not (kept & found), found


def test_a_negation_ends_with_its_sentence(normaliser: Normaliser) -> None:
    assert "quorvastin" not in _negated(
        normaliser, "Things that don't work. Has quorvastin been tested?"
    )
