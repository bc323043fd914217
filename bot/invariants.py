"""The rules no reply may break, whatever the question, written once.

They are checked on the HTTP reply object of the design contract (what `Reply.to_json()`
gives and /api/chat returns), so the evaluation harness (bot/evaluate.py scores every
reply with them) and the tests (on replies, and on what the API sent) hold replies to the
same rules.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from bot.model import Status
from bot.pages import PageSummary
from bot.triage import ContactBook

DISCLAIMER_START = "Medical Disclaimer:"
# Replies that cite no page, and replies that state no evidence level.
CITE_NOTHING = (Status.NOT_FOUND, Status.CLARIFY, Status.URGENT, Status.SUPPORT)
STATE_NO_LEVEL = (Status.SUPPORT, Status.URGENT, Status.INFO)
# Markup that only unescaped page or user text could put into a reply's HTML.
UNESCAPED = ("<img", "<script")


def violations(
    reply: Mapping[str, Any], pages: Mapping[str, PageSummary], book: ContactBook
) -> list[str]:
    """What `reply` (an HTTP reply object) breaks, over the index's `pages` and the crisis
    contacts in `book`; [] when nothing."""
    status, answer = Status(reply["status"]), reply["answer"]
    found = []
    disclaimer = reply["disclaimer"]
    if not disclaimer.startswith(DISCLAIMER_START) or disclaimer not in answer:
        found.append("missing disclaimer")
    if any(marker in reply["html"] for marker in UNESCAPED):
        found.append("unescaped markup in the html")
    citations = reply["citations"]
    if any(c["evidence_level"] != pages[c["page_id"]].evidence_level for c in citations):
        found.append("a citation's evidence level is not its page's")
    cited = {c["page_id"] for c in citations}
    if status is Status.ANSWERED:
        found += _answered(answer, reply["evidence_level"], cited, pages)
    if status in CITE_NOTHING and (cited or reply["evidence_level"]):
        found.append(f"{status.value} reply cites a page")
    others = {a.evidence_level for pid, a in pages.items() if pid not in cited}
    others -= {pages[pid].evidence_level for pid in cited}
    if any(level in answer for level in others):
        found.append("states the evidence level of a page it does not cite")
    if status is Status.URGENT:
        kind = reply["crisis_kind"]
        # Self-harm may be led by the emergency's contacts (an overdose taken: 911 first).
        leads = (kind, "emergency") if kind == "self_harm" else (kind,)
        first = {c[0].text for k in leads for c in book.by_kind.get(str(k), {}).values() if c}
        if kind is None or not any(answer.startswith(t) for t in first):
            found.append("urgent reply does not start with its kind's crisis contacts")
    if status in STATE_NO_LEVEL and reply["evidence_level"]:
        found.append(f"{status.value} reply states an evidence level")
    if status is Status.INFO and any(pages[pid].evidence_level in answer for pid in cited):
        found.append("info reply states the level of the page it quotes")
    return found


def _answered(
    answer: str, level: str | None, cited: set[str], pages: Mapping[str, PageSummary]
) -> list[str]:
    """An answered reply cites a page and quotes each cited page's level verbatim (beside
    its title when it cites several); its evidence_level is the one page's, or None."""
    found = []
    if not cited:
        found.append("answered without a cited page")
    for pid in cited:
        a = pages[pid]
        if f"Evidence level: {a.evidence_level}" not in answer:
            found.append("answered without a cited page's evidence level")
        elif len(cited) > 1 and not _level_next_to_title(answer, a):
            found.append("a listed page's level is not next to its title")
    one = pages[next(iter(cited))].evidence_level if len(cited) == 1 else None
    if level != one:
        found.append("answered with a wrong evidence_level field")
    return found


def _level_next_to_title(answer: str, a: PageSummary) -> bool:
    """ "<Compound> for <Condition> — Evidence level: <level>" on one line."""
    title = f"{a.compound} for {a.condition}"
    level = f"Evidence level: {a.evidence_level}"
    return any(title in line and level in line for line in answer.splitlines())
