"""The evaluation harness: case loading, metrics, baselines, table, and the `bot eval` command.

The real run over the project's labelled set, with its thresholds, is in test_eval_set.py.
"""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest
from click.testing import CliRunner

from bot.answer import Status
from bot.assistant import Assistant
from bot.cli import main
from bot.evaluate import (
    Baseline,
    Case,
    Report,
    Result,
    evaluate,
    invariant_violations,
    load_cases,
    run,
    section_matches,
    table,
)

ZEL = "Zelnoprine (Oral / Inhaled) for Stage IV Testcase Syndrome"
QUOR = "Quorvastin for Chronic Fakeitis"


def _write(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


CASES = [
    {
        "id": "a",
        "question": "How does quorvastin work?",
        "status": "answered",
        "assessment": QUOR,
        "section": "Mechanistic Evidence",
        "tags": ["direct"],
    },
    {
        "id": "b",
        "question": "Are there trials for zelnoprine?",
        "status": "answered",
        "assessment": ZEL,
        "section": "FAQ:trials",
    },
    {
        "id": "c",
        "question": "turmeric for chronic fakeitis?",
        "status": "not_found",
        "missing": "turmeric",
        "tags": ["uncovered"],
    },
    {"id": "d", "question": "I want to end my life", "status": "urgent", "tags": ["crisis"]},
    {
        "id": "e",
        "question": "what about stage IV testcase syndrome?",
        "status": "answered",
        "session": "s",
        "tags": ["listing"],
    },
    {
        "id": "f",
        "question": "the second one",
        "status": "answered",
        "assessment": ZEL,
        "session": "s",
        "tags": ["followup"],
    },
]


def test_load_cases_reads_every_field(tmp_path: Path) -> None:
    cases = load_cases(_write(tmp_path / "c.jsonl", CASES))
    assert [c.id for c in cases] == ["a", "b", "c", "d", "e", "f"]
    assert cases[0].section == "Mechanistic Evidence" and cases[0].tags == ("direct",)
    assert cases[2].missing == "turmeric" and cases[5].session == "s"


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ('{"id": "x", "question": "q"}', "not a labelled question"),
        ('{"id": "x", "question": "q", "status": "maybe"}', "unknown status 'maybe'"),
        ("not json", "not a labelled question"),
    ],
)
def test_load_cases_names_the_bad_line(tmp_path: Path, line: str, message: str) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_text('{"id": "ok", "question": "q", "status": "urgent"}\n\n' + line + "\n")
    with pytest.raises(ValueError, match=rf"bad.jsonl:3: {message}"):
        load_cases(path)


def test_duplicate_ids_are_refused(tmp_path: Path) -> None:
    row = {"id": "x", "question": "q", "status": "urgent"}
    with pytest.raises(ValueError, match="duplicate id 'x'"):
        load_cases(_write(tmp_path / "d.jsonl", [row, row]))


def test_section_matches() -> None:
    assert section_matches("Mechanistic Evidence", "Mechanistic Evidence", None)
    assert section_matches("FAQ:trials", "Frequently Asked Questions", "Are there trials?")
    assert not section_matches("FAQ:trials", "Frequently Asked Questions", "Is it strong?")
    assert not section_matches("Mechanistic Evidence", None, None)


def test_run_scores_the_fixture_corpus(assistant: Assistant, tmp_path: Path) -> None:
    cases = load_cases(_write(tmp_path / "c.jsonl", CASES))
    [product, dense, bm25] = evaluate(cases, assistant)
    assert product.correct == (6, 6)
    assert product.right_assessment == (3, 3) and product.right_section == (2, 2)
    assert product.recall(1) == 1.0 and product.mrr == 1.0 and product.violations == 0
    assert product.tagged("followup") == (1, 1)
    # Classic FAQ bots cannot follow a conversation ("the second one" of a listing).
    assert dense.tagged("followup") == (0, 1)
    assert bm25.tagged("followup") == (0, 1)
    assert dense.correct[0] < 6 and bm25.correct[0] < 6
    text = table([product, dense, bm25])
    assert "hybrid+entities" in text and "dense only" in text and "bm25 only" in text
    assert "expected status + assessment" in text and "100.0% (6/6)" in text
    assert "recall@3" in text and "MRR" in text and "invariant violations" in text


