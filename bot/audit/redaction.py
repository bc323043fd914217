"""Identifiers redacted from stored questions, comments and notes (the reply itself used
the full text)."""

from __future__ import annotations

import re
from functools import lru_cache

REDACTIONS = (
    (re.compile(r"[\w.+-]+@[\w-]+(\.[\w-]+)+"), "[email]"),
    (re.compile(r"\bhttps?://\S+"), "[link]"),
    (re.compile(r"\b\d{3}-\d{2}-\d{4}\b"), "[id number]"),
    (re.compile(r"\b(?:\d[ -]?){13,19}\b"), "[card or account number]"),
    (re.compile(r"\b\d{1,3}(\.\d{1,3}){3}\b"), "[ip address]"),
    (
        re.compile(r"(?<![\w])\+?\(?\d{1,4}\)?[\s.-]?\(?\d{2,4}\)?[\s.-]?\d{3,4}[\s.-]?\d{3,4}\b"),
        "[phone]",
    ),
)


@lru_cache(maxsize=4096)  # pure, and the same questions come back often
def redact(text: str) -> str:
    for pattern, label in REDACTIONS:
        text = pattern.sub(label, text)
    return text
