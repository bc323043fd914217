"""The semantic layer of triage: the message and each of its sentences, judged with the
model already loaded for retrieval.

Rules catch what they were written for; people in crisis use words no rule has. Two
judges read the vectors:
- nearest exemplars (bot/data/triage_exemplars.yaml): the mean similarity of a text's
  nearest exemplars of each category, against those of safe questions; a text close
  enough to a crisis category, and clearly closer to it than to the safe ones, makes the
  message urgent; to the support category, a support reply. Thresholds chosen on the
  held-out dev exemplars (`bot triage calibrate`) and stored with them;
- the classifier (classifier.py), trained on the team's corpus, except on a text written
  in a frame (bot/data/rules/frames.yaml: an essay, a story, the research, an idiom, a
  past that is over), where it alone does not raise the alarm.
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from bot import rules
from bot.model import CrisisKind
from bot.resources import read_text
from bot.triage import classifier
from bot.triage import own_care as own_care_head
from bot.triage.rules import _normaliser, plain

log = logging.getLogger(__name__)

CRISIS = tuple(k.value for k in CrisisKind)
CATEGORIES = (*CRISIS, "support", "safe")
NEAREST = 3  # a category's score: the mean similarity of its nearest exemplars
# A floor sits this far above the highest held-out score of a sentence of another kind:
# the held-out data are a few hundred of our own sentences, not every way people write.
BUFFER = 0.035


@dataclass(frozen=True)
class Thresholds:
    floor: Mapping[str, float]  # a category's score must reach this
    margin: float  # ... and beat the safe exemplars' score by this much


@dataclass(frozen=True)
class Verdict:
    category: str  # self_harm | emergency | violence | support
    score: float
    margin: float
    sentence: int  # which text decided (the whole message or one of its sentences)
    source: str = "exemplars"  # or "classifier"
    topic: str | None = None  # for "declined" (own_care.py): treatment | symptom

    @property
    def crisis(self) -> CrisisKind | None:
        return CrisisKind(self.category) if self.category in CRISIS else None


exemplars = classifier.exemplars  # one reading of the file for both halves of the layer


def exemplar_digest() -> str:
    return hashlib.sha256(read_text("triage_exemplars.yaml").encode()).hexdigest()[:16]


def thresholds() -> Thresholds:
    data = exemplars().get("thresholds") or {}
    return Thresholds(dict(data.get("floor", {})), float(data.get("margin", 0.05)))


def _exemplar_rows(split: str = "train") -> tuple[list[str], list[str]]:
    texts = exemplars()[split]
    labels: list[str] = []
    sentences: list[str] = []
    for category in CATEGORIES:
        for text in texts.get(category, ()):
            labels.append(category)
            sentences.append(text)
    return labels, sentences


class SemanticTriage:
    def __init__(
        self,
        encode: Callable[[Sequence[str]], np.ndarray],
        limits: Thresholds | None = None,
        vectors: np.ndarray | None = None,
        model: classifier.Model | None = None,
        own_care: classifier.Model | None = None,
    ) -> None:
        self.model = model
        self.own_care = own_care
        self.labels, sentences = _exemplar_rows()
        if vectors is None or len(vectors) != len(sentences):
            vectors = np.asarray(encode(sentences), dtype=np.float32)
        self.vectors = vectors
        self.limits = limits or thresholds()
        self._rows = {
            c: np.array([i for i, lab in enumerate(self.labels) if lab == c]) for c in CATEGORIES
        }

    def scores(self, vectors: np.ndarray) -> list[dict[str, float]]:
        """Per sentence, each category's score (mean cosine of its nearest exemplars)."""
        sims = np.asarray(vectors, dtype=np.float32) @ self.vectors.T
        out = []
        for row in sims:
            scored = {}
            for category, rows in self._rows.items():
                top = np.sort(row[rows])[-NEAREST:] if len(rows) else np.array([0.0])
                scored[category] = float(top.mean())
            out.append(scored)
        return out

    def judge(self, scored: dict[str, float], limits: Thresholds | None = None) -> Verdict | None:
        limits = limits or self.limits
        safe = scored["safe"]
        # Only the categories with a floor: a kind this judge is not trusted with (see the
        # exemplars file) is left to the rules and the classifier.
        judged = [c for c in CRISIS if c in limits.floor]
        crisis = max(judged, key=lambda c: scored[c], default="support")
        for category in dict.fromkeys((crisis, "support")):
            floor = limits.floor.get(category)
            if floor is None:
                continue
            score = scored[category]
            if score >= floor and score - safe >= limits.margin:
                return Verdict(category, round(score, 4), round(score - safe, 4), -1)
        return None

    def check(
        self, vectors: np.ndarray, texts: Sequence[str], own_care: bool = True
    ) -> Verdict | None:
        """The most serious verdict over the texts, by the exemplars or the classifiers: a
        crisis, then (if `own_care`) a question for one's own doctor (`declined`, as the
        rules order them), then support."""
        found: list[Verdict] = []
        for i, scored in enumerate(self.scores(vectors)):
            verdict = self.judge(scored)
            if verdict is not None:
                found.append(Verdict(verdict.category, verdict.score, verdict.margin, i))
        if self.model is not None:
            for i, probs in enumerate(self.model.probabilities(vectors, texts)):
                said = self.model.judge(probs)
                if said is not None and said[0] in CRISIS and framed(texts[i]):
                    continue  # an essay, a story, an idiom, a past that is over
                if said is not None:
                    category, p = said
                    margin = round(p - self.model.thresholds[category], 4)
                    found.append(Verdict(category, round(p, 4), margin, i, "classifier"))
        crisis = [v for v in found if v.crisis]
        if crisis:
            return max(crisis, key=lambda v: v.margin)
        if own_care and self.own_care is not None and texts and not framed(texts[0]):
            own = self.own_care.probabilities(vectors, texts)
            said = own_care_head.judge(self.own_care, own, texts[0])
            if said is not None:
                topic, p, i = said
                margin = round(p - self.own_care.thresholds["own_care"], 4)
                return Verdict("declined", round(p, 4), margin, i, "own_care", topic)
        return found[0] if found else None


