"""The own-care head: questions for one's own doctor in words no `declined` rule has
(bot/triage/own_care.py), trained apart from the crisis classifier and asked last."""

from __future__ import annotations

import json

import numpy as np
import pytest
from layers import Says

from bot.triage import classifier, own_care
from bot.triage.classifier import Example, Member, Model
from bot.triage.semantic import SemanticTriage, Thresholds, Verdict, texts_to_judge

WORDS = {
    "other": "evidence trial level page",
    "declined_treatment": "dose double skip tablets",
    "declined_symptom": "tingling swollen dizzy cough",
}


def _examples(per: int = 30) -> list[Example]:
    """Invented messages with words of their own per label, and some that say only
    `declined` (either kind), as the read safety sets do."""
    rows = [
        Example(f"{WORDS[label]} invented message number {i}", label, "t.jsonl")
        for label in WORDS
        for i in range(per)
    ]
    rows += [
        Example(f"{WORDS[kind]} unsplit message number {i}", "declined", "t.jsonl")
        for kind in ("declined_treatment", "declined_symptom")
        for i in range(per // 3)
    ]
    return [Example(r.text, "safe" if r.label == "other" else r.label, r.source) for r in rows]


def test_labels_that_say_only_declined_train_towards_either_kind() -> None:
    from bot.embedding import FakeEmbedder

    embedder = FakeEmbedder()
    rows = _examples()
    texts = [r.text for r in rows]
    labels = [own_care.label(r.label) for r in rows]
    assert set(labels) == {"other", "treatment", "symptom", "declined"}
    member = classifier.fit(
        embedder.encode(texts), texts, labels, 1, own_care.CLASSES, own_care.EITHER
    )
    again = classifier.fit(
        embedder.encode(texts), texts, labels, 1, own_care.CLASSES, own_care.EITHER
    )
    assert all(
        np.array_equal(getattr(member, f), getattr(again, f)) for f in Member.__annotations__
    )
    model = Model((member,), {}, "m", "d", own_care.CLASSES)
    probs = model.probabilities(embedder.encode(texts), texts)
    for row, lab in zip(probs, labels, strict=True):
        if lab == "declined":
            assert row[0] < 0.5  # treatment or symptom, whichever
        else:
            assert own_care.CLASSES[int(row.argmax())] == lab


def test_the_threshold_lets_through_the_budget_of_personal_messages_and_no_labelled_one(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # (probability, own care?, personal?)
    dev = [(0.9, True, True), (0.8, False, True), (0.7, False, True), (0.95, False, False)]
    dev += [(0.1, False, True)] * 98  # 100 personal messages of another kind
    monkeypatch.setattr(own_care, "BUDGET", 0.0)
    # A message naming no one is never judged: its 0.95 sets nothing.
    assert own_care.choose_threshold(dev, []) == pytest.approx(0.8 + own_care.BUFFER)
    monkeypatch.setattr(own_care, "BUDGET", 0.01)
    assert own_care.choose_threshold(dev, []) == pytest.approx(0.7 + own_care.BUFFER)
    strict = [(0.75, True), (0.99, False)]  # a declined or urgent question sets nothing
    assert own_care.choose_threshold(dev, strict) == pytest.approx(0.75 + own_care.BUFFER)


def _member(logits: np.ndarray, axes: np.ndarray | None = None, dim: int = 8) -> Member:
    """A network that outputs `logits`, plus `axes` (classes x dim) times the vector."""
    hidden = classifier.HIDDEN
    dense = np.zeros((dim, hidden), np.float32)
    dense[:, :dim] = np.eye(dim)
    out = np.zeros((hidden, len(logits)), np.float32)
    if axes is not None:
        out[:dim] = axes.T
    zero = np.zeros((classifier.WORD_DIMS, hidden), np.float32)
    return Member(dense, zero, np.zeros(hidden, np.float32), out, logits.astype(np.float32))


def _constant(probs: list[float]) -> Model:
    """A model whose every text gets `probs` (other, treatment, symptom)."""
    member = _member(np.log(np.asarray(probs)))
    return Model((member,), {"own_care": 0.6}, "m", "d", own_care.CLASSES)


def test_only_a_message_that_names_a_person_is_judged() -> None:
    model = _constant([0.1, 0.2, 0.7])
    probs = model.probabilities(np.zeros((1, 8), np.float32), ["x"])
    assert own_care.judge(model, probs, "what about dexamethasone for nausea from chemo") is None
    said = own_care.judge(model, probs, "my fingers tingle since the chemo, will it pass")
    assert said is not None and said[0] == "symptom" and said[1] == pytest.approx(0.9, abs=1e-4)
    low = _constant([0.5, 0.3, 0.2])
    assert own_care.judge(low, low.probabilities(np.zeros((1, 8)), ["x"]), "can I skip it") is None


def test_the_layer_puts_a_crisis_first_and_own_care_before_support() -> None:
    dim = 8
    weights = np.zeros((5, dim), np.float32)
    weights[classifier.CLASSES.index("violence"), 0] = 5.0  # the first axis reads as violence
    weights[classifier.CLASSES.index("support"), 1] = 5.0  # the second as support
    crisis = Model((_member(np.zeros(5), weights),), {"violence": 0.6, "support": 0.6}, "m", "d")
    layer = SemanticTriage(
        lambda t: np.zeros((len(t), dim), np.float32),
        Thresholds({c: 2.0 for c in classifier.CLASSES}, 0.05),
        model=crisis,
        own_care=_constant([0.1, 0.8, 0.1]),
    )
    text = ["can I take my tablets later tonight"]
    violent, distressed = np.eye(dim, dtype=np.float32)[[0]], np.eye(dim, dtype=np.float32)[[1]]
    assert layer.check(violent, text).category == "violence"
    verdict = layer.check(distressed, text)
    assert (verdict.category, verdict.topic, verdict.source) == (
        "declined",
        "treatment",
        "own_care",
    )
    # Written in a frame (a study), it is nobody's own care.
    assert (
        layer.check(distressed, ["what do studies say about my dose of it"]).category == "support"
    )


@pytest.mark.parametrize(("topic", "template_words"), [("symptom", "symptom"), ("treatment", "")])
def test_the_assistant_declines_on_the_head_when_nothing_else_spoke(
    assistant, topic: str, template_words: str
) -> None:
    assistant.semantic = Says(Verdict("declined", 0.9, 0.2, 0, "own_care", topic))
    reply = assistant.reply("my neighbour mentioned something odd to me at the bus stop")
    assert reply.status == "declined"
    assert reply.trace.rules == ["semantic:own_care:declined"]
    assert template_words in reply.answer.lower()
    # The rules' own verdict stands: a dosing rule's reply is not the head's.
    ruled = assistant.reply("how much ketamine should I take for my pain")
    assert ruled.status == "declined"
    assert "semantic:own_care:declined" not in ruled.trace.rules
    # A question about the site itself is not asked about one's own care.
    site = assistant.reply("can I use this site instead of asking my doctor")
    assert site.status == "info"


def test_the_shipped_head_was_trained_on_the_corpus_as_it_is() -> None:
    model = own_care.load()
    assert model is not None, "bot/data/triage_own_care.json is missing: run `bot triage train`"
    assert model.digest == classifier.corpus_digest(), "run `bot triage train`"
    assert classifier.family(model.embedder).startswith("all-MiniLM-L6-v2")
    assert 0.5 < model.thresholds["own_care"] < 1.0


@pytest.mark.integration
def test_the_shipped_threshold_holds_on_the_dev_split_with_the_real_model(real_embedder) -> None:
    """The dev result recorded at training must still hold here, within two messages."""
    model = own_care.load()
    assert model is not None
    recorded = json.loads(own_care.MODEL_FILE.read_text())
    dev = [r for r in classifier.load_corpus(fold_declined=False) if r.dev]
    probs = classifier.per_message(
        model, real_embedder.encode, [texts_to_judge(r.text) or [r.text] for r in dev]
    )
    hits = [own_care.judge(model, p, r.text) is not None for p, r in zip(probs, dev, strict=True)]
    own = [own_care.label(r.label) != "other" for r in dev]
    caught = sum(h for h, o in zip(hits, own, strict=True) if o)
    alarms = sum(h for h, o in zip(hits, own, strict=True) if not o)
    assert caught >= int(recorded["dev"].split("/")[0]) - 2
    assert alarms <= int(recorded["dev_false_alarms"].split("/")[0]) + 2
