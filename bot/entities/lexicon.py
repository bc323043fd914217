"""The names a question may give, and a question read for them.

Names come from the corpus (each page's compound and condition in all their forms, the
brands a page gives, and every name the drug dictionary has for the same drug) and from
vocabularies of names the corpus lacks (drugs and brands, remedies, MeSH diseases). A
name in a compound's place that no vocabulary knows is still heard as a compound
(bot/data/rules/name_slots.yaml), and so is an unknown word shaped like a drug name. The
policy this serves: a page is cited only for a compound the question names.

This module builds the Lexicon (the names, their keys, the typo targets) and looks words
up in it; analysis.py reads a question with it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from rapidfuzz import fuzz, process
from rapidfuzz.distance import Levenshtein

from bot import rules as rule_engine
from bot.entities.analysis import Analysis, analyse
from bot.entities.conditions import Concept, ConditionIndex, read_page_condition
from bot.entities.forms import compound_forms, condition_forms
from bot.entities.words import cancer_words, not_names
from bot.model import Entities
from bot.pages import PageSummary
from bot.text import NegationRules, Normalised, Normaliser, Speller, Synonyms, basic
from bot.vocab import Disease, Drug, Vocabulary, english_buckets, english_ranks
from bot.vocab import load as load_vocabulary

# A typo is only forgiven in words this long, against words this similar (0-100).
FUZZY_MIN_LEN = 5
FUZZY_CUTOFF = 86
MAX_CORRECTIONS = 3  # candidate corrections tried per typo'd word


@dataclass
class Lexicon:
    synonyms: Synonyms
    vocabulary: Vocabulary | None = None
    compounds: dict[str, set[str]] = field(default_factory=dict)  # form -> page compounds
    conditions: dict[str, set[Concept]] = field(default_factory=dict)  # form -> concepts
    index: ConditionIndex = field(default_factory=ConditionIndex)
    normaliser: Normaliser | None = None
    _typo_words: frozenset[str] = frozenset()
    _typo_buckets: dict[str, tuple[str, ...]] = field(default_factory=dict)

    @classmethod
    def build(
        cls,
        assessments: Iterable[PageSummary],
        synonyms: Synonyms | None = None,
        vocabulary: bool = True,
        spelling: Iterable[str] = (),
    ) -> Lexicon:
        lex = cls(synonyms or Synonyms.load(), load_vocabulary() if vocabulary else None)
        pages = list(assessments)
        lex.normaliser = Normaliser(lex.synonyms, NegationRules.load())
        vocab = lex.vocabulary
        # Each name once: a site has many pages per compound and per condition.
        by_compound: dict[str, set[str]] = {}
        for a in pages:
            by_compound.setdefault(a.compound, set()).update(a.aliases)
        for compound, aliases in by_compound.items():
            forms = compound_forms(compound) | {basic(x) for x in aliases}
            if vocab is not None:
                forms |= _dictionary_forms(forms, vocab)
            for form in forms:
                lex.compounds.setdefault(lex.normalise(form), set()).add(compound)
        for condition in dict.fromkeys(a.condition for a in pages):
            terms = lex.normaliser.terms(condition)
            page = read_page_condition(condition, terms, lex.disease)
            lex.index.add(page)
            own = page.facets[0].head
            forms = {" ".join(terms)}
            if len(page.facets) == 1:  # no vocabulary knows it: its own words name it
                forms |= {lex.normalise(f) for f in condition_forms(condition)}
            for form in forms:
                lex.conditions.setdefault(form, set()).add(own)
        lex._typo_words = frozenset(
            w
            for table in (lex.compounds, lex.conditions)
            for n in table
            for w in n.split()
            if len(w) >= FUZZY_MIN_LEN
        )
        buckets: dict[str, set[str]] = {}
        for w in lex._typo_words | (cancer_words() if vocab is not None else set()):
            buckets.setdefault(w[0], set()).add(w)
        lex._typo_buckets = {k: tuple(sorted(v)) for k, v in buckets.items()}
        if vocab is not None:
            targets = set(spelling) | rule_engine.keywords() | cancer_words() | lex._typo_words
            lex.normaliser = Normaliser(
                lex.synonyms,
                NegationRules.load(),
                Speller(targets, lex.known_word, english_ranks()),
            )
        return lex

    # --- vocabulary ------------------------------------------------------------------------

    def normalise(self, text: str) -> str:
        """A name's key (words, synonyms applied)."""
        return self.synonyms.apply(basic(text))

    def normalise_message(self, text: str) -> Normalised:
        """A message as every stage reads it (bot.text), with this corpus's names known."""
        assert self.normaliser is not None
        return self.normaliser.normalise(text)

    def known_word(self, word: str) -> bool:
        """A word of its own: English, a vocabulary name's, or a page name's."""
        if word in self._typo_words or word in not_names():
            return True
        return self.vocabulary is not None and self.vocabulary.known_word(word)

    def disease(self, words: str) -> Disease | None:
        return self.vocabulary.diseases.get(words) if self.vocabulary else None

    def drug(self, words: str) -> Drug | None:
        return self.vocabulary.drugs.get(words) if self.vocabulary else None

    def english_typo(self, word: str) -> bool:
        """One edit from an English word ("medicin"): a typo, not a name."""
        if self.vocabulary is None:
            return False
        buckets = english_buckets()
        for size in (len(word) - 1, len(word), len(word) + 1):
            bucket = buckets.get((word[0], size), ())
            if bucket and process.extractOne(
                word, bucket, scorer=Levenshtein.distance, score_cutoff=1
            ):
                return True
        return False

    def corrections(self, token: str) -> list[str]:
        """Name words a typo'd token may stand for, best first: words of the pages' names
        and of cancer names, with the same first letter. Typos are forgiven word by word
        and only in long words ("quorvamin j" is not "Quorvamin K")."""
        if len(token) < FUZZY_MIN_LEN or token in self._typo_words:
            return []
        bucket = self._typo_buckets.get(token[0], ())
        hits = process.extract(
            token, bucket, scorer=fuzz.ratio, score_cutoff=FUZZY_CUTOFF, limit=MAX_CORRECTIONS
        )
        return [word for word, _, _ in hits if word != token]

    # --- reading a question ----------------------------------------------------------------

    def resolve(self, question: str) -> Entities:
        return self.analyse(question).entities

    def analyse(self, message: str | Normalised) -> Analysis:
        """The names a message gives (bot.entities.analysis), normalised here if need be."""
        assert self.normaliser is not None
        n = message if isinstance(message, Normalised) else self.normaliser.normalise(message)
        return analyse(self, n)


def _dictionary_forms(forms: set[str], vocab: Vocabulary) -> set[str]:
    """Every name the dictionary has for the drugs these forms name (brands, synonyms)."""
    canonicals = {d.canonical for f in forms if (d := vocab.drugs.get(f)) is not None}
    return {key for c in canonicals for key in vocab.names_of.get(c, ())}
