"""Which terms of a message a negation covers: NegEx-style scopes from data.

A trigger ("not", "n't", "never", "nothing to do with") negates the terms after it up to
the end of its clause, a terminator (a new subject: "it's", "she has") or `max_scope`
terms; a post-trigger ("cancer free", "was ruled out") the few terms before it. Pseudo
triggers ("not sure", "no doubt") negate nothing. The lists live in
`bot/data/negation.yaml` with their source.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache

from bot.resources import read_yaml
from bot.text.normalise import basic


def _phrases(values: object) -> tuple[tuple[str, ...], ...]:
    items = [tuple(basic(str(v)).split()) for v in (values or [])]  # type: ignore[union-attr]
    return tuple(sorted((i for i in items if i), key=len, reverse=True))


@dataclass(frozen=True)
class NegationRules:
    pre: tuple[tuple[str, ...], ...]
    post: tuple[tuple[str, ...], ...]
    pseudo: tuple[tuple[str, ...], ...]
    terminators: tuple[tuple[str, ...], ...]
    max_scope: int = 6
    post_scope: int = 3

    @classmethod
    def from_dict(cls, data: dict) -> NegationRules:
        return cls(
            pre=_phrases(data.get("pre")),
            post=_phrases(data.get("post")),
            pseudo=_phrases(data.get("pseudo")),
            terminators=_phrases(data.get("terminators")),
            max_scope=int(data.get("max_scope", 6)),
            post_scope=int(data.get("post_scope", 3)),
        )

    @classmethod
    @cache
    def load(cls) -> NegationRules:
        return cls.from_dict(read_yaml("negation.yaml"))


def _at(terms: Sequence[str], i: int, phrases: tuple[tuple[str, ...], ...]) -> int:
    """Length of the longest phrase starting at terms[i], or 0."""
    for phrase in phrases:
        if tuple(terms[i : i + len(phrase)]) == phrase:
            return len(phrase)
    return 0


# "Isn't ketamine approved for depression?", "doesn't it help?": a sentence that opens
# with a negated auxiliary asks; it does not deny.
AUXILIARIES = frozenset(
    """is isn are aren was wasn were weren do don does doesn did didn can couldn could
    won wouldn would shouldn should hasn haven hadn ain""".split()
)
LEAD_INS = frozenset({"and", "so", "but", "ok", "okay", "well", "then", "also"})


def _asks(terms: Sequence[str], clause: Sequence[int], i: int) -> bool:
    """terms[i] is the "t" of a negated auxiliary that opens its clause."""
    if terms[i] != "t" or i == 0 or terms[i - 1] not in AUXILIARIES:
        return False
    j = i - 2
    while j >= 0 and clause[j] == clause[i] and terms[j] in LEAD_INS:
        j -= 1
    return j < 0 or clause[j] != clause[i]


def negated_terms(terms: Sequence[str], clause: Sequence[int], rules: NegationRules) -> list[bool]:
    out = [False] * len(terms)
    i = 0
    while i < len(terms):
        if (skip := _at(terms, i, rules.pseudo)) or _asks(terms, clause, i):
            i += skip or 1
            continue
        if size := _at(terms, i, rules.pre):
            j = i + size
            end = min(len(terms), j + rules.max_scope)
            while j < end and clause[j] == clause[i] and not _at(terms, j, rules.terminators):
                out[j] = True
                j += 1
            i += size
            continue
        if size := _at(terms, i, rules.post):
            j = i - 1
            while j >= max(0, i - rules.post_scope) and clause[j] == clause[i]:
                out[j] = True
                j -= 1
            i += size
            continue
        i += 1
    return out
