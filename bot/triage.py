"""Safety triage, run before any retrieval.

`urgent`: the person (or someone with them) may be in danger now: crisis contacts first,
no retrieved content. `declined`: personal dosing, or starting/stopping/replacing a
treatment: that is a decision for the patient's own doctor. `mention`: a research question
that only mentions suicide, self-harm or overdose: answered, with crisis contacts added.
Misses are worse than false alarms here, so patterns lean towards catching.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Literal

import yaml
from rapidfuzz import fuzz, process

# Someone is present in the message: the writer ("I", "my") or a person with them ("he",
# "she", "someone"). Crisis terms next to a person are urgent; without one, a mention.
PERSON = re.compile(
    r"\b(i|i'?m|im|i'?ve|ive|i'?ll|i'?d|me|my|myself|mine|we|we'?re|us|our|"
    r"he|he'?s|him|his|himself|she|she'?s|her|hers|herself|someone|somebody)\b"
)
# Requests to the bot ("tell me about ...") are not a person in the story: removed before
# PERSON is checked, so "tell me about overdose risk" stays a research question.
REQUEST_PHRASES = re.compile(
    r"\b((can|could|would|will)\s+you\s+)?(please\s+)?"
    r"(tell\s+me|show\s+me|explain\s+to\s+me|help\s+me\s+understand)\b"
)

_CRISIS_TERMS = r"(suicid\w*|sucid\w*|suicd\w*|suisid\w*|self[- ]?harm\w*|overdos\w*|od'?d)"
_SELF_OR_OTHER = r"(myself|my\s?self|himself|herself|themselves|themself|yourself)"

URGENT_ALWAYS = [
    # killing or hurting oneself, including a person with the writer ("kill himself")
    rf"\b(kill|killing|hurt|hurting|harm|harming|cut|cutting|poison|poisoning|"
    rf"unalive|unaliving)\s+{_SELF_OR_OTHER}\b",
    r"\b(cut|cutting|slit|slitting)\s+(my|his|her)\s+wrists?\b",
    # ending one's life, said directly or euphemistically
    r"\b(end|ending|take|taking)\s+(my|my\s+own|his|her|his\s+own|her\s+own)\s+life\b",
    r"\bend\s+it\s+all\b",
    r"\bto\s+end\s+(it|things|everything|it\s+all|my\s+life)\b",
    # slang and euphemisms ("kms" = kill myself)
    r"\b(kms|kys|sewer\s?slide|unalive\s+(me|myself))\b",
    # hopelessness said of oneself
    r"\bno\s+hope\s+(left|anymore|any\s+more)\b",
    r"\b(i\s+feel|i'?m|feeling|i\s+am)\s+(so\s+|completely\s+|totally\s+)?hopeless\b",
    # hoarding pills, goodbye messages, "took something"
    r"\b(saving|saved|stockpil\w*|hoard\w*|collecting)\s+(up\s+)?(all\s+)?(my|his|her|their)?\s*"
    r"([\w-]+\s+){0,2}(pills?|meds|medications?|tablets?)\b",
    # "planning to take them all tonight"
    r"\b(take|taking|took|swallow|swallowing|swallowed)\s+(them|these|those)\s+all\b",
    r"\b(take|taking|took|swallow|swallowing|swallowed)\s+all\s+of\s+(them|these|those)\b",
    r"\b(texted|said|sent|wrote|left)\b[^.?!]*\bgoodbye\b",
    r"\b(took|swallowed|taken)\s+something\b",
    r"\bcan'?t\s+(reach|wake)\s+(her|him|them)\b",
    # an accidental or deliberate extra dose
    r"\b(took|taken|had|swallowed)\s+(a\s+)?(double|triple|twice|extra|two|three)\b[^.?!]*"
    r"\b(dose|doses|pills?|tablets?|amount)\b",
    r"\b(want|wants|wanna|going|gonna|planning|plan|ready|decided|thinking\s+(of|about)|"
    r"think\s+about)\s+(to\s+)?end(ing)?\s+(it|things|everything)\b",
    r"\bwant\s+(it|this|everything)\s+(all\s+)?to\s+(be\s+over|end|stop)\b",
    r"\b(want|wants|wanna|going|gonna|planning|ready|deserve)\s+to\s+(die|be\s+dead)\b",
    r"\bfeel(s|ing)?\s+like\s+(dying|i\s+want\s+to\s+die)\b",
    r"\bwish\s+(i|he|she)\s+(was|were)\s+dead\b",
    r"\bbetter\s+off\s+(dead|without\s+me)\b",
    r"\b(want|wanna)\s+to\s+disappear\b",
    r"\b(never|not|don'?t|do\s+not|won'?t)\s+wake\s+up\b",
    # no will to live
    r"\b(don'?t|do\s+not|dont)\s+(want|wanna)\s+(to\s+)?(live|be\s+alive|be\s+here|exist|"
    r"go\s+on|wake\s+up)\b",
    r"\b(no|any|the)\s+(reason|point)\s+(to|in|of)?\s*(live|living|life|going\s+on|"
    r"carrying\s+on|being\s+alive|being\s+here)\b",
    r"\b(life|living)\s+(is\s*n'?t|is\s+not|isn'?t|not|is\s+no\s+longer)\s+worth\b",
    r"\bnot\s+worth\s+living\b",
    r"\b(can'?t|cannot|cant)\s+(go\s+on|keep\s+going|take\s+(it|this)|do\s+this)\s*"
    r"(any\s?more|any\s+longer|like\s+this)\b",
    r"\b(can'?t|cannot|cant)\s+go\s+on\s*([.!?]|$)",
    # a crisis term right next to a state of mind or a time ("thinking about suicide",
    # "suicidal thoughts again tonight"): a person's present state even with no pronoun
    rf"\b(think|thinking|thinkin|having\s+thoughts|had\s+thoughts)\s+(about|of)\s+{_CRISIS_TERMS}",
    rf"\b(feel|feeling|felt|been|getting|am|very)\s+{_CRISIS_TERMS}",
    rf"\b{_CRISIS_TERMS}(\s+\w+){{0,2}}\s+(again|tonight|today|right\s+now|lately|"
    rf"these\s+days|all\s+the\s+time)\b",
    # asking for a method or a lethal amount
    r"\b(how|ways?|best|easiest|painless|quickest|quick)\s+(to|of)\s+(commit\s+suicide|"
    r"overdose|kill\s+(myself|yourself|oneself)|die|end\s+(my|your)\s+life)\b",
    r"\b(lethal|fatal|deadly)\s+(dose|amount|overdose)\b",
    r"\bhow\s+(much|many)\b[^.?!]*\b(to\s+(die|overdose)|would\s+kill|kills?\s+you|"
    r"(is|be)\s+(lethal|fatal|deadly)|cause\s+an?\s+overdose)\b",
    # overdose that happened or is about to happen
    r"\b(took|taken|swallowed|ate|had)\s+(too\s+many|too\s+much|all\s+(of\s+)?"
    r"(my|his|her|their|the)|a\s+(whole|bunch|handful|bottle)|\d+)\b.*"
    r"\b(pills?|tablets?|meds|medications?|doses?|bottle)\b",
    r"\b(take|taking)\s+(too\s+many|all\s+(of\s+)?(my|his|her|the)|a\s+(whole|bottle))\b.*"
    r"\b(pills?|tablets?|meds|medications?|bottle)\b",
    r"\b(overdosed|od'?d|took\s+an\s+overdose)\b",
    # breathing, circulation, consciousness
    r"\b(can'?t|cannot|unable\s+to|struggling\s+to|trouble)\s+breath(e|ing)\b",
    r"\b(not|isn'?t|stopped)\s+breathing\b",
    r"\b(is|he'?s|she'?s|i'?m|am|was|started)\s+choking\b",
    r"\b(crushing|severe|sudden|terrible|intense|tight|tightness)\s+(\w+\s+){0,3}chest\b",
    r"\b(having|got|getting)\s+(\w+\s+)?chest\s+pains?\b",
    r"\b(severe|heavy|uncontrolled|uncontrollable)\s+bleeding\b",
    r"\bbleeding\s+(heavily|a\s+lot|won'?t\s+stop|will\s+not\s+stop)\b",
    r"\b(unconscious|unresponsive|passed\s+out|passing\s+out|blacking\s+out|collapsed|"
    r"won'?t\s+wake\s+up)\b",
    r"\b(coughing|vomiting|throwing)\s+(up\s+)?(a\s+lot\s+of\s+|lots\s+of\s+)?blood\b",
    r"\b(take|taking|took|swallow|swallowing)\s+all\s+(of\s+)?(my|his|her|the)\b[^.?!]*"
    r"\b(at\s+once|in\s+one\s+go|together)\b",
    # "took my whole week of X at once": a supply taken in one go, even by mistake
    r"\b(took|taken|swallowed|had)\s+(my|his|her|their|a)\s+(whole|entire|full)\s+"
    r"(week|weeks|month|months|day|days|supply|pack|packet|bottle|box|prescription)\b",
    r"\b(took|taken|swallowed)\b[^.?!]*\b(at\s+once|in\s+one\s+go)\b",
    r"\b(having|had|is\s+having)\s+a\s+(seizure|stroke|heart\s+attack)\b",
    r"\b(medical\s+emergency|call\s+911|need\s+an\s+ambulance)\b",
]
# Urgent only when a person is present (PERSON); alone they are research topics.
URGENT_PERSON = [
    # a crisis term ("my husband overdosed", "she's suicidal")
    rf"\b{_CRISIS_TERMS}",
    # seizures, chest pain ("does ketamine cause chest pain in trials?" is not urgent)
    r"\bseizures?\b",
    r"\bchest\s+pains?\b",
    r"\bheart\s+(is\s+)?(racing|pounding)\b",
]

# Treatment words a patient may want to stop, replace or combine.
_TREATMENTS = (
    r"(chemo|chemotherapy|radiation|radiotherapy|treatment|medication|medicine|meds|"
    r"immunotherapy|surgery|therapy|pills?|drugs?)"
)
# Who the decision is for: the writer or someone they care for.
_WHO = r"(i|we|he|she|my\s+\w+)"

DECLINED = [
    # dosing: "what dose", "how much should I take", "is 50 mg safe"
    r"\b(what|which|right|correct|safe|max|maximum|starting|typical|recommended|usual|"
    r"best|daily|effective)\s+(dose|doses|dosage|dosing|amount)\b",
    # (not "how much does it cost": a price is not a dose)
    r"\bhow\s+(much|many|often)\b(?![^.?!]*\b(cost|costs|price|pay|charge|insurance)\b)"
    r"[^.?!]*\b(take|taking|use|give|have|dose|mg|milligrams?|"
    r"pills?|tablets?|drops|infusions?|injections?|inhale|inject|apply|smoke|vape|drink|"
    r"swallow|administer)\b",
    r"\b(too\s+much|too\s+many|too\s+little|enough)\s+for\s+(me|him|her|my)\b",
    r"\bhow\s+much\b[^.?!]*\bis\s+too\s+much\b",
    r"\b(should|can|could|shall|do)\s+(i|we|he|she)\s+(double|triple|halve|increase|"
    r"decrease|lower|raise|reduce|up|cut)\b",
    r"\b(double|triple|halve|increase|decrease|lower|raise|reduce|cut)\s+(my|his|her|the)\s+"
    r"(dose|dosage|amount|pills?|meds|medication)\b",
    r"\b\d+(\.\d+)?\s*(mg|mcg|µg|ug|ml|milligrams?|micrograms?|grams?|units?|mg/kg)\b",
    # starting, stopping, replacing: "should I start", "can my husband take"
    rf"\b(should|can|could|may|shall)\s+{_WHO}\s+(start|begin|stop|quit|end|take|try|use|give|"
    r"switch|replace|add|combine|mix|come\s+off|get\s+off|go\s+off|give\s+up|drop|skip|"
    r"continue|keep\s+taking|ask\s+for)\b",
    r"\b(wants?|wanted|going|planning|plans?|thinking\s+(of|about)|decided|decides)\s+(to\s+)?"
    r"(start|stop|quit|take|try|switch|swap|replace|come\s+off|get\s+off|give\s+up|drop)\w*\b",
    r"\bis\s+it\s+(ok|okay|safe|fine|alright)\s+(for\s+(me|him|her|my\s+\w+)\s+)?to\s+"
    r"(start|stop|take|try|use|combine|mix|switch)\b",
    # "is ketamine right for me?": personal suitability is the doctor's call
    r"\b(right|suitable|appropriate|safe)\s+for\s+(me|him|her|us)\b",
    # replacing a treatment
    rf"\b(instead\s+of|replace|replacing|swap|swapping|switch|switching|substitute|"
    rf"substituting|trade|trading|in\s+place\s+of)\b[^.?!]*"
    rf"\b({_TREATMENTS}|my)\b",
    rf"\bstop(ping)?\s+(my|his|her|the)\s+{_TREATMENTS}\b",
    # combining with one's own treatment: "with my chemo", "safe to mix with my morphine"
    rf"\b(with|alongside|together\s+with)\s+(my|his|her)\s+{_TREATMENTS}\b",
    r"\b(safe|ok|okay|fine)\s+to\s+(mix|combine|take|use)\b",
    r"\b(mix|mixing|combine|combining)\b[^.?!]*\bwith\s+(my|his|her|their)\b",
    # prescriptions for the writer
    r"\b(prescribe|prescription)\b[^.?!]*\b(me|my)\b",
]

Kind = Literal["urgent", "declined", "mention"]


@dataclass(frozen=True)
class Triage:
    kind: Kind
    reason: str  # the pattern family that fired, for the audit trail


_URGENT_ALWAYS = [re.compile(p) for p in URGENT_ALWAYS]
_URGENT_PERSON = [re.compile(p) for p in URGENT_PERSON]
_DECLINED = [re.compile(p) for p in DECLINED]
_MENTION = re.compile(rf"\b{_CRISIS_TERMS}")


# Words the patterns rely on, restored from typos ("kil myslef", "how mutch ... shoud i").
# A token is only corrected to a word with the same first letter and one or two letters
# off, so "skill" never becomes "kill" and "diet" never becomes "die".
TRIAGE_WORDS = (
    "kill myself himself herself suicide suicidal overdose overdosed much should breathe "
    "breathing bleeding unconscious"
).split()
# Real words a letter or two from one of those: never "corrected".
NOT_TYPOS = frozenset(
    "does dose doses overdue shoulder shoulders mulch kiln kilt kills killed breeding "
    "breathed skill shout bleed".split()
)
TYPO_CUTOFF = 80


def _correct(token: str) -> str:
    if len(token) < 3 or token in TRIAGE_WORDS or token in NOT_TYPOS:
        return token
    best = process.extractOne(
        token,
        [w for w in TRIAGE_WORDS if w[0] == token[0] and abs(len(w) - len(token)) <= 2],
        scorer=fuzz.ratio,
        score_cutoff=TYPO_CUTOFF,
    )
    return best[0] if best else token


def _clean(text: str) -> str:
    text = text.lower().replace("’", "'")
    text = re.sub(r"[a-z]+", lambda m: _correct(m.group(0)), text)
    return re.sub(r"\s+", " ", text)


# A pure function of the text, asked the same few questions over and over.
@lru_cache(maxsize=4096)
def triage(message: str) -> Triage | None:
    text = _clean(message)
    for pattern in _URGENT_ALWAYS:
        if pattern.search(text):
            return Triage("urgent", "crisis or emergency wording")
    if PERSON.search(REQUEST_PHRASES.sub(" ", text)):
        for pattern in _URGENT_PERSON:
            if pattern.search(text):
                return Triage("urgent", "crisis or emergency term next to a person")
    for pattern in _DECLINED:
        if pattern.search(text):
            return Triage("declined", "personal dosing or treatment decision")
    if _MENTION.search(text):
        return Triage("mention", "crisis topic mentioned")
    return None


@dataclass(frozen=True)
class Contact:
    text: str
    href: str | None = None  # tel:, sms: or https: link, so a phone can tap it


_CONTACT_HREF = re.compile(r"^(tel:\+?[0-9-]+|sms:\+?[0-9-]+|https://\S+)$")


def crisis_contacts(locale: str, path: Path | None = None) -> tuple[Contact, ...]:
    """The crisis and emergency contacts of a locale; ValueError names what is wrong."""
    source = path or resources.files("bot.data").joinpath("crisis_contacts.yaml")
    data = yaml.safe_load(source.read_text(encoding="utf-8")) or {}
    entry = data.get(locale.lower()) if isinstance(data, dict) else None
    if not isinstance(entry, dict) or not entry.get("contacts"):
        known = ", ".join(sorted(data)) if isinstance(data, dict) else "none"
        raise ValueError(f"no crisis contacts for locale {locale!r} in {source} (have: {known})")
    contacts = []
    for item in entry["contacts"]:
        href = item.get("href")
        if href is not None and not _CONTACT_HREF.match(str(href)):
            raise ValueError(
                f"crisis contact link {href!r} in {source} is not tel:, sms: or https:"
            )
        contacts.append(Contact(str(item["text"]), href))
    return tuple(contacts)
