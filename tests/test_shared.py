"""What every page shares (bot/shared.py): found by what a sentence does not name, and the
passage nearest a question. Invented compounds only."""

from __future__ import annotations

import numpy as np

from bot.assistant import scale_line
from bot.chunks import Passage
from bot.pages import Assessment
from bot.shared import SharedContent, find_shared, own_names, shared_sentences, stems

SCALE = (
    "Evidence in medicine is evaluated on a hierarchy from strongest to weakest:\n"
    "1. Level 1: Fixture reviews of fixture trials\n"
    "2. Level 2: Fixture randomized trials\n"
    "3. Preclinical: Fixture animal and cell studies"
)


def _page(compound: str, condition: str, level: str) -> Assessment:
    return Assessment(
        source=f"{compound}.txt",
        title=f"{compound} for {condition}: Evidence Level Assessment",
        compound=compound,
        condition=condition,
        evidence_level=level,
        mechanism=(),
        sections=(),
        faqs=(),
        disclaimer="Medical Disclaimer: This fixture page is invented and is not medical advice.",
        url=None,
        byline="By Fixture Research Team, Medical Advisor: Test Reviewer, MD",
    )


def _passages(a: Assessment) -> list[Passage]:
    def p(section: str, text: str) -> Passage:
        return Passage(f"{a.compound}-{section}", a.id, section, "section", text)

    return [
        p("Evidence Hierarchy Overview", SCALE),
        p(f"Current Evidence Classification: {a.compound} + {a.condition}", "Shared words here."),
        p(
            "How Evidence Levels Evolve",
            f"The evidence for {a.compound} in {a.condition} may change. Evidence levels are "
            "not permanent: they follow the published fixture research.",
        ),
    ]


BRIMADOL = _page("Brimadol (Brimex)", "Stage IV Testcase Syndrome", "Level 2: Two fixture trials")
VELORIN = _page("Velorin", "Chronic Fakeitis", "Preclinical: Fixture mice only")


def test_a_sentence_naming_the_page_is_its_own() -> None:
    names = own_names(BRIMADOL)
    assert {"brimadol (brimex)", "brimex", "brimadol", "stage iv testcase syndrome"} <= set(names)
    text = "Brimex may help. Evidence levels are not permanent.\nLevel 2: Two fixture trials"
    assert shared_sentences(text, names) == "Evidence levels are not permanent."


def test_shared_passages_are_found_once_and_never_the_classification() -> None:
    found = find_shared([VELORIN, BRIMADOL], _passages)
    sections = [s.section for s in found]
    assert sections.count("Evidence Hierarchy Overview") == 1  # the same text on both pages
    assert "Current Evidence Classification" not in sections
    evolve = next(s for s in found if s.section == "How Evidence Levels Evolve")
    assert evolve.text.startswith("Evidence levels are not permanent")
    assert "Brimadol" not in evolve.text and "Velorin" not in evolve.text
    assert evolve.page is BRIMADOL  # quoted from the first page by title
    assert {"Medical Disclaimer", "Byline"} <= set(sections)
    for s in found:  # no page's level is in a shared passage
        assert BRIMADOL.evidence_level not in s.text and VELORIN.evidence_level not in s.text


def test_the_nearest_passage_counts_shared_words() -> None:
    found = find_shared([BRIMADOL], _passages)
    flat = np.ones((len(found), 2), dtype=np.float32) / np.sqrt(2)  # equal in meaning
    content = SharedContent(found, flat)
    best, score = content.nearest("are animal studies any good?", flat[0])
    assert best.section == "Evidence Hierarchy Overview" and score > 1.0
    assert stems("Levels of evidence") == {"level", "evide"}


def test_a_level_is_explained_by_the_scale_its_page_lists() -> None:
    scale = [Passage("scale", BRIMADOL.id, "Evidence Hierarchy Overview", "section", SCALE)]
    assert scale_line(scale, BRIMADOL) == "Level 2: Fixture randomized trials"
    assert scale_line(scale, VELORIN) == "Preclinical: Fixture animal and cell studies"
    # A level with no label of the scale, or a page with no scale: nothing is said.
    unlabelled = _page("Zelnoprine", "Chronic Fakeitis", "Strong fixture data for pain")
    assert scale_line(scale, unlabelled) is None
    assert scale_line([], BRIMADOL) is None
