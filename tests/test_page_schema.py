"""The page schema as data (bot/data/page_schema.yaml): it compiles, every heading alias
maps to its section kind and every counterexample does not (the tests are generated from
the file's own examples), the pages of the corpus and the fixtures are read by it, and a
section's kind goes with it from the parser into the index, whatever the heading says."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bot import page_schema
from bot.chunks import Passage, chunk
from bot.model import SectionKind
from bot.page_schema import SchemaError, compile_schema
from bot.pages import PAGE_SUFFIXES, PageError, PageSummary, parse_page, parse_text
from bot.resources import read_yaml
from bot.settings import ROOT

SCHEMA = page_schema.load()
FIXTURES = Path(__file__).parent / "fixtures"


def _cases(field: str) -> list:
    return [
        pytest.param(spec.kind, text, id=f"{spec.kind}: {text}")
        for spec in SCHEMA.specs.values()
        for text in (getattr(spec, field) + (spec.aliases if field == "examples" else ()))
    ]


def test_every_kind_has_a_record_with_a_note_and_examples() -> None:
    assert set(SCHEMA.specs) == set(SectionKind) - {SectionKind.OTHER}
    for spec in SCHEMA.specs.values():
        assert spec.note and spec.examples and spec.counterexamples, spec.kind
    assert SCHEMA.untitled.kind is SectionKind.INTRODUCTION


@pytest.mark.parametrize(("kind", "heading"), _cases("examples"))
def test_an_example_heading_is_of_its_kind(kind: SectionKind, heading: str) -> None:
    assert SCHEMA.kind_of(heading) is kind


@pytest.mark.parametrize(("kind", "heading"), _cases("counterexamples"))
def test_a_counterexample_is_not_of_the_kind(kind: SectionKind, heading: str) -> None:
    assert SCHEMA.kind_of(heading) is not kind


def test_the_template_headings_are_of_their_own_kind() -> None:
    for spec in SCHEMA.specs.values():
        assert SCHEMA.kind_of(spec.written("Orsecanib", "Stage IV Cancer")) is spec.kind


def test_every_heading_of_the_shipped_and_fixture_pages_has_a_kind() -> None:
    """The real page and every fixture page are written to the template: a heading the
    schema does not know there means an alias is missing."""
    pages = [p for root in (ROOT / "corpus", FIXTURES) for p in sorted(root.rglob("*"))]
    seen = 0
    for path in pages:
        if path.suffix.lower() not in PAGE_SUFFIXES or "bad" in path.parts:
            continue
        try:
            page = parse_page(path)
        except PageError:
            continue
        seen += 1
        kinds = [s.kind for s in page.sections]
        assert SectionKind.OTHER not in kinds, (path, [s.title for s in page.sections])
        assert SectionKind.FAQ not in kinds  # pairs are never a section of paragraphs
    assert seen >= 40


def test_intents_target_kinds_and_faq_questions_in_order() -> None:
    trials = SCHEMA.targets("trials")
    assert trials[0].fits(SectionKind.FAQ, "Are there clinical trials?")
    assert not trials[0].fits(SectionKind.FAQ, "Is it strong enough?")
    assert trials[1].fits(SectionKind.EVOLVE, None)
    assert not trials[1].fits(SectionKind.MEANING, None)
    assert SCHEMA.targets("general") == ()
    intents = {r["kind"] for r in read_yaml("rules/intents.yaml")}
    assert set(SCHEMA.intents) <= intents  # every intent the schema routes exists


def test_templates_by_kind_intent_and_question() -> None:
    assert SCHEMA.template(SectionKind.CLASSIFICATION, "general", None) == "answered_evidence_level"
    assert SCHEMA.template(SectionKind.MECHANISM, "mechanism", None) == "answered_mechanism"
    assert SCHEMA.template(SectionKind.MECHANISM, "evidence_level", None) is None
    assert SCHEMA.template(SectionKind.INTRODUCTION, "intro", None) is None
    assert SCHEMA.template(SectionKind.OTHER, "general", None) is None
    assert SCHEMA.template(SectionKind.FAQ, "general", "Any trials?") == "answered_trials"
    assert SCHEMA.template(SectionKind.FAQ, "general", "Strong enough?") == "answered_consider"
    assert SCHEMA.template(SectionKind.FAQ, "general", "What grade?") == "answered_faq"
    templates = {p.stem for p in (ROOT / "bot" / "templates" / "answers").glob("*.j2")}
    for spec in SCHEMA.specs.values():
        named = [spec.template, *(t for _, t in spec.questions)]
        assert {t for t in named if t} <= templates, spec.kind


def test_info_topics_are_quoted_from_their_kind() -> None:
    assert SCHEMA.info_kind("hierarchy") is SectionKind.HIERARCHY
    assert SCHEMA.info_kind("trials") is SCHEMA.info_kind("evolve") is SectionKind.EVOLVE
    assert SCHEMA.info_kind("advice") is None
    assert SCHEMA.info_topic(SectionKind.EVOLVE) == "evolve"
    assert SCHEMA.info_topic(SectionKind.MEANING) is None
    assert SCHEMA.info_topic(None) is None


def _record(**changes: object) -> dict:
    base = read_yaml(page_schema.SCHEMA_FILE)
    return {**base, **changes}


def test_a_malformed_schema_is_refused_with_its_place() -> None:
    sections = read_yaml(page_schema.SCHEMA_FILE)["sections"]
    with pytest.raises(SchemaError, match="section 1: unknown section kind 'preface'"):
        compile_schema(_record(sections=[{**sections[0], "id": "preface"}, *sections[1:]]))
    with pytest.raises(SchemaError, match="no record for faq"):
        compile_schema(_record(sections=sections[:-1]))
    with pytest.raises(SchemaError, match="alias 'evidence hierarchy' is given to two kinds"):
        twice = {**sections[2], "aliases": ["Evidence Hierarchy"]}
        compile_schema(_record(sections=[*sections[:2], twice, *sections[3:]]))
    with pytest.raises(SchemaError, match="section 2: needs id, heading and aliases"):
        compile_schema(_record(sections=[sections[0], {"id": "hierarchy"}, *sections[2:]]))
    with pytest.raises(SchemaError, match="intent trials: a target is"):
        compile_schema(_record(intents={"trials": [{"page": "x"}]}))
    with pytest.raises(SchemaError, match="FAQ pairs are targeted by"):
        compile_schema(_record(intents={"trials": [{"section": "faq"}]}))


RENAMED = """---
url: https://example.org/velbrazine
---
# Velbrazine for Chronic Fakeitis: Evidence Level Assessment

