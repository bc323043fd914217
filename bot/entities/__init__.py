"""Which compounds and conditions a question names, and which of them no page covers.

- forms.py       the forms a page's names take ("Ketamine (IV / Esketamine)" -> esketamine)
- conditions.py  conditions as a hierarchy (a stage IV page covers stage 4 lung cancer)
- words.py       the word lists that tell names from other words
- lexicon.py     the Lexicon: pages' names and vocabularies, their keys, typo targets
- analysis.py    a question -> an Analysis, in named steps over the modules below:
- spans.py       spans of the question that are a known name, and the ones chosen
- mentions.py    the conditions named, and the stage given them
- unlisted.py    names no vocabulary knows, heard in a compound's or condition's place
- labels.py      what was named, as the question wrote it
"""

from bot.entities.analysis import Analysis
from bot.entities.conditions import Concept, ConditionIndex, Mention, PageCondition, Stage
from bot.entities.forms import GENERIC_HEADS, QUALIFIERS, compound_forms, condition_forms
from bot.entities.lexicon import FUZZY_CUTOFF, FUZZY_MIN_LEN, Lexicon
from bot.entities.words import not_names
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
