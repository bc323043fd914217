"""Which language a message is written in, with py3langid (its model ships in the wheel).

Most messages are English, and short ones fool any detector ("ketamine?" reads Spanish), so
the detector is asked only when some of the words are not English, and believed only when
it is sure. "Some", not "most": the English word list knows "de", "la", "me", "plus" and
"fort", and a French or Spanish sentence can be two-thirds such words. Languages with
replies of their own: Spanish (crisis and support replies, 988 in Spanish) and, for a short
"we answer in English" note, French, Portuguese, Italian and German.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import cache

LANGUAGES = ("en", "es", "fr", "pt", "it", "de")
MIN_WORDS = 2
ENGLISH_SHARE = 0.9  # this share of known English words or more: English
CONFIDENCE = 0.9
_WORDS = re.compile(r"[^\W\d_]+")


@cache
def _identifier():
    from py3langid.langid import MODEL_FILE, LanguageIdentifier

    identifier = LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)
    identifier.set_languages(list(LANGUAGES))
    return identifier


def warm_up() -> None:
    _identifier()


def detect(text: str, english: Callable[[str], bool]) -> str:
    """The message's language code ("en" when in doubt)."""
    words = _WORDS.findall(text.lower())
    if len(words) < MIN_WORDS:
        return "en"
    share = sum(1 for w in words if english(w)) / len(words)
    if share >= ENGLISH_SHARE:
        return "en"
    language, probability = _identifier().classify(text)
    return str(language) if probability >= CONFIDENCE else "en"
