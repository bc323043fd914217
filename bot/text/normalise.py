"""Normalise a message once for every stage.

`fold` is the Unicode/case step everything shares. `Normaliser.normalise` adds what the
stages read: the folded text with keyword typos corrected ("how does it wrk" -> "work"),
the terms with staff synonyms applied ("stage 4" -> "stage iv"), each term's sentence and
clause, which terms a negation covers, and the corrections made.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from rapidfuzz import fuzz

if TYPE_CHECKING:
    from bot.text.negation import NegationRules
    from bot.text.synonyms import Synonyms

_QUOTES = str.maketrans({"’": "'", "‘": "'", "`": "'", "´": "'", "ʼ": "'"})
_DASHES = re.compile(r"[\u2010-\u2015\u2212]")
_INVISIBLE = re.compile(r"[\u200b-\u200f\u2060\ufeff]")
_WORD = re.compile(r"[a-z0-9]+")
_POSSESSIVE = re.compile(r"'s\b")
# A word to spell-check: every letter, so that "está" is one word (and not English), never
# "est" + "á" with "est" corrected to "set".
_ALPHA = re.compile(r"[^\W\d_]+")

# Sentence ends; a negation or a name's context never reaches past one.
SENTENCE_END = re.compile(r"[.!?;]+(?=\s|$)|\n")
_SENTENCES = re.compile(r"(.*?)([.!?;]+(?=\s|$)|\n|$)", re.DOTALL)
# A sentence that asks: it ends with "?" or opens like a question.
QUESTION_START = re.compile(
    r"^\W*(?:(?:and|so|but|ok|okay|also|well|anyway|anyways|seriously|honestly|though|right|"
    r"hi|hey|hello|um|erm|sorry|yeah|yes|no|just|quick|question|one\s+more)\W+){0,2}"
    r"(?:what|whats|what's|which|who|whom|whose|"
    r"when|where|why|how|is|are|was|were|does|do|did|can|could|would|will|should|has|have|"
    r"had|may|might|any|anything|tell|explain|describe)\b"
)
# Clause breaks inside a sentence: a comma, colon, dash or a contrasting conjunction
# ("I don't have glioblastoma, it's colon cancer": the negation ends at the comma).
CLAUSE_BREAK = re.compile(r"[,:]|\s-+\s|\b(?:but|however|though|although|whereas|yet)\b")


def fold(text: str) -> str:
    """Unicode-normalised, lower-case text with one kind of apostrophe and dash."""
    text = unicodedata.normalize("NFKC", text).lower().translate(_QUOTES)
    return _INVISIBLE.sub("", _DASHES.sub("-", text))


def words(text: str) -> list[str]:
    """The alphanumeric words of folded text, possessive 's dropped ("ketamine's")."""
    return _WORD.findall(_POSSESSIVE.sub("", text))


def basic(text: str) -> str:
    """Folded words joined by single spaces: the key every vocabulary is looked up by."""
    return " ".join(words(fold(text)))


class Speller:
    """Corrects a word that no vocabulary knows to the keyword it is a typo of.

    Only keywords the rules rely on are targets (a small list), a word is only corrected
    when it is not a word of its own (English, a drug, a name on a page), and only to a
    keyword with the same first letter, about as long, and similar enough: "wrk" -> "work",
    "mechansim" -> "mechanism"; never "dose" -> "does" (both are words).
    """

    MIN_LEN = 3
    CUTOFF = 80.0

    def __init__(
        self,
        targets: Iterable[str],
        known: Callable[[str], bool],
        ranks: Mapping[str, int] | None = None,
    ) -> None:
        self.targets = frozenset(t for t in targets if t.isalpha())
        self.known = known
        # English words by frequency rank: a rare spelling of a frequent word is that word
        # ("teh" is "the", two letters swapped; "keepin" is "keeping", the g dropped).
        self.ranks = ranks or {}
        self._by_first: dict[str, tuple[str, ...]] = {}
        for t in sorted(self.targets):
            self._by_first[t[0]] = (*self._by_first.get(t[0], ()), t)

    def correct(self, word: str) -> str | None:
        if len(word) < self.MIN_LEN or word in self.targets or not word.isalpha():
            return None
        if (informal := self._informal(word)) is not None:
            return informal
        if self.known(word):
            return None
        best, best_score, tied = None, self.CUTOFF, False
        for target in self._by_first.get(word[0], ()):
            if abs(len(target) - len(word)) > (1 if len(word) <= 4 else 2):
                continue
            score = fuzz.ratio(word, target)
            if score > best_score:
                best, best_score, tied = target, score, False
            elif score == best_score and best is not None:
                tied = True
        return None if tied else best

    RARE = 5000  # a spelling ranked beyond this may be a frequent word mistyped
    FREQUENT = 1000  # ... into one of these

    def _informal(self, word: str) -> str | None:
        if not self.ranks:
            return None
        rank = self.ranks.get(word, len(self.ranks) + 1)
        if rank <= self.RARE:
            return None
        if word.endswith("in") and self.ranks.get(word + "g", rank) < rank:
            return word + "g"
        swapped = {word[:i] + word[i + 1] + word[i] + word[i + 2 :] for i in range(len(word) - 1)}
        frequent = [w for w in swapped if self.ranks.get(w, self.FREQUENT + 1) <= self.FREQUENT]
        return frequent[0] if len(frequent) == 1 else None


