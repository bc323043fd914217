"""AuditLog: what the rest of the bot calls. It records replies and events through the
writer, reads through the queries, and checks and trims the chain."""

from __future__ import annotations

import hashlib
import json
import threading
import time
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, delete, event, insert, select
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import SQLAlchemyError

from bot.answer import Reply
from bot.audit import queries, timeouts
from bot.audit.chain import Chain, Head, Verdict
from bot.audit.queries import AuditFilter
from bot.audit.redaction import redact
from bot.audit.schema import GENESIS, MIGRATIONS, canonical, chain_anchor, now, records
from bot.audit.writer import AuditUnavailable, GroupWriter, prepare

NO_HEAD = "without an exported head (--head) a cut-off tail cannot be told from an intact log"
NO_KEY = (
    "the chain is not keyed (BOT_AUDIT_KEY): whoever can write to the database can rewrite "
    "it and recompute every hash; only an exported head reveals that"
)


def pseudonym(session_id: str) -> str:
    """Sessions are stored as a hash, so the log does not hold a live session token."""
    return hashlib.sha256(f"session:{session_id}".encode()).hexdigest()[:32]


def _sqlite_pragmas(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def on_connect(dbapi_connection: Any, _: Any) -> None:
        # The driver's own transaction handling would defer BEGIN: we issue it ourselves.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=FULL")
        cursor.execute("PRAGMA busy_timeout=10000")
        cursor.close()

    @event.listens_for(engine, "begin")
    def on_begin(conn: Connection) -> None:
        # IMMEDIATE: take the write lock at BEGIN, so two processes never fork the chain.
        conn.exec_driver_sql("BEGIN IMMEDIATE")


class AuditLog:
    REVIEW_LABELS = queries.REVIEW_LABELS
    FEEDBACK_FILTERS = queries.FEEDBACK_FILTERS
    GAP_STATUSES = queries.GAP_STATUSES

    def __init__(
        self,
        engine: Engine,
        redact_questions: bool = True,
        key: str | None = None,
        writers_lock: Path | None = None,
        timeout: float | None = None,
    ) -> None:
        self.engine = engine
        self.redact_questions = redact_questions
        self.chain = Chain(key)
        self.writer = GroupWriter(engine, self.chain, writers_lock, timeout)
        self._probed: tuple[float, bool] = (0.0, True)
        self._probe_lock = threading.Lock()

    @classmethod
    def open(
        cls,
        url: str,
        redact_questions: bool = True,
        key: str | None = None,
        timeout: float = 5.0,
    ) -> AuditLog:
        """Open (and migrate) the log; `timeout` bounds connecting, waiting for a pooled
        connection and each statement, so a silent database costs seconds (a 503)."""
        if url.startswith("sqlite:///"):
            Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
        try:
            # A pre-ping finds dropped server connections; a SQLite file has none.
            engine = create_engine(url, **timeouts.engine_options(url, timeout))
        except SQLAlchemyError as exc:  # not a URL, or a driver that is not installed
            raise AuditUnavailable(f"the audit log URL is not usable: {exc}") from exc
        timeouts.install(engine, timeout)
        try:
            lock = None
            if engine.dialect.name == "sqlite":
                _sqlite_pragmas(engine)
                database = engine.url.database
                if database and database != ":memory:":
                    # Writers of other processes (BOT_WORKERS) queue on this lock instead of
                    # SQLite's busy handler, which sleeps and retries (100 ms+ tails).
                    lock = Path(f"{database}.writer-lock")
            log = cls(engine, redact_questions, key, lock, timeout)
            log.migrate()
        except SQLAlchemyError as exc:
            raise AuditUnavailable(f"cannot open the audit log at {engine.url!r}: {exc}") from exc
        return log

    def migrate(self) -> None:
        from alembic import command
        from alembic.config import Config

        config = Config()
        config.set_main_option("script_location", str(MIGRATIONS))
        with self.writer.transaction(bounded=False) as conn:
            config.attributes["connection"] = conn
            command.upgrade(config, "head")

    def health(self, every: float = 2.0) -> bool:
        """Whether the database answers: the last write said so, or a probe at most every
        `every` seconds (a health check polled by a balancer costs no more than that)."""
        # A failed write counts until one succeeds, or for a while if none is tried (a
        # full disk still answers SELECT 1).
        failed = self.writer.failed_at
        if failed is not None and time.monotonic() - failed <= 30:
            return False
        at, ok = self._probed
        if self.writer.written_at > at:  # a commit since the last probe says enough
            return True
        if time.monotonic() - at >= every:
            with self._probe_lock:
                try:
                    with self.engine.connect() as conn:
                        conn.execute(select(1))
                    ok = True
                except SQLAlchemyError:
                    ok = False
                self._probed = (time.monotonic(), ok)
        return ok

    # -- Writing -----------------------------------------------------------------------

    def _append(self, row: dict[str, Any]) -> int:
        return self.writer.append(prepare(row, self.chain))

    def record(
        self,
        reply: Reply,
        question: str,
        channel: str,
        origin: str | None,
        index_digest: str,
        model: str,
    ) -> int:
        """Append the reply as shown, with what produced it; returns its chain position.
        AuditRefused when the request's own text cannot be stored (nothing is written)."""
        return self.append_row(
            self.answer_row(reply, question, channel, origin, index_digest, model)
        )

    def answer_row(
        self,
        reply: Reply,
        question: str,
        channel: str,
        origin: str | None,
        index_digest: str,
        model: str,
    ) -> dict[str, Any]:
        """The record of a reply, as plain JSON-able data: written now, or kept and written
        later with the time it was given (bot/audit/backlog.py)."""
        data = {
            "citations": [{**c.to_json(), "passage_id": c.passage_id} for c in reply.citations],
            "suggestions": list(reply.suggestions),
            "trace": json.loads(canonical(reply.trace.to_dict())),
            "redacted": self.redact_questions,
        }
        return {
            "kind": "answer",
            "answer_id": reply.answer_id,
            "created_at": now(),
            "session": pseudonym(reply.session_id),
            "channel": channel,
            "origin": origin,
            "question": redact(question) if self.redact_questions else question,
            "status": reply.status.value,
            "answer": reply.answer,
            "html": reply.html,
            "evidence_level": reply.evidence_level,
            "template": reply.template,
            "index_digest": index_digest,
            "model": model,
            "disclaimer_hash": hashlib.sha256(reply.disclaimer.encode()).hexdigest(),
            "latency_ms": reply.trace.get("latency_ms"),
            "data": canonical(data),
        }

    def append_row(self, row: dict[str, Any]) -> int:
        """Append a record made by answer_row (its chain position)."""
        return self._append(dict(row))

    def event(
        self, kind: str, answer_id: str | None, payload: dict[str, Any], actor: str | None = None
    ) -> int:
        """Append an event (feedback, review, view, export...) as its own chained record."""
        return self._append(
            {
                "kind": kind,
                "answer_id": answer_id,
                "created_at": now(),
                "actor": actor,
                "data": canonical(payload),
            }
        )

    def feedback(self, answer_id: str, helpful: bool, comment: str | None) -> bool:
        """Append feedback to an answer; False when the answer is unknown."""
        if not queries.known(self.engine, answer_id):
            return False
        stored = redact(comment) if comment and self.redact_questions else comment
        self.event("feedback", answer_id, {"helpful": helpful, "comment": stored})
        return True

    def review(self, answer_id: str, label: str, note: str | None, actor: str) -> int | None:
        """Append a staff review label (a chained event, never an edit); None when the
        answer is unknown. Notes are redacted like feedback comments."""
        if label not in self.REVIEW_LABELS:
            raise ValueError(f"review label must be one of: {', '.join(self.REVIEW_LABELS)}")
        if not queries.known(self.engine, answer_id):
            return None
        stored = redact(note) if note and self.redact_questions else note
        payload = {"label": label, "note": stored or None}
        return self.event("review", answer_id, payload, actor=actor)

    # -- Reading -----------------------------------------------------------------------

    def answer(self, answer_id: str) -> dict[str, Any] | None:
        return queries.answer(self.engine, answer_id)

    def search(
        self, filters: AuditFilter | None = None, cursor: int | None = None, limit: int = 50
    ) -> tuple[list[dict[str, Any]], int | None]:
        """Answers, newest first, with their events; the next page starts below `next`."""
        return queries.search(self.engine, filters or AuditFilter(), cursor, limit)

    def search_ui(
        self, cursor: int | None = None, limit: int = 50, **filters: Any
    ) -> tuple[list[dict[str, Any]], int | None]:
        """`search` with the filter's fields as keyword arguments."""
        return self.search(AuditFilter(**filters), cursor, limit)

    def neighbour(
        self, filters: AuditFilter, seq: int, older: bool, wrap: bool = False
    ) -> str | None:
        """The answer id next to record `seq` in the filtered list (see queries.neighbour)."""
        return queries.neighbour(self.engine, filters, seq, older, wrap)

    def conversation(self, session: str, seq: int, around: int = 50) -> dict[str, Any]:
        """The turns of a session around record `seq` (see queries.conversation)."""
        return queries.conversation(self.engine, session, seq, around)

    def gaps(
        self, since: str | None = None, until: str | None = None, limit: int = 500
    ) -> list[dict[str, Any]]:
        return queries.gaps(self.engine, since, until, limit)

    def daily(self, since: str | None = None, until: str | None = None) -> list[dict[str, Any]]:
        return queries.daily(self.engine, since, until)

    def count(self, kind: str = "answer") -> int:
        return queries.count(self.engine, kind)

    # -- The chain ---------------------------------------------------------------------

    def intact(self, record: dict[str, Any]) -> bool:
        """A record read with `answer()` still matches its own hash."""
        try:
            return self.chain.hash({**record, "data": canonical(record["data"])}) == record["hash"]
        except ValueError:
            return False

    def head(self) -> Head:
        with self.engine.connect() as conn:
            last = conn.execute(
                select(records.c.seq, records.c.hash).order_by(records.c.seq.desc()).limit(1)
            ).first()
            if last is None:
                last = conn.execute(select(chain_anchor.c.seq, chain_anchor.c.hash)).first()
        return Head(last[0], last[1]) if last else Head(0, GENESIS)

    def verify(self, expected_head: Head | None = None) -> Verdict:
        """Walk the chain: the first edited, deleted, reordered or truncated record, an
        anchor that no purge accounts for, or a difference from the exported head fails it.
        `notes` say what could not be told (no head given, no key)."""
        with self.engine.connect() as conn:
            anchor = conn.execute(select(chain_anchor.c.seq, chain_anchor.c.hash)).first()
            start = (anchor[0], anchor[1]) if anchor else (0, GENESIS)
            rows = conn.execution_options(yield_per=1000).execute(
                select(records).order_by(records.c.seq)
            )
            try:
                verdict, seq, seen = self.chain.walk((dict(r._mapping) for r in rows), *start)
            finally:
                rows.close()  # an early verdict leaves a server-side cursor open otherwise
            if verdict is not None:
                return verdict
            checked = seq - start[0]
            if anchor is not None and seen["purges"].get(anchor[0], "absent") not in (
                None,  # a purge recorded before purges named the anchor's hash
                anchor[1],
            ):
                return Verdict(
                    False,
                    checked,
                    f"the log starts after record {anchor[0]}, but no chained purge record "
                    "accounts for the records before it (deleted outside `bot audit purge`)",
                    anchor[0],
                )
            at = None
            if expected_head is not None and expected_head.seq > start[0]:
                at = conn.execute(
                    select(records.c.hash).where(records.c.seq == expected_head.seq)
                ).scalar_one_or_none()
        notes = self._notes(seen, expected_head)
        ok = Verdict(True, checked, notes=notes)
        if expected_head is None or expected_head.seq == 0:
            return ok
        if seq < expected_head.seq:
            return Verdict(
                False,
                checked,
                f"the log ends at record {seq} but the exported "
                f"head is record {expected_head.seq} (truncated)",
                seq + 1,
            )
        if expected_head.seq < start[0]:  # purged since: its hash is gone
            note = f"the exported head (record {expected_head.seq}) has been purged since"
            return replace(ok, notes=(*notes, note))
        stored = start[1] if expected_head.seq == start[0] else at
        if stored != expected_head.hash:
            return Verdict(
                False,
                checked,
                f"record {expected_head.seq} differs from the exported head (rewritten)",
                expected_head.seq,
            )
        return ok

    def _notes(self, seen: dict[str, Any], head: Head | None) -> tuple[str, ...]:
        notes = []
        if head is None:
            notes.append(NO_HEAD)
        last = seen["last"]
        if self.chain.key is None and not seen["keyed"]:
            notes.append(NO_KEY)
        elif last is not None and last.get("key_id") is None:
            notes.append(
                f"the newest records (to {last['seq']}) are not keyed: they were written "
                "without BOT_AUDIT_KEY"
            )
        return tuple(notes)

    def purge(self, older_than: timedelta) -> int:
        """Delete records older than this. The last deleted record becomes the anchor the
        chain continues from, and a purge record naming it is chained in the same
        transaction: an anchor without one fails `verify`."""
        cutoff = (datetime.now(UTC) - older_than).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        try:
            with self.writer.transaction(bounded=False) as conn:  # may delete a lot
                last_old = conn.execute(
                    select(records.c.seq, records.c.hash)
                    .where(records.c.created_at < cutoff)
                    .order_by(records.c.seq.desc())
                    .limit(1)
                ).first()
                if last_old is None:
                    return 0
                gone = conn.execute(delete(records).where(records.c.seq <= last_old[0])).rowcount
                conn.execute(delete(chain_anchor))
                conn.execute(
                    insert(chain_anchor).values(
                        id=1, seq=last_old[0], hash=last_old[1], created_at=now()
                    )
                )
                payload = {
                    "before": cutoff,
                    "records": gone,
                    "through_seq": last_old[0],
                    "anchor_hash": last_old[1],
                }
                row = {"kind": "purge", "created_at": now(), "data": canonical(payload)}
                self.writer.insert(conn, [prepare(row, self.chain)])
        except SQLAlchemyError as exc:
            raise AuditUnavailable(str(exc)) from exc
        return int(gone)