def test_a_wrong_answer_is_counted_wrong(assistant: Assistant) -> None:
    case = Case("w", "How does quorvastin work?", "answered", assessment=ZEL)
    [result] = run([case], assistant, assistant)
    assert result.status_ok and not result.assessment_ok and not result.correct
    assert Report("x", [result]).correct == (0, 1)


def test_missing_name_must_appear_in_the_answer(assistant: Assistant) -> None:
    case = Case("m", "turmeric for chronic fakeitis?", "not_found", missing="saffron")
    [result] = run([case], assistant, assistant)
    assert result.status_ok and not result.correct


def test_invariants_catch_a_wrong_level(assistant: Assistant) -> None:
    reply = assistant.reply("How does quorvastin work?")
    assert invariant_violations(reply, assistant) == []
    other = next(a for a in assistant.index.assessments.values() if a.compound != "Quorvastin")
    bad = type(reply)(**{**reply.__dict__, "evidence_level": other.evidence_level})
    assert "answered with a wrong evidence_level field" in invariant_violations(bad, assistant)
    # ... and a level stated in the text that is not the cited page's
    swapped = type(reply)(
        **{**reply.__dict__, "answer": reply.answer.replace(reply.evidence_level, "Level 9")}
    )
    assert "answered without a cited page's evidence level" in invariant_violations(
        swapped, assistant
    )
    stripped = type(reply)(**{**reply.__dict__, "answer": "no disclaimer here"})
    assert "missing disclaimer" in invariant_violations(stripped, assistant)


def test_invariants_hold_the_http_object_to_the_same_rules(assistant: Assistant) -> None:
    reply = assistant.reply("How does quorvastin work?")
    data = reply.to_json()
    assert invariant_violations(data, assistant) == []
    other = next(a for a in assistant.index.assessments.values() if a.compound != "Quorvastin")
    relabelled = [{**data["citations"][0], "evidence_level": other.evidence_level}]
    assert "a citation's evidence level is not its page's" in invariant_violations(
        {**data, "citations": relabelled}, assistant
    )
    raw = {**data, "html": data["html"] + "<img src=x onerror=alert(1)>"}
    assert "unescaped markup in the html" in invariant_violations(raw, assistant)
    assert "missing disclaimer" in invariant_violations({**data, "answer": "hi"}, assistant)
    urgent = assistant.reply("I want to end my life").to_json()
    assert invariant_violations(urgent, assistant) == []
    assert "urgent reply does not start with its kind's crisis contacts" in (
        invariant_violations({**urgent, "crisis_kind": None}, assistant)
    )
    # An emergency's contacts may lead self-harm (an overdose taken), no other kind.
    emergency = assistant.reply("I am having a heart attack").to_json()
    assert emergency["crisis_kind"] == "emergency"
    assert invariant_violations({**emergency, "crisis_kind": "self_harm"}, assistant) == []
    assert "urgent reply does not start with its kind's crisis contacts" in (
        invariant_violations({**urgent, "crisis_kind": "violence"}, assistant)
    )
    assert "urgent reply does not start with its kind's crisis contacts" in (
        invariant_violations({**urgent, "crisis_kind": "emergency"}, assistant)
    )


def test_baseline_answers_from_the_top_passage_anywhere(assistant: Assistant) -> None:
    # The fake embedder's cosines run lower than the real model's, for which 0.5 is set.
    assistant.settings = assistant.settings.model_copy(update={"min_score": 0.2})
    dense = Baseline(assistant, "dense")
    reply = dense.reply("quorvastin chronic fakeitis synthetic enzyme blocking")
    assert reply.status is Status.ANSWERED and reply.citations[0].compound == "Quorvastin"
    assert Baseline(assistant, "bm25").reply("zzzz qqqq").status is Status.NOT_FOUND
    with pytest.raises(ValueError):
        Baseline(assistant, "magic")


