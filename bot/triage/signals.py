"""Warning signs that add up (bot/data/rules/signals.yaml).

A phrase rule knows one way of saying a thing; people near the end of life find others.
Here each sign is small (what is the point; the pills are lined up; I've picked a date;
the letters are written) and belongs to a category; signs of two different categories of
one kind of crisis in the same message, or one strong sign, make it urgent. A message made
of words no rule has is caught when two of its parts are.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache

from bot import rules
from bot.model import CrisisKind

ENOUGH = 2  # the weight of signs, one per category, that makes a message urgent
PRIORITY = (CrisisKind.EMERGENCY, CrisisKind.VIOLENCE, CrisisKind.SELF_HARM)


@dataclass(frozen=True)
class Sign:
    rule: rules.Rule
    crisis: CrisisKind
    weight: int
    # Each branch of the pattern is a sign of its own: abuse is a pattern of control
    # (the pension, the phone, being let out), farewell a series of acts.
    branches: tuple[re.Pattern[str], ...] = ()

    def count(self, text: str) -> int:
        if not self.branches:
            return self.weight
        return self.weight * sum(1 for b in self.branches if b.search(text))


@dataclass(frozen=True)
class Verdict:
    crisis: CrisisKind
    signs: tuple[str, ...]  # the ids of the signs that added up
    categories: tuple[str, ...]


@cache
def signs() -> tuple[Sign, ...]:
    meta = {r["id"]: r for r in rules.records("signals")}
    out = []
    for rule in rules.load("signals"):
        record = meta[rule.id]
        branches: tuple[re.Pattern[str], ...] = ()
        if record.get("repeatable"):
            parts = (
                record["pattern"] if isinstance(record["pattern"], list) else [record["pattern"]]
            )
            known = rules.concepts()
            branches = tuple(re.compile(rules.expand(p, known, rule.id)) for p in parts)
        out.append(Sign(rule, CrisisKind(record["crisis"]), int(record.get("weight", 1)), branches))
    return tuple(out)


def fired(text: str) -> list[Sign]:
    """Every sign found in the text (as the triage rules read it)."""
    return [s for s in signs() if s.rule.matches(text)]


def judge(text: str, person: bool = True) -> Verdict | None:
    """The crisis the signs add up to, if any (the most serious first). Red flags of an
    emergency count only with a person in the message (or happening now): alone they are
    a question about research ("fever and bleeding on chemo in the trials")."""
    found = fired(text)
    for crisis in PRIORITY:
        if crisis is CrisisKind.EMERGENCY and not person:
            continue
        best: dict[str, tuple[int, Sign]] = {}
        for sign in found:
            if sign.crisis is crisis:
                weight = sign.count(text)
                kept = best.get(sign.rule.kind)
                if kept is None or weight > kept[0]:
                    best[sign.rule.kind] = (weight, sign)
        if sum(w for w, _ in best.values()) >= ENOUGH:
            return Verdict(
                crisis,
                tuple(s.rule.id for _, s in best.values()),
                tuple(sorted(best)),
            )
    return None
