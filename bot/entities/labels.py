"""How a reply names what a question named: as the question wrote it.

Names are found in the normalised terms; a reply gives them back in the writer's own case
and hyphens ("Stage 4 colon cancer", "Keytruda (pembrolizumab)"), found in the raw message
by their letters.
"""

from __future__ import annotations

import re

from bot.entities.conditions import Mention, Stage
from bot.entities.spans import Span
from bot.entities.words import EARLY_STAGES, EARLY_WORDS
from bot.text import Normalised, basic
from bot.vocab import Drug

_STAGE_BEFORE = re.compile(
    r"(?:stage\s*(?:iv|4|four)[abc]?|metastatic|advanced|late[- ]stage|end[- ]stage|terminal)"
    r"\s+$",
    re.IGNORECASE,
)


def display(n: Normalised, span: Span) -> str:
    """A name as the reply gives it: as the question wrote it, and the drug it is when
    that reads differently ("Keytruda (pembrolizumab)")."""
    words = " ".join(n.terms[span.start : span.end])
    written = surface(n.raw, words) or words
    drug = span.value if isinstance(span.value, Drug) else None
    if drug is None:
        return written
    label = drug.label or drug.canonical
    if basic(label) in (words, basic(written)):
        return written
    return f"{written} ({label[:1].lower() + label[1:] if label[1:2].islower() else label})"


def mention_label(n: Normalised, m: Mention) -> str:
    """A mention as a reply names it: as written, with the stage written just before it
    ("stage 4 colon cancer", "metastatic breast cancer")."""
    words = m.words.removeprefix("stage iv ") if m.words != "stage iv" else m.words
    found = re.search(_surface_pattern(words), n.raw, re.IGNORECASE) if words else None
    if found is None:
        return _roman(m.words)
    before = _STAGE_BEFORE.search(n.raw[: found.start()])
    return (before.group(0) if before else "") + found.group(0)


def condition_label(n: Normalised, m: Mention, stage: Stage | None) -> str:
    """An uncovered condition as the reply names it: with its stage when that is why."""
    terms = n.terms
    if stage is Stage.EARLY and m.cancer:
        for phrase in (*EARLY_STAGES, *EARLY_WORDS):
            k = len(phrase)
            if m.start >= k and tuple(terms[m.start - k : m.start]) == phrase:
                return _roman(" ".join(terms[m.start - k : m.end]))
    return surface(n.raw, m.words) or m.words


def surface(raw: str, words: str) -> str | None:
    """The words as written in the message (case, hyphens), found by their letters."""
    if not words.split():
        return None
    found = re.search(_surface_pattern(words), raw, re.IGNORECASE)
    return found.group(0) if found else None


def _surface_pattern(words: str) -> str:
    return r"(?<![\w])" + r"[\W_]*".join(re.escape(w) for w in words.split()) + r"(?![\w])"


def _roman(words: str) -> str:
    return re.sub(r"\bstage (i{1,3}|iv)\b", lambda x: f"stage {x.group(1).upper()}", words)
