"""Synthetic assessment pages and labelled questions for the benchmark.

Pages follow the site's template exactly (bench/page_template.py: the seed page's headings,
lines and order), with INVENTED compound and condition names composed from syllables
("Zorvatine", "Stage IV Quellosis"), evidence levels from a small fixed list of
fixture-like phrases, and invented mechanisms. Nothing
here is a medical claim: every name is made up and checked against the shipped corpus,
the vocabularies in `bot/data/` and the words of the template and questions.

Everything is deterministic from (number of pages, seed).
"""

from __future__ import annotations

import hashlib
import math
import random
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path

from rapidfuzz import fuzz, process

from bench.page_template import PAGE_TEMPLATE, headings, unfilled

# --- fixed lists ---------------------------------------------------------------------

# Fixture-like phrases, in the style of tests/fixtures ("Level 2: One small fixture RCT").
EVIDENCE_LEVELS = (
    "Level 2: One small synthetic RCT",
    "Level 3: Non-randomized synthetic trials",
    "Level 4: Cohort synthetic data; no RCTs",
    "Level 5: Expert synthetic opinion",
    "Level 5: Synthetic case reports",
    "Preclinical only; two Phase I synthetic studies",
    "Preclinical: synthetic cell culture data only",
    "Phase II synthetic trial ongoing; Level 4 synthetic cohort data",
)
MECHANISM_ACTIONS = (
    "receptor agonism",
    "pathway modulation",
    "kinase inhibition",
    "channel tuning",
    "signal damping",
    "membrane binding",
    "enzyme blocking",
    "relay dampening",
)
# Route qualifiers (bot.entities.QUALIFIERS): "Zorvatine (Oral)" is still "zorvatine".
ROUTES = ("Oral", "Inhaled", "Topical", "Oral / Inhaled")
CONDITION_PREFIXES = ("Stage IV", "Stage IV", "Chronic", "Refractory", "Recurrent", "Progressive")

_ONSETS = "b br d dr f fl g gr k kl l m n p pr qu r s st t tr v vr z zh x".split()
_VOWELS = "a e i o u a o e".split()
_CODAS = ["", "", "r", "l", "n", "s", "x", "m"]
_COMPOUND_SUFFIXES = "tine zole mab stat prine dol vex lin rax zumab tide pam fen vir dine".split()
_CONDITION_SUFFIXES = "osis itis emia oma algia opathy ectasia".split()
_TARGET_SUFFIXES = "in ase or ex ulin ide".split()

# (intent, question). {c} is the compound as people say it (no route qualifier), {d}
# the condition.
COVERED_TEMPLATES: tuple[tuple[str, str], ...] = (
    ("evidence_level", "What is the evidence level for {c} in {d}?"),
    ("evidence_level", "How strong is the evidence for {c} for {d}?"),
    ("evidence_level", "Is {c} any good for {d}?"),
    ("grade", "What grade of evidence is there for {c} in {d}?"),
    ("mechanism", "How does {c} work in {d}?"),
    ("mechanism", "What is the mechanism of {c} for {d}?"),
    ("trials", "Are there clinical trials of {c} for {d}?"),
    ("trials", "Are any trials recruiting for {c} in {d}?"),
    ("meaning", "What does the evidence level of {c} for {d} mean for patients?"),
    ("evolve", "How could the evidence for {c} in {d} change over time?"),
)
UNCOVERED_TEMPLATES: tuple[tuple[str, str], ...] = (
    ("evidence_level", "What is the evidence level for {c} in {d}?"),
    ("mechanism", "What is the mechanism of {c} for {d}?"),
    ("trials", "Are there clinical trials of {c} for {d}?"),
)
OPENERS = ("", "Hi, ", "Quick question: ", "Hello! ", "Please tell me: ")


# --- names ---------------------------------------------------------------------------


def _words(text: str) -> list[str]:
    return re.findall(r"[a-z]+", text.lower())


@cache
def reserved_words() -> frozenset[str]:
    """Words no invented name may resemble: the shipped corpus's names and text, the
    vocabularies and synonyms of bot/data, the template and the question wording."""
    words: set[str] = set()
    for name in ("vocab/remedies.yaml", "vocab/conditions.yaml", "synonyms.txt"):
        text = resources.files("bot.data").joinpath(name).read_text(encoding="utf-8")
        words.update(_words(text))
    words.update(shipped_names())
    from bot.settings import ROOT

    for page in sorted((ROOT / "corpus").glob("*")):
        if page.is_file():
            words.update(_words(page.read_text(encoding="utf-8", errors="replace")))
    words.update(_words(unfilled()))
    words.update(_words(" ".join(t for _, t in COVERED_TEMPLATES + UNCOVERED_TEMPLATES)))
    words.update(_words(" ".join(OPENERS)))
    words.update(_words(" ".join(EVIDENCE_LEVELS + MECHANISM_ACTIONS + ROUTES)))
    return frozenset(w for w in words if len(w) >= 3)


