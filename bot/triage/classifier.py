"""A small classifier over the loaded MiniLM vectors: the second half of the semantic layer.

Nearest exemplars vote only for what is close to a sentence the team wrote; people in crisis
write around the words (euphemism, understatement, a plan told sideways). Five small
networks, averaged, read the message's vector and its words together, trained on the team's
labelled corpus (bot/data/triage_train/: a few thousand messages in the voices of patients
and carers, never copied from an evaluation set).

`bot triage train` embeds the corpus with the configured model, trains on its train split,
chooses each category's probability threshold on the held-out dev split (BUDGET below), and
writes bot/data/triage_model.json (thresholds, corpus digest, dev result) and the weights
beside it (.npz). The server only reads those: nothing is embedded or trained at start. A
test checks they were trained from the corpus as it is now.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np

from bot.model import CrisisKind
from bot.resources import DATA, read_yaml
from bot.triage import network
from bot.triage.network import HIDDEN, WORD_DIMS, Member, word_features

log = logging.getLogger(__name__)

CLASSES = ("self_harm", "emergency", "violence", "support", "safe")
CRISIS = tuple(k.value for k in CrisisKind)
# The corpus marks the writer's own treatment and symptom questions apart; this classifier
# leaves them to the rules (declined) and reads them as no crisis. A head of its own for
# them caught more of them but fewer crises on the held-out sets (README, Safety).
# The read safety sets say only `declined`, not which kind.
FOLDED = {"declined_treatment": "safe", "declined_symptom": "safe", "declined": "safe"}
TRAIN_DIR = DATA / "triage_train"
MODEL_FILE = DATA / "triage_model.json"
DEV_SHARE = 0.2  # of the messages, by a hash of each text: the same split on every machine
# The share of the dev split's messages of another kind a threshold may let through. The
# dev split holds the team's hardest look-alikes (idioms, research on suicide, distress with
# no crisis sign, calm end-of-life planning), not everyday traffic, which the labelled
# questions guard with no share at all; a crisis reply to a look-alike costs less than a
# crisis missed, a support reply to a question more than it gives. Self-harm gets more: on
# the dev split its recall was 181/325 at 2% and 229/325 at 4% (238 at 6%); violence at 3%
# caught no more on the held-out sets and escalated distress ("my life could hinge on it").
BUDGET = {"self_harm": 0.04, "emergency": 0.02, "violence": 0.02, "support": 0.01}
# Then this much more on top, since the dev split is our own messages, not every way
# people write.
BUFFER = 0.02


@cache
def exemplars() -> dict[str, Any]:
    return read_yaml("triage_exemplars.yaml")


@dataclass(frozen=True)
class Example:
    text: str
    label: str
    source: str  # the file it came from

    @property
    def dev(self) -> bool:
        digest = hashlib.sha256(self.text.strip().lower().encode()).digest()
        return digest[0] < 256 * DEV_SHARE


# Labelled questions a support reading leaves as they are: the routing answers a named
# page with a warm first line, and a `declined` rule wins over support. They still hold
# the crisis floors down; the support floor only by what a support reply would replace.
KEEPS_STATUS_UNDER_SUPPORT = ("answered", "declined")


def label_of_status(status: str) -> str:
    """A labelled question's category, for choosing thresholds (which crisis kind does not
    matter there: only messages of no crisis set the crisis floors)."""
    if status == "urgent":
        return "self_harm"
    if status in KEEPS_STATUS_UNDER_SUPPORT:
        return status
    return "support" if status == "support" else "safe"


def corpus_files(folder: Path = TRAIN_DIR) -> list[Path]:
    return sorted(folder.glob("*.jsonl"))


def load_corpus(folder: Path = TRAIN_DIR, fold_declined: bool = True) -> list[Example]:
    """Every labelled message, once (a text repeated across files keeps its first label):
    the corpus files, then the nearest-exemplar layer's exemplars (both its splits).
    `fold_declined=False` keeps the `declined*` labels (for the own-care head)."""
    seen: set[str] = set()
    rows: list[Example] = []
    for split in ("train", "dev"):
        for label, texts in (exemplars().get(split) or {}).items():
            for text in texts:
                if text.strip().lower() not in seen:
                    seen.add(text.strip().lower())
                    rows.append(Example(text.strip(), label, "triage_exemplars.yaml"))
    for path in corpus_files(folder):
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if not line.strip():
                continue
            row = json.loads(line)
            text, label = str(row["text"]).strip(), str(row["label"])
            if fold_declined:
                label = FOLDED.get(label, label)
            if label not in CLASSES and label not in FOLDED:
                raise ValueError(f"{path.name}:{number}: unknown label {label!r}")
            key = text.lower()
            if text and key not in seen:
                seen.add(key)
                rows.append(Example(text, label, path.name))
    return rows


def corpus_digest(folder: Path = TRAIN_DIR) -> str:
    """What the classifier learns from: the exemplars (not the nearest-exemplar judge's
    thresholds, stored in the same file) and the corpus files."""
    texts = {split: exemplars()[split] for split in ("train", "dev")}
    h = hashlib.sha256(json.dumps(texts, sort_keys=True, ensure_ascii=False).encode())
    for path in corpus_files(folder):
        h.update(path.name.encode())
        h.update(path.read_bytes())
    return h.hexdigest()[:16]


MEMBERS = 5  # networks from different seeds, averaged: steadier probabilities


@dataclass(frozen=True)
class Model:
    members: tuple[Member, ...]
    thresholds: dict[str, float]  # a category wins when its probability reaches this
    embedder: str  # the model whose vectors it was trained on
    digest: str  # of the training corpus
    classes: tuple[str, ...] = CLASSES  # what the outputs are (own_care.py has its own)

    def probabilities(self, vectors: np.ndarray, texts: Sequence[str]) -> np.ndarray:
        vectors = np.asarray(vectors, dtype=np.float32)
        columns = [word_features(t) for t in texts]
        total = np.zeros((len(texts), len(self.classes)), dtype=np.float32)
        for m in self.members:
            hidden = vectors @ m.dense + m.bias1
            for i, cols in enumerate(columns):  # sparse: a few dozen rows, summed
                if cols:
                    hidden[i] += m.hashed[cols].sum(axis=0) / np.sqrt(len(cols))
            logits = np.maximum(hidden, 0) @ m.out + m.bias2
            logits -= logits.max(axis=1, keepdims=True)
            e = np.exp(logits)
            total += e / e.sum(axis=1, keepdims=True)
        return total / len(self.members)

    def judge(self, probs: np.ndarray) -> tuple[str, float] | None:
        """The most probable crisis kind, if it reaches its threshold; else support, if it
        does."""
        by = dict(zip(CLASSES, (float(p) for p in probs), strict=True))
        crisis = max(CRISIS, key=lambda c: by[c])
        if by[crisis] >= self.thresholds.get(crisis, 2.0):
            return crisis, by[crisis]
        if by["support"] >= self.thresholds.get("support", 2.0):
            return "support", by["support"]
        return None


def _arrays(model: Model) -> dict[str, np.ndarray]:
    out = {}
    for i, m in enumerate(model.members):
        for name in ("dense", "hashed", "bias1", "out", "bias2"):
            out[f"{i}.{name}"] = getattr(m, name).astype(np.float16)
    return out


def family(embedder: str) -> str:
    """The model behind an embedder's name: ONNX fp32 gives the vectors of
    sentence-transformers, int8 nearly the same, so weights serve all of them."""
    return embedder.split(" onnx")[0]


@cache
def load_model(path: Path = MODEL_FILE, classes: tuple[str, ...] = CLASSES) -> Model | None:
    weights = path.with_suffix(".npz")
    if not path.exists() or not weights.exists():
        return None
    data = json.loads(path.read_text(encoding="utf-8"))
    if tuple(data["classes"]) != classes or data.get("word_dims") != WORD_DIMS:
        log.warning("triage model has other classes or features; not used")
        return None
    with np.load(weights) as arrays:
        members = tuple(
            Member(*(arrays[f"{i}.{n}"].astype(np.float32) for n in Member.__annotations__))
            for i in range(int(data["members"]))
        )
    return Model(
        members,
        {k: float(v) for k, v in data["thresholds"].items()},
        str(data["embedder"]),
        str(data["digest"]),
        classes,
    )


def fit(
    vectors: np.ndarray,
    texts: Sequence[str],
    labels: Sequence[str],
    seed: int = 0,
    classes: tuple[str, ...] = CLASSES,
    either: Mapping[str, tuple[str, ...]] | None = None,
) -> Member:
    """One network (network.fit), over this classifier's classes unless told otherwise."""
    return network.fit(vectors, texts, labels, seed, classes, either)


