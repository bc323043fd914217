"""The conditions a question names, and the stage it gives them.

The chosen condition and disease spans become mentions (bot.entities.conditions), with a
symptom named with its cancer split in two ("cancer pain"), a cancer named by its site alone
added ("for colorectal"), conditions the writer says they do not have dropped, and a bare
"stage 4" read as the pages about stage IV disease.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from bot import rules as rule_engine
from bot.entities.conditions import STAGE_IV, Mention, Stage, mesh_concept
from bot.entities.forms import QUALIFIERS
from bot.entities.spans import Kind, Span
from bot.entities.words import CANCER_WORDS, EARLY_STAGES, EARLY_WORDS, LINK_WORDS, cancer_sites
from bot.text import Normalised
from bot.vocab import Disease

if TYPE_CHECKING:  # the lexicon reads questions with this module: a runtime import is a cycle
    from bot.entities.lexicon import Lexicon


def find_mentions(
    lex: Lexicon, n: Normalised, chosen: Sequence[Span], negated_spans: Sequence[Span]
) -> tuple[list[Mention], Stage | None]:
    """The condition mentions of the chosen spans (and of cancer sites), and the stage."""
    terms = n.terms
    mentions: list[Mention] = []
    for s in chosen:
        fixed = dict(s.corrected)  # "brest cancer" is named as "breast cancer"
        words = " ".join(fixed.get(t, t) for t in terms[s.start : s.end])
        if s.kind is Kind.CONDITION:
            mentions += [
                Mention(words, c, s.start, s.end) for c in sorted(s.value, key=lambda c: c.key)
            ]  # type: ignore[attr-defined]
        elif s.kind is Kind.DISEASE:
            d: Disease = s.value  # type: ignore[assignment]
            parts = _split_cancer(lex, words, s.start) if not d.cancer else None
            if parts:
                mentions += parts
                continue
            mentions.append(
                Mention(words, mesh_concept(d), s.start, s.end, d.treatment, d.stage_iv)
            )
    mentions += _sites(lex, n, chosen, mentions)
    # "I do NOT have cancer ... your page about it for stage 4 cancer": a condition the
    # writer says they do not have is not what they ask about, wherever else it appears.
    denied = {
        mesh_concept(s.value).ident
        for s in negated_spans
        if isinstance(s.value, Disease) and not s.value.treatment
    }
    mentions = [m for m in mentions if m.concept.ident not in denied]
    stage = _stage(n, mentions)
    at = _find(terms, ("stage", "iv"), default=-1)
    named = any(s.start <= at < s.end for s in chosen)  # "stage iv testcase syndrome"
    if stage is Stage.IV and at >= 0 and not named and not any(m.cancer for m in mentions):
        # "halvorene for stage 4": the pages about stage IV disease.
        mentions.append(Mention(" ".join(terms[at : at + 2]), STAGE_IV, at, at + 2))
    return mentions, stage


def says_no_cancer(lex: Lexicon, negated: Sequence[str]) -> bool:
    """A cancer or its treatment is among the names the message negates ("not from
    chemo", "I don't have cancer")."""
    return any((d := lex.disease(w)) is not None and d.cancer for w in negated)


def _split_cancer(lex: Lexicon, words: str, start: int) -> list[Mention] | None:
    """ "cancer pain", "cancer related fatigue": a symptom named with the cancer it comes
    with is the symptom and a cancer (so a Stage IV Cancer page fits the cancer half)."""
    terms = words.split()
    cancer_at = [i for i, t in enumerate(terms) if t in CANCER_WORDS]
    if not cancer_at or lex.vocabulary is None:
        return None
    rest = [t for i, t in enumerate(terms) if i not in cancer_at and t not in LINK_WORDS]
    symptom = lex.disease(" ".join(rest)) if rest else None
    cancer = lex.disease(terms[cancer_at[0]])
    if symptom is None or cancer is None or symptom.cancer:
        return None
    i = cancer_at[0]
    return [
        Mention(" ".join(rest), mesh_concept(symptom), start, start + len(terms)),
        Mention(terms[i], mesh_concept(cancer), start + i, start + i + 1),
    ]


def _sites(
    lex: Lexicon, n: Normalised, chosen: Sequence[Span], mentions: Sequence[Mention]
) -> list[Mention]:
    """A cancer named by its site alone: "stage 4 ovarian", "for colorectal"."""
    if lex.vocabulary is None:
        return []
    sites = cancer_sites()
    inside = {i for s in chosen for i in range(s.start, s.end)}
    found = []
    for i, t in enumerate(n.terms):
        disease = sites.get(t)
        if disease is None or i in inside or n.negated[i]:
            continue
        staged = i >= 2 and n.terms[i - 2 : i] in (("stage", "iv"), *EARLY_STAGES)
        if staged or _adjective_site(t):
            found.append(Mention(t, mesh_concept(disease), i, i + 1))
    return found


def _adjective_site(word: str) -> bool:
    """A site adjective names the cancer on its own ("for colorectal"); a noun ("breast",
    "liver": "it spread to her liver") or a route ("oral") does not."""
    return (
        len(word) >= 6
        and word not in QUALIFIERS
        and word.endswith(("ic", "ian", "al", "ar", "ine", "ate"))
    )


def _find(terms: Sequence[str], phrase: tuple[str, ...], default: int = 0) -> int:
    for i in range(len(terms) - len(phrase) + 1):
        if tuple(terms[i : i + len(phrase)]) == phrase:
            return i
    return default


def _stage(n: Normalised, mentions: Sequence[Mention]) -> Stage | None:
    """Stage IV when the question says so (and no negation takes it back), early when it
    names an earlier stage ("stage 2", "early stage", "not metastatic")."""
    terms = n.terms
    for i in range(len(terms) - 1):
        if terms[i : i + 2] == ("stage", "iv"):
            if n.negated[i] or (i and terms[i - 1] == "non"):
                return Stage.EARLY
            return Stage.IV
    # "came back in her lungs": words that say it has spread (bot/data/rules/stage.yaml)
    if any(m.stage_iv for m in mentions) or rule_engine.first(rule_engine.load("stage"), n.folded):
        return Stage.IV
    for i in range(len(terms)):
        for phrase in (*EARLY_STAGES, *EARLY_WORDS):
            if tuple(terms[i : i + len(phrase)]) == phrase:
                return Stage.EARLY
    return None
