"""The semantic layer of triage: nearest exemplars and the classifier trained on the team's
corpus (bot/triage/semantic.py, bot/triage/classifier.py)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from layers import Says

from bot.triage import classifier
from bot.triage.classifier import CLASSES, Example, Member, Model
from bot.triage.semantic import (
    SemanticTriage,
    Thresholds,
    Verdict,
    framed,
    sentences_to_embed,
    texts_to_judge,
)


def _clusters(per: int = 40, dim: int = 16, seed: int = 3) -> tuple[np.ndarray, list[str]]:
    """Five separable groups of unit vectors, one per class."""
    rng = np.random.default_rng(seed)
    centres = np.eye(dim)[: len(CLASSES)] * 3
    rows, labels = [], []
    for k, label in enumerate(CLASSES):
        points = centres[k] + rng.normal(scale=0.6, size=(per, dim))
        rows.append(points / np.linalg.norm(points, axis=1, keepdims=True))
        labels += [label] * per
    return np.vstack(rows).astype(np.float32), labels


def test_fit_learns_separable_classes_and_is_deterministic() -> None:
    x, labels = _clusters()
    texts = [f"invented message {i}" for i in range(len(labels))]
    first = classifier.fit(x, texts, labels, seed=1)
    again = classifier.fit(x, texts, labels, seed=1)
    assert all(np.array_equal(getattr(first, f), getattr(again, f)) for f in Member.__annotations__)
    model = Model((first,), {}, "m", "d")
    predicted = [CLASSES[i] for i in model.probabilities(x, texts).argmax(axis=1)]
    assert sum(p == t for p, t in zip(predicted, labels, strict=True)) / len(labels) > 0.95


def _linear(weights: np.ndarray) -> Member:
    """A member that passes the vector's first axes straight to the logits."""
    dims = weights.shape[1]
    hidden = classifier.HIDDEN
    dense = np.zeros((dims, hidden), np.float32)
    dense[:dims, :dims] = np.eye(dims)
    out = np.zeros((hidden, len(CLASSES)), np.float32)
    out[:dims] = weights.T
    zero = np.zeros(classifier.WORD_DIMS * hidden, np.float32).reshape(-1, hidden)
    return Member(dense, zero, np.zeros(hidden, np.float32), out, np.zeros(5, np.float32))


