"""The forms a page's compound and condition names take in questions.

"Ketamine (IV / Esketamine)" is asked about as ketamine, esketamine, IV ketamine (and, via
the drug dictionary, by its brands: Ketalar, Spravato); "Stage IV Testcase Syndrome" as
testcase syndrome or testcase.
"""

from __future__ import annotations

import re

from bot.text.normalise import basic

# Route and dose words qualify a compound name but never name one on their own.
QUALIFIERS = frozenset(
    """iv intravenous oral topical inhaled nasal intranasal sublingual im sc subcutaneous
    injection infusion low high dose microdose extract cream patch spray""".split()
)
# Condition heads too generic to identify a condition by themselves.
GENERIC_HEADS = frozenset(
    ["syndrome", "disease", "disorder", "condition", "stage", "iv", "chronic", "acute"]
)


def compound_forms(name: str) -> set[str]:
    """ "Ketamine (IV / Esketamine)" -> ketamine, esketamine, iv ketamine, ..."""
    main, _, rest = name.partition("(")
    base = basic(main)
    extras = [basic(p) for p in re.split(r"[/,;]| or ", rest.rstrip(") ")) if basic(p)]
    forms = {base, basic(name)}
    core = " ".join(w for w in base.split() if w not in QUALIFIERS)
    if core:
        forms.add(core)
    for extra in extras:
        if all(w in QUALIFIERS for w in extra.split()):
            forms |= {f"{extra} {core}", f"{core} {extra}"}
        else:
            forms.add(extra)
    return {f for f in forms if f and not all(w in QUALIFIERS for w in f.split())}


def condition_forms(name: str) -> set[str]:
    """ "Stage IV Testcase Syndrome" -> stage iv testcase syndrome, testcase.

    Used for conditions no vocabulary knows (invented ones in tests, rare ones on a site):
    the last word that is not generic names it on its own."""
    base = basic(name)
    forms = {base}
    heads = [w for w in base.split() if w not in GENERIC_HEADS]
    if heads and len(heads[-1]) >= 4:
        forms.add(heads[-1])
    return forms
