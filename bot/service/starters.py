"""Starter questions for the empty chat, built from the pages the index holds: a reader
who does not know what to ask sees what the bot can answer, in its own words."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable

from bot.assistant import Assistant
from bot.pages import PageSummary

LIMIT = 4
# Every page shares its evidence scale: always answerable, whatever the corpus.
SCALE_QUESTION = "What do the evidence levels mean?"


def starter_questions(pages: Iterable[PageSummary], limit: int = LIMIT) -> list[str]:
    """A few questions the corpus answers: one page's level, how another compound works,
    what there is for the condition with the most pages, and what the levels mean.
    Deterministic (pages by title), so the chat looks the same on every visit."""
    ordered = sorted(pages, key=lambda a: a.title)
    if not ordered:
        return []
    first = ordered[0]
    out = [f"What is the evidence level for {first.bare_compound} in {first.condition}?"]
    other = next((a for a in ordered if a.bare_compound != first.bare_compound), first)
    out.append(f"How does {other.bare_compound} work in {other.condition}?")
    condition, count = Counter(a.condition for a in ordered).most_common(1)[0]
    if count > 1:
        out.append(f"What do you have for {condition}?")
    out.append(SCALE_QUESTION)
    return out[:limit]


_by_index: dict[str, tuple[str, ...]] = {}


def starters_for(assistant: Assistant) -> list[str]:
    """The starters of the index being served, worked out once per index build."""
    digest = assistant.index.manifest.digest
    if digest not in _by_index:
        if len(_by_index) > 8:  # old builds after hot reloads
            _by_index.clear()
        _by_index[digest] = tuple(starter_questions(assistant.index.assessments.values()))
    return list(_by_index[digest])
