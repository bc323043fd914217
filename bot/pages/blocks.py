"""The form every reader reduces a page to: a flat list of `Block`s (headings and
paragraphs in reading order), which one assembler then reads, so the formats cannot drift
apart."""

from __future__ import annotations

import re
from dataclasses import dataclass

# A call to action pointing at a site, report or newsletter; anchored at the start so
# ordinary sentences that merely mention a website are kept.
MARKETING_RE = re.compile(
    r"(get|try|order|subscribe|sign up|download|visit)\b.*"
    r"(\b[\w-]+\.(ai|com|org|io|net)\b|\breports?\b|\bnewsletters?\b)",
    re.IGNORECASE,
)
MAX_MARKETING_CHARS = 200


@dataclass(frozen=True)
class Block:
    """A heading (level >= 1) or a paragraph (level 0), in reading order."""

    text: str
    level: int = 0
    anchor: str | None = None

    @property
    def is_heading(self) -> bool:
        return self.level > 0


def clean(text: str) -> str:
    """Runs of whitespace as one space, trimmed."""
    return " ".join(text.split())
