"""The word lists that tell names from other words in a question.

Read from `bot/data/vocab/` (words that name nothing, drug-name endings, words of the
body's biology) or derived from the disease vocabulary (cancer words, cancer sites). The
short lists kept below are grammar and phrasing (negations, pronouns, links, stage
phrases), each with its reason.
"""

from __future__ import annotations

from functools import cache

from bot.resources import read_lines
from bot.vocab import Disease
from bot.vocab import load as load_vocabulary

# A negation right before a compound ("not ketamine, esketamine") takes it back; a
# contracted auxiliary ("isn't ketamine approved?") does not.
COMPOUND_NEGATORS = frozenset({"not", "no", "never", "without", "except"})
# Words that stand for the compound already being discussed ("could it help her pain?").
REFERRING = frozenset({"it", "this", "that", "they", "these", "those"})
# "cancer pain", "cancer-related fatigue", "pain from cancer": the words that tie a symptom
# to the cancer it comes with.
CANCER_WORDS = frozenset({"cancer", "cancers", "tumor", "tumour", "tumors", "tumours"})
LINK_WORDS = frozenset({"related", "associated", "induced", "caused", "from", "of", "in", "with"})
EARLY_STAGES = (("stage", "i"), ("stage", "ii"), ("stage", "iii"), ("stage", "0"))
EARLY_WORDS = (("early", "stage"), ("early",), ("localized",), ("localised",), ("in", "situ"))
# The words before a drug that say it caused what is asked about ("hot flushes from
# tamoxifen").
CAUSED_BY = (("from",), ("after",), ("caused", "by"), ("due", "to"), ("because", "of"))


@cache
def not_names() -> frozenset[str]:
    return frozenset(w for line in read_lines("vocab/not_names.txt") for w in line.split())


@cache
def biology_words() -> frozenset[str]:
    """Words that name a target in the body ("receptor"): a drug word before one is no name."""
    return frozenset(w for line in read_lines("vocab/biology_words.txt") for w in line.split())


@cache
def drug_stems() -> tuple[str, ...]:
    return tuple(sorted(read_lines("vocab/stems.txt"), key=len, reverse=True))


@cache
def cancer_sites() -> dict[str, Disease]:
    """Site words of cancer names ("ovarian" of "ovarian cancer") -> that cancer."""
    sites: dict[str, Disease] = {}
    for key, d in load_vocabulary().diseases.items():
        words = key.split()
        by_site = any(t.startswith("C04.588") for t in d.trees)  # MeSH: neoplasms by site
        if by_site and len(words) == 2 and words[1] in ("cancer", "carcinoma", "tumor"):
            sites.setdefault(words[0], d)
    return sites


@cache
def cancer_words() -> frozenset[str]:
    """Words of cancer names, as typo targets ("pancratic" -> "pancreatic")."""
    return frozenset(
        w
        for key, d in load_vocabulary().diseases.items()
        if d.cancer and len(key.split()) <= 3
        for w in key.split()
        if len(w) >= 5 and w.isalpha()
    )
