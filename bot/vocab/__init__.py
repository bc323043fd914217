"""Vocabularies of names the corpus may lack: drugs and brands, remedies, diseases, English.

Loaded once per process from `bot/data/vocab/` (see generate.py for where each generated
file comes from; remedies.yaml and conditions.yaml are curated, with a source per entry).
A name's key is `bot.text.basic(name)`.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

from bot.resources import read_text, read_yaml
from bot.text.normalise import basic

NEOPLASMS = "C04"


@dataclass(frozen=True)
class Drug:
    canonical: str  # the dictionary's name of the drug ("Pembrolizumab")
    weak: bool = False  # an everyday word too: only a name where a compound is expected
    source: str = "dictionary"
    label: str = ""  # how a reply names it, when not the canonical ("low-dose naltrexone")


@dataclass(frozen=True)
class Disease:
    heading: str  # MeSH heading ("Lung Neoplasms")
    trees: tuple[str, ...]  # MeSH tree numbers
    stage_iv: bool = False  # the name itself says the cancer has spread ("mets")
    treatment: bool = False  # a cancer treatment ("chemo"): a cancer context, not a disease

    @property
    def cancer(self) -> bool:
        return any(t.startswith(NEOPLASMS) for t in self.trees)

    def within(self, other: Disease) -> bool:
        """This disease is the other one or a kind of it (MeSH tree below it)."""
        return self.heading == other.heading or any(
            t == o or t.startswith(o + ".") for t in self.trees for o in other.trees
        )


@dataclass(frozen=True)
class Vocabulary:
    drugs: dict[str, Drug]
    diseases: dict[str, Disease]
    english: frozenset[str]
    words: frozenset[str]  # every word of every drug and disease name
    names_of: dict[str, tuple[str, ...]]  # canonical drug -> its names (keys of `drugs`)

    def known_word(self, word: str) -> bool:
        return word in self.english or word in self.words


def _rows(name: str) -> list[list[str]]:
    return [
        line.split("\t")
        for line in read_text(f"vocab/{name}").splitlines()
        if line and not line.startswith("#")
    ]


@cache
def load() -> Vocabulary:
    drugs: dict[str, Drug] = {}
    interned: dict[tuple[str, bool], Drug] = {}
    for key, canonical, flags in _rows("drugs.tsv.gz"):
        weak = "w" in flags
        drugs[key] = interned.setdefault((canonical, weak), Drug(canonical, weak))
    for entry in read_yaml("vocab/remedies.yaml"):
        # A therapy (acupuncture) is named like a remedy but is no drug: tagged apart.
        source = "therapies" if entry.get("kind") == "therapy" else "remedies"
        drug = Drug(entry.get("same_as") or entry["name"], source=source, label=entry["name"])
        for name in (entry["name"], *entry.get("aliases", ())):
            drugs[basic(name)] = drug

    diseases: dict[str, Disease] = {}
    headings: dict[str, Disease] = {}
    for key, heading, trees in _rows("diseases.tsv.gz"):
        disease = headings.get(heading)
        if disease is None:
            disease = headings[heading] = Disease(heading, tuple(trees.split(";")))
        diseases[key] = disease
    for entry in read_yaml("vocab/conditions.yaml"):
        base = headings.get(entry["mesh"])
        if base is None:
            raise ValueError(f"conditions.yaml: unknown MeSH heading {entry['mesh']!r}")
        disease = Disease(
            base.heading,
            base.trees,
            stage_iv=entry.get("stage") == "iv",
            treatment=bool(entry.get("treatment")),
        )
        for name in entry["names"]:
            diseases[basic(name)] = disease

    english = frozenset(
        w for w in read_text("vocab/english.txt.gz").split("\n") if w and not w.startswith("#")
    )
    words = frozenset(w for table in (drugs, diseases) for key in table for w in key.split())
    names_of: dict[str, list[str]] = {}
    for key, drug in drugs.items():
        if not drug.weak:
            names_of.setdefault(drug.canonical, []).append(key)
    return Vocabulary(drugs, diseases, english, words, {c: tuple(ks) for c, ks in names_of.items()})


COMMON = 1000


@cache
def common_english() -> frozenset[str]:
    """The most frequent English words ("out", "there", "water"): never a compound's name
    in the place where one goes ("what's out there for ...")."""
    words = [w for w in read_text("vocab/english.txt.gz").split("\n") if w and w[0] != "#"]
    return frozenset(words[:COMMON])


@cache
def english_ranks() -> dict[str, int]:
    """Each English word's frequency rank (1: "the")."""
    words = [w for w in read_text("vocab/english.txt.gz").split("\n") if w and w[0] != "#"]
    return {w: i for i, w in enumerate(words, 1)}


@cache
def english_buckets() -> dict[tuple[str, int], tuple[str, ...]]:
    """English words by (first letter, length): the few a typo can be one edit from."""
    buckets: dict[tuple[str, int], list[str]] = {}
    for w in load().english:
        buckets.setdefault((w[0], len(w)), []).append(w)
    return {k: tuple(v) for k, v in buckets.items()}