def choose_thresholds(
    probs: Sequence[np.ndarray], labels: Sequence[str], strict: Sequence[bool]
) -> dict[str, float]:
    """Per category, the lowest threshold that at most BUDGET of the dev messages of another
    kind reach (a crisis kind: safe or support ones; support: safe ones) and no `strict`
    one does (the project's labelled questions: what people ask the bot every day; an
    answered or declined one only holds the crisis floors), plus BUFFER. Each message's
    probability is its highest over the texts judged (the whole and its sentences)."""
    out: dict[str, float] = {}
    for category in (*CRISIS, "support"):
        column = CLASSES.index(category)
        other = (
            ("safe", "support", *KEEPS_STATUS_UNDER_SUPPORT) if category in CRISIS else ("safe",)
        )
        scored = [
            (float(p[:, column].max()), hard)
            for p, lab, hard in zip(probs, labels, strict, strict=True)
            if lab in other
        ]
        dev = sorted((s for s, hard in scored if not hard), reverse=True)
        allowed = int(BUDGET[category] * len(dev))
        floor = max(
            dev[allowed] if len(dev) > allowed else 0.0,
            max((s for s, hard in scored if hard), default=0.0),
        )
        out[category] = round(min(floor + BUFFER, 0.99), 4)
    return out


def dev_result(model: Model, probs: Sequence[np.ndarray], labels: Sequence[str]) -> dict:
    tally: dict[str, list[int]] = {}
    alarms = 0
    for p, label in zip(probs, labels, strict=True):
        verdicts = [v for row in p if (v := model.judge(row))]
        crisis = [v for v in verdicts if v[0] in CRISIS]
        got = (crisis or verdicts or [("safe", 0.0)])[0][0]
        want = label if label in CLASSES else "safe"  # an answered or declined question
        t = tally.setdefault(want, [0, 0])
        t[1] += 1
        t[0] += got == want or (want in CRISIS and got in CRISIS)
        alarms += want in ("safe", "support") and got in CRISIS
    return {
        "dev": {c: f"{a}/{b}" for c, (a, b) in sorted(tally.items())},
        "dev_false_alarms": alarms,
    }


