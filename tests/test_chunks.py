"""Assessment -> Passages: coverage, ids, grouping of long sections, serialisation."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest

from bot.chunks import MAX_PASSAGE_CHARS, Passage, chunk
from bot.pages import Assessment, Section, parse_page

ROOT = Path(__file__).resolve().parents[1]
FIXTURE_CORPUS = Path(__file__).resolve().parent / "fixtures" / "corpus"
PAGES = sorted(FIXTURE_CORPUS.iterdir()) + sorted((ROOT / "corpus").glob("*.txt"))
FAQ_SECTION = "Frequently Asked Questions"


def _page_ids() -> list[str]:
    return [p.name for p in PAGES]


@pytest.fixture(params=PAGES, ids=_page_ids())
def page_path(request: pytest.FixtureRequest) -> Path:
    return request.param


@pytest.fixture
def page(page_path: Path) -> Assessment:
    return parse_page(page_path)


def _long_section_assessment(base: Assessment, paragraphs: list[str]) -> Assessment:
    """`base` with one extra section made of `paragraphs` (and a new content id)."""
    section = Section("Long Fixture Section", tuple(paragraphs))
    return replace(base, sections=(*base.sections, section), id="")


def test_seed_and_fixture_pages_are_present() -> None:
    assert len(PAGES) >= 4
    assert any(p.parent.name == "corpus" and p.parent.parent == ROOT for p in PAGES)


def test_every_paragraph_group_and_faq_becomes_a_passage(page: Assessment) -> None:
    passages = chunk(page)
    section_passages = [p for p in passages if p.kind == "section"]
    faq_passages = [p for p in passages if p.kind == "faq"]

    # Short fixture/seed sections fit in one group each: one passage per section, in order,
    # holding all of its paragraphs.
    assert [p.section for p in section_passages] == [s.title for s in page.sections]
    for passage, section in zip(section_passages, page.sections, strict=True):
        assert passage.text == "\n".join(section.paragraphs)
        assert passage.anchor == section.anchor
        assert passage.question is None

    assert len(faq_passages) == len(page.faqs) > 0
    for passage, faq in zip(faq_passages, page.faqs, strict=True):
        assert passage.question == faq.question
        assert passage.text == faq.answer
        assert passage.section == FAQ_SECTION
        assert passage.anchor == faq.anchor


def test_every_passage_knows_its_assessment_and_section(page: Assessment) -> None:
    titles = {s.title for s in page.sections} | {FAQ_SECTION}
    for passage in chunk(page):
        assert passage.assessment_id == page.id
        assert passage.section in titles
        assert passage.kind in ("section", "faq")
        assert passage.text.strip()


def test_faq_passages_carry_their_question(page: Assessment) -> None:
    faq_passages = [p for p in chunk(page) if p.kind == "faq"]
    assert {p.question for p in faq_passages} == {f.question for f in page.faqs}
    for passage in faq_passages:
        assert passage.question is not None and passage.question.endswith("?")


def test_classification_passage_contains_the_evidence_level_line(page: Assessment) -> None:
    classification = [
        p
        for p in chunk(page)
        if p.kind == "section" and p.section.startswith("Current Evidence Classification")
    ]
    assert classification
    assert any(f"Evidence level: {page.evidence_level}" in p.text for p in classification)


def test_ids_are_stable_across_chunkings_and_reparses(page: Assessment, page_path: Path) -> None:
    first = [p.id for p in chunk(page)]
    again = [p.id for p in chunk(page)]
    reparsed = [p.id for p in chunk(parse_page(page_path))]
    assert first == again == reparsed


def test_ids_are_unique_within_a_page(page: Assessment) -> None:
    ids = [p.id for p in chunk(page)]
    assert len(ids) == len(set(ids))
    assert all(len(i) == 16 and int(i, 16) >= 0 for i in ids)


def test_ids_are_unique_across_pages() -> None:
    ids = [p.id for path in PAGES for p in chunk(parse_page(path))]
    assert len(ids) == len(set(ids))


def test_ids_are_content_hashes_that_change_with_the_text(tmp_path: Path) -> None:
    source = FIXTURE_CORPUS / "zelnoprine--stage-iv-testcase-syndrome.txt"
    original = parse_page(source)
    text = source.read_text(encoding="utf-8")
    edited_text = text.replace(
        "This mechanism paragraph is fixture text for tests.",
        "This mechanism paragraph is edited fixture text for tests.",
    )
    assert edited_text != text
    copy = tmp_path / source.name
    copy.write_text(edited_text, encoding="utf-8")
    edited = parse_page(copy)

    # The file's location does not matter, only its content.
    same = tmp_path / "same" / source.name
    same.parent.mkdir()
    same.write_text(text, encoding="utf-8")
    assert [p.id for p in chunk(parse_page(same))] == [p.id for p in chunk(original)]

    old = {p.section: p for p in chunk(original) if p.kind == "section"}
    new = {p.section: p for p in chunk(edited) if p.kind == "section"}
    assert new["Mechanistic Evidence"].text != old["Mechanistic Evidence"].text
    assert new["Mechanistic Evidence"].id != old["Mechanistic Evidence"].id
    assert not {p.id for p in chunk(original)} & {p.id for p in chunk(edited)}


def test_same_text_in_two_sections_gets_two_ids(page: Assessment) -> None:
    twin = Section("Twin Section", page.sections[0].paragraphs)
    doubled = replace(page, sections=(*page.sections, twin), id="")
    passages = [p for p in chunk(doubled) if p.text == "\n".join(twin.paragraphs)]
    assert len(passages) == 2
    assert passages[0].id != passages[1].id


def test_long_section_splits_under_limit_without_losing_paragraphs(page: Assessment) -> None:
    paragraphs = [
        f"Paragraph {i} of a long fixture section. " + "x" * (40 + 37 * i) for i in range(20)
    ]
    assert sum(map(len, paragraphs)) > 3 * MAX_PASSAGE_CHARS
    assessment = _long_section_assessment(page, paragraphs)

    parts = [p for p in chunk(assessment) if p.section == "Long Fixture Section"]
    assert len(parts) > 1
    for part in parts:
        assert len(part.text) <= MAX_PASSAGE_CHARS
        assert part.kind == "section"
        assert part.assessment_id == assessment.id
    # Concatenated in order, the groups give back every paragraph exactly once.
    regrouped = [para for part in parts for para in part.text.split("\n")]
    assert regrouped == paragraphs
    assert len({p.id for p in parts}) == len(parts)


def test_small_limit_puts_each_paragraph_in_its_own_passage(page: Assessment) -> None:
    paragraphs = ["alpha " * 10, "beta " * 10, "gamma " * 10]
    assessment = _long_section_assessment(page, paragraphs)
    parts = [p for p in chunk(assessment, max_chars=70) if p.section == "Long Fixture Section"]
    assert [p.text for p in parts] == paragraphs


def test_oversized_paragraph_is_kept_whole_in_its_own_passage(page: Assessment) -> None:
    huge = "y" * (MAX_PASSAGE_CHARS * 2)
    paragraphs = ["short before", huge, "short after"]
    assessment = _long_section_assessment(page, paragraphs)
    parts = [p.text for p in chunk(assessment) if p.section == "Long Fixture Section"]
    assert parts == ["short before", huge, "short after"]


def test_paragraphs_exactly_filling_the_limit_stay_together(page: Assessment) -> None:
    # Two paragraphs plus the joining newline are exactly MAX_PASSAGE_CHARS long.
    half = (MAX_PASSAGE_CHARS - 1) // 2
    first, second = "a" * half, "b" * (MAX_PASSAGE_CHARS - 1 - half)
    assessment = _long_section_assessment(page, [first, second, "c"])
    parts = [p.text for p in chunk(assessment) if p.section == "Long Fixture Section"]
    assert parts == [f"{first}\n{second}", "c"]
    assert len(parts[0]) == MAX_PASSAGE_CHARS


def test_embed_text_includes_section_or_question(page: Assessment) -> None:
    for passage in chunk(page):
        head = passage.question if passage.kind == "faq" else passage.section
        assert head is not None
        assert passage.embed_text.startswith(head)
        assert passage.text in passage.embed_text
    faq = next(p for p in chunk(page) if p.kind == "faq")
    assert FAQ_SECTION not in faq.embed_text.split("\n", 1)[0]


def test_to_dict_from_dict_round_trip_through_json(page: Assessment) -> None:
    for passage in chunk(page):
        data = json.loads(json.dumps(passage.to_dict()))
        assert Passage.from_dict(data) == passage
    faq = next(p for p in chunk(page) if p.kind == "faq")
    assert faq.to_dict()["question"] == faq.question
    assert faq.to_dict()["assessment_id"] == page.id
