"""Where a question names something: spans of its terms that are a known name.

Every n-gram that is a page's compound or condition, or a drug or disease the vocabularies
know, is a candidate span (a typo'd word corrected where that makes a name); `choose` keeps
the longest, exact-first ones and sets aside those a negation takes back.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import Enum
from itertools import product
from typing import TYPE_CHECKING

from bot.entities.words import COMPOUND_NEGATORS, biology_words
from bot.text import Normalised

if TYPE_CHECKING:  # the lexicon reads questions with this module: a runtime import is a cycle
    from bot.entities.lexicon import Lexicon

MAX_NGRAM = 5


class Kind(Enum):
    COMPOUND = 0  # a compound a page covers
    CONDITION = 1  # a page's condition, by its own forms
    DRUG = 2  # a drug or remedy from the vocabularies
    DISEASE = 3  # a disease from the vocabularies


@dataclass(frozen=True)
class Span:
    start: int
    end: int
    kind: Kind
    value: object  # frozenset of page compounds | frozenset of Concepts | Drug | Disease
    exact: bool
    corrected: tuple[tuple[str, str], ...] = ()


@dataclass
class Choice:
    """The spans a question's names are read from, and those a negation took back."""

    chosen: list[Span] = field(default_factory=list)  # in the order of the question
    negated: list[str] = field(default_factory=list)  # the negated names' words
    negated_spans: list[Span] = field(default_factory=list)
    taken: set[int] = field(default_factory=set)  # the terms of both


def find_spans(lex: Lexicon, n: Normalised) -> list[Span]:
    """Every span of the terms that is a name, exactly or with typos corrected."""
    terms = n.terms
    fixes = [lex.corrections(t) for t in terms]
    spans: list[Span] = []
    for size in range(1, MAX_NGRAM + 1):
        for i in range(len(terms) - size + 1):
            if n.clause[i] != n.clause[i + size - 1]:
                continue
            words = terms[i : i + size]
            gram = " ".join(words)
            if gram in lex.compounds:
                spans.append(Span(i, i + size, Kind.COMPOUND, frozenset(lex.compounds[gram]), True))
            if gram in lex.conditions:
                spans.append(
                    Span(i, i + size, Kind.CONDITION, frozenset(lex.conditions[gram]), True)
                )
            if (drug := lex.drug(gram)) is not None:
                spans.append(Span(i, i + size, Kind.DRUG, drug, True))
            if (disease := lex.disease(gram)) is not None:
                spans.append(Span(i, i + size, Kind.DISEASE, disease, True))
            if any(fixes[i : i + size]):
                # One typo'd word alone must not be a word of its own ("dancer" is not
                # "cancer"); inside a longer name it may ("brest cancer").
                if size == 1 and lex.known_word(words[0]):
                    continue
                for option in typo_grams(words, fixes[i : i + size]):
                    fixed = tuple(
                        (a, b) for a, b in zip(words, option.split(), strict=True) if a != b
                    )
                    if option in lex.compounds:
                        found = frozenset(lex.compounds[option])
                        spans.append(Span(i, i + size, Kind.COMPOUND, found, False, fixed))
                        break
                    if option in lex.conditions:
                        found = frozenset(lex.conditions[option])
                        spans.append(Span(i, i + size, Kind.CONDITION, found, False, fixed))
                        break
                    if size > 1 and (disease := lex.disease(option)) is not None:
                        spans.append(Span(i, i + size, Kind.DISEASE, disease, False, fixed))
                        break
    return spans


def choose(n: Normalised, spans: Sequence[Span]) -> Choice:
    """Longest, exact-first spans win, pages' names before the vocabularies' (a brand of a
    covered compound is that compound); a shorter span inside a chosen one is dropped
    ("breast cancer" is not also "cancer")."""
    terms = n.terms
    ordered = sorted(spans, key=lambda s: (-(s.end - s.start), not s.exact, s.kind.value))
    choice = Choice()
    for span in ordered:
        cells = set(range(span.start, span.end))
        if cells & choice.taken:
            continue
        if span.kind is Kind.DRUG and span.end < len(terms) and terms[span.end] in biology_words():
            continue
        words = " ".join(terms[span.start : span.end])
        if span.kind in (Kind.COMPOUND, Kind.DRUG):
            if negated_name(n, span.start):
                choice.negated.append(words)
                choice.negated_spans.append(span)
                choice.taken |= cells
                continue
        elif n.negated[span.start]:
            # "I don't have cancer, just the depression": a negated condition is not
            # the topic.
            choice.negated.append(words)
            choice.negated_spans.append(span)
            choice.taken |= cells
            continue
        choice.taken |= cells
        choice.chosen.append(span)
    choice.chosen.sort(key=lambda s: s.start)
    return choice


def negated_name(n: Normalised, start: int) -> bool:
    """ "I'm not asking about quorvastin", "not ketamine": a compound a negation word takes
    back. A contracted auxiliary ("isn't ketamine approved?") asks about it instead."""
    if not n.negated[start]:
        return False
    i = start - 1
    while i >= 0 and n.clause[i] == n.clause[start] and start - i <= 6:
        if n.terms[i] in COMPOUND_NEGATORS:
            return True
        i -= 1
    return False


def typo_grams(tokens: Sequence[str], fixes: Sequence[list[str]]) -> list[str]:
    """The n-gram with one or more of its words corrected (the n-gram itself left out)."""
    options = ([token, *fixed] for token, fixed in zip(tokens, fixes, strict=True))
    return [" ".join(words) for words in product(*options)][1:]