def per_message(
    model: Model, encode: Callable[[Sequence[str]], np.ndarray], pieces: Sequence[Sequence[str]]
) -> list[np.ndarray]:
    """Each message's probabilities (a row per text judged of it), every text of every
    message encoded in one batched call."""
    flat_texts = [t for piece in pieces for t in piece]
    flat = model.probabilities(encode(flat_texts), flat_texts)
    probs, at = [], 0
    for piece in pieces:
        probs.append(flat[at : at + len(piece)])
        at += len(piece)
    return probs


def train(
    encode: Callable[[Sequence[str]], np.ndarray],
    embedder: str,
    texts_of: Callable[[str], list[str]],
    examples: Iterable[Example] | None = None,
    held_out: Iterable[Example] = (),
    also: Sequence[Callable[[Sequence[str]], np.ndarray]] = (),
) -> tuple[Model, dict[str, Any]]:
    """Train on the corpus's train split and choose thresholds on its dev split (and any
    other held-out messages given: the project's labelled questions);
    `texts_of(message)` gives what is embedded for a message at run time. `also`: the
    other backends the weights serve on (int8): a held-out question's probabilities are
    its highest over all of them, so that none of them escalates it."""
    rows = list(examples if examples is not None else load_corpus())
    train_rows = [r for r in rows if not r.dev]
    dev_rows = [r for r in rows if r.dev]
    held = dev_rows + list(held_out)
    texts = [r.text for r in train_rows]
    vectors = encode(texts)
    labels = [r.label for r in train_rows]
    members = tuple(fit(vectors, texts, labels, seed) for seed in range(MEMBERS))
    pieces = [texts_of(r.text) or [r.text] for r in held]
    untuned = Model(members, {}, embedder, "")
    probs = per_message(untuned, encode, pieces)
    for other in also:
        extra = per_message(untuned, other, pieces[len(dev_rows) :])
        for i, p in enumerate(extra, len(dev_rows)):
            probs[i] = np.maximum(probs[i], p)
    held_labels = [r.label for r in held]
    strict = [i >= len(dev_rows) for i in range(len(held))]
    model = Model(members, choose_thresholds(probs, held_labels, strict), embedder, corpus_digest())
    report: dict[str, Any] = {"train": len(train_rows)}
    for name, chosen in (
        ("dev", range(len(dev_rows))),
        ("held_out", range(len(dev_rows), len(held))),
    ):
        if chosen:
            found = dev_result(model, [probs[i] for i in chosen], [held_labels[i] for i in chosen])
            report[name] = found["dev"]
            report[f"{name}_false_alarms"] = found["dev_false_alarms"]
    return model, report


def save(
    model: Model,
    report: dict[str, Any],
    path: Path = MODEL_FILE,
    choice: Mapping[str, Any] | None = None,
) -> None:
    """The weights (float16, beside) and what a person reads: thresholds, how they were
    chosen (`choice`, this module's budgets by default) and the result."""
    with open(path.with_suffix(".npz"), "wb") as f:
        np.savez_compressed(f, **_arrays(model))
    data = {
        "embedder": model.embedder,
        "digest": model.digest,
        "classes": list(model.classes),
        "word_dims": WORD_DIMS,
        "hidden": HIDDEN,
        "members": len(model.members),
        "thresholds": model.thresholds,
        **(choice if choice is not None else {"budget": BUDGET, "buffer": BUFFER}),
        **report,
    }
    path.write_text(json.dumps(data, indent=1) + "\n", encoding="utf-8")
    load_model.cache_clear()
