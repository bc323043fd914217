"""A follow-up completed from the conversation so far: "and how does it work?" (the page
discussed), "what about brimadol?" (the condition discussed), "the second one" (an option
offered), "is it better than X?" (a comparison with the page discussed)."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import replace

from bot import rules
from bot.dialogue.choices import pick_option, the_other
from bot.dialogue.context import Context, Option
from bot.model import ConditionMatch, Entities, Relation

CONTINUATION = re.compile(
    r"^\W*(ok(ay)?\W+|so\W+|well\W+)?(and|also|what\s+about|how\s+about|same\s+for|"
    r"and\s+what\s+about|and\s+how\s+about)\b",
    re.IGNORECASE,
)


def asks(kind: str, question: str) -> bool:
    """Whether the folded message asks to `compare` pages, `list` what is covered, or see
    `more` of a listing (bot/data/rules/scope.yaml)."""
    return any(r.kind == kind and r.matches(question) for r in rules.load("scope"))


def _inherit(entities: Entities, condition: str) -> Entities:
    """The entities with the conversation's condition, which fits as named before."""
    match = ConditionMatch(condition, Relation.EXACT, condition, (condition,), (1, 3, 0))
    return replace(entities, conditions=(condition,), matches=(match,))


def _matched(conditions: Sequence[str]) -> tuple[ConditionMatch, ...]:
    """Conditions from the conversation, each fitting as named before."""
    return tuple(ConditionMatch(c, Relation.EXACT, c, (c,), (1, 3, 0)) for c in conditions)


def _inherit_fits(entities: Entities, fits: Sequence[str]) -> Entities:
    """The entities with every condition that fit the one named before, in the order they
    fit it (the first of them the compound has a page for is answered)."""
    matches = tuple(
        ConditionMatch(c, Relation.EXACT, c, (c,), (1, 3, -i)) for i, c in enumerate(fits)
    )
    return replace(entities, conditions=tuple(fits), matches=matches)


def _compared(
    entities: Entities, context: Context, covered: Callable[[str, str], bool]
) -> Entities | None:
    """A comparison asked as a follow-up: "is it better than X?" (the compound discussed and
    X), "is that better than the general one?" (the page discussed and another of its
    compound's), "which of the two is stronger?" (the pages just listed or compared)."""
    e = entities
    if e.empty and context.compound and context.condition and context.earlier:
        # "which of the two is stronger?": the page discussed and the one before it.
        pairs = (Option(context.compound, context.condition), *context.earlier)
        conditions = tuple(dict.fromkeys(o.condition for o in pairs))
        return Entities(
            compounds=tuple(dict.fromkeys(o.compound for o in pairs)),
            conditions=conditions,
            matches=_matched(conditions),
        )
    if context.compound is None:
        if not e.empty or len(context.options) < 2:
            return None
        conditions = tuple(dict.fromkeys(o.condition for o in context.options))
        return Entities(
            compounds=tuple(dict.fromkeys(o.compound for o in context.options)),
            conditions=conditions,
            matches=_matched(conditions),
        )
    if e.unknown_compounds and not e.compounds:
        return None  # "is it better than keytruda?": the reply says we have no page for it
    if len(e.compounds) + len(e.unknown_compounds) > 1:
        return None  # "brevalyn vs avastin for colon cancer" compares what it names
    compounds = tuple(dict.fromkeys((context.compound, *e.compounds)))
    names_condition = bool(e.conditions or e.unknown_conditions)
    if context.condition and not names_condition:
        # Each compound's page that best fits the condition asked about ("is it better than
        # X?" after stage 4 lung cancer: X's stage IV page when X has no lung cancer page).
        e = _inherit_fits(e, context.fitting)
    elif context.condition and compounds == (context.compound,):
        here = _matched((context.condition,))[0]
        if context.condition not in e.conditions:
            e = replace(
                e, conditions=(*e.conditions, context.condition), matches=(*e.matches, here)
            )
    if len(compounds) < 2 and len({m.mention for m in e.matches}) < 2:
        return None
    return replace(e, compounds=compounds)


def follow_up(
    entities: Entities,
    context: Context | None,
    covered: Callable[[str, str], bool],
    question: str = "",
    refers: bool = False,
) -> Entities:
    """Entities for this turn, completed from the conversation so far. Never invents a pair:
    a named page name only inherits the other half when an assessment covers the pair."""
    if context is None or context.empty:
        return entities
    if asks("compare", question):
        compared = _compared(entities, context, covered)
        if compared is not None:
            return compared
    other = the_other(question, entities, context)
    if other is not None:
        return _inherit(Entities(compounds=(other.compound,)), other.condition)
    if context.options:
        picked = pick_option(question, entities, context.options)
        if picked is not None:
            return _inherit(Entities(compounds=(picked.compound,)), picked.condition)
    if entities.empty and asks("list", question) and context.condition:
        # "what DO you have for that then?": the condition, with whatever we have for it.
        return _inherit(Entities(), context.condition)
    if entities.empty:  # "and how does it work?"
        inherited = Entities(compounds=(context.compound,) if context.compound else ())
        return _inherit(inherited, context.condition) if context.condition else inherited
    names_compound = bool(entities.compounds or entities.unknown_compounds)
    names_condition = bool(entities.conditions or entities.unknown_conditions)
    # "and for MS?" / "what about brimadol?" continue the topic even where we have no page
    # for the pair (the reply then says so); so does "could it help her lung cancer?", where
    # "it" is the compound discussed. A fresh question only inherits a covered pair.
    continuing = bool(CONTINUATION.match(question)) or refers
    if names_compound and not names_condition and context.condition:
        known = entities.compounds
        fits = context.fitting
        if len(known) == 1 and any(covered(known[0], c) for c in fits):
            return _inherit_fits(entities, [c for c in fits if covered(known[0], c)])
        if not known or (continuing and len(known) == 1):
            return _inherit(entities, context.condition)
    if names_condition and not names_compound and context.compound:
        # Several conditions may fit what is named ("bowel cancer that went to the liver":
        # a colorectal page and the stage IV pages): the compound stays if it covers one.
        known = entities.conditions
        named = {m.mention for m in entities.matches if m.condition in known} or set(known)
        if (
            not known
            or (continuing and len(known) == 1)
            or (len(named) <= 1 and any(covered(context.compound, c) for c in known))
        ):
            return replace(entities, compounds=(context.compound,))
    return entities