@dataclass(frozen=True)
class Normalised:
    """One message as every stage reads it."""

    raw: str
    folded: str  # fold(raw) with keyword typos corrected; punctuation kept (for rules)
    terms: tuple[str, ...]  # words after synonyms (what names are looked up in)
    sentence: tuple[int, ...]  # sentence number of each term
    clause: tuple[int, ...]  # clause number of each term (clauses never span sentences)
    negated: tuple[bool, ...]  # the term is inside a negation's scope
    corrections: tuple[tuple[str, str], ...] = ()  # (as written, corrected)
    sentences: tuple[str, ...] = ()  # the folded text of each sentence
    asking: tuple[bool, ...] = ()  # each sentence asks something (vs tells)

    @property
    def text(self) -> str:
        return " ".join(self.terms)

    @property
    def empty(self) -> bool:
        return not self.terms


class Normaliser:
    def __init__(
        self,
        synonyms: Synonyms,
        negation: NegationRules,
        speller: Speller | None = None,
    ) -> None:
        self.synonyms = synonyms
        self.negation = negation
        self.speller = speller

    def terms(self, text: str) -> list[str]:
        """A name or a short phrase as terms (synonyms applied, nothing else)."""
        return self.synonyms.apply(basic(text)).split()

    def normalise(self, raw: str) -> Normalised:
        from bot.text.negation import negated_terms

        folded = fold(raw)
        corrections: list[tuple[str, str]] = []
        if self.speller is not None:
            cache: dict[str, str | None] = {}

            def fix(m: re.Match[str]) -> str:
                word = m.group(0)
                if not word.isascii():
                    return word
                if word not in cache:
                    cache[word] = self.speller.correct(word)  # type: ignore[union-attr]
                    if cache[word]:
                        corrections.append((word, cache[word]))  # type: ignore[arg-type]
                return cache[word] or word

            folded = _ALPHA.sub(fix, folded)
        terms: list[str] = []
        sentence: list[int] = []
        clause: list[int] = []
        sentences: list[str] = []
        asking: list[bool] = []
        clause_no = 0
        for m in _SENTENCES.finditer(folded):
            text, end = m.group(1), m.group(2)
            if not text.strip() and not end.strip():
                continue
            s_no = len(sentences)
            sentences.append(text.strip())
            asking.append("?" in end or bool(QUESTION_START.match(text.strip())))
            for part in CLAUSE_BREAK.split(text):
                found = self.synonyms.apply(" ".join(words(part))).split()
                if not found:
                    continue
                terms += found
                sentence += [s_no] * len(found)
                clause += [clause_no] * len(found)
                clause_no += 1
        negated = negated_terms(terms, clause, self.negation)
        return Normalised(
            raw=raw,
            folded=folded,
            terms=tuple(terms),
            sentence=tuple(sentence),
            clause=tuple(clause),
            negated=tuple(negated),
            corrections=tuple(corrections),
            sentences=tuple(sentences),
            asking=tuple(asking),
        )
