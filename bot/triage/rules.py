"""Safety triage by rules (bot/data/rules/triage.yaml, then triage_languages.yaml for the
other languages), before anything is retrieved.

Misses are worse than false alarms here, so the rules lean towards catching; each names
itself in the trace. The kinds, in the order they win: urgent (crisis contacts first),
declined (ask your doctor), support (distress, a warm reply), mention (a research question
naming a crisis topic, answered with the crisis line added).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import cache, lru_cache

from bot import rules
from bot.model import CrisisKind, TriageKind
from bot.text import NegationRules, Normalised, Normaliser, Speller, Synonyms, fold
from bot.triage import signals

# Someone is present in the message: the writer ("I", "my") or a person with them ("he",
# "she", "someone"). Rules marked `person` count only then; alone their words are a topic.
# "the US" (folded to "the us") is a country, and "were" is not "we're".
PERSON = re.compile(
    r"\b(i|i'?m|im|i'?ve|ive|i'?ll|i'?d|me|my|myself|mine|we|we're|(?<!the\s)us|our|"
    r"he|he'?s|him|his|himself|she|she'?s|her|hers|herself|someone|somebody|"
    r"yo|mi|me|el|ella|mama|papa|esposo|esposa)\b"
)
# Happening now ("crushing chest pain right now"): as good as a person being named, since
# a research question is not asked in the present moment.
NOW = re.compile(
    r"\b(right\s+now|just\s+now|at\s+the\s+moment|this\s+(minute|second)|as\s+we\s+speak)\b"
)
# Requests to the bot ("tell me about ...") are not a person in the story.
REQUEST_PHRASES = re.compile(
    r"\b((can|could|would|will)\s+you\s+)?(please\s+)?"
    r"(tell\s+me|show\s+me|explain\s+to\s+me|help\s+me\s+understand)\b"
)
# An emergency told as past and over ("last month dad had neutropenic fever and was
# admitted, he's home and doing fine now") is history, not an emergency now; so is someone
# else's self-harm ("my aunt tried to end her life in 2019, she's doing well now"). The
# writer's own thoughts of self-harm, and violence, are never waved off as past.
PAST = re.compile(
    r"\b(last\s+(week|month|year|time|summer|winter|spring|autumn|fall)|"
    r"(\d+|a|an|one|two|three|few|several|couple\s+of)\s+(days?|weeks?|months?|years?|yrs?)\s+ago|"
    r"back\s+in|in\s+(19|20)\d\d|years\s+ago|decades\s+ago|in\s+the\s+(\d0s|(twen|thir|for|fif|six|seven|eigh|nine)ties)|"
    r"when\s+i\s+was\s+(young|younger|a\s+(teen|teenager|kid|student)|\d+)|as\s+a\s+(teen|teenager|student)|"
    r"in\s+my\s+(teens|twenties|thirties|\d0s)|"
    r"el\s+ano\s+pasado|hace\s+(\w+\s+)?anos)\b"
)
RESOLVED = re.compile(
    r"\b(now|since)\b[^.?!]*\b(fine|ok|okay|better|sorted|home|stable|recovered|well|safer)\b|"
    r"\b(fine|ok|okay|better|sorted|home|stable|recovered|doing\s+well)\b[^.?!]*\bnow\b|"
    r"\ball\s+sorted\b|\bno\s+longer\b|\b(long\s+)?behind\s+(me|us|him|her|them)\b|"
    r"\bbeen\s+(well|fine|ok|okay|good|clean|sober|stable)\s+(for|since|ever)\b|"
    r"\bnever\s+looked\s+back\b|"
    r"\b(recovered\s+(completely|fully)|made\s+a\s+(full\s+)?recovery|pulled\s+through|"
    r"(is|was|are|were)\s+(all\s+)?(resolved|over)|years\s+on|"
    r"doing\s+(really\s+|very\s+|so\s+)?well(\s+in\s+(him|her|them)sel(f|ves))?|"
    r"todo\s+(esta\s+)?(resuelto|bien)|se\s+recupero)\b"
)
# So long ago that no one's crisis then is an emergency now ("my nan tried to end her life
# back in the 80s"): said in the sentence the rule matched in, with no word of now there,
# that alone makes it history; the writer's own thoughts are still never waved off.
LONG_AGO = re.compile(
    r"\b(decades\s+ago|in\s+the\s+(19)?\d0s|in\s+the\s+(six|seven|eigh|nine)ties|in\s+19\d\d|"
    r"([2-9]\d|1[0-9])\s+(years|yrs)\s+ago|when\s+(he|she|they)\s+was\s+(young|a\s+(girl|boy|teen|teenager)))\b"
)
STILL = re.compile(
    r"\b(right\s+now|tonight|at\s+the\s+moment|currently|again|still|lately|these\s+days|today|"
    r"this\s+(morning|afternoon|evening)|last\s+night|(an?|\d+)\s+(hours?|minutes?)\s+ago)\b"
)
# Which contacts come first when rules of several kinds fire: danger to life right now,
# then someone hurting the writer, then thoughts of self-harm.
PRIORITY = (CrisisKind.EMERGENCY, CrisisKind.VIOLENCE, CrisisKind.SELF_HARM)
ORDER = (TriageKind.URGENT, TriageKind.DECLINED, TriageKind.SUPPORT, TriageKind.MENTION)


@dataclass(frozen=True)
class Triage:
    kind: TriageKind
    reason: str  # the deciding rule's note, for the audit trail
    rules: tuple[str, ...] = ()  # every rule of that kind that fired
    crisis: CrisisKind | None = None
    topic: str | None = None  # for declined: dosing | treatment | symptom
    # The language of the deciding rule, where it is one language's ("no está respirando"):
    # a short message the detector cannot place is still answered in it.
    lang: str | None = None
    # Whose contacts come first when not the crisis's own: an overdose taken to die is
    # self-harm, and 911 still leads.
    lead: CrisisKind | None = None


@dataclass(frozen=True)
class _Rule:
    rule: rules.Rule
    kind: TriageKind
    crisis: CrisisKind | None
    topic: str | None
    person: bool
    lang: str | None = None


# English first, then the other languages: within a kind, the first rule that fired names
# the reason.
FILES = ("triage", "triage_languages")


def records() -> tuple[dict, ...]:
    """Every triage record, in the order the rules are asked."""
    return tuple(r for name in FILES for r in rules.records(name))


@cache
def compiled() -> tuple[_Rule, ...]:
    meta = {r["id"]: r for r in records()}
    if len(meta) != len(records()):
        raise rules.RuleError(f"triage rules: an id is used twice across {FILES}")
    out = []
    for r in (rule for name in FILES for rule in rules.load(name)):
        m = meta[r.id]
        crisis = CrisisKind(m["crisis"]) if m.get("crisis") else None
        out.append(
            _Rule(
                r,
                TriageKind(r.kind),
                crisis,
                m.get("topic"),
                bool(m.get("person")),
                m.get("lang") if m.get("lang") != "en" else None,
            )
        )
    return tuple(out)


def plain(text: str) -> str:
    """Lower case, one kind of apostrophe, no accents, single spaces: what rules read."""
    text = unicodedata.normalize("NFKD", fold(text))
    text = "".join(c for c in text if not unicodedata.combining(c))
    return re.sub(r"\s+", " ", text).strip()


@cache
def _normaliser() -> Normaliser:
    """The shared pipeline for a message triaged on its own (no corpus names known)."""
    from bot.vocab import english_ranks, load

    vocab = load()
    return Normaliser(
        Synonyms.load(),
        NegationRules.load(),
        Speller(rules.keywords(), vocab.known_word, english_ranks()),
    )


def triage(message: str | Normalised) -> Triage | None:
    """The triage of a message (raw, or as the shared normaliser read it)."""
    if isinstance(message, Normalised):
        return _triage(message.folded)
    return _triage(_normaliser().normalise(message).folded)


# Whose self-harm a rule's words tell: the last person named before them in the sentence
# (or in them): "tried to end her life" someone else's, "end my life", "I used to cut" the
# writer's.
@cache
def _who() -> re.Pattern[str]:
    return re.compile(
        rf"(?P<other>\b{rules.concepts()['PERSON_REF']}\b|\b(he|she|they|his|hers|himself|"
        r"herself|themselves)\b)|\b(?P<self>i|i'?m|im|i'?ve|i'?d|me|my|myself)\b"
    )


def _someone_elses(rule: rules.Rule, text: str) -> bool:
    """Whether the words a rule matched tell someone else's crisis, not the writer's."""
    found = rule.pattern.search(text)  # it matched: the caller asked the rule first
    if not found:
        return False
    sentence = max(text.rfind(c, 0, found.start()) for c in ".?!") + 1
    named = list(_who().finditer(text, sentence, found.end()))
    return bool(named) and named[-1].group("self") is None


def _long_ago(rule: rules.Rule, text: str) -> bool:
    """Whether every sentence a rule matched in tells of decades ago, and not of now."""
    found = list(rule.pattern.finditer(text))
    for match in found:
        start = max(text.rfind(c, 0, match.start()) for c in ".?!") + 1
        ends = [i for i in (text.find(c, match.end()) for c in ".?!") if i >= 0]
        sentence = text[start : min(ends, default=len(text))]
        if not LONG_AGO.search(sentence) or STILL.search(sentence) or NOW.search(sentence):
            return False
    return bool(found)


# A pure function of the text, asked the same few questions over and over.
@lru_cache(maxsize=4096)
def _triage(folded: str) -> Triage | None:
    text = plain(folded)
    person = bool(PERSON.search(REQUEST_PHRASES.sub(" ", text)) or NOW.search(text))
    history = bool(PAST.search(text) and RESOLVED.search(text) and not STILL.search(text))
    fired: dict[TriageKind, list[_Rule]] = {}
    for r in compiled():
        if r.person and not person:
            continue
        if not r.rule.matches(text):
            continue
        if (
            r.crisis in (CrisisKind.EMERGENCY, CrisisKind.SELF_HARM)
            and (history or _long_ago(r.rule, text))
            and (r.crisis is CrisisKind.EMERGENCY or _someone_elses(r.rule, text))
        ):
            continue
        fired.setdefault(r.kind, []).append(r)
    adds_up = None if TriageKind.URGENT in fired else signals.judge(text, person and not history)
    if adds_up is not None:
        # No rule knows the whole phrase, but signs of two kinds of the same crisis do.
        return Triage(
            TriageKind.URGENT,
            "warning signs that add up: " + " + ".join(adds_up.categories),
            adds_up.signs,
            adds_up.crisis,
        )
    for kind in ORDER:
        found = fired.get(kind)
        if not found:
            continue
        first = found[0]
        crisis = None
        if kind is TriageKind.URGENT:
            kinds = {r.crisis for r in found}
            crisis = next(k for k in PRIORITY if k in kinds)
            first = next(r for r in found if r.crisis is crisis)
        return Triage(
            kind,
            first.rule.note or first.rule.id,
            tuple(r.rule.id for r in found),
            crisis,
            first.topic,
            first.lang,
        )
    return None
