"""Reply, then record: every channel's answer is in the audit log before anyone sees it.

The one exception is the crisis guarantee: an `urgent` reply goes out even when the audit
log cannot take its record, which then waits in the backlog (bot/audit/backlog.py) for
the database to come back. A channel without a backlog (the command line) shows nothing
it could not record, urgent or not.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from bot.answer import Reply
from bot.assistant import Assistant
from bot.audit import AuditLog, AuditUnavailable
from bot.index import IndexCorrupt
from bot.model import Status
from bot.triage import ContactBook


class Backlog(Protocol):
    """Where an urgent reply's record waits while the log is down (bot/audit/backlog.py)."""

    def keep(self, row: dict[str, Any], reason: BaseException | str) -> None: ...


@dataclass(frozen=True)
class Asked:
    """One message as a channel received it, with what its record says of the request."""

    message: str
    session_id: str | None
    channel: str  # "api", "widget", "embed", "page", "form" or "cli"
    origin: str | None = None  # the browser's Origin header
    book: ContactBook | None = None  # the request locale's contacts, for an urgent reply


def answer_and_record(
    assistant: Assistant,
    audit: AuditLog,
    asked: Asked,
    backlog: Backlog | None = None,
    *,
    check_index: bool = True,
) -> Reply:
    """The reply to `asked`, recorded before it is returned. AuditUnavailable (and
    AuditRefused, for text that cannot be stored) propagate: the channel then refuses to
    show the reply. Except an urgent reply when there is a `backlog`: it is returned at
    once, and its record waits there.

    `check_index`: refuse (IndexCorrupt) a reply citing passages of a build whose files
    changed on disk since they were loaded and checked. A server holds its index for
    days; a one-shot command answers from the build it has just loaded."""
    reply = assistant.reply(asked.message, asked.session_id, book=asked.book)
    if asked.book is not None and reply.status is Status.URGENT:
        # Kept in the record, so that `bot audit replay` gives the same contacts.
        reply.trace.contacts_locale = asked.book.locale
    if check_index and reply.citations and (damage := assistant.index.damage()) is not None:
        # Passages read from files changed under us may not be what was checked at load.
        # Replies that cite nothing (urgent ones first of all) are still given.
        raise IndexCorrupt(damage)
    manifest = assistant.index.manifest
    row = audit.answer_row(
        reply,
        asked.message,
        channel=asked.channel,
        origin=asked.origin,
        index_digest=manifest.digest,
        model=manifest.model,
    )
    try:
        audit.append_row(row)
    except AuditUnavailable as exc:
        if backlog is None or reply.status is not Status.URGENT:
            raise
        backlog.keep(row, exc)
    return reply
