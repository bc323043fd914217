"""A question read for its names: the steps that combine into an Analysis.

Spans of known names are found and chosen (spans.py), their conditions read as mentions
with a stage (mentions.py) and fitted to the pages' conditions (conditions.py); what no
page covers is named as the question wrote it (labels.py), and a name no vocabulary knows
is heard where a compound or a condition goes (unlisted.py).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from bot.entities.conditions import STAGE_IV, Mention, Stage
from bot.entities.labels import condition_label, display, mention_label, surface
from bot.entities.mentions import find_mentions, says_no_cancer
from bot.entities.spans import Choice, Kind, Span, choose, find_spans
from bot.entities.unlisted import unlisted_compound, unlisted_condition
from bot.entities.words import CAUSED_BY, not_names
from bot.model import ConditionMatch, Entities
from bot.text import Normalised

if TYPE_CHECKING:  # the lexicon reads questions with this module: a runtime import is a cycle
    from bot.entities.lexicon import Lexicon


@dataclass(frozen=True)
class Analysis:
    entities: Entities
    # Words of the question that are neither a name nor filler: none left means a bare
    # "ketamine please" or "the second one", asking for the overview.
    leftover: tuple[str, ...]
    normalised: Normalised | None = None
    leftover_at: tuple[int, ...] = ()  # the terms of `leftover`
    corrections: tuple[tuple[str, str], ...] = ()  # keyword and name typos, as corrected
    negated: tuple[str, ...] = ()  # names a negation took back
    rule: str | None = None  # the name-slot rule that heard an unknown compound
    refers: bool = False  # a pronoun stands where a compound goes ("could it help ...?")


def analyse(lex: Lexicon, n: Normalised) -> Analysis:
    """The names a normalised message gives, the ones no page covers, and what is left."""
    choice = choose(n, find_spans(lex, n))
    chosen = choice.chosen
    compounds, said = _compounds(lex, n, chosen)
    mentions, stage = find_mentions(lex, n, chosen, choice.negated_spans)
    unknown_compounds = _listed_drugs(n, chosen, mentions)
    matches = _matches(lex, n, mentions, stage, choice.negated)
    unknown_conditions = _uncovered(n, mentions, matches, stage)
    rule = None
    refers = False
    if compounds and not mentions and stage is None:
        unlisted = unlisted_condition(lex, n, chosen)
        if unlisted is not None:
            unknown_conditions.append(unlisted)
    if not compounds and not unknown_compounds:
        found, refers = _unlisted(lex, n, choice, mentions)
        if found is not None:
            start, end, rule = found
            choice.taken |= set(range(start, end))
            listed = lex.drug(" ".join(n.terms[start:end]))
            span = Span(start, end, Kind.DRUG, listed, True)
            unknown_compounds.append(display(n, span))
    corrections = list(n.corrections) + [c for s in chosen for c in s.corrected]
    choice.taken |= {i for m in mentions for i in range(m.start, m.end)}
    leftover_at = _leftover(n, choice.taken)
    return Analysis(
        Entities(
            compounds=tuple(compounds),
            conditions=tuple(m.condition for m in matches if m.answerable and not m.unstaged),
            unknown_compounds=tuple(dict.fromkeys(unknown_compounds)),
            unknown_conditions=tuple(dict.fromkeys(unknown_conditions)),
            matches=tuple(matches),
            stage_iv=stage is Stage.IV,
            said=tuple(said),
        ),
        tuple(n.terms[i] for i in leftover_at),
        n,
        leftover_at,
        tuple(dict.fromkeys(corrections)),
        tuple(choice.negated),
        rule,
        refers,
    )


def _compounds(
    lex: Lexicon, n: Normalised, chosen: Sequence[Span]
) -> tuple[list[str], list[tuple[str, str]]]:
    """The pages' compounds named, and each one named by a word not of its own name (a
    brand, another name of the drug) with that word as written."""
    compounds = list(
        dict.fromkeys(c for s in chosen if s.kind is Kind.COMPOUND for c in sorted(s.value))
    )  # type: ignore[attr-defined]
    said = []
    for s in chosen:
        if s.kind is Kind.COMPOUND and len(s.value) == 1:  # type: ignore[arg-type]
            (compound,) = s.value  # type: ignore[misc]
            words = " ".join(n.terms[s.start : s.end])
            if not set(words.split()) & set(lex.normalise(compound).split()):
                said.append((compound, surface(n.raw, words) or words))
    return compounds, said


def _listed_drugs(n: Normalised, chosen: Sequence[Span], mentions: Sequence[Mention]) -> list[str]:
    """The vocabularies' drugs named, as the reply gives them: compounds no page covers.
    "hot flushes from tamoxifen": a drug named as the cause of the condition asked about
    is context, not a compound the question asks about."""
    return [
        display(n, s)
        for s in chosen
        if s.kind is Kind.DRUG
        and not s.value.weak  # type: ignore[attr-defined]
        and not (
            _caused_by(n.terms, s.start)
            and any(m.end <= s.start and not m.context for m in mentions)
        )
    ]


def _caused_by(terms: Sequence[str], start: int) -> bool:
    """The words before `start` say what follows caused something ("from", "due to")."""
    return any(tuple(terms[max(0, start - len(c)) : start]) == c for c in CAUSED_BY)


def _matches(
    lex: Lexicon,
    n: Normalised,
    mentions: Sequence[Mention],
    stage: Stage | None,
    negated: Sequence[str],
) -> list[ConditionMatch]:
    """The pages' conditions that fit the mentions, each labelled as the question wrote it."""
    at = {m.words: m for m in mentions}
    return [
        replace(m, mention=mention_label(n, at[m.mention]) if m.mention in at else m.mention)
        for m in lex.index.matches(mentions, stage, says_no_cancer(lex, negated))
    ]


def _uncovered(
    n: Normalised,
    mentions: Sequence[Mention],
    matches: Sequence[ConditionMatch],
    stage: Stage | None,
) -> list[str]:
    """The conditions named that no page fits as asked. A mention is accounted for when a
    page fits it as asked (not a page about a kind of cancer it did not name); mentions of
    one concept go together ("scanxiety", "anxious")."""
    explained = {w for m in matches if m.answerable for w in m.explains}
    explained_keys = {m.concept.ident for m in mentions if m.words in explained}
    return [
        condition_label(n, m, stage)
        for m in mentions
        if m.concept.ident not in explained_keys and not m.context and m.concept != STAGE_IV
    ]


def _unlisted(
    lex: Lexicon, n: Normalised, choice: Choice, mentions: Sequence[Mention]
) -> tuple[tuple[int, int, str] | None, bool]:
    """A compound no vocabulary knows (its terms and the rule that heard it), when the
    question names no other; and whether a pronoun stood in a compound's place."""
    # A cancer named by its site ("and for prostate?") is a condition, not a name.
    sites = [
        Span(m.start, m.end, Kind.DISEASE, None, True)
        for m in mentions
        if m.concept != STAGE_IV
        and not m.context
        and not any(c.start <= m.start < c.end for c in choice.chosen)
    ]
    spans = sorted([*choice.chosen, *sites], key=lambda x: x.start)
    return unlisted_compound(lex, n, spans, choice.negated_spans)


def _leftover(n: Normalised, taken: set[int]) -> tuple[int, ...]:
    """The terms that are neither part of a name nor filler."""
    return tuple(
        i
        for i, t in enumerate(n.terms)
        if i not in taken and t not in not_names() and t not in ("stage", "iv")
    )
