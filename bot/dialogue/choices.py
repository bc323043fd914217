"""An answer that chooses among what a reply offered: "the second one", "the one for
fatigue" (a typo or two forgiven), "the other one"."""

from __future__ import annotations

import re
from collections.abc import Sequence

from rapidfuzz import fuzz, utils

from bot.dialogue.context import Context, Option
from bot.model import Entities

FUZZY_MIN, FUZZY_MARGIN = 80, 10  # an option chosen by its text: score, lead over runner-up
# Words that choose nothing, dropped from answer and option before comparing: otherwise a
# bare "for" would be a perfect match (a token subset) of every "X for Y".
STOPWORDS = frozenset(
    re.findall(r"\w+", "a about an and for i in is it mean of one option or please the to what")
)

_NTH = {
    w: i
    for ws in ("first second third fourth fifth", "1st 2nd 3rd 4th 5th")
    for i, w in enumerate(ws.split())
}
_NUMBERS = {
    w: i for ws in ("1 2 3 4 5", "one two three four five") for i, w in enumerate(ws.split())
}
# "second", "the second one", "2nd option"...; numbers only bare or labelled ("option 2",
# "number two"): "the one" would be vague. -1 stands for the last option.
ORDINALS: dict[str, int] = {
    f"{the}{word}{tail}": i
    for word, i in [*_NTH.items(), ("last", -1)]
    for the in ("", "the ")
    for tail in ("", " one", " option")
} | {f"{label}{word}": i for word, i in _NUMBERS.items() for label in ("", "option ", "number ")}
# Inside a longer answer only a clear phrase counts: "the second one, how does it work?".
_ORDINAL_IN_TEXT = re.compile(
    r"\b(?:(first|second|third|fourth|fifth|last|1st|2nd|3rd|4th|5th) (?:one|option)"
    r"|(?:option|number) ([1-5]))\b"
)


def _ordinal(question: str, count: int) -> int | None:
    text = " ".join(re.findall(r"[a-z0-9]+", question.lower()))
    text = text.removeprefix("please ").removesuffix(" please")
    if text in ORDINALS:
        found = {ORDINALS[text]}
    else:
        found = {ORDINALS[a or b] for a, b in _ORDINAL_IN_TEXT.findall(text)}
    index = found.pop() if len(found) == 1 else None
    if index == -1:
        return count - 1
    return index if index is not None and index < count else None


def _content(text: str) -> str:
    return " ".join(w for w in utils.default_process(text).split() if w not in STOPWORDS)


def _similarity(text: str, o: Option) -> float:
    """How well an answer matches an option's words (0-100), a typo or two forgiven."""
    targets = (f"{o.compound} for {o.condition}", o.condition)
    return max(fuzz.token_set_ratio(text, t, processor=_content) for t in targets)


def pick_option(question: str, entities: Entities, options: Sequence[Option]) -> Option | None:
    """The clarify option this answer chooses, if it clearly chooses one."""
    if not options or entities.unknown_compounds or entities.unknown_conditions:
        return None  # a name we have no page for starts a new question, it is no choice
    e = entities
    fits = [
        o
        for o in options
        if (not e.compounds or o.compound in e.compounds)
        and (not e.conditions or o.condition in e.conditions)
    ]
    index = _ordinal(question, len(options))
    if index is not None:  # unless the names contradict it: "the first one, for fakeitis"
        return options[index] if options[index] in fits else None
    if (e.compounds or e.conditions) and len(fits) == 1:
        return fits[0]
    if not fits or not _content(question):
        return None
    scores = sorted(((_similarity(question, o), i) for i, o in enumerate(fits)), reverse=True)
    runner_up = scores[1][0] if len(scores) > 1 else 0.0
    best, i = scores[0]
    return fits[i] if best >= FUZZY_MIN and best - runner_up >= FUZZY_MARGIN else None


THE_OTHER = re.compile(r"\bthe\s+other\s+(one|page|assessment)\b|\bthe\s+other\s*\W*$")


def the_other(question: str, entities: Entities, context: Context) -> Option | None:
    """ "the other one": of two pages just offered (or the page discussed before), the one
    not being discussed."""
    if not entities.empty or not THE_OTHER.search(question.lower()):
        return None
    here = Option(context.compound, context.condition) if context.compound else None
    if here is None or not context.condition:
        return None
    offered = [o for o in context.options if o != here]
    if here in context.options and len(offered) == 1:
        return offered[0]
    if not context.options and len(context.earlier) == 1:
        return context.earlier[0]
    return None