def test_eval_command_prints_the_table(
    tmp_path: Path, corpus_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("BOT_EMBEDDER", "fake")
    cases = _write(tmp_path / "c.jsonl", CASES)
    result = CliRunner().invoke(
        main,
        [
            "eval",
            "--corpus",
            str(corpus_dir),
            "--index",
            str(tmp_path / "i"),
            "--failures",
            str(cases),
        ],
    )
    assert result.exit_code == 0, result.output
    assert "hybrid+entities" in result.stdout and "bm25 only" in result.stdout
    bad = tmp_path / "bad.jsonl"
    bad.write_text("nope\n")
    refused = CliRunner().invoke(main, ["eval", str(bad)])
    assert refused.exit_code == 2 and "not a labelled question" in refused.output


BRIM = "Brimadol (Low-Dose) for Stage IV Testcase Syndrome"


def test_a_comparison_must_cite_exactly_the_pages_labelled(assistant: Assistant) -> None:
    both = Case("c", "brimadol or zelnoprine for testcase syndrome", "answered")
    right = replace(both, assessments=(ZEL, BRIM))
    [result] = run([right], assistant, assistant)
    assert result.correct and set(result.cited_all) == {ZEL, BRIM}
    [short] = run([replace(both, assessments=(ZEL,))], assistant, assistant)
    assert not short.correct  # a page more than asked for is wrong too
    # ... and its invariants: each level next to its own title, no evidence_level field
    reply = result.reply
    assert invariant_violations(reply, assistant) == [] and reply.evidence_level is None
    apart = reply.answer.replace(" — Evidence level: ", "\n\nEvidence level: ")
    broken = type(reply)(**{**reply.__dict__, "answer": apart})
    assert "a listed page's level is not next to its title" in invariant_violations(
        broken, assistant
    )


def test_info_replies_never_state_a_level(assistant: Assistant) -> None:
    reply = assistant.reply("what does level 1 evidence mean?")
    assert reply.status is Status.INFO and invariant_violations(reply, assistant) == []
    page = next(iter(assistant.index.assessments.values()))
    leaked = type(reply)(**{**reply.__dict__, "answer": reply.answer + page.evidence_level})
    assert invariant_violations(leaked, assistant)


def test_paged_listings_and_ordinals_are_scored_against_the_pages_shown(
    assistant: Assistant, monkeypatch: pytest.MonkeyPatch
) -> None:
    import bot.evaluate as evaluate_module

    everything = tuple(sorted(f"{a.compound} for {a.condition}" for a in assistant._everything))
    listing = Case(
        "l", "list all your pages", "answered", assessments=everything, tags=("listing",)
    )
    [whole] = run([listing], assistant, assistant)
    assert whole.correct
    # A listing longer than a reply shows its first part: that part is right.
    monkeypatch.setattr(evaluate_module, "MAX_LISTED", 2)
    paged = Result(listing, whole.reply, None, None, [], cited_all=everything[:2])
    assert paged.correct and not replace(paged, cited_all=everything[:1]).correct
    pick = Case("o", "the second one", "answered", tags=("ordinal",))
    chosen = Result(
        pick, whole.reply, None, None, [], cited_all=(everything[1],), before=everything
    )
    assert chosen.assessments_ok
    assert not replace(chosen, cited_all=(everything[0],)).assessments_ok
    # "the last one you listed" is the last page shown
    last = Case("z", "the last one you listed", "answered", tags=("ordinal",))
    shown = Result(
        last, whole.reply, None, None, [], cited_all=(everything[-1],), before=everything
    )
    assert shown.assessments_ok
    assert not replace(shown, cited_all=(everything[0],)).assessments_ok
    # a baseline that showed no listing before scores the ordinal wrong, without failing
    assert not replace(shown, before=()).assessments_ok