def calibrate(
    semantic: SemanticTriage,
    encode: Callable[[Sequence[str]], np.ndarray],
    labelled: Sequence[tuple[str, Sequence[str]]] = (),
) -> dict[str, Any]:
    """Thresholds from held-out data: the dev exemplars, plus labelled questions of the
    project's own sets (label "crisis" or "safe", and the texts the layer would embed for
    the message, as at run time). Each category's floor is the lowest at which no held-out
    message of another kind (safe, or support for a crisis category) is taken for it, plus
    BUFFER; then the held-out recall those floors give."""
    dev = exemplars()["dev"]
    rows: list[tuple[str, list[str]]] = [(c, [t]) for c in CATEGORIES for t in dev.get(c, ())]
    rows += [(label, list(texts)) for label, texts in labelled if texts]
    flat = [t for _, texts in rows for t in texts]
    scored_flat = semantic.scores(encode(flat))
    scored: list[list[dict[str, float]]] = []
    at = 0
    for _, texts in rows:
        scored.append(scored_flat[at : at + len(texts)])
        at += len(texts)
    margin = semantic.limits.margin

    def best(sentences: list[dict[str, float]], category: str) -> float:
        fit = [s[category] for s in sentences if s[category] - s["safe"] >= margin]
        return max(fit, default=0.0)

    floor: dict[str, float] = {}
    for category in (c for c in (*CRISIS, "support") if c in semantic.limits.floor):
        wrong = [
            best(sentences, category)
            for (c, _), sentences in zip(rows, scored, strict=True)
            if c != category and c != "crisis" and not (category in CRISIS and c in CRISIS)
        ]
        floor[category] = round(max(wrong, default=0.0) + BUFFER, 3)
    limits = Thresholds(floor, margin)
    hits: dict[str, list[int]] = {}
    false_alarms = 0
    for (c, _), sentences in zip(rows, scored, strict=True):
        verdicts = [v for s in sentences if (v := semantic.judge(s, limits))]
        crisis = [v for v in verdicts if v.crisis]
        got = (crisis or verdicts or [None])[0]
        name = got.category if got else "safe"
        tally = hits.setdefault(c, [0, 0])
        tally[1] += 1
        tally[0] += name == c or (c in (*CRISIS, "crisis") and name in CRISIS)
        false_alarms += c in ("safe", "support") and name in CRISIS
    return {
        "floor": floor,
        "margin": margin,
        "held_out": {c: f"{a}/{b}" for c, (a, b) in sorted(hits.items())},
        "held_out_false_alarms": false_alarms,
    }


