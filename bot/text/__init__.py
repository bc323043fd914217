"""One text pipeline for every stage.

A message is normalised once (`Normaliser.normalise`) and triage, entities, intents and
dialogue all read the same `Normalised` record: Unicode and case folded, keyword typos
corrected (and remembered), staff synonyms applied, clauses and negation scopes marked.
"""

from bot.text.negation import NegationRules, negated_terms
from bot.text.normalise import (
    Normalised,
    Normaliser,
    Speller,
    basic,
    fold,
    words,
)
from bot.text.synonyms import Synonyms

__all__ = [
    "NegationRules",
    "Normalised",
    "Normaliser",
    "Speller",
    "Synonyms",
    "basic",
    "fold",
    "negated_terms",
    "words",
]
