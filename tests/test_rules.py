"""Rules as data (bot/data/rules/*.yaml): each file compiles, and every rule does what its
own examples and counterexamples say. The tests are generated from the records, so a rule
added to a file is tested by the examples written with it."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot import rules
from bot.entities import Lexicon
from bot.pages import Assessment, parse_page
from bot.retrieval import intent_of
from bot.settings import ROOT
from bot.text import basic
from bot.triage.rules import plain

FIXTURES = Path(__file__).parent / "fixtures" / "corpus"


@pytest.fixture(scope="module")
def lexicon() -> Lexicon:
    pages: list[Assessment] = [parse_page(p) for p in sorted(FIXTURES.iterdir())]
    pages.append(parse_page(ROOT / "corpus" / "ketamine-iv-esketamine--stage-iv-cancer.txt"))
    return Lexicon.build(pages)


def _cases(name: str, field: str) -> list[tuple[str, str]]:
    return [
        pytest.param(rule.id, text, id=f"{rule.id}: {text}")
        for rule in rules.load(name)
        for text in getattr(rule, field)
    ]


@pytest.mark.parametrize("name", rules.RULE_FILES)
def test_every_rule_file_compiles_with_unique_ids_and_examples(name: str) -> None:
    loaded = rules.load(name)
    assert loaded and len({r.id for r in loaded}) == len(loaded)
    for rule in loaded:
        assert rule.note and rule.examples and rule.counterexamples, rule.id


def test_a_bad_record_is_refused_with_its_place() -> None:
    with pytest.raises(rules.RuleError, match="record 2: needs id, kind and pattern"):
        rules.compile_rules([{"id": "a", "kind": "k", "pattern": "x"}, {"id": "b"}])
    with pytest.raises(rules.RuleError, match="duplicate id 'a'"):
        rules.compile_rules([{"id": "a", "kind": "k", "pattern": "x"}] * 2)
    with pytest.raises(rules.RuleError, match=r"\(a\): bad pattern"):
        rules.compile_rules([{"id": "a", "kind": "k", "pattern": "("}])


def test_concepts_expand_into_patterns_and_unknown_ones_are_refused() -> None:
    known = {"FRUIT": "(?:apples?|pears?)"}
    (rule,) = rules.compile_rules(
        [
            {
                "id": "a",
                "kind": "k",
                "pattern": r"\bi\s+like\s+{FRUIT}\b",
                "unless": r"{FRUIT}\s+pie",
            }
        ],
        known=known,
    )
    assert rule.matches("i like pears") and not rule.matches("i like apples pie")
    assert not rule.matches("i like plums")
    with pytest.raises(rules.RuleError, match=r"unknown concept \{VEG\}"):
        rules.compile_rules([{"id": "a", "kind": "k", "pattern": "{VEG}"}], known=known)
    # Regex repetition braces are not concepts.
    (counted,) = rules.compile_rules([{"id": "b", "kind": "k", "pattern": r"a{2,3}"}])
    assert counted.matches("aaa")


def test_every_shipped_concept_is_used_by_some_rule() -> None:
    used = {
        name
        for file in rules.RULE_FILES
        for record in rules.records(file)
        for field in ("pattern", "unless")
        for part in (
            [record.get(field)] if isinstance(record.get(field), str) else record.get(field) or []
        )
        for name in rules.CONCEPT.findall(part)
    }
    assert set(rules.concepts()) == used


def _rule(rule_id: str, name: str) -> rules.Rule:
    return next(r for r in rules.load(name) if r.id == rule_id)


def _kind(rule_id: str, name: str) -> str:
    return _rule(rule_id, name).kind


@pytest.mark.parametrize(("rule_id", "text"), _cases("intents", "examples"))
def test_intent_examples(lexicon: Lexicon, rule_id: str, text: str) -> None:
    # Through the shared normaliser: "how does ketamin wrk" is read as "work".
    assert intent_of(lexicon.normalise_message(text)) == _kind(rule_id, "intents")


@pytest.mark.parametrize(("rule_id", "text"), _cases("intents", "counterexamples"))
def test_intent_counterexamples(lexicon: Lexicon, rule_id: str, text: str) -> None:
    assert intent_of(lexicon.normalise_message(text)) != _kind(rule_id, "intents")


@pytest.mark.parametrize(("rule_id", "text"), _cases("name_slots", "examples"))
def test_name_slot_examples(lexicon: Lexicon, rule_id: str, text: str) -> None:
    question, _, name = text.partition(" => ")
    entities = lexicon.resolve(question)
    kind = _kind(rule_id, "name_slots")
    found = entities.unknown_compounds if kind == "compound" else entities.unknown_conditions
    assert [basic(f.partition(" (")[0]) for f in found] == [name], entities


@pytest.mark.parametrize(("rule_id", "text"), _cases("name_slots", "counterexamples"))
def test_name_slot_counterexamples(lexicon: Lexicon, rule_id: str, text: str) -> None:
    entities = lexicon.resolve(text)
    kind = _kind(rule_id, "name_slots")
    found = entities.unknown_compounds if kind == "compound" else entities.unknown_conditions
    assert found == (), entities


# Questions about what every page shares, read as the routing reads them (first match).
@pytest.mark.parametrize(("rule_id", "text"), _cases("info", "examples"))
def test_info_examples(lexicon: Lexicon, rule_id: str, text: str) -> None:
    found = rules.first(rules.load("info"), lexicon.normalise_message(text).folded)
    assert found is not None and found.kind == _kind(rule_id, "info"), found


@pytest.mark.parametrize(("rule_id", "text"), _cases("info", "counterexamples"))
def test_info_counterexamples(lexicon: Lexicon, rule_id: str, text: str) -> None:
    found = rules.first(rules.load("info"), lexicon.normalise_message(text).folded)
    assert found is None or found.id != rule_id, found


# Frames are read on the plain folded text of a sentence, as the semantic layer reads them.
@pytest.mark.parametrize(("rule_id", "text"), _cases("frames", "examples"))
def test_frame_examples(rule_id: str, text: str) -> None:
    assert _rule(rule_id, "frames").matches(plain(text))


@pytest.mark.parametrize(("rule_id", "text"), _cases("frames", "counterexamples"))
def test_frame_counterexamples(rule_id: str, text: str) -> None:
    assert not _rule(rule_id, "frames").matches(plain(text))


def test_keywords_are_the_typo_targets(lexicon: Lexicon) -> None:
    assert {"work", "mechanism", "trials", "evidence"} <= rules.keywords()
    n = lexicon.normalise_message("how does it wrk, any triels?")
    assert ("wrk", "work") in n.corrections and ("triels", "trials") in n.corrections