def test_thresholds_let_through_at_most_the_budget_and_no_labelled_question(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def probs(*rows: list[float]) -> np.ndarray:
        return np.array(rows)

    held = [
        probs([0.30, 0.1, 0.1, 0.2, 0.3]),  # safe, its highest self_harm 0.30
        probs([0.1, 0.1, 0.1, 0.1, 0.6], [0.2, 0.1, 0.1, 0.5, 0.1]),  # support 0.5 in a sentence
        probs([0.05, 0.1, 0.1, 0.1, 0.65]),  # another safe one
        probs([0.9, 0.0, 0.0, 0.05, 0.05]),  # self_harm: sets no floor
        probs([0.12, 0.0, 0.0, 0.05, 0.83]),  # a labelled question: never let through
    ]
    labels = ["safe", "support", "safe", "self_harm", "safe"]
    strict = [False, False, False, False, True]
    monkeypatch.setattr(classifier, "BUDGET", dict.fromkeys(classifier.BUDGET, 0.0))
    found = classifier.choose_thresholds(held, labels, strict)
    assert found["self_harm"] == pytest.approx(0.30 + classifier.BUFFER)  # support counts too
    assert found["support"] == pytest.approx(0.2 + classifier.BUFFER)  # only safe ones count
    # A budget of a third of the three dev messages lets the highest one through...
    monkeypatch.setattr(classifier, "BUDGET", dict.fromkeys(classifier.BUDGET, 0.34))
    found = classifier.choose_thresholds(held, labels, strict)
    assert found["self_harm"] == pytest.approx(0.2 + classifier.BUFFER)
    # ... but never a labelled question.
    held[4] = probs([0.25, 0.0, 0.0, 0.05, 0.7])
    found = classifier.choose_thresholds(held, labels, strict)
    assert found["self_harm"] == pytest.approx(0.25 + classifier.BUFFER)


@pytest.mark.parametrize("status", ["answered", "declined"])
def test_a_question_a_support_reading_leaves_alone_holds_only_the_crisis_floors(
    monkeypatch: pytest.MonkeyPatch, status: str
) -> None:
    """A support reading keeps a named page answered (with a warm line) and a declined
    rule's reply; a crisis reading of either would replace it."""
    monkeypatch.setattr(classifier, "BUDGET", dict.fromkeys(classifier.BUDGET, 0.0))
    held = [np.array([[0.1, 0.0, 0.0, 0.1, 0.8]]), np.array([[0.3, 0.0, 0.0, 0.6, 0.1]])]
    labels = ["safe", classifier.label_of_status(status)]
    found = classifier.choose_thresholds(held, labels, [False, True])
    assert found["support"] == pytest.approx(0.1 + classifier.BUFFER)
    assert found["self_harm"] == pytest.approx(0.3 + classifier.BUFFER)
    as_safe = classifier.choose_thresholds(held, ["safe", "safe"], [False, True])
    assert as_safe["support"] == pytest.approx(0.6 + classifier.BUFFER)


def test_judge_puts_a_crisis_before_support_and_stays_quiet_below_thresholds() -> None:
    model = Model(
        (),
        {"self_harm": 0.5, "emergency": 0.5, "violence": 0.5, "support": 0.3},
        "m",
        "d",
    )
    assert model.judge(np.array([0.55, 0.0, 0.0, 0.45, 0.0])) == ("self_harm", 0.55)
    assert model.judge(np.array([0.45, 0.0, 0.0, 0.35, 0.2])) == ("support", 0.35)
    assert model.judge(np.array([0.2, 0.2, 0.2, 0.2, 0.2])) is None
    # A category with no threshold never fires.
    assert Model((), {}, "m", "d").judge(np.array([1.0, 0, 0, 0, 0])) is None


def test_the_exemplar_judge_raises_only_the_kinds_it_has_a_floor_for() -> None:
    def encode(texts: list[str]) -> np.ndarray:
        return np.ones((len(texts), 4), np.float32)

    scored = {"self_harm": 0.6, "emergency": 0.1, "violence": 0.9, "support": 0.2, "safe": 0.1}
    every = SemanticTriage(encode, Thresholds({c: 0.5 for c in CLASSES}, 0.05))
    verdict = every.judge(scored)
    assert verdict is not None and verdict.category == "violence"
    # With no floor for violence, the next kind that reaches its own floor speaks.
    floors = {"self_harm": 0.5, "emergency": 0.5, "support": 0.5}
    some = SemanticTriage(encode, Thresholds(floors, 0.05))
    verdict = some.judge(scored)
    assert verdict is not None and verdict.category == "self_harm"
    assert some.judge({**scored, "self_harm": 0.3}) is None


def test_the_layer_reports_a_classifier_verdict_with_its_source() -> None:
    dim = 8

    def encode(texts: list[str]) -> np.ndarray:
        return np.tile(np.eye(dim)[0], (len(texts), 1)).astype(np.float32)

    weights = np.zeros((5, dim), np.float32)
    weights[CLASSES.index("violence"), 1] = 5.0  # reads the second axis as violence
    model = Model((_linear(weights),), {"violence": 0.6}, "m", "d")
    # Exemplars that can never fire: floors above any cosine.
    layer = SemanticTriage(encode, Thresholds({c: 2.0 for c in CLASSES}, 0.05), model=model)
    quiet = np.eye(dim, dtype=np.float32)[[0]]
    assert layer.check(quiet, ["one"]) is None
    alarming = np.eye(dim, dtype=np.float32)[[0, 1]]  # the second text reads as violence
    verdict = layer.check(alarming, ["one", "two"])
    assert verdict is not None
    assert (verdict.category, verdict.source, verdict.sentence) == ("violence", "classifier", 1)
    assert verdict.crisis is not None and verdict.crisis.value == "violence"


def test_a_long_message_is_judged_whole_and_sentence_by_sentence() -> None:
    raw = "what does the page say about trials in stage 4. i have pills saved up for tonight."
    sentences = [
        "what does the page say about trials in stage 4.",
        "i have pills saved up for tonight.",
    ]
    assert sentences_to_embed(raw, sentences) == [raw, *sentences]
    assert sentences_to_embed("help me", ["help me"]) == []  # too short to judge
    one = "is ketamine any good for stage four cancer"
    assert sentences_to_embed(one, [one]) == [one]


def test_corpus_rows_are_checked_and_kept_once(tmp_path: Path) -> None:
    (tmp_path / "a.jsonl").write_text(
        json.dumps({"text": "An invented first line", "label": "support"})
        + "\n"
        + json.dumps({"text": "an invented FIRST line ", "label": "safe"})
        + "\n",
        encoding="utf-8",
    )
    rows = [r for r in classifier.load_corpus(tmp_path) if r.source == "a.jsonl"]
    assert [(r.text, r.label) for r in rows] == [("An invented first line", "support")]
    (tmp_path / "b.jsonl").write_text(json.dumps({"text": "x", "label": "scary"}) + "\n")
    with pytest.raises(ValueError, match=r"b\.jsonl:1: unknown label"):
        classifier.load_corpus(tmp_path)


def test_the_dev_split_is_fixed_by_the_text() -> None:
    rows = classifier.load_corpus()
    dev = [r for r in rows if r.dev]
    assert 0.1 < len(dev) / len(rows) < 0.3
    assert all(Example(r.text, r.label, "elsewhere").dev for r in dev)


def test_the_shipped_model_was_trained_on_the_corpus_as_it_is() -> None:
    """Edit the corpus and forget `bot triage train`, and this fails: the weights would
    read an older corpus."""
    model = classifier.load_model()
    assert model is not None, "bot/data/triage_model.json is missing: run `bot triage train`"
    assert model.digest == classifier.corpus_digest(), "run `bot triage train`"
    assert classifier.family(model.embedder).startswith("all-MiniLM-L6-v2")
    assert set(model.thresholds) == {"self_harm", "emergency", "violence", "support"}
    assert all(0.0 < t < 1.0 for t in model.thresholds.values())


@pytest.mark.integration
def test_the_shipped_thresholds_hold_on_the_dev_split_with_the_real_model(real_embedder) -> None:
    """Vectors differ a little between CPUs and backends; the dev result recorded when the
    model was trained (`bot triage train`) must still hold here, within one message."""
    model = classifier.load_model()
    assert model is not None
    recorded = json.loads(classifier.MODEL_FILE.read_text())
    dev = [r for r in classifier.load_corpus() if r.dev]
    texts = [texts_to_judge(r.text) or [r.text] for r in dev]
    probs = classifier.per_message(model, real_embedder.encode, texts)
    result = classifier.dev_result(model, probs, [r.label for r in dev])
    assert result["dev_false_alarms"] <= recorded["dev_false_alarms"] + 1
    for label, share in recorded["dev"].items():
        got = int(result["dev"][label].split("/")[0])
        want = int(share.split("/")[0])
        # One message either way at a threshold is the CPU, not the model.
        assert got >= want - 1, (label, result["dev"][label], share)


def test_a_framed_text_cannot_raise_the_alarm_by_the_classifier_alone() -> None:
    dim = 8
    weights = np.zeros((5, dim), np.float32)
    weights[CLASSES.index("self_harm"), 0] = 5.0  # every text reads as self-harm
    model = Model((_linear(weights),), {"self_harm": 0.6}, "m", "d")
    layer = SemanticTriage(
        lambda t: np.zeros((len(t), dim), np.float32),
        Thresholds({c: 2.0 for c in CLASSES}, 0.05),
        model=model,
    )
    vectors = np.eye(dim, dtype=np.float32)[[0]]
    assert framed("what do studies say about overdose in the elderly") == "fr-research"
    assert layer.check(vectors, ["what do studies say about overdose in the elderly"]) is None
    assert layer.check(vectors, ["i'd die for a decent coffee right now"]) is None
    verdict = layer.check(vectors, ["i have been putting pills aside every night"])
    assert verdict is not None and verdict.category == "self_harm"


INVENTED_WORDS = {
    "self_harm": "pills saved goodbye letters",
    "emergency": "fever shaking chemo breathless",
    "violence": "hits threatens bruises locked",
    "support": "scared lonely crying tired",
    "safe": "evidence trial level page",
}


def _invented_examples() -> list[Example]:
    """Thirty invented messages per class, each class with words of its own."""
    return [
        Example(f"{INVENTED_WORDS[label]} invented message number {i}", label, "t.jsonl")
        for label in CLASSES
        for i in range(30)
    ]


def test_train_chooses_thresholds_on_the_dev_split_and_reports_it() -> None:
    """The whole training use-case on a few invented messages and the fake embedder."""
    from bot.embedding import FakeEmbedder

    examples = _invented_examples()
    held = [Example("what level is the evidence on the page", "safe", "held-out")]
    embedder = FakeEmbedder()
    model, report = classifier.train(
        embedder.encode, embedder.name, lambda m: [m], examples, held_out=held
    )
    dev = [e for e in examples if e.dev]
    assert report["train"] == len(examples) - len(dev)
    assert sum(int(v.split("/")[1]) for v in report["dev"].values()) == len(dev)
    assert report["held_out"] == {"safe": "1/1"} and report["held_out_false_alarms"] == 0
    assert set(model.thresholds) == {"self_harm", "emergency", "violence", "support"}
    assert len(model.members) == classifier.MEMBERS


def test_a_labelled_question_stays_under_the_thresholds_on_every_backend() -> None:
    """The int8 copy moves vectors a little; a question that only the other backend reads
    as a crisis still sets the floors."""
    from bot.embedding import FakeEmbedder

    examples = _invented_examples()
    question = "what level is the evidence on the page"
    embedder = FakeEmbedder()

    def drifted(texts: list[str]) -> np.ndarray:  # reads every text as the crisis words
        crisis = f"{INVENTED_WORDS['self_harm']} invented message"
        return embedder.encode([crisis for _ in texts])

    held = [Example(question, "safe", "held-out")]
    model, _ = classifier.train(
        embedder.encode, embedder.name, lambda m: [m], examples, held_out=held, also=[drifted]
    )
    probs = model.probabilities(drifted([question]), [question])[0]
    assert model.judge(probs) is None
    alone, _ = classifier.train(embedder.encode, embedder.name, lambda m: [m], examples, held)
    assert model.thresholds["self_harm"] > alone.thresholds["self_harm"]


@pytest.mark.parametrize(
    ("category", "status", "crisis"),
    [
        ("violence", "urgent", "violence"),
        ("support", "support", None),
    ],
)
def test_the_assistant_acts_on_the_layer_when_the_rules_find_nothing(
    assistant, category: str, status: str, crisis: str | None
) -> None:
    assistant.semantic = Says(Verdict(category, 0.9, 0.2, 0, "classifier"))
    reply = assistant.reply("my neighbour mentioned something odd to me at the bus stop")
    assert reply.status == status
    assert reply.crisis_kind == crisis
    assert reply.trace.rules == [f"semantic:classifier:{category}"]


def test_distress_beside_a_compound_we_have_no_page_for_is_told_so(assistant) -> None:
    assistant.semantic = Says(Verdict("support", 0.9, 0.2, 0, "classifier"))
    reply = assistant.reply("we're all so frightened. do you have anything on metformin?")
    assert reply.status == "not_found"
    assert assistant.reply("we're all so frightened and none of us can sleep").status == "support"


@pytest.mark.parametrize(
    ("layer_says", "kind"),
    [("self_harm", "self_harm"), ("emergency", "emergency"), ("violence", "emergency")],
)
def test_an_overdose_the_classifier_reads_as_self_harm_is_self_harm_with_911_first(
    assistant, layer_says: str, kind: str
) -> None:
    """The rules read an overdose as an emergency; taken to die, it is self-harm (the kind
    the audit and the reply carry), and the emergency's contacts still lead."""
    assistant.semantic = Says(Verdict(layer_says, 0.9, 0.2, 0, "classifier"))
    reply = assistant.reply("I took too many pills because I want to die")
    assert reply.status == "urgent" and reply.crisis_kind == kind
    book = assistant._book
    emergency, self_harm = book.for_kind("emergency"), book.for_kind("self_harm")
    assert reply.answer.index(emergency[0].text) < reply.answer.index(self_harm[0].text)
    if kind == "self_harm":
        assert reply.trace.rules[-1] == "semantic:classifier:self_harm"
        assert all(c.text in reply.answer for c in self_harm)  # 988's text and chat too
        shown = book.led_by("emergency", "self_harm")
        assert len(shown) == len(set(shown)) and shown[: len(emergency)] == emergency


EVAL = Path(__file__).parent / "fixtures" / "eval"
READ_SETS = ["blind-safety", *(f"blind-safety{n}" for n in range(2, 11))]
UNREAD_SETS = ["blind-safety11", "blind-safety12", "blind-safety13"]


def _safety_rows(name: str) -> list[dict]:
    lines = (EVAL / name / "questions.jsonl").read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines if line.strip()]


def test_the_read_safety_sets_are_trained_on_as_labelled() -> None:
    """The corpus's copy of the read safety sets (read_safety_sets.jsonl) says what they
    say: edit a set and forget its copy, and this fails."""
    path = classifier.TRAIN_DIR / "read_safety_sets.jsonl"
    copy = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    expected = []
    for name in READ_SETS:
        for row in _safety_rows(name):
            status = row["status"]
            label = row["crisis_kind"] if status == "urgent" else status
            label = label if label in ("support", "declined", *classifier.CRISIS) else "safe"
            source = f"{name}/{row['id']}"
            expected.append({"text": row["question"], "label": label, "from": source})
    assert copy == expected


def test_no_unread_safety_set_is_trained_on() -> None:
    """The unread sets (blind-safety11, 12 and 13) measure what the corpus never saw: none
    of their messages may be in it."""
    trained = {r.text.strip().lower() for r in classifier.load_corpus()}
    for name in UNREAD_SETS:
        leaked = [r["id"] for r in _safety_rows(name) if r["question"].strip().lower() in trained]
        assert not leaked, (name, leaked)