Velbrazine is an invented fixture compound.

## Evidence hierarchy: how research is ranked

1. Level 1: Fixture reviews

## Current Evidence Classification: Velbrazine + Chronic Fakeitis

Evidence level: Level 5: Fixture case reports

## Mechanism of Action

Velbrazine operates via: fixture receptor agonism; mock pathway damping.

## FAQs

### Are there clinical trials of Velbrazine?

Not yet: no fixture trials are registered.
"""


def test_a_renamed_heading_keeps_its_kind_from_the_page_to_the_index() -> None:
    """The site renaming a heading to one of its aliases changes nothing downstream: the
    section keeps its kind (so its intent, template and mechanism) into the passages."""
    page = parse_text(RENAMED, "md", "velbrazine.md")
    kinds = {s.title: s.kind for s in page.sections}
    assert kinds == {
        "Introduction": SectionKind.INTRODUCTION,
        "Evidence hierarchy: how research is ranked": SectionKind.HIERARCHY,
        "Current Evidence Classification: Velbrazine + Chronic Fakeitis": (
            SectionKind.CLASSIFICATION
        ),
        "Mechanism of Action": SectionKind.MECHANISM,
    }
    assert page.mechanism == ("fixture receptor agonism", "mock pathway damping")
    assert [f.question for f in page.faqs] == ["Are there clinical trials of Velbrazine?"]
    passages = {p.section_kind: p for p in chunk(page)}
    assert set(passages) == set(kinds.values()) | {SectionKind.FAQ}
    (mechanism,) = SCHEMA.targets("mechanism")
    assert mechanism.fits(passages[SectionKind.MECHANISM].section_kind, None)
    trials = SCHEMA.targets("trials")[0]
    assert trials.fits(SectionKind.FAQ, passages[SectionKind.FAQ].question)
    # Stored and read back, a passage keeps its kind.
    faq = passages[SectionKind.FAQ]
    assert Passage.from_dict(json.loads(json.dumps(faq.to_dict()))) == faq


def test_a_served_page_is_a_summary_without_sections() -> None:
    page = parse_text(RENAMED, "md", "velbrazine.md")
    served = page.summary()
    assert type(served) is PageSummary and served.id == page.id and served.url == page.url
    assert not hasattr(served, "sections") and not hasattr(served, "section")
    assert PageSummary.from_dict(served.to_dict()) == served
    assert page.section(SectionKind.MECHANISM) is page.section("Mechanism")
    with pytest.raises(ValueError, match="needs its page's id"):
        PageSummary.from_dict({**served.to_dict(), "id": ""})


def test_evaluation_labels_are_read_through_the_schema() -> None:
    """A labelled set names a part of the page by the template's heading; a page that
    calls it by an alias still matches, and a label the schema does not know is a prefix."""
    from bot.evaluate import section_matches

    assert section_matches("Mechanistic Evidence", "Mechanism of Action", None)
    assert section_matches("Evidence Hierarchy Overview", "Evidence hierarchy: ranks", None)
    assert not section_matches("Mechanistic Evidence", "Evidence Hierarchy Overview", None)
    assert section_matches("FAQ:trials", "FAQs: Any trials?", "Any trials?")
    assert not section_matches("FAQ:trials", "Mechanistic Evidence", "Any trials?")
    assert section_matches("Safety Notes", "Safety Notes (2026)", None)
    assert not section_matches("Safety Notes", "Safety", None)