@cache
def shipped_names() -> frozenset[str]:
    """Words of the compound and condition names of the pages shipped in corpus/."""
    from bot.pages import load_corpus
    from bot.settings import ROOT

    names: set[str] = set()
    corpus = ROOT / "corpus"
    if corpus.is_dir():
        for a in load_corpus(corpus).assessments:
            names.update(_words(a.compound))
            names.update(_words(a.condition))
    return frozenset(names)


class NameFactory:
    """Invented words, each unlike every reserved word and every word made before it."""

    RESERVED_CUTOFF = 75  # fuzz.ratio: stay well away from real and template words
    MUTUAL_CUTOFF = 86  # bot.entities.FUZZY_CUTOFF: no name is a "typo" of another

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.made: list[str] = []
        self._made_set: set[str] = set()
        self._reserved = sorted(reserved_words())

    def _stem(self, syllables: int) -> str:
        parts = []
        for i in range(syllables):
            coda = self.rng.choice(_CODAS) if i == 0 else ""
            parts.append(self.rng.choice(_ONSETS) + self.rng.choice(_VOWELS) + coda)
        return "".join(parts)

    def _ok(self, word: str) -> bool:
        if word in self._made_set or word in self._reserved or len(word) < 6:
            return False
        if process.extractOne(
            word, self._reserved, scorer=fuzz.ratio, score_cutoff=self.RESERVED_CUTOFF
        ):
            return False
        # Anything that triage could read as a crisis or dosing word is out.
        if re.search(r"dos|kil|sui|harm|die|dea|pil|med|overd|od$", word):
            return False
        return not process.extractOne(
            word, self.made, scorer=fuzz.ratio, score_cutoff=self.MUTUAL_CUTOFF
        )

    def word(self, suffixes: Sequence[str], max_tries: int = 10_000) -> str:
        for _ in range(max_tries):
            stem, suffix = self._stem(self.rng.choice((1, 2, 2))), self.rng.choice(suffixes)
            if stem[-1] in "aeiou" and suffix[0] in "aeiou":
                stem = stem[:-1]  # "Quelle" + "osis" -> "Quellosis"
            word = stem + suffix
            if self._ok(word):
                self.made.append(word)
                self._made_set.add(word)
                return word
        raise RuntimeError("could not invent a new name; the syllable space is exhausted")


@dataclass(frozen=True)
class PageSpec:
    """What one synthetic page says (and so what a question about it should get)."""

    compound: str  # as on the page, maybe with a route: "Zorvatine (Oral)"
    spoken: str  # as people say it: "Zorvatine"
    condition: str
    evidence_level: str
    mechanism: tuple[str, ...]
    filename: str

    @property
    def title(self) -> str:
        return f"{self.compound} for {self.condition}: Evidence Level Assessment"


def slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def grid(n: int) -> tuple[int, int]:
    """(compounds, conditions) for n pages: every compound covers up to every condition."""
    conditions = max(4, round(math.sqrt(n) / 2))
    return math.ceil(n / conditions), conditions


