"""The writer's own care: a second head over the same vectors, for questions that belong to
one's own doctor (a dose, a change of treatment, what to do about a symptom) in words no
`declined` rule has ("fingers tingling since the oxaliplatin, anything I can do?").

The crisis classifier (classifier.py) reads these questions as no crisis, and a head for
them inside it cost crises (README, Safety); this one is trained apart, on the same corpus
with its `declined_treatment` / `declined_symptom` labels (the read safety sets say only
`declined`: either), and is asked only when neither the rules nor the crisis layer found
anything, so it can turn an ordinary reply into `declined` and nothing else. Only a
message that names a person (the writer, or someone they care for) is read: "what about
dexamethasone for nausea" is a question about a page, "can I move my dexamethasone to
bedtime" one for the doctor.

`bot triage train` writes bot/data/triage_own_care.json (threshold, corpus digest, dev
result) and its weights (.npz); the server only reads them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np

from bot.resources import DATA
from bot.triage import classifier
from bot.triage.classifier import Model
from bot.triage.rules import PERSON, REQUEST_PHRASES, plain

CLASSES = ("other", "treatment", "symptom")
LABELS = {"declined_treatment": "treatment", "declined_symptom": "symptom"}
EITHER = {"declined": ("treatment", "symptom")}
MODEL_FILE = DATA / "triage_own_care.json"
# The share of the dev split's personal messages of no own-care kind the threshold may let
# through (no labelled question that is not `declined` may reach it), then BUFFER on top.
BUDGET = 0.01
BUFFER = 0.02


def label(corpus_label: str) -> str:
    return LABELS.get(corpus_label, corpus_label if corpus_label in EITHER else "other")


def personal(text: str) -> bool:
    """Whether a person is in the message: the writer or someone they speak for."""
    return bool(PERSON.search(REQUEST_PHRASES.sub(" ", plain(text))))


@cache
def load() -> Model | None:
    return classifier.load_model(MODEL_FILE, CLASSES)


def probability(model: Model, probs: np.ndarray) -> tuple[float, str, int]:
    """A message's probability of being for the doctor (its highest over the texts judged),
    which kind (treatment or symptom) and which text decided."""
    own = 1.0 - probs[:, 0]
    i = int(own.argmax())
    topic = "symptom" if probs[i, 2] > probs[i, 1] else "treatment"
    return float(own[i]), topic, i


def judge(model: Model, probs: np.ndarray, message: str) -> tuple[str, float, int] | None:
    """The topic (treatment | symptom), probability and deciding text, when the message
    names a person and reaches the threshold."""
    if not personal(message):
        return None
    p, topic, i = probability(model, probs)
    return (topic, p, i) if p >= model.thresholds["own_care"] else None


def choose_threshold(
    dev: Sequence[tuple[float, bool, bool]], strict: Sequence[tuple[float, bool]]
) -> float:
    """`dev`: (probability, own-care?, personal?) per dev message; `strict`: (probability,
    must stay under?) per labelled question. The lowest threshold BUDGET of the personal
    dev messages of another kind reach and no strict one does, plus BUFFER."""
    others = sorted((p for p, own, person in dev if person and not own), reverse=True)
    allowed = int(BUDGET * len(others))
    floor = max(
        others[allowed] if len(others) > allowed else 0.0,
        max((p for p, under in strict if under), default=0.0),
    )
    return round(min(floor + BUFFER, 0.99), 4)


def train(
    encode: Callable[[Sequence[str]], np.ndarray],
    embedder: str,
    texts_of: Callable[[str], list[str]],
    held_out: Iterable[tuple[str, str]] = (),
    also: Sequence[Callable[[Sequence[str]], np.ndarray]] = (),
    examples: Iterable[classifier.Example] | None = None,
) -> tuple[Model, dict[str, Any]]:
    """Train on the corpus's train split; the threshold on its dev split and the labelled
    questions held out (`(text, status)`: those neither `declined` nor `urgent`, which
    triage decides first, must stay under it, on every backend in `also` too)."""
    rows = list(examples if examples is not None else classifier.load_corpus(fold_declined=False))
    train_rows = [r for r in rows if not r.dev]
    dev_rows = [r for r in rows if r.dev]
    texts = [r.text for r in train_rows]
    vectors = encode(texts)
    labels = [label(r.label) for r in train_rows]
    members = tuple(
        classifier.fit(vectors, texts, labels, seed, CLASSES, EITHER)
        for seed in range(classifier.MEMBERS)
    )
    untuned = Model(members, {}, embedder, "", CLASSES)
    held = list(held_out)

    def scored(
        messages: Sequence[str], backends: Sequence[Callable[[Sequence[str]], np.ndarray]]
    ) -> list[float]:
        pieces = [texts_of(m) or [m] for m in messages]
        best = [0.0] * len(messages)
        for backend in backends:
            for i, p in enumerate(classifier.per_message(untuned, backend, pieces)):
                best[i] = max(best[i], probability(untuned, p)[0])
        return best

    dev_p = scored([r.text for r in dev_rows], [encode])
    held_p = scored([text for text, _ in held], [encode, *also])
    dev = [
        (p, label(r.label) != "other", personal(r.text))
        for p, r in zip(dev_p, dev_rows, strict=True)
    ]
    strict = [
        (p, status not in ("declined", "urgent") and personal(text))
        for p, (text, status) in zip(held_p, held, strict=True)
    ]
    threshold = choose_threshold(dev, strict)
    model = Model(members, {"own_care": threshold}, embedder, classifier.corpus_digest(), CLASSES)
    caught = [p >= threshold and person for p, _, person in dev]

    def share(keep: Sequence[bool], among: Sequence[bool]) -> str:
        return f"{sum(k for k, a in zip(keep, among, strict=True) if a)}/{sum(among)}"

    own = [o for _, o, _ in dev]
    declined = [status == "declined" for _, status in held]
    report = {
        "train": len(train_rows),
        "dev": share(caught, own),
        "dev_false_alarms": share(caught, [not o for o in own]),
        "held_out_declined": share([p >= threshold for p in held_p], declined),
    }
    return model, report


def save(model: Model, report: dict[str, Any], path: Path = MODEL_FILE) -> None:
    classifier.save(model, report, path, {"budget": BUDGET, "buffer": BUFFER})
    load.cache_clear()
