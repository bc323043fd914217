"""Staff-editable synonyms (`bot/data/synonyms.txt`): variant -> canonical phrase."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from bot.resources import read_lines
from bot.text.normalise import basic


@dataclass(frozen=True)
class Synonyms:
    """Variant -> canonical phrase, applied on whole words, longest variant first.

    A canonical phrase in the text stays as it is: "stage iv" is not turned into
    "stage intravenous" by the "intravenous = iv" group, so applying twice changes nothing.
    """

    pairs: tuple[tuple[str, str], ...]

    @classmethod
    def parse(cls, lines: Iterable[str]) -> Synonyms:
        pairs: list[tuple[str, str]] = []
        for line in lines:
            if line.strip().startswith("#") or "=" not in line:
                continue
            canonical, _, variants = line.partition("=")
            canonical = basic(canonical)
            if not canonical:  # "= foo" would delete "foo" from every question
                continue
            pairs += [(basic(v), canonical) for v in variants.split(",") if basic(v)]
        pairs.sort(key=lambda p: -len(p[0]))
        return cls(tuple(pairs))

    @classmethod
    def load(cls, path: Path | None = None) -> Synonyms:
        if path is None:
            return cls.parse(read_lines("synonyms.txt"))
        return cls.parse(path.read_text(encoding="utf-8").splitlines())

    @property
    def words(self) -> frozenset[str]:
        """Every word of every variant: text without one of them needs no rewriting."""
        return _variant_words(self.pairs)

    def apply(self, text: str) -> str:
        if not self.pairs or self.words.isdisjoint(text.split()):
            return text
        pattern, mapping = _synonym_table(self.pairs)
        return pattern.sub(lambda m: mapping[m.group(0)], text)


@cache
def _variant_words(pairs: tuple[tuple[str, str], ...]) -> frozenset[str]:
    return frozenset(w for variant, _ in pairs for w in variant.split())


@cache
def _synonym_table(
    pairs: tuple[tuple[str, str], ...],
) -> tuple[re.Pattern[str], dict[str, str]]:
    # Canonical phrases map to themselves (unless also a variant of another group), and
    # the alternation tries longer phrases first, so "stage iv" wins over its "iv".
    mapping = {canonical: canonical for _, canonical in pairs}
    mapping.update(pairs)
    phrases = sorted(mapping, key=lambda v: (-len(v), v))
    pattern = re.compile(r"\b(?:" + "|".join(re.escape(v) for v in phrases) + r")\b")
    return pattern, mapping