@cache
def _specs(n: int, seed: int) -> tuple[tuple[PageSpec, ...], tuple[str, ...]]:
    rng = random.Random(f"bench-synth-{seed}")
    factory = NameFactory(rng)
    n_compounds, n_conditions = grid(n)
    conditions = []
    for _ in range(n_conditions):
        head = factory.word(_CONDITION_SUFFIXES).capitalize()
        prefix = rng.choice((*CONDITION_PREFIXES, "Syndrome"))
        conditions.append(f"{head} Syndrome" if prefix == "Syndrome" else f"{prefix} {head}")
    compounds = []
    for _ in range(n_compounds):
        spoken = factory.word(_COMPOUND_SUFFIXES).capitalize()
        route = rng.choice(ROUTES) if rng.random() < 0.15 else None
        compounds.append((f"{spoken} ({route})" if route else spoken, spoken))
    targets = [factory.word(_TARGET_SUFFIXES).capitalize() for _ in range(24)]
    # Names reserved for questions about compounds the corpus does not cover.
    uncovered = tuple(
        factory.word(_COMPOUND_SUFFIXES).capitalize() for _ in range(max(8, n_compounds // 4))
    )
    specs = []
    for i in range(n):
        compound, spoken = compounds[i // n_conditions]
        condition = conditions[i % n_conditions]
        mechanism = tuple(
            f"synthetic {rng.choice(targets)} {action}"
            for action in rng.sample(MECHANISM_ACTIONS, rng.choice((2, 3, 4)))
        )
        specs.append(
            PageSpec(
                compound=compound,
                spoken=spoken,
                condition=condition,
                evidence_level=rng.choice(EVIDENCE_LEVELS),
                mechanism=mechanism,
                filename=f"{slug(compound)}--{slug(condition)}.txt",
            )
        )
    return tuple(specs), uncovered


def make_specs(n: int, seed: int = 0) -> list[PageSpec]:
    """The n pages of a synthetic corpus (deterministic from n and seed)."""
    if n < 1:
        raise ValueError("n must be at least 1")
    return list(_specs(n, seed)[0])


def uncovered_compounds(n: int, seed: int = 0) -> list[str]:
    """Invented compound names that no page of the n-page corpus covers."""
    return list(_specs(n, seed)[1])


def render_page(spec: PageSpec, revision: int = 0) -> str:
    note = (
        f" Revision {revision}: synthetic edit for the incremental rebuild benchmark."
        if revision
        else ""
    )
    return PAGE_TEMPLATE.format(
        title=spec.title,
        compound=spec.compound,
        condition=spec.condition,
        level=spec.evidence_level,
        mechanism="; ".join(spec.mechanism),
        revision=note,
        **headings(spec.compound, spec.condition),
    )


def write_corpus(directory: Path, n: int, seed: int = 0) -> list[PageSpec]:
    """Write n pages (.txt) into directory (created; must hold no other pages)."""
    directory.mkdir(parents=True, exist_ok=True)
    specs = make_specs(n, seed)
    for spec in specs:
        (directory / spec.filename).write_text(render_page(spec), encoding="utf-8")
    return specs


def edit_page(
    directory: Path, specs: Sequence[PageSpec], which: int = 0, revision: int = 1
) -> Path:
    """Edit one page in place (a sentence added to "How Evidence Levels Evolve"): its
    content hash changes, its compound, condition and level do not."""
    spec = specs[which % len(specs)]
    path = directory / spec.filename
    path.write_text(render_page(spec, revision=revision), encoding="utf-8")
    return path


# --- questions -----------------------------------------------------------------------


@dataclass(frozen=True)
class Question:
    text: str
    expected_status: str  # "answered" | "not_found"
    intent: str
    compound: str
    condition: str
    evidence_level: str | None  # verbatim level an answered reply must state
    page: str | None  # filename of the page that answers it


def _phrase(template: str, compound: str, condition: str, opener: str) -> str:
    text = template.format(c=compound, d=condition)
    return opener + text[0].lower() + text[1:] if opener else text


def _covered(spec: PageSpec, template: tuple[str, str], opener: str) -> Question:
    intent, text = template[0], _phrase(template[1], spec.spoken, spec.condition, opener)
    return Question(
        text, "answered", intent, spec.compound, spec.condition, spec.evidence_level, spec.filename
    )


def _uncovered(name: str, condition: str, template: tuple[str, str], opener: str) -> Question:
    text = _phrase(template[1], name, condition, opener)
    return Question(text, "not_found", template[0], name, condition, None, None)


def questions(
    specs: Sequence[PageSpec],
    uncovered: Sequence[str],
    seed: int = 0,
    uncovered_share: float = 0.15,
    limit: int = 1_000_000,
) -> Iterator[Question]:
    """Unique labelled questions in a deterministic random order, at most `limit`.

    Covered questions name one page's compound and condition (expected `answered`, with
    that page's level); the rest name an invented compound the corpus lacks before a
    covered condition (expected `not_found`)."""
    rng = random.Random(f"bench-questions-{seed}")
    conditions = sorted({s.condition for s in specs})
    capacity = len(specs) * len(COVERED_TEMPLATES) * len(OPENERS)
    if uncovered:
        capacity += len(uncovered) * len(conditions) * len(UNCOVERED_TEMPLATES) * len(OPENERS)
    seen: set[str] = set()
    misses = 0
    while len(seen) < min(limit, capacity) and misses < 10_000:
        if uncovered and rng.random() < uncovered_share:
            q = _uncovered(
                rng.choice(uncovered),
                rng.choice(conditions),
                rng.choice(UNCOVERED_TEMPLATES),
                rng.choice(OPENERS),
            )
        else:
            q = _covered(rng.choice(specs), rng.choice(COVERED_TEMPLATES), rng.choice(OPENERS))
        if q.text in seen:
            misses += 1
            continue
        misses = 0
        seen.add(q.text)
        yield q


def repeated_question(specs: Sequence[PageSpec]) -> Question:
    """The one question the "repeated" throughput phases send over and over."""
    return _covered(specs[0], COVERED_TEMPLATES[0], "")


def file_hashes(directory: Path) -> dict[str, str]:
    return {
        p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(directory.glob("*.txt"))
    }
