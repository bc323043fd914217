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
from typing import Literal

FIRST_PERSON = re.compile(r"\b(i|i'?m|im|i'?ve|ive|i'?ll|me|my|myself|mine)\b")

_CRISIS_TERMS = r"(suicid\w*|sucid\w*|suicd\w*|suisid\w*|self[- ]?harm\w*|overdos\w*|od'?d)"

URGENT_ALWAYS = [
    r"\b(kill|killing|hurt|hurting|harm|harming|cut|cutting|poison|poisoning)\s+(myself|my\s?self)\b",
    r"\b(end|ending|take|taking)\s+(my|my own)\s+life\b",
    r"\bend\s+it\s+all\b",
    r"\b(want|wanna|going|planning|ready|deserve)\s+to\s+die\b",
    r"\bwish\s+i\s+(was|were)\s+dead\b",
    r"\bbetter\s+off\s+dead\b",
    r"\b(don'?t|do\s+not|dont)\s+want\s+to\s+(live|be\s+alive|be\s+here|wake\s+up)\b",
    r"\bno\s+(reason|point)\s+(to|in)\s+(live|living|going\s+on)\b",
    r"\btook\s+(too\s+many|all\s+(of\s+)?my|a\s+(whole|bunch|handful)|\d+)\b.*\b(pills?|tablets?|meds|medications?|doses?)\b",
    r"\b(can'?t|cannot|unable\s+to|struggling\s+to|trouble)\s+breath(e|ing)\b",
    r"\b(not|isn'?t|stopped)\s+breathing\b",
    r"\bchest\s+pains?\b",
    r"\b(severe|heavy|uncontrolled|uncontrollable)\s+bleeding\b",
    r"\bbleeding\s+(heavily|a\s+lot|won'?t\s+stop|will\s+not\s+stop)\b",
    r"\b(unconscious|unresponsive|passed\s+out|collapsed|won'?t\s+wake\s+up)\b",
    r"\b(having|had|is\s+having)\s+a\s+(seizure|stroke|heart\s+attack)\b",
    r"\b(medical\s+emergency|call\s+911|need\s+an\s+ambulance)\b",
]
URGENT_FIRST_PERSON = [rf"\b{_CRISIS_TERMS}", r"\bseizures?\b"]

DECLINED = [
    # dosing
    r"\b(what|which|right|correct|safe|max|maximum|starting|typical|recommended|usual|"
    r"best|daily|effective)\s+(dose|doses|dosage|dosing|amount)\b",
    r"\bhow\s+(much|many|often)\b[^.?!]*\b(take|taking|use|give|have|dose|mg|milligrams?|"
    r"pills?|tablets?|drops|infusions?|injections?)\b",
    r"\b\d+(\.\d+)?\s*(mg|mcg|µg|ug|ml|milligrams?|micrograms?|grams?|units?|mg/kg)\b",
    # starting, stopping, replacing, combining
    r"\bshould\s+i\s+(start|begin|stop|quit|take|try|use|switch|replace|add|combine|mix|"
    r"come\s+off|get\s+off|go\s+off|give\s+up|drop|skip|continue|keep\s+taking|ask\s+for)\b",
    r"\b(can|could|may|shall)\s+i\s+(start|stop|quit|take|try|use|switch|replace|add|"
    r"combine|mix|come\s+off|get\s+off|give\s+up|drop|skip)\b",
    r"\b(want|going|planning|thinking\s+(of|about)|decided)\s+(to\s+)?(start|stop|quit|"
    r"take|try|switch|replace|come\s+off|get\s+off|give\s+up|drop)\w*\b",
    r"\bis\s+it\s+(ok|okay|safe|fine|alright)\s+(for\s+(me|him|her|my\s+\w+)\s+)?to\s+"
    r"(start|stop|take|try|use|combine|mix|switch)\b",
    r"\b(instead\s+of|replace|replacing|swap|substitute|in\s+place\s+of)\b[^.?!]*"
    r"\b(chemo|chemotherapy|radiation|radiotherapy|treatment|medication|meds|"
    r"immunotherapy|surgery|my)\b",
    r"\bstop(ping)?\s+(my|his|her|the)\s+(chemo|chemotherapy|treatment|medication|meds|"
    r"radiation|immunotherapy)\b",
    r"\b(with|alongside|together\s+with)\s+my\s+(chemo|chemotherapy|treatment|medication|"
    r"meds|radiation|immunotherapy)\b",
    r"\b(prescribe|prescription)\b[^.?!]*\b(me|my)\b",
]

Kind = Literal["urgent", "declined", "mention"]


@dataclass(frozen=True)
class Triage:
    kind: Kind
    reason: str  # the pattern family that fired, for the audit trail


_URGENT_ALWAYS = [re.compile(p) for p in URGENT_ALWAYS]
_URGENT_FP = [re.compile(p) for p in URGENT_FIRST_PERSON]
_DECLINED = [re.compile(p) for p in DECLINED]
_MENTION = re.compile(rf"\b{_CRISIS_TERMS}")


def _clean(text: str) -> str:
    text = text.lower().replace("’", "'")
    return re.sub(r"\s+", " ", text)


def triage(message: str) -> Triage | None:
    text = _clean(message)
    for pattern in _URGENT_ALWAYS:
        if pattern.search(text):
            return Triage("urgent", "crisis or emergency wording")
    if FIRST_PERSON.search(text):
        for pattern in _URGENT_FP:
            if pattern.search(text):
                return Triage("urgent", "crisis term in the first person")
    for pattern in _DECLINED:
        if pattern.search(text):
            return Triage("declined", "personal dosing or treatment decision")
    if _MENTION.search(text):
        return Triage("mention", "crisis topic mentioned")
    return None
