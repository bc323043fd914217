"""Which compounds and conditions a question names, and which of them no page covers.

- forms.py       the forms a page's names take ("Ketamine (IV / Esketamine)" -> esketamine)
- conditions.py  conditions as a hierarchy (a stage IV page covers stage 4 lung cancer)
- lexicon.py     a question -> names: pages' names, vocabularies, names in a compound's place
"""

from bot.entities.conditions import Concept, ConditionIndex, Mention, PageCondition, Stage
from bot.entities.forms import GENERIC_HEADS, QUALIFIERS, compound_forms, condition_forms
from bot.entities.lexicon import FUZZY_CUTOFF, FUZZY_MIN_LEN, Analysis, Lexicon, not_names
from bot.model import ConditionMatch, Entities, Relation
from bot.text import Synonyms

__all__ = [
    "FUZZY_CUTOFF",
    "FUZZY_MIN_LEN",
    "GENERIC_HEADS",
    "QUALIFIERS",
    "Analysis",
    "Concept",
    "ConditionIndex",
    "ConditionMatch",
    "Entities",
    "Lexicon",
    "Mention",
    "PageCondition",
    "Relation",
    "Stage",
    "Synonyms",
    "compound_forms",
    "condition_forms",
    "not_names",
]
