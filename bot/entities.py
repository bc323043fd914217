"""Find the compound and condition a question is about.

The lexicon is built from the corpus (every compound and condition name and its forms),
plus a staff-editable synonyms file and vocabularies of compounds and conditions the
corpus may lack: naming one of those must lead to "we have no assessment of X", never
to the nearest page.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from itertools import product
from pathlib import Path

from rapidfuzz import fuzz, process

from bot.pages import Assessment

# Route and dose words qualify a compound name but never name one on their own.
QUALIFIERS = frozenset(
    [
        "iv",
        "intravenous",
        "oral",
        "topical",
        "inhaled",
        "nasal",
        "intranasal",
        "sublingual",
        "im",
        "sc",
        "subcutaneous",
        "injection",
        "infusion",
        "low",
        "high",
        "dose",
        "microdose",
        "extract",
        "cream",
        "patch",
        "spray",
    ]
)
# Condition heads too generic to identify a condition by themselves.
GENERIC_HEADS = frozenset(
    ["syndrome", "disease", "disorder", "condition", "stage", "iv", "chronic", "acute"]
)
# Words that carry no topic of their own: a question made only of these and names is a
# request for the overview ("tell me about brimadol please", "the second one").
FILLER_WORDS = frozenset(
    """a an the and or but so then also too ok okay please thanks thank yes no hi hello hey
    i me my we us our you your it its this that these those there here which what whats
    who how when where why do does did doing have has had got get is are was were be been
    am im can could would will should shall may might let lets see show give tell told
    about for of on in to at by with from regarding re just only now again instead same
    like want know learn more any anything something info information page pages
    first second third fourth fifth last one two three four five 1 2 3 4 5 1st 2nd 3rd
    4th 5th option options number ones
    covered cover assessed assessment assessments compounds compound offer available
    exist exists summary overview""".split()
)
# A name right after one of these ("not", "don't" -> "don t", "without") is negated.
NEGATIONS = frozenset({"not", "no", "t", "without", "never", "nor", "except"})
NEGATION_WINDOW = 3
# A negation reaches no further than its sentence: "...things that don't work. Has
# quorvastin been tested?" asks about quorvastin.
SENTENCE_END = re.compile(r"[.!?;]+(?=\s|$)|\n")
# Words that may stand before "for <condition>" without naming a compound.
GENERAL_WORDS = frozenset(
    """evidence level levels research studies study data trial trials treatment treatments
    therapy therapies drug drugs medication medications medicine medicines supplement
    supplements options remedy remedies help cure cures grade rating results approach
    approaches efficacy use used using effective good best work works working proof
    benefit benefits role value mechanism risk risks safety outcomes patients people
    someone stage advanced metastatic things stuff news update updates status""".split()
)
# A typo is only forgiven in words this long, against words this similar (0-100).
FUZZY_MIN_LEN = 5
FUZZY_CUTOFF = 86
MAX_CORRECTIONS = 3  # candidate corrections tried per typo'd word
MAX_NGRAM = 4


def _data_lines(name: str) -> list[str]:
    text = resources.files("bot.data").joinpath(name).read_text(encoding="utf-8")
    return [ln.strip() for ln in text.splitlines() if ln.strip() and not ln.startswith("#")]


def _basic(text: str) -> str:
    text = unicodedata.normalize("NFKC", text).lower()
    text = re.sub(r"[’`]", "'", text)
    text = re.sub(r"'s\b", "", text)
    return " ".join(re.findall(r"[a-z0-9]+", text))


@dataclass(frozen=True)
class Synonyms:
    """Variant -> canonical phrase, applied on whole words, longest variant first.

    A canonical phrase in the text stays as it is: "stage iv" is not turned into
    "stage intravenous" by the "intravenous = iv" group, so applying twice changes nothing.
    """

    pairs: tuple[tuple[str, str], ...]

    @classmethod
    def parse(cls, lines: Iterable[str]) -> Synonyms:
        pairs: list[tuple[str, str]] = []
        for line in lines:
            if line.strip().startswith("#") or "=" not in line:
                continue
            canonical, _, variants = line.partition("=")
            canonical = _basic(canonical)
            if not canonical:  # "= foo" would delete "foo" from every question
                continue
            pairs += [(_basic(v), canonical) for v in variants.split(",") if _basic(v)]
        pairs.sort(key=lambda p: -len(p[0]))
        return cls(tuple(pairs))

    @classmethod
    def load(cls, path: Path | None = None) -> Synonyms:
        if path is None:
            return cls.parse(_data_lines("synonyms.txt"))
        return cls.parse(path.read_text(encoding="utf-8").splitlines())

    def apply(self, text: str) -> str:
        if not self.pairs:
            return text
        pattern, mapping = _synonym_table(self.pairs)
        return pattern.sub(lambda m: mapping[m.group(0)], text)


@cache
def _synonym_table(
    pairs: tuple[tuple[str, str], ...],
) -> tuple[re.Pattern[str], dict[str, str]]:
    # Canonical phrases map to themselves (unless also a variant of another group), and
    # the alternation tries longer phrases first, so "stage iv" wins over its "iv".
    mapping = {canonical: canonical for _, canonical in pairs}
    mapping.update(pairs)
    phrases = sorted(mapping, key=lambda v: (-len(v), v))
    pattern = re.compile(r"\b(?:" + "|".join(re.escape(v) for v in phrases) + r")\b")
    return pattern, mapping


def compound_forms(name: str) -> set[str]:
    """ "Ketamine (IV / Esketamine)" -> ketamine, esketamine, iv ketamine, ..."""
    main, _, rest = name.partition("(")
    base = _basic(main)
    extras = [_basic(p) for p in re.split(r"[/,;]| or ", rest.rstrip(") ")) if _basic(p)]
    forms = {base, _basic(name)}
    core = " ".join(w for w in base.split() if w not in QUALIFIERS)
    if core:
        forms.add(core)
    for extra in extras:
        if all(w in QUALIFIERS for w in extra.split()):
            forms |= {f"{extra} {core}", f"{core} {extra}"}
        else:
            forms.add(extra)
    return {f for f in forms if f and not all(w in QUALIFIERS for w in f.split())}


def condition_forms(name: str) -> set[str]:
    """ "Stage IV Cancer" -> stage iv cancer, cancer."""
    base = _basic(name)
    forms = {base}
    heads = [w for w in base.split() if w not in GENERIC_HEADS]
    if heads and len(heads[-1]) >= 4:
        forms.add(heads[-1])
    return forms


@dataclass(frozen=True)
class Entities:
    """Names as written on the corpus pages, and names the corpus lacks."""

    compounds: tuple[str, ...] = ()
    conditions: tuple[str, ...] = ()
    unknown_compounds: tuple[str, ...] = ()
    unknown_conditions: tuple[str, ...] = ()

    @property
    def empty(self) -> bool:
        return not (
            self.compounds or self.conditions or self.unknown_compounds or self.unknown_conditions
        )


@dataclass(frozen=True)
class _Span:
    start: int
    end: int
    kind: str  # compound | condition | unknown_compound | unknown_condition
    names: frozenset[str]
    exact: bool


def _typo_grams(tokens: Sequence[str], fixes: Sequence[list[str]]) -> list[str]:
    """The n-gram with one or more of its words corrected (the n-gram itself left out)."""
    options = ([token, *fixed] for token, fixed in zip(tokens, fixes, strict=True))
    return [" ".join(words) for words in product(*options)][1:]


@dataclass
class Lexicon:
    synonyms: Synonyms
    compounds: dict[str, set[str]] = field(default_factory=dict)  # form -> page names
    conditions: dict[str, set[str]] = field(default_factory=dict)
    unknown_compounds: set[str] = field(default_factory=set)
    unknown_conditions: set[str] = field(default_factory=set)
    _word_cache: tuple[tuple[int, ...], frozenset[str]] | None = field(
        default=None, init=False, repr=False, compare=False
    )

    @classmethod
    def build(
        cls,
        assessments: Iterable[Assessment],
        synonyms: Synonyms | None = None,
        vocabulary: bool = True,
    ) -> Lexicon:
        lex = cls(synonyms or Synonyms.load())
        # Each name once: a site has many pages per compound and per condition.
        pages = list(assessments)
        for compound in dict.fromkeys(a.compound for a in pages):
            for form in compound_forms(compound):
                lex.compounds.setdefault(lex.normalise(form), set()).add(compound)
        for condition in dict.fromkeys(a.condition for a in pages):
            for form in condition_forms(condition):
                lex.conditions.setdefault(lex.normalise(form), set()).add(condition)
        if vocabulary:
            known = lex.compounds.keys() | lex.conditions.keys()
            lex.unknown_compounds = {lex.normalise(n) for n in _data_lines("compounds.txt")} - known
            lex.unknown_conditions = {
                lex.normalise(n) for n in _data_lines("conditions.txt")
            } - known
        return lex

    def normalise(self, text: str) -> str:
        return self.synonyms.apply(_basic(text))

    def _words(self) -> frozenset[str]:
        """Words of every form and vocabulary name long enough to be a typo's target."""
        tables = (self.compounds, self.conditions, self.unknown_compounds, self.unknown_conditions)
        key = tuple(len(t) for t in tables)
        if self._word_cache is None or self._word_cache[0] != key:
            words = frozenset(
                w for t in tables for name in t for w in name.split() if len(w) >= FUZZY_MIN_LEN
            )
            self._word_cache = (key, words)
        return self._word_cache[1]

    def _corrections(self, token: str, words: frozenset[str]) -> list[str]:
        """Known words a typo'd token may stand for, best first. Typos are forgiven word by
        word, and only in long words: "quorvamin j" is not "Quorvamin K", nor "in cancer"
        "skin cancer", though each is one letter from it as a whole string."""
        if len(token) < FUZZY_MIN_LEN or token in words:
            return []
        hits = process.extract(
            token, words, scorer=fuzz.ratio, score_cutoff=FUZZY_CUTOFF, limit=MAX_CORRECTIONS
        )
        return [word for word, _, _ in hits]

    def _spans(self, tokens: Sequence[str]) -> list[_Span]:
        known = (
            ("compound", self.compounds),
            ("condition", self.conditions),
        )
        unknown = (
            ("unknown_compound", self.unknown_compounds),
            ("unknown_condition", self.unknown_conditions),
        )
        words = self._words()
        fixes = [self._corrections(t, words) for t in tokens]
        spans: list[_Span] = []
        for n in range(1, MAX_NGRAM + 1):
            for i in range(len(tokens) - n + 1):
                gram = " ".join(tokens[i : i + n])
                typo_grams = _typo_grams(tokens[i : i + n], fixes[i : i + n])
                for kind, table in known:
                    if gram in table:
                        spans.append(_Span(i, i + n, kind, frozenset(table[gram]), True))
                    elif hit := next((g for g in typo_grams if g in table), None):
                        spans.append(_Span(i, i + n, kind, frozenset(table[hit]), False))
                for kind, names in unknown:
                    if gram in names:
                        spans.append(_Span(i, i + n, kind, frozenset({gram}), True))
                    # A typo in a one-word vocabulary name is not forgiven: common words one
                    # letter from a drug name ("addition", "radiating") must not become one.
                    elif n > 1 and (hit := next((g for g in typo_grams if g in names), None)):
                        spans.append(_Span(i, i + n, kind, frozenset({hit}), False))
        return spans

    def resolve(self, question: str) -> Entities:
        return self.analyse(question).entities

    def analyse(self, question: str) -> Analysis:
        tokens: list[str] = []
        sentence_start: list[int] = []
        for sentence in SENTENCE_END.split(question):
            words = self.normalise(sentence).split()
            sentence_start += [len(tokens)] * len(words)
            tokens += words
        # Longest, exact-first spans win; a shorter span inside a chosen one is dropped
        # ("breast cancer" is not also "cancer").
        spans = sorted(self._spans(tokens), key=lambda s: (-(s.end - s.start), not s.exact))
        taken: set[int] = set()
        chosen: list[_Span] = []
        found: dict[str, list[str]] = {
            "compound": [],
            "condition": [],
            "unknown_compound": [],
            "unknown_condition": [],
        }
        for span in spans:
            cells = set(range(span.start, span.end))
            if cells & taken:
                continue
            taken |= cells
            # "I don't have cancer, just the depression": a negated name is not the topic.
            window = max(sentence_start[span.start], span.start - NEGATION_WINDOW)
            if NEGATIONS & set(tokens[window : span.start]):
                continue
            chosen.append(span)
            for name in sorted(span.names):
                if name not in found[span.kind]:
                    found[span.kind].append(name)
        if not found["compound"] and not found["unknown_compound"]:
            guess = _unlisted_compound(tokens, chosen, taken)
            if guess is not None:
                found["unknown_compound"].append(tokens[guess])
                taken.add(guess)
        leftover = tuple(
            t for i, t in enumerate(tokens) if i not in taken and t not in FILLER_WORDS
        )
        return Analysis(
            Entities(
                compounds=tuple(found["compound"]),
                conditions=tuple(found["condition"]),
                unknown_compounds=tuple(found["unknown_compound"]),
                unknown_conditions=tuple(found["unknown_condition"]),
            ),
            leftover,
        )


def _unlisted_compound(
    tokens: Sequence[str], spans: Sequence[_Span], taken: set[int]
) -> int | None:
    """ "Flurbazine for chronic fakeitis": a word in the compound's place before a condition
    we know is a compound we have no page for, even if no vocabulary lists it."""
    for span in spans:
        if span.kind != "condition" or span.start < 2:
            continue
        word, link = span.start - 2, tokens[span.start - 1]
        candidate = tokens[word]
        if (
            link in ("for", "in", "against", "with", "on")
            and word not in taken
            and candidate.isalpha()
            and len(candidate) >= 4
            and candidate not in FILLER_WORDS
            and candidate not in GENERAL_WORDS
        ):
            return word
    return None


@dataclass(frozen=True)
class Analysis:
    entities: Entities
    # Words of the question that are neither a name nor filler: none left means a bare
    # "ketamine please" or "the second one", asking for the overview.
    leftover: tuple[str, ...]
