"""Identifiers redacted from stored questions, comments and notes (the reply itself used
the full text). Two kinds of recogniser:

- validated ones, for identifiers with a structure: phone numbers by Google's
  libphonenumber (`phonenumbers`: international and national formats of the locales we
  serve), card numbers by a Luhn check and an issuer prefix, IBANs and US SSNs by
  `python-stdnum`. A number that fails validation ("1000 2000 3000 mg", a list of years)
  is left alone;
- patterns with a cue, for identifiers that have none: a name after "my name is", a date
  with a day (dates of birth in any of the usual formats), a street address (number,
  words, a street type), a medical record, NHS or passport number after its label, and
  emails, also written out ("jane dot doe at example dot com").

PII libraries that find names and addresses without cues (Presidio, scrubadub's name
detector) need a language model downloaded at run time or heavy dependencies; the cues
above cover what people type into a health FAQ without them.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import lru_cache

import phonenumbers
from stdnum import iban, luhn
from stdnum.us import ssn

# Regions whose national formats are tried (the crisis-contact locales of bot/data).
REGIONS = ("US", "GB", "CA", "AU", "NZ", "IE")
MONTH = (
    r"(?:jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|"
    r"sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)\.?"
)
TLD = r"(?:com|org|net|edu|gov|io|co|uk|us|ca|au|nz|ie|fr|de|info|me|health)"
AT = r"(?:\s*@\s*|\s*[\[({]\s*at\s*[\])}]\s*|\s+at\s+)"
DOT = r"(?:\s*\.\s*|\s*[\[({]\s*dot\s*[\])}]\s*|\s+dot\s+)"
STREET = (
    r"(?:street|st|avenue|ave|road|rd|boulevard|blvd|lane|ln|drive|dr|court|ct|way|place|pl|"
    r"terrace|close|crescent|parkway|pkwy|highway|hwy|square|sq)"
)

Rule = tuple[re.Pattern[str], Callable[[re.Match[str]], str] | str]


def _digits(text: str) -> str:
    return re.sub(r"\D", "", text)


def _card(match: re.Match[str]) -> str:
    digits = _digits(match.group(0))
    issuers = ("4", "34", "37", "51", "52", "53", "54", "55", "6011", "65", "35", "36", "22")
    if 13 <= len(digits) <= 19 and luhn.is_valid(digits) and digits.startswith(issuers):
        return "[card or account number]"
    return match.group(0)


def _iban(match: re.Match[str]) -> str:
    return "[card or account number]" if iban.is_valid(match.group(0)) else match.group(0)


def _ssn(match: re.Match[str]) -> str:
    text = match.group(0)
    if "-" in text or ssn.is_valid(_digits(text)):
        return "[id number]"
    return text


def _labelled(label: str) -> Callable[[re.Match[str]], str]:
    """Keeps the cue ("my name is"), replaces what follows it."""
    return lambda m: f"{m.group(1)}{label}"


RULES: tuple[Rule, ...] = (
    (re.compile(r"\bhttps?://\S+", re.I), "[link]"),
    (
        re.compile(rf"[\w+-]+(?:{DOT}[\w+-]+)*{AT}[\w-]+(?:{DOT}[\w-]+)*{DOT}{TLD}\b", re.I),
        "[email]",
    ),
    (re.compile(r"[\w.+-]+@[\w-]+(\.[\w-]+)+"), "[email]"),
    (
        re.compile(
            r"((?:my|his|her|their|the patient's) (?:full )?name(?: is|'s|:)\s+|"
            r"\b(?:i am|i'm) called\s+|\bname:\s*)"
            r"[A-Za-z][\w'’-]*(?:\s+(?!And\b|I\b)[A-Z][\w'’-]*){0,3}",
            re.I,
        ),
        _labelled("[name]"),
    ),
    (
        re.compile(
            r"(\b(?:mrn|medical record(?: number| no\.?| #)?|hospital (?:number|no\.?|id)|"
            r"patient (?:id|number|no\.?)|nhs (?:number|no\.?)|chart (?:number|no\.?))"
            r"\s*(?:is|:|#|=)?\s*)[A-Z0-9][A-Z0-9 -]{3,18}[0-9]",
            re.I,
        ),
        _labelled("[record number]"),
    ),
    (
        re.compile(r"(\bpassport(?: number| no\.?| #)?\s*(?:is|:|#|=)?\s*)[A-Z0-9]{6,10}\b", re.I),
        _labelled("[passport number]"),
    ),
    # Dates with a day: 3/14/1961, 14.03.1961, 1961-03-14, 14 March 1961, March 14th, 1961.
    (
        re.compile(
            r"\b(?:\d{1,2}[/.-]\d{1,2}[/.-](?:\d{4}|\d{2})|\d{4}-\d{1,2}-\d{1,2}|"
            rf"\d{{1,2}}(?:st|nd|rd|th)?\s+(?:of\s+)?{MONTH},?\s+\d{{4}}|"
            rf"{MONTH}\s+\d{{1,2}}(?:st|nd|rd|th)?,?\s+\d{{4}})\b",
            re.I,
        ),
        "[date]",
    ),
    (
        re.compile(
            rf"\b\d{{1,5}}\s+(?:[A-Za-z][\w'’-]*\s+){{1,4}}{STREET}\b\.?"
            r"(?:,?\s+(?:apt|apartment|unit|suite|#)\s*\w+)?",
            re.I,
        ),
        "[address]",
    ),
    (re.compile(r"\b[A-Z]{1,2}\d[A-Z\d]?\s*\d[A-Z]{2}\b"), "[postcode]"),
    (re.compile(r"\b[A-Z]{2}\d{2}(?:\s?[A-Z0-9]{4}){2,7}(?:\s?[A-Z0-9]{1,3})?\b"), _iban),
    (re.compile(r"\b\d{3}([- ])\d{2}\1\d{4}\b"), _ssn),
    (re.compile(r"\b(?:\d[ -]?){12,18}\d\b"), _card),
    (re.compile(r"\b\d{1,3}(\.\d{1,3}){3}\b"), "[ip address]"),
)


def _phones(text: str) -> str:
    """Every phone number: written internationally (+33 ..., 0033 ...) and plausible, or
    valid in one of REGIONS' national plans (so "1000 2000 3000" or a year is none)."""
    spans: list[tuple[int, int]] = []
    for region in REGIONS:
        for match in phonenumbers.PhoneNumberMatcher(text, region, phonenumbers.Leniency.POSSIBLE):
            raw = match.raw_string
            international = raw.lstrip("(").startswith(("+", "00"))
            # A bare short run of digits is a quantity ("10000000 units"), not a number.
            bare = raw.isdigit() and len(raw) < 10 and not raw.startswith("0")
            if (
                len(_digits(raw)) >= 7
                and not bare
                and (international or phonenumbers.is_valid_number(match.number))
            ):
                spans.append((match.start, match.end))
    for start, end in sorted(set(spans), reverse=True):
        if not any(s <= start and end <= e and (s, e) != (start, end) for s, e in spans):
            text = text[:start] + "[phone]" + text[end:]
    return text


# What stands in stored text where an identifier was removed (every replacement above).
PLACEHOLDERS = (
    "[link]",
    "[email]",
    "[name]",
    "[record number]",
    "[passport number]",
    "[date]",
    "[address]",
    "[postcode]",
    "[card or account number]",
    "[id number]",
    "[ip address]",
    "[phone]",
)


def marks(text: str) -> list[str]:
    """The placeholders in stored text, in the order above: what redaction removed (read
    back from the text, so records need not say it; a person who typed "[email]" reads
    as one whose email was removed, which is harmless)."""
    return [p for p in PLACEHOLDERS if p in text]


@lru_cache(maxsize=4096)  # pure, and the same questions come back often
def redact(text: str) -> str:
    for pattern, replacement in RULES:
        text = pattern.sub(replacement, text)
    return _phones(text)
