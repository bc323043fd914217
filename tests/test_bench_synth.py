"""The benchmark's synthetic corpus: valid pages, invented names, labelled questions."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from rapidfuzz import fuzz, process

from bench import synth
from bot.assistant import Assistant
from bot.dialogue import MemorySessionStore
from bot.embedding import FakeEmbedder
from bot.entities import Lexicon
from bot.index import build
from bot.pages import corpus_hash, load_corpus, parse_page
from bot.settings import ROOT, Settings
from bot.triage import triage

N = 120


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[synth.PageSpec]]:
    directory = tmp_path_factory.mktemp("synth") / "corpus"
    return directory, synth.write_corpus(directory, N, seed=7)


PREFIX_WORDS = {"stage", "iv", "chronic", "refractory", "recurrent", "progressive", "syndrome"}


def _head(condition: str) -> str:
    """The invented word of a condition name ("Stage IV Quellosis" -> "quellosis")."""
    [head] = [w for w in re.findall(r"[a-z]+", condition.lower()) if w not in PREFIX_WORDS]
    return head


def _name_words(specs: list[synth.PageSpec], uncovered: list[str]) -> set[str]:
    words = {w for s in specs for w in re.findall(r"[a-z]+", s.spoken.lower())}
    words |= {_head(s.condition) for s in specs}
    return words | {u.lower() for u in uncovered}


def test_pages_parse_into_the_expected_assessments(corpus) -> None:
    directory, specs = corpus
    assert sorted(p.name for p in directory.iterdir()) == sorted(s.filename for s in specs)
    for spec in specs:
        a = parse_page(directory / spec.filename)
        assert a.compound == spec.compound
        assert a.condition == spec.condition
        assert a.evidence_level == spec.evidence_level
        assert a.mechanism == spec.mechanism
        assert a.disclaimer and a.disclaimer.startswith("Medical Disclaimer:")
        assert len(a.faqs) == 3


def test_same_headings_as_the_seed_page(corpus) -> None:
    directory, specs = corpus
    seed = parse_page(ROOT / "corpus" / "ketamine-iv-esketamine--stage-iv-cancer.txt")
    page = parse_page(directory / specs[0].filename)

    def shape(a):  # titles without the page's own names
        return [s.title.split(":")[0] for s in a.sections], [len(s.paragraphs) for s in a.sections]

    assert shape(page) == shape(seed)
    assert [f.question.split(" exists")[0][:10] for f in page.faqs] == [
        f.question.split(" exists")[0][:10] for f in seed.faqs
    ]


def test_names_are_unique_and_deterministic() -> None:
    specs = synth.make_specs(1000, seed=3)
    assert specs == synth.make_specs(1000, seed=3)
    assert specs != synth.make_specs(1000, seed=4)
    assert len({(s.compound, s.condition) for s in specs}) == 1000
    assert len({s.filename for s in specs}) == 1000
    spoken = {s.compound: s.spoken.lower() for s in specs}
    assert len(set(spoken.values())) == len(spoken)  # one page name per spoken name
    heads = {s.condition: _head(s.condition) for s in specs}
    assert len(set(heads.values())) == len(heads)
    uncovered = synth.uncovered_compounds(1000, seed=3)
    assert not {u.lower() for u in uncovered} & set(spoken.values())


def test_no_name_resembles_the_shipped_corpus_or_vocabularies() -> None:
    specs = synth.make_specs(2000)
    words = _name_words(specs, synth.uncovered_compounds(2000))
    shipped: set[str] = set()
    for a in load_corpus(ROOT / "corpus").assessments:
        shipped |= set(re.findall(r"[a-z]+", f"{a.compound} {a.condition}".lower()))
    for name in ("remedies.yaml", "conditions.yaml"):
        text = (ROOT / "bot" / "data" / "vocab" / name).read_text(encoding="utf-8")
        for line in text.splitlines():
            if line.strip() and not line.lstrip().startswith("#"):
                shipped |= set(re.findall(r"[a-z]+", line.lower()))
    assert not words & shipped
    real = sorted(w for w in shipped if len(w) >= 4)
    for word in words:
        # bot.entities forgives typos at this similarity: no invented name is a typo of a
        # real one (or the other way round).
        assert process.extractOne(word, real, scorer=fuzz.ratio, score_cutoff=86) is None, word


def test_questions_are_unique_labelled_and_resolve_to_their_page(corpus) -> None:
    directory, specs = corpus
    uncovered = synth.uncovered_compounds(N, seed=7)
    asked = list(synth.questions(specs, uncovered, seed=1, limit=600))
    assert len(asked) == 600
    assert len({q.text for q in asked}) == 600
    assert asked == list(synth.questions(specs, uncovered, seed=1, limit=600))
    assert {q.expected_status for q in asked} == {"answered", "not_found"}
    lexicon = Lexicon.build(load_corpus(directory).assessments)
    for q in asked:
        assert triage(q.text) is None, q.text
        found = lexicon.resolve(q.text)
        assert found.conditions == (q.condition,), q.text
        if q.expected_status == "answered":
            assert found.compounds == (q.compound,), q.text
        else:
            assert not found.compounds, q.text


def test_replies_match_the_labels(corpus, tmp_path: Path) -> None:
    """The benchmark must time the real answer path, not a stream of misunderstandings."""
    directory, specs = corpus
    loaded = load_corpus(directory)
    embedder = FakeEmbedder()
    index = build(loaded.assessments, embedder, tmp_path / "index", corpus_hash(directory))
    settings = Settings(corpus=directory, index=tmp_path / "index", embedder="fake")
    assistant = Assistant.create(settings, index, embedder, sessions=MemorySessionStore())
    uncovered = synth.uncovered_compounds(N, seed=7)
    wrong = []
    for q in synth.questions(specs, uncovered, seed=2, limit=200):
        reply = assistant.reply(q.text)
        if reply.status.value != q.expected_status or (
            q.evidence_level is not None and reply.evidence_level != q.evidence_level
        ):
            wrong.append((q.text, reply.status.value))
    assert not wrong


def test_edit_changes_exactly_one_page(tmp_path: Path) -> None:
    directory = tmp_path / "corpus"
    specs = synth.write_corpus(directory, 30)
    before_files = synth.file_hashes(directory)
    before_ids = {a.source: a.id for a in load_corpus(directory).assessments}
    digest = corpus_hash(directory)
    edited = synth.edit_page(directory, specs, which=5)
    after_files = synth.file_hashes(directory)
    after = {a.source: a for a in load_corpus(directory).assessments}
    assert [n for n in before_files if before_files[n] != after_files[n]] == [edited.name]
    assert [s for s in before_ids if before_ids[s] != after[s].id] == [edited.name]
    assert corpus_hash(directory) != digest
    page = after[edited.name]
    assert (page.compound, page.condition, page.evidence_level) == (
        specs[5].compound,
        specs[5].condition,
        specs[5].evidence_level,
    )
    synth.edit_page(directory, specs, which=5, revision=2)
    assert synth.file_hashes(directory)[edited.name] != after_files[edited.name]
