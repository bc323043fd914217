"""Rules as data: records with an id, a kind, a pattern, a note and worked examples.

Rule files live in `bot/data/rules/*.yaml` (a list of records). One engine compiles them;
a pattern may name a concept, `{DESIRE}`, from `bot/data/rules/concepts.yaml` (a word
list kept once, with a note, used by every rule that needs it);
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
    # A frame that turns the rule off wherever it appears in the text ("suicide" is a
    # crisis word unless the message asks about research, rates or a story).
    unless: re.Pattern[str] | None = None

    def matches(self, text: str) -> bool:
        return bool(self.pattern.search(text)) and not (self.unless and self.unless.search(text))


class RuleError(ValueError):
    pass


CONCEPT = re.compile(r"\{([A-Z][A-Z_]*)\}")


@cache
def concepts() -> dict[str, str]:
    """Each concept of `bot/data/rules/concepts.yaml` as one regex alternation."""
    out = {}
    for name, record in read_yaml("rules/concepts.yaml").items():
        out[name] = "(?:" + "|".join(str(w) for w in record["words"]) + ")"
    return out


def expand(pattern: str, known: dict[str, str], where: str = "rule") -> str:
    """A pattern with its `{CONCEPT}` names replaced by their alternations."""

    def one(m: re.Match[str]) -> str:
        try:
            return known[m.group(1)]
        except KeyError:
            raise RuleError(f"{where}: unknown concept {{{m.group(1)}}}") from None

    return CONCEPT.sub(one, pattern)


def compile_rules(
    records: Iterable[dict], source: str = "rules", known: dict[str, str] | None = None
) -> tuple[Rule, ...]:
    known = known or {}
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
        try:
            compiled = re.compile(expand(_joined(pattern), known, where))
            unless = record.get("unless")
            unless = re.compile(expand(_joined(unless), known, where)) if unless else None
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
                unless=unless,
            )
        )
    return tuple(rules)


def _joined(pattern: str | list[str]) -> str:
    """A long alternation may be written one branch per line."""
    if isinstance(pattern, list):
        return "|".join(f"(?:{p})" for p in pattern)
    return pattern


@cache
def records(name: str) -> tuple[dict, ...]:
    """The raw records of `bot/data/rules/<name>.yaml` (with the fields a stage adds)."""
    return tuple(read_yaml(f"rules/{name}.yaml"))


@cache
def load(name: str) -> tuple[Rule, ...]:
    """The rules of `bot/data/rules/<name>.yaml`, in file order."""
    return compile_rules(records(name), f"rules/{name}.yaml", concepts())


def first(rules: Iterable[Rule], text: str) -> Rule | None:
    return next((r for r in rules if r.matches(text)), None)


def matching(rules: Iterable[Rule], text: str) -> Iterator[tuple[Rule, re.Match[str]]]:
    for rule in rules:
        if rule.unless and rule.unless.search(text):
            continue
        for m in rule.pattern.finditer(text):
            yield rule, m


RULE_FILES = (
    "intents",
    "name_slots",
    "triage",
    "triage_languages",
    "info",
    "signals",
    "frames",
    "scope",
    "subjects",
    "stage",
)


@cache
def keywords() -> frozenset[str]:
    """Every keyword the rules rely on: the words a typo is corrected to."""
    return frozenset(k for name in RULE_FILES for r in load(name) for k in r.keywords)
