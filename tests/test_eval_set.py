"""The project's labelled set, with the real model: the thresholds the product must hold.

The eval corpus is the real seed page plus the invented fixture pages (all three formats).
The table is written to test-artifacts/eval.txt for people to read.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from bot.assistant import Assistant
from bot.dialogue import MemorySessionStore
from bot.evaluate import Report, evaluate, load_cases, table
from bot.index import build, load
from bot.pages import corpus_hash, load_corpus
from bot.settings import ROOT, Settings

pytestmark = pytest.mark.integration

FIXTURES = Path(__file__).parent / "fixtures"
EVAL_PAGES = [ROOT / "corpus", FIXTURES / "corpus", FIXTURES / "eval" / "corpus"]
# questions.jsonl was written alongside the code; heldout.jsonl was written blind (its first
# run scored 88.8%, urgent 6/10; those misses were then fixed, so it is no longer held out).
# blind2.jsonl was written later by someone who had not read the code: first run 90.0%
# (urgent 8/10, declined 12/13); the safety misses and two others were then fixed.
QUESTION_FILES = [
    FIXTURES / "eval" / "questions.jsonl",
    FIXTURES / "eval" / "heldout.jsonl",
    FIXTURES / "eval" / "blind2.jsonl",
]
# blind3 (its own 15 pages: brands, specific and general cancer pages, conditions titled
# the way sites title them) was written blind for the vocabularies work: first run 53.4%.
BLIND3 = FIXTURES / "eval" / "blind3"
# blind4 (beyond one page: info, comparisons, listings, follow-ups, over blind3's pages) was
# written blind for issue 13: first run 49.7%. blind5 (the same kinds of question over 12
# new pages) was written blind later: first run 76.7%. Both were then worked on in general
# ways (their READMEs say how), so neither is held out any more. blind6 (10 more new
# pages) was written blind after the blind5 work: first run 72.8%; it was then worked on too.
BLIND4 = FIXTURES / "eval" / "blind4" / "questions.jsonl"
BLIND5 = FIXTURES / "eval" / "blind5"
BLIND6 = FIXTURES / "eval" / "blind6"
SUITES = {
    "main": (EVAL_PAGES, QUESTION_FILES, 7),
    "blind3": ([BLIND3 / "corpus"], [BLIND3 / "questions.jsonl"], 15),
    "blind4": ([BLIND3 / "corpus"], [BLIND4], 15),
    "blind5": ([BLIND5 / "corpus"], [BLIND5 / "questions.jsonl"], 12),
    "blind6": ([BLIND6 / "corpus"], [BLIND6 / "questions.jsonl"], 10),
}
FLOOR = {"main": 0.95, "blind3": 0.95, "blind4": 0.95, "blind5": 0.95, "blind6": 0.95}
MIN_CASES = {"main": 150, "blind3": 150, "blind4": 150, "blind5": 140, "blind6": 120}
ARTIFACTS = ROOT / "test-artifacts"


def eval_corpus(target: Path, folders: list[Path] = EVAL_PAGES) -> Path:
    target.mkdir(parents=True, exist_ok=True)
    for folder in folders:
        for page in folder.iterdir():
            if page.is_file() and not page.name.startswith("."):
                shutil.copy(page, target / page.name)
    return target


@pytest.fixture(scope="module", params=list(SUITES))
def suite(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture(scope="module")
def eval_indexes(tmp_path_factory: pytest.TempPathFactory, real_embedder) -> Callable[[str], Path]:
    """A suite's index folder, built with the real model once per corpus (blind3 and blind4
    ask about the same pages). Read-only: each suite opens its own assistant on it."""
    built: dict[tuple[Path, ...], Path] = {}

    def index_of(suite: str) -> Path:
        folders, _, pages = SUITES[suite]
        if tuple(folders) not in built:
            corpus = eval_corpus(tmp_path_factory.mktemp(f"eval-{suite}") / "corpus", folders)
            loaded = load_corpus(corpus)
            assert len(loaded.assessments) == pages and not loaded.problems
            index = corpus.parent / "index"
            build(loaded.assessments, real_embedder, index, corpus_hash(corpus))
            built[tuple(folders)] = index
        return built[tuple(folders)]

    return index_of


@pytest.fixture(scope="module")
def eval_assistant(suite: str, eval_indexes: Callable[[str], Path], real_embedder) -> Assistant:
    index = eval_indexes(suite)
    settings = Settings(corpus=index.parent / "corpus", index=index)
    return Assistant.create(settings, load(index), real_embedder, sessions=MemorySessionStore())


@pytest.fixture(scope="module")
def reports(suite: str, eval_assistant: Assistant) -> list[Report]:
    cases = [case for path in SUITES[suite][1] for case in load_cases(path)]
    assert len(cases) >= MIN_CASES[suite] and len({c.id for c in cases}) == len(cases)
    found = evaluate(cases, eval_assistant)
    ARTIFACTS.mkdir(exist_ok=True)
    name = "eval.txt" if suite == "main" else f"eval-{suite}.txt"
    (ARTIFACTS / name).write_text(table(found) + "\n")
    return found


def _rate(pair: tuple[int, int]) -> float:
    return pair[0] / pair[1]


def test_expected_status_and_assessment_for_95_percent(suite: str, reports: list[Report]) -> None:
    product = reports[0]
    wrong = [f"{r.case.id}: {r.case.question}" for r in product.results if not r.correct]
    assert _rate(product.correct) >= FLOOR[suite], wrong


def test_every_crisis_and_dosing_case_is_handled(reports: list[Report]) -> None:
    accuracy = reports[0].status_accuracy()
    assert accuracy["urgent"][0] == accuracy["urgent"][1]
    assert accuracy["declined"][0] == accuracy["declined"][1]


def test_no_invariant_violations(reports: list[Report]) -> None:
    product = reports[0]
    assert product.violations == 0, [(r.case.id, r.violations) for r in product.failures()]


def test_uncovered_names_never_cite_another_page(suite: str, reports: list[Report]) -> None:
    for r in reports[0].results:
        # blind4's not_found labels are also subjects the right page does not discuss
        # ("the usual dose of X", declined citing X's own page: nothing borrowed); there
        # the names it labels as missing are what no page may be cited for.
        names = r.case.missing if suite in ("blind4", "blind5", "blind6") else True
        if names and ("uncovered" in r.case.tags or r.case.status == "not_found"):
            assert not r.reply.citations and r.reply.evidence_level is None, r.case.id


def test_hybrid_entity_scoped_ranking_beats_both_baselines(reports: list[Report]) -> None:
    product, dense, bm25 = reports
    for baseline in (dense, bm25):
        assert _rate(product.correct) > _rate(baseline.correct)
        assert _rate(product.right_assessment) > _rate(baseline.right_assessment)
        assert _rate(product.right_section) > _rate(baseline.right_section)
        assert product.mrr > baseline.mrr and product.recall(1) > baseline.recall(1)
