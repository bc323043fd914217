"""Redaction of stored questions, both ways: health identifiers go, ordinary questions
about doses, years and trials stay as they were (finding 8)."""

from __future__ import annotations

import pytest

from bot.audit import redact
from bot.audit.redaction import marks


@pytest.mark.parametrize(
    ("text", "secret", "label"),
    [
        ("My name is John Smith and I have stage 4 cancer", "John Smith", "[name]"),
        ("hi, my name is maria, is ketamine any good", "maria", "[name]"),
        ("I was born 03/14/1961, is it too late?", "03/14/1961", "[date]"),
        ("DOB: 1961-03-14", "1961-03-14", "[date]"),
        ("born on 14 March 1961", "14 March 1961", "[date]"),
        ("I live at 221 Baker Street, apt 4", "221 Baker", "[address]"),
        ("My MRN is 00123456", "00123456", "[record number]"),
        ("medical record number: A123-4567", "A123-4567", "[record number]"),
        ("passport number X1234567", "X1234567", "[passport number]"),
        ("call me on +33 1 42 68 53 00", "42 68 53", "[phone]"),
        ("my UK number is 020 7946 0958", "7946", "[phone]"),
        ("or (617) 555-0199", "555-0199", "[phone]"),
        ("my SSN is 123 45 6789", "45 6789", "[id number]"),
        ("SSN 123-45-6789", "123-45-6789", "[id number]"),
        ("jane dot doe at example dot com", "doe", "[email]"),
        ("jane[at]example[dot]org", "example", "[email]"),
        ("jane.doe@example.org", "jane.doe", "[email]"),
        ("card 4111 1111 1111 1111", "4111", "[card or account number]"),
        ("IBAN GB82 WEST 1234 5698 7654 32", "WEST", "[card or account number]"),
        ("see https://example.org/me?id=5", "example.org", "[link]"),
    ],
)
def test_identifiers_are_redacted(text: str, secret: str, label: str) -> None:
    stored = redact(text)
    assert secret not in stored and label in stored, stored
    assert label in marks(stored)  # the staff page names what was removed


@pytest.mark.parametrize(
    "text",
    [
        "Is 1000 2000 3000 mg studied?",
        "Were there trials in 2019 2020 2021 2022 2023?",
        "Level 2: RCTs from 2019 and 2021",
        "Is 50 mg of ketamine safe?",
        "What about 1 in 1000 patients?",
        "Is 10000000 units too much?",
        "I have had stage IV since March 2021",
        "IV ketamine 0.5 mg/kg over 40 minutes",
        "What is the evidence level for ketamine in stage IV cancer?",
        "Is ketamine for MS any good, and what about 4000 IU of vitamin D?",
        "My oncologist said level 4 evidence is weak",
    ],
)
def test_ordinary_questions_are_kept(text: str) -> None:
    assert redact(text) == text and marks(text) == []
