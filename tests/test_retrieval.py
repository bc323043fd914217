"""Entity scoping, intent routing and ranking inside the scope."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pytest

from bot.entities import Lexicon
from bot.index import Index
from bot.retrieval import Retriever, intent_of


@pytest.fixture
def retriever(fixture_index: Index, fake_embedder) -> Retriever:
    return Retriever(
        fixture_index, fake_embedder, Lexicon.build(fixture_index.assessments.values())
    )


@pytest.mark.parametrize(
    ("question", "intent"),
    [
        ("How does zelnoprine work?", "mechanism"),
        ("What is the mechanism of action of quorvastin?", "mechanism"),
        ("What is the evidence level for brimadol?", "evidence_level"),
        ("How strong is the research on quorvastin?", "evidence_level"),
        ("Are there clinical trials for zelnoprine?", "trials"),
        ("Is the evidence strong enough to consider brimadol?", "consider"),
        ("What does this evidence level mean for patients?", "meaning"),
        ("How might the evidence change over time?", "evolve"),
        ("What are the levels of evidence?", "hierarchy"),
        ("What does Level 2 mean?", "hierarchy"),
        ("Tell me about zelnoprine", "general"),
    ],
)
def test_intent_of(question: str, intent: str) -> None:
    assert intent_of(question) == intent


def test_candidates_fit_both_halves_of_the_pair(retriever: Retriever) -> None:
    both = retriever.candidates(retriever.entities("brimadol for stage 4 testcase syndrome"))
    assert [a.compound for a in both] == ["Brimadol (Low-Dose)"]
    by_condition = retriever.candidates(retriever.entities("stage IV testcase syndrome"))
    assert {a.compound for a in by_condition} == {
        "Brimadol (Low-Dose)",
        "Zelnoprine (Oral / Inhaled)",
    }
    # Same compound with another condition is not a match.
    assert retriever.candidates(retriever.entities("brimadol for chronic fakeitis")) == []
    assert retriever.candidates(retriever.entities("what about the weather")) == []


def test_search_stays_inside_the_scope_and_routes_to_the_intent(retriever: Retriever) -> None:
    [quorvastin] = retriever.candidates(retriever.entities("quorvastin"))
    hits = retriever.search("How does quorvastin work?", [quorvastin], "mechanism")
    assert hits and all(h.assessment.id == quorvastin.id for h in hits)
    assert hits[0].passage.section == "Mechanistic Evidence" and hits[0].on_target
    trials = retriever.search("Any trials for quorvastin?", [quorvastin], "trials")
    assert trials[0].passage.kind == "faq" and "trials" in (trials[0].passage.question or "")
    level = retriever.search("evidence for quorvastin", [quorvastin], "evidence_level")
    assert level[0].passage.section.startswith("Current Evidence Classification")


def test_general_questions_rank_by_fused_dense_and_bm25(retriever: Retriever) -> None:
    [zel] = retriever.candidates(retriever.entities("zelnoprine"))
    question = "zelnoprine fixture receptor agonism"
    hits = retriever.search(question, [zel], "general")
    assert not any(h.on_target for h in hits)
    dense = retriever.index.search(retriever.embed(question), 100, [zel.id])
    lexical = retriever.index.lexical_search(question, 100, [zel.id])
    # The mechanism passage is first for both rankers, so first after fusion.
    assert dense[0][0].section == lexical[0][0].section == "Mechanistic Evidence"
    assert hits[0].passage.id == dense[0][0].id
    # A passage BM25 does not find at all ranks below one both rankers find.
    found = {p.id for p, _ in lexical}
    order = [h.passage.id for h in hits]
    both = [i for i, pid in enumerate(order) if pid in found]
    dense_only = [i for i, pid in enumerate(order) if pid not in found]
    assert both and (not dense_only or min(dense_only) > min(both))


def test_bm25_rescues_an_exact_term_dense_ranks_low(retriever: Retriever) -> None:
    [quor] = retriever.candidates(retriever.entities("quorvastin"))
    hits = retriever.search("quorvastin synthetic enzyme blocking", [quor], "general")
    assert hits[0].passage.section == "Mechanistic Evidence"


def test_nearest_searches_the_whole_index(retriever: Retriever) -> None:
    hits = retriever.nearest("chronic fakeitis quorvastin", top_k=3)
    assert len(hits) == 3 and hits[0].assessment.compound == "Quorvastin"


def test_warm_encodes_the_new_texts_in_one_call_and_keeps_them(
    fixture_index: Index, fake_embedder
) -> None:
    calls: list[list[str]] = []

    class Counting:
        name, dim = fake_embedder.name, fake_embedder.dim

        def encode(self, texts: Sequence[str]) -> np.ndarray:
            calls.append(list(texts))
            return fake_embedder.encode(texts)

    lexicon = Lexicon.build(fixture_index.assessments.values())
    retriever = Retriever(fixture_index, Counting(), lexicon, cache_size=3)
    retriever.embed("known")
    retriever.warm(["known", "a", "b", "a"])
    assert calls == [["known"], ["a", "b"]]  # the known text and the repeat are not encoded
    for text in ("known", "a", "b"):
        assert (retriever.embed(text) == fake_embedder.encode([text])[0]).all()
    assert len(calls) == 2  # all three still cached: warming evicted none of its own texts
    retriever.warm(["c", "d", "e", "f"])  # more than the cache holds: only its size warmed
    assert calls[2] == ["c", "d", "e"]