def load(
    model: str,
    encode: Callable[[Sequence[str]], np.ndarray],
    cache: Path | None = None,
) -> SemanticTriage:
    """The layer over this model's exemplar vectors, kept on disk per model and exemplar
    file, so a server starts without embedding them again."""
    folder = cache or default_cache()
    path = folder / f"{re.sub(r'[^A-Za-z0-9._-]', '_', model)}-{exemplar_digest()}.npy"
    try:
        vectors = np.load(path) if path.exists() else None
    except (OSError, ValueError):
        vectors = None
    trained = classifier.load_model()
    if trained is not None and classifier.family(trained.embedder) != classifier.family(model):
        # Its weights read another model's vectors: meaningless here.
        log.warning("triage classifier trained on %s, not %s: not used", trained.embedder, model)
        trained = None
    own = own_care_head.load()
    if own is not None and classifier.family(own.embedder) != classifier.family(model):
        own = None
    semantic = SemanticTriage(encode, vectors=vectors, model=trained, own_care=own)
    if vectors is None:
        try:
            folder.mkdir(parents=True, exist_ok=True)
            tmp = path.with_suffix(f".{os.getpid()}.tmp")
            with open(tmp, "wb") as f:
                np.save(f, semantic.vectors)
            os.replace(tmp, path)
        except OSError as exc:  # a read-only home: embed at every start, still correct
            log.info("triage exemplar vectors not cached (%s)", exc)
    return semantic


def default_cache() -> Path:
    root = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(root) / "evidence-bot" / "triage"


# A sentence shorter than this says too little for a nearest-exemplar vote ("i'm so
# scared" sits as near an exemplar about a violent husband as one about fear of scans).
MIN_WORDS = 5


def sentences_to_embed(raw: str, sentences: Sequence[str]) -> list[str]:
    """What to embed: the whole message (the vector retrieval needs anyway for a
    one-sentence message, so it is computed once) and, when it has several, each sentence
    long enough to judge: a crisis sentence buried in a long question is judged alone."""
    if len(raw.split()) < MIN_WORDS:
        return []
    useful = [s for s in sentences if len(s.split()) >= MIN_WORDS]
    if len(useful) <= 1:
        return [raw]
    return [raw, *useful]


def framed(text: str) -> str | None:
    """The id of the frame a text is written in (bot/data/rules/frames.yaml), if any: the
    classifier alone does not raise the alarm on such a text."""
    found = rules.first(rules.load("frames"), plain(text))
    return found.id if found else None


def texts_to_judge(message: str) -> list[str]:
    """What the layer judges of a message on its own (no conversation), as at run time:
    for training and calibrating on labelled messages."""
    return sentences_to_embed(message, _normaliser().normalise(message).sentences)


def safe_check(
    semantic: SemanticTriage | None,
    embed_many: Callable[[Sequence[str]], np.ndarray],
    raw: str,
    sentences: Sequence[str],
    own_care: bool = True,
) -> Verdict | None:
    """The layer's verdict, or None when it is off or fails (rules still triage);
    `own_care`: whether the own-care head may speak."""
    if semantic is None:
        return None
    texts = sentences_to_embed(raw, sentences)
    if not texts:
        return None
    try:
        return semantic.check(embed_many(texts), texts, own_care)
    except Exception:  # the model, not the message: never let it block a reply
        log.exception("semantic triage failed; rules alone decide this message")
        return None
