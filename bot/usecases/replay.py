"""Replay: re-run a recorded question against the index build that answered it, and say
how today's reply differs from what the person was told."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bot.answer import Reply
from bot.audit import AuditLog
from bot.index import IndexCorrupt, find_build, load_build
from bot.settings import Settings
from bot.triage import load_contacts
from bot.usecases.opening import open_assistant


class ReplayError(Exception):
    """The answer cannot be replayed (unknown, or its index is gone or unreadable)."""


@dataclass(frozen=True)
class Difference:
    """One part of the reply that is not what it was."""

    name: str
    then: Any
    now: Any


@dataclass
class Replayed:
    answer_id: str
    index_digest: str
    build: Path  # the kept build the answer came from
    notes: list[str] = field(default_factory=list)  # what the replay could not reproduce
    differences: list[Difference] = field(default_factory=list)

    @property
    def same(self) -> bool:
        return not self.differences


def replay(settings: Settings, audit: AuditLog, answer_id: str) -> Replayed:
    """Ask the recorded question again, without its conversation, with the contacts of
    the locale it was answered in; ReplayError when that is not possible."""
    row = audit.answer(answer_id)
    if row is None:
        raise ReplayError(f"no answer {answer_id} in the audit log")
    build = find_build(settings.index, row["index_digest"])
    if build is None:
        raise ReplayError(
            f"the index {row['index_digest']} that produced {answer_id} is no longer kept"
        )
    try:
        loaded = load_build(build)
    except IndexCorrupt as exc:
        raise ReplayError(str(exc)) from exc
    assistant = open_assistant(settings, loaded, private=True)
    done = Replayed(answer_id, row["index_digest"], build)
    if row["data"].get("redacted"):
        done.notes.append("the stored question was redacted; replaying the redacted text.")
    if row["trace"].get("from_context"):
        done.notes.append("this answer used the conversation's context, which is not replayed.")
    # An urgent reply carried the contacts of the request's locale (the widget's).
    locale = row["trace"].get("contacts_locale")
    book = load_contacts(locale, settings.crisis_contacts_file) if locale else None
    done.differences = differences(row, assistant.reply(row["question"], book=book))
    return done


def differences(row: dict[str, Any], now: Reply) -> list[Difference]:
    """What differs between a recorded answer and a reply to the same question now."""
    then_cited = [c["passage_id"] for c in row["citations"]]
    now_cited = [c.passage_id for c in now.citations]
    return [
        Difference(name, old, new)
        for name, old, new in (
            ("status", row["status"], now.status.value),
            ("evidence_level", row["evidence_level"], now.evidence_level),
            ("template", row["template"], now.template),
            ("cited passages", then_cited, now_cited),
            ("answer", row["answer"], now.answer),
        )
        if old != new
    ]
