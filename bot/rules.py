"""Rules as data: records with an id, a kind, a pattern, a note and worked examples.

Rule files live in `bot/data/rules/*.yaml` (a list of records). One engine compiles them;
the tests are generated from each rule's own examples and counterexamples, and replies
name the ids of the rules that decided them (the trace, the audit record).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from functools import cache

from bot.resources import read_yaml


@dataclass(frozen=True)
class Rule:
    id: str
    kind: str
    pattern: re.Pattern[str]
    note: str = ""
    examples: tuple[str, ...] = ()
    counterexamples: tuple[str, ...] = ()
    keywords: tuple[str, ...] = ()  # words the pattern relies on: typo targets
    accepts: str = "words"  # name slots: "words" (any) or "names" (not everyday words)


class RuleError(ValueError):
    pass


def compile_rules(records: Iterable[dict], source: str = "rules") -> tuple[Rule, ...]:
    rules: list[Rule] = []
    seen: set[str] = set()
    for number, record in enumerate(records, 1):
        where = f"{source} record {number}"
        try:
            rule_id, kind, pattern = str(record["id"]), str(record["kind"]), record["pattern"]
        except (KeyError, TypeError) as exc:
            raise RuleError(f"{where}: needs id, kind and pattern ({exc})") from exc
        if rule_id in seen:
            raise RuleError(f"{where}: duplicate id {rule_id!r}")
        seen.add(rule_id)
        if isinstance(pattern, list):  # a long alternation written one branch per line
            pattern = "|".join(f"(?:{p})" for p in pattern)
        try:
            compiled = re.compile(pattern)
        except re.error as exc:
            raise RuleError(f"{where} ({rule_id}): bad pattern: {exc}") from exc
        rules.append(
            Rule(
                id=rule_id,
                kind=kind,
                pattern=compiled,
                note=str(record.get("note", "")),
                examples=tuple(record.get("examples", ())),
                counterexamples=tuple(record.get("counterexamples", ())),
                keywords=tuple(record.get("keywords", ())),
                accepts=str(record.get("accepts", "words")),
            )
        )
    return tuple(rules)


@cache
def records(name: str) -> tuple[dict, ...]:
    """The raw records of `bot/data/rules/<name>.yaml` (with the fields a stage adds)."""
    return tuple(read_yaml(f"rules/{name}.yaml"))


@cache
def load(name: str) -> tuple[Rule, ...]:
    """The rules of `bot/data/rules/<name>.yaml`, in file order."""
    return compile_rules(records(name), f"rules/{name}.yaml")


def first(rules: Iterable[Rule], text: str) -> Rule | None:
    return next((r for r in rules if r.pattern.search(text)), None)


def matching(rules: Iterable[Rule], text: str) -> Iterator[tuple[Rule, re.Match[str]]]:
    for rule in rules:
        for m in rule.pattern.finditer(text):
            yield rule, m


RULE_FILES = ("intents", "name_slots", "triage")


@cache
def keywords() -> frozenset[str]:
    """Every keyword the rules rely on: the words a typo is corrected to."""
    return frozenset(k for name in RULE_FILES for r in load(name) for k in r.keywords)
