"""Names no vocabulary knows: a word in a compound's or a condition's place.

The name-slot rules (bot/data/rules/name_slots.yaml) read the question with the names
already found replaced by placeholders ("does _comp_ help _cond_?"); a word where a name
goes is a name when no vocabulary knows it as a word of its own. An unknown word shaped
like a drug name (a code name, a drug-name ending) is a compound wherever it stands.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from bot import rules as rule_engine
from bot.entities.labels import surface
from bot.entities.spans import Kind, Span, negated_name
from bot.entities.words import EARLY_STAGES, REFERRING, drug_stems, not_names
from bot.text import Normalised
from bot.vocab import common_english

if TYPE_CHECKING:  # the lexicon reads questions with this module: a runtime import is a cycle
    from bot.entities.lexicon import Lexicon


@dataclass(frozen=True)
class _Masked:
    tokens: tuple[str, ...]
    origin: tuple[int, ...]
    ends: tuple[int, ...]

    @property
    def text(self) -> str:
        return " ".join(self.tokens)

    def token_at(self, offset: int) -> int | None:
        pos = 0
        for k, token in enumerate(self.tokens):
            if pos == offset:
                return k
            pos += len(token) + 1
        return None


def unlisted_compound(
    lex: Lexicon, n: Normalised, chosen: Sequence[Span], negated: Sequence[Span] = ()
) -> tuple[tuple[int, int, str] | None, bool]:
    """A name in a compound's place, or an unknown word shaped like a drug's name; and
    whether a pronoun stood in a compound's place instead."""
    if lex.vocabulary is None:  # nothing to tell names from words by
        return None, False
    candidates, refers = _slot_names(lex, n, _masked(n, chosen, negated), "compound")
    # An everyday word right before a condition qualifies it ("anything on menopause hot
    # flushes"): not a compound's name.
    conditions = {s.start for s in chosen if s.kind in (Kind.CONDITION, Kind.DISEASE)}
    candidates = [
        c
        for c in candidates
        if not (
            c[2] in conditions
            and lex.vocabulary is not None
            and all(w in lex.vocabulary.english for w in n.terms[c[1] : c[2]])
        )
    ]
    if candidates:
        best = max(c[0] for c in candidates)
        _, start, end, rule = next(c for c in candidates if c[0] == best)
        if best > 1 or not any(_looks_like_a_drug(lex, t) for t in n.terms):
            return (start, end, rule), refers
    inside = {i for s in (*chosen, *negated) for i in range(s.start, s.end)}
    for i, t in enumerate(n.terms):
        if i not in inside and not negated_name(n, i) and _looks_like_a_drug(lex, t):
            return (i, i + 1, "drug-shaped-word"), refers
    return None, refers


def unlisted_condition(lex: Lexicon, n: Normalised, chosen: Sequence[Span]) -> str | None:
    """ "halvorene lupus", "ketamine for sleep": a word in a condition's place that no
    vocabulary knows as a condition is still a condition we have no page for."""
    if lex.vocabulary is None:
        return None
    for _, start, end, _rule in _slot_names(lex, n, _masked(n, chosen), "condition")[0]:
        words = n.terms[start:end]
        if all(w.isalpha() and len(w) >= 3 for w in words):
            return surface(n.raw, " ".join(words)) or " ".join(words)
    return None


def _slot_names(
    lex: Lexicon, n: Normalised, masked: _Masked, kind: str
) -> tuple[list[tuple[int, int, int, str]], bool]:
    """(score, first term, end term, rule id) of each candidate name the rules of this
    kind find (a word no vocabulary knows scores above a listed weak drug, which scores
    above an everyday word), and whether a pronoun stood in a name's place."""
    found = []
    refers = False
    for rule in rule_engine.load("name_slots"):
        if rule.kind != kind:
            continue
        for m in rule.pattern.finditer(masked.text):
            first = masked.token_at(m.start("name"))
            if first is None:
                continue
            words = masked.tokens[first : first + len(m.group("name").split())]
            if words[0] in REFERRING:
                refers = True
            edges = _name_in(words)
            if edges is None:
                continue
            a, b = first + edges[0], first + edges[1]
            start, end = masked.origin[a], masked.ends[b - 1]
            if negated_name(n, start):
                continue
            chosen = n.terms[start:end]
            if all(w in not_names() for w in chosen):
                continue  # "more": a listed brand's name, and a word that names nothing
            if any(not lex.known_word(w) for w in chosen):
                score = 3
            elif lex.drug(" ".join(chosen)) is not None or any(
                lex.drug(w) is not None for w in chosen
            ):
                score = 2
            else:
                score = 1
            if score == 1 and (
                rule.accepts == "names"
                or (kind == "compound" and any(w in common_english() for w in chosen))
            ):
                continue
            found.append((score, start, end, rule.id))
    return found, refers


def _masked(n: Normalised, chosen: Sequence[Span], negated: Sequence[Span] = ()) -> _Masked:
    """The terms with names replaced by placeholders, as name-slot rules read them."""
    terms = n.terms
    masked: list[str] = []
    origin: list[int] = []  # masked token -> its first term
    ends: list[int] = []  # masked token -> the term after it
    by_start = {s.start: s for s in chosen}
    gone = {s.start: s for s in negated}
    i = 0
    while i < len(terms):
        span = gone.get(i) or by_start.get(i)
        if i in gone:
            token = "_neg_"
        elif span is not None and span.kind in (Kind.CONDITION, Kind.DISEASE):
            token = "_cond_"
        elif span is not None and span.kind is Kind.COMPOUND:
            token = "_comp_"
        elif span is not None and span.kind is Kind.DRUG:
            token = "_drug_"  # a listed name (one the vocabulary calls weak)
        elif tuple(terms[i : i + 2]) in (("stage", "iv"), *EARLY_STAGES):
            token, span = "_stage_", Span(i, i + 2, Kind.DISEASE, None, True)
        else:
            token, span = terms[i], None
        end = span.end if span is not None else i + 1
        masked.append(token)
        origin.append(i)
        ends.append(end)
        i = end
        if i < len(terms) and n.clause[i] != n.clause[i - 1]:
            masked.append("_br_")  # a comma or a sentence end: "takes X, does it ..."
            origin.append(i)
            ends.append(i)
    return _Masked(tuple(masked), tuple(origin), tuple(ends))


def _name_in(words: Sequence[str]) -> tuple[int, int] | None:
    """The candidate words without those that name nothing at its edges."""
    stop = not_names()

    def nothing(w: str) -> bool:
        return w in stop or (w.startswith("_") and w != "_drug_")

    a, b = 0, len(words)
    while a < b and nothing(words[a]):
        a += 1
    while b > a and nothing(words[b - 1]):
        b -= 1
    if a == b or any((nothing(w) and w.startswith("_")) or w.isdigit() for w in words[a:b]):
        return None
    if all(len(w) < 2 for w in words[a:b]):
        return None
    return a, b


def _looks_like_a_drug(lex: Lexicon, word: str) -> bool:
    if len(word) < 3 or word in not_names() or lex.known_word(word):
        return False
    if any(c.isdigit() for c in word) and any(c.isalpha() for c in word):
        return True  # a code name: onc201, abt 737 (as "abt737")
    if len(word) < 5 or not word.isalpha() or lex.english_typo(word):
        return False
    return word.endswith(drug_stems())
