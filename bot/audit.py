"""The audit log: every reply as shown, with what produced it, in one hash chain.

Each record (an answer, or an event about one: feedback, a review label, a staff view)
stores the hash of the record before it and a hash over every field it stores, so an
edited, deleted, reordered or truncated record is found by `verify`. Records are only
ever appended. SQLite by default (WAL, synchronous=FULL), PostgreSQL for several
instances; on both, writers take the chain in turn (a lock), so there is one chain.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from pathlib import Path
from typing import Any

from sqlalchemy import (
    BigInteger,
    Column,
    Float,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    and_,
    case,
    create_engine,
    delete,
    event,
    func,
    insert,
    literal_column,
    select,
    text,
)
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import SQLAlchemyError

from bot.answer import Reply
from bot.locks import file_lock

MIGRATIONS = Path(__file__).parent / "migrations"
GENESIS = "0" * 64
# Held while the schema is migrated and while a record is appended (PostgreSQL).
CHAIN_LOCK = 4_711_001

metadata = MetaData()
records = Table(
    "records",
    metadata,
    Column("seq", BigInteger, primary_key=True, autoincrement=False),
    Column("kind", String(16), nullable=False),
    Column("answer_id", String(64), index=True),
    Column("created_at", String(32), nullable=False),
    Column("actor", String(64)),
    Column("session", String(64)),
    Column("channel", String(16)),
    Column("origin", String(255)),
    Column("question", Text),
    Column("status", String(16)),
    Column("answer", Text),
    Column("html", Text),
    Column("evidence_level", Text),
    Column("template", String(64)),
    Column("index_digest", String(32)),
    Column("model", String(128)),
    Column("disclaimer_hash", String(64)),
    Column("latency_ms", Float),
    Column("data", Text, nullable=False),  # canonical JSON: citations, trace, payload...
    Column("prev_hash", String(64), nullable=False),
    Column("hash", String(64), nullable=False, unique=True),
)
chain_anchor = Table(
    "chain_anchor",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("seq", BigInteger, nullable=False),
    Column("hash", String(64), nullable=False),
    Column("created_at", String(32), nullable=False),
)
FIELDS = [c.name for c in records.columns if c.name != "hash"]

# Identifiers redacted from stored questions (the reply itself used the full text).
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


class AuditUnavailable(Exception):
    """The log cannot be written: the reply must not be shown unlogged."""


def now() -> str:
    """UTC time as stored: fixed-width ISO text, so it sorts and hashes the same anywhere."""
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def pseudonym(session_id: str) -> str:
    """Sessions are stored as a hash, so the log does not hold a live session token."""
    return hashlib.sha256(f"session:{session_id}".encode()).hexdigest()[:32]


def canonical(value: Any) -> str:
    return json.dumps(
        value, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=list
    )


def record_hash(row: dict[str, Any]) -> str:
    return hashlib.sha256(canonical({k: row.get(k) for k in FIELDS}).encode()).hexdigest()


@dataclass(frozen=True)
class Head:
    seq: int
    hash: str

    def to_json(self) -> str:
        return json.dumps({"seq": self.seq, "hash": self.hash})

    @classmethod
    def parse(cls, text: str) -> Head:
        try:
            data = json.loads(text)
            return cls(int(data["seq"]), str(data["hash"]))
        except (ValueError, KeyError, TypeError) as exc:
            raise ValueError(f"not a chain head (want {{'seq': N, 'hash': '...'}}): {exc}") from exc


@dataclass(frozen=True)
class Verdict:
    ok: bool
    checked: int
    problem: str | None = None
    seq: int | None = None  # the first bad record


# Rows written in one transaction at most (a burst of requests is split into several).
MAX_BATCH = 256


@dataclass
class _Pending:
    """A row waiting for the group commit, and what became of it."""

    row: dict[str, Any]
    done: threading.Event = field(default_factory=threading.Event)
    seq: int | None = None
    error: Exception | None = None


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
    def __init__(self, engine: Engine, redact_questions: bool = True) -> None:
        self.engine = engine
        self.redact_questions = redact_questions
        self._lock = threading.Lock()  # one writer per process; the database orders processes
        self._queue_lock = threading.Lock()
        self._queue: list[_Pending] = []
        self._writing = False
        self._writers_lock: Path | None = None

    @classmethod
    def open(cls, url: str, redact_questions: bool = True) -> AuditLog:
        if url.startswith("sqlite:///"):
            Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
        try:
            # A pre-ping finds dropped server connections; a SQLite file has none.
            engine = create_engine(url, pool_pre_ping=not url.startswith("sqlite"))
        except SQLAlchemyError as exc:  # not a URL, or a driver that is not installed
            raise AuditUnavailable(f"the audit log URL is not usable: {exc}") from exc
        try:
            if engine.dialect.name == "sqlite":
                _sqlite_pragmas(engine)
            log = cls(engine, redact_questions)
            database = engine.url.database
            if engine.dialect.name == "sqlite" and database and database != ":memory:":
                # Writers of other processes (BOT_WORKERS) queue on this lock instead of
                # SQLite's busy handler, which sleeps and retries (100 ms+ tails).
                log._writers_lock = Path(f"{database}.writer-lock")
            log.migrate()
        except SQLAlchemyError as exc:
            raise AuditUnavailable(f"cannot open the audit log at {engine.url!r}: {exc}") from exc
        return log

    def migrate(self) -> None:
        from alembic import command
        from alembic.config import Config

        config = Config()
        config.set_main_option("script_location", str(MIGRATIONS))
        with self.engine.begin() as conn:
            self._chain_lock(conn)
            config.attributes["connection"] = conn
            command.upgrade(config, "head")

    def _chain_lock(self, conn: Connection) -> None:
        if conn.dialect.name == "postgresql":
            conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": CHAIN_LOCK})

    def _append(self, row: dict[str, Any]) -> int:
        """Append one record and return its chain position once it is committed.

        Group commit: rows that arrive while a transaction is being written wait and go
        into the next one together, so concurrent requests share one fsync. Each caller
        still returns only after its own row is durable, and a failed transaction fails
        every caller in it (AuditUnavailable, so none of them sends an unlogged reply).
        """
        mine = _Pending(row)
        with self._queue_lock:
            self._queue.append(mine)
            lead = not self._writing
            self._writing = True
        if not lead:
            mine.done.wait()
        else:
            try:
                while True:
                    with self._queue_lock:
                        batch, self._queue = self._queue[:MAX_BATCH], self._queue[MAX_BATCH:]
                        if not batch:
                            self._writing = False
                            break
                    self._write(batch)
            except BaseException:  # interrupted: nobody may be left waiting
                with self._queue_lock:
                    rest, self._queue, self._writing = self._queue, [], False
                for pending in rest:
                    pending.error = AuditUnavailable("the audit writer was interrupted")
                    pending.done.set()
                raise
        if mine.error is not None:
            raise mine.error
        assert mine.seq is not None
        return mine.seq

    def _write(self, batch: list[_Pending]) -> None:
        across = file_lock(self._writers_lock) if self._writers_lock else contextlib.nullcontext()
        try:
            with self._lock, across, self.engine.begin() as conn:
                self._chain_lock(conn)
                last = conn.execute(
                    select(records.c.seq, records.c.hash).order_by(records.c.seq.desc()).limit(1)
                ).first()
                if last is None:
                    last = conn.execute(select(chain_anchor.c.seq, chain_anchor.c.hash)).first()
                seq, prev = (last[0], last[1]) if last else (0, GENESIS)
                rows = []
                for pending in batch:
                    seq += 1
                    full = {f: None for f in FIELDS} | pending.row | {"seq": seq, "prev_hash": prev}
                    full["hash"] = prev = record_hash(full)
                    rows.append(full)
                    pending.seq = seq
                # One compiled statement for the whole batch (executemany).
                conn.execute(insert(records), rows)
        except Exception as exc:  # the database, or a row it refused: nothing was written
            for pending in batch:
                pending.seq, pending.error = None, AuditUnavailable(str(exc))
        finally:
            for pending in batch:
                pending.done.set()

    def record(
        self,
        reply: Reply,
        question: str,
        channel: str,
        origin: str | None,
        index_digest: str,
        model: str,
    ) -> int:
        """Append the reply as shown, with what produced it; returns its chain position."""
        data = {
            "citations": [{**c.to_json(), "passage_id": c.passage_id} for c in reply.citations],
            "suggestions": list(reply.suggestions),
            "trace": json.loads(canonical(reply.trace.to_dict())),
            "redacted": self.redact_questions,
        }
        return self._append(
            {
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
        )

    def _known(self, answer_id: str) -> bool:
        with self.engine.connect() as conn:
            found = conn.execute(
                select(records.c.seq).where(
                    records.c.kind == "answer", records.c.answer_id == answer_id
                )
            ).first()
        return found is not None

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
        try:
            if not self._known(answer_id):
                return False
        except SQLAlchemyError as exc:
            raise AuditUnavailable(str(exc)) from exc
        stored = redact(comment) if comment and self.redact_questions else comment
        self.event("feedback", answer_id, {"helpful": helpful, "comment": stored})
        return True

    def answer(self, answer_id: str) -> dict[str, Any] | None:
        """An answer record with its events, JSON fields decoded."""
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(records).where(records.c.answer_id == answer_id).order_by(records.c.seq)
            ).all()
        found = [_decode(dict(r._mapping)) for r in rows]
        answer = next((r for r in found if r["kind"] == "answer"), None)
        if answer is None:
            return None
        answer["events"] = [
            {
                "kind": r["kind"],
                "created_at": r["created_at"],
                "actor": r["actor"],
                "payload": r["data"],
                "seq": r["seq"],
            }
            for r in found
            if r["kind"] != "answer"
        ]
        return answer

    def search(
        self,
        q: str | None = None,
        status: str | None = None,
        since: str | None = None,
        until: str | None = None,
        channel: str | None = None,
        cursor: int | None = None,
        limit: int = 50,
    ) -> tuple[list[dict[str, Any]], int | None]:
        """Answers, newest first, with their feedback; the next page starts below `next`."""
        return self.search_ui(
            q=q,
            status=status,
            since=since,
            until=until,
            channel=channel,
            cursor=cursor,
            limit=limit,
        )

    def count(self, kind: str = "answer") -> int:
        with self.engine.connect() as conn:
            query = select(func.count()).select_from(records).where(records.c.kind == kind)
            return int(conn.execute(query).scalar_one())

    def head(self) -> Head:
        with self.engine.connect() as conn:
            last = conn.execute(
                select(records.c.seq, records.c.hash).order_by(records.c.seq.desc()).limit(1)
            ).first()
            if last is None:
                last = conn.execute(select(chain_anchor.c.seq, chain_anchor.c.hash)).first()
        return Head(last[0], last[1]) if last else Head(0, GENESIS)

    def verify(self, expected_head: Head | None = None) -> Verdict:
        """Walk the chain; the first edited, deleted, reordered or truncated record fails it."""
        with self.engine.connect() as conn:
            anchor = conn.execute(select(chain_anchor.c.seq, chain_anchor.c.hash)).first()
            start = (anchor[0], anchor[1]) if anchor else (0, GENESIS)
            rows = conn.execution_options(yield_per=1000).execute(
                select(records).order_by(records.c.seq)
            )
            try:
                verdict, seq = _walk((dict(r._mapping) for r in rows), *start)
            finally:
                rows.close()  # an early verdict leaves a server-side cursor open otherwise
            if verdict is not None or expected_head is None:
                return verdict or Verdict(True, seq - start[0])
            checked = seq - start[0]
            if seq < expected_head.seq:
                return Verdict(
                    False,
                    checked,
                    f"the log ends at record {seq} but the exported "
                    f"head is record {expected_head.seq} (truncated)",
                    seq + 1,
                )
            at = conn.execute(
                select(records.c.hash).where(records.c.seq == expected_head.seq)
            ).scalar_one_or_none()
        purged = anchor is not None and anchor[0] >= expected_head.seq
        if expected_head.seq and at != expected_head.hash and not purged:
            return Verdict(
                False,
                checked,
                f"record {expected_head.seq} differs from the exported head (rewritten)",
                expected_head.seq,
            )
        return Verdict(True, checked)

    def purge(self, older_than: timedelta) -> int:
        """Delete records older than this; the chain stays verifiable from the new anchor."""
        cutoff = (datetime.now(UTC) - older_than).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        try:
            with self._lock, self.engine.begin() as conn:
                self._chain_lock(conn)
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
        except SQLAlchemyError as exc:
            raise AuditUnavailable(str(exc)) from exc
        self.event("purge", None, {"before": cutoff, "records": gone, "through_seq": last_old[0]})
        return int(gone)

    # -- For the staff audit UI (bot/service/audit_pages.py) -----------------------------

    REVIEW_LABELS = ("correct", "wrong_assessment", "unsafe", "content_missing")
    FEEDBACK_FILTERS = ("helpful", "not_helpful", "any", "none")
    GAP_STATUSES = ("not_found", "clarify")

    def review(self, answer_id: str, label: str, note: str | None, actor: str) -> int | None:
        """Append a staff review label (a chained event, never an edit); None when the
        answer is unknown. Notes are redacted like feedback comments."""
        if label not in self.REVIEW_LABELS:
            raise ValueError(f"review label must be one of: {', '.join(self.REVIEW_LABELS)}")
        try:
            if not self._known(answer_id):
                return None
        except SQLAlchemyError as exc:
            raise AuditUnavailable(str(exc)) from exc
        stored = redact(note) if note and self.redact_questions else note
        payload = {"label": label, "note": stored or None}
        return self.event("review", answer_id, payload, actor=actor)

    @staticmethod
    def _contains(text: str) -> str:
        """A LIKE pattern for `text` anywhere (its % and _ taken literally; escape '\\')."""
        for char in ("\\", "%", "_"):
            text = text.replace(char, "\\" + char)
        return f"%{text}%"

    def search_ui(
        self,
        q: str | None = None,
        status: str | None = None,
        since: str | None = None,
        until: str | None = None,
        channel: str | None = None,
        assessment: str | None = None,
        feedback: str | None = None,
        review: str | None = None,
        cursor: int | None = None,
        limit: int = 50,
    ) -> tuple[list[dict[str, Any]], int | None]:
        """Answers, newest first, like `search()` with the audit UI's filters as well.

        assessment: text in a cited page's title, compound, condition or page id;
        feedback: "helpful" / "not_helpful" (has such a vote), "any" or "none";
        review: a label of REVIEW_LABELS (the latest review), "any" or "none" (unreviewed).
        Items also carry seq, session, origin, latency_ms, the helpful / not_helpful vote
        counts and `review`, the latest label. The next page starts below `next`.
        """
        if feedback not in (None, *self.FEEDBACK_FILTERS):
            raise ValueError(f"feedback filter must be one of {self.FEEDBACK_FILTERS}")
        if review not in (None, "any", "none", *self.REVIEW_LABELS):
            raise ValueError("review filter must be a label, 'any' or 'none'")
        ev, last = records.alias("ev"), records.alias("last")

        def has(kind: str, like: str | None = None, latest: bool = False) -> Any:
            found = select(ev.c.seq).where(ev.c.answer_id == records.c.answer_id, ev.c.kind == kind)
            if like:
                found = found.where(ev.c.data.like(like, escape="\\"))
            if latest:  # the label of the newest review counts, earlier ones were revised
                newest = (
                    select(func.max(last.c.seq))
                    .where(last.c.answer_id == records.c.answer_id, last.c.kind == kind)
                    .correlate(records)
                    .scalar_subquery()
                )
                found = found.where(ev.c.seq == newest)
            return found.correlate(records).exists()

        query = select(records).where(records.c.kind == "answer")
        if q:
            like = self._contains(q.lower())
            query = query.where(
                func.lower(records.c.question).like(like, escape="\\")
                | func.lower(records.c.answer).like(like, escape="\\")
            )
        for column, value in (("status", status), ("channel", channel)):
            if value:
                query = query.where(records.c[column] == value)
        if since:
            query = query.where(records.c.created_at >= since)
        if until:
            query = query.where(records.c.created_at <= until)
        votes = {
            "helpful": self._contains('"helpful":true'),
            "not_helpful": self._contains('"helpful":false'),
        }
        if feedback in votes:
            query = query.where(has("feedback", votes[feedback]))
        elif feedback in ("any", "none"):
            query = query.where(has("feedback") if feedback == "any" else ~has("feedback"))
        if review in self.REVIEW_LABELS:
            query = query.where(has("review", self._contains(f'"label":"{review}"'), True))
        elif review in ("any", "none"):
            query = query.where(has("review") if review == "any" else ~has("review"))
        needle = (assessment or "").strip().lower()
        if needle and needle.isascii():  # narrows in SQL; the cited pages decide below
            query = query.where(
                func.lower(records.c.data).like(
                    self._contains(json.dumps(needle)[1:-1]), escape="\\"
                )
            )

        def cites(row: dict[str, Any]) -> bool:
            fields = ("title", "compound", "condition", "page_id")
            return any(
                needle in " ".join(str(c.get(k) or "") for k in fields).lower()
                for c in row["citations"]
            )

        query = query.order_by(records.c.seq.desc())
        batch = max(200, limit + 1) if needle else limit + 1
        try:
            page, more = self._ui_page(query, cursor, limit, batch, cites if needle else None)
            with self.engine.connect() as conn:
                events = self._events_of(conn, [r["answer_id"] for r in page])
        except SQLAlchemyError as exc:
            raise AuditUnavailable(str(exc)) from exc
        items = [self._ui_item(r, events.get(r["answer_id"], [])) for r in page]
        return items, (page[-1]["seq"] if more and page else None)

    def _ui_page(
        self,
        query: Any,
        cursor: int | None,
        limit: int,
        batch: int,
        keep: Any = None,
    ) -> tuple[list[dict[str, Any]], bool]:
        """Up to `limit` rows below `cursor` (that `keep` keeps), and whether more follow."""
        page: list[dict[str, Any]] = []
        more = False
        with self.engine.connect() as conn:
            below = cursor
            while not more:
                part = query if below is None else query.where(records.c.seq < below)
                rows = [_decode(dict(r._mapping)) for r in conn.execute(part.limit(batch))]
                for row in rows:
                    if keep is not None and not keep(row):
                        continue
                    if len(page) == limit:
                        more = True
                        break
                    page.append(row)
                if len(rows) < batch:
                    break
                below = rows[-1]["seq"]
        return page, more

    @staticmethod
    def _events_of(conn: Connection, ids: list[str]) -> dict[str, list[dict[str, Any]]]:
        """The events (feedback, reviews, views...) of these answers, oldest first."""
        found: dict[str, list[dict[str, Any]]] = {}
        if not ids:
            return found
        rows = conn.execute(
            select(
                records.c.answer_id,
                records.c.kind,
                records.c.data,
                records.c.actor,
                records.c.created_at,
            )
            .where(records.c.answer_id.in_(ids), records.c.kind != "answer")
            .order_by(records.c.seq)
        )
        for answer_id, kind, data, actor, created_at in rows:
            found.setdefault(answer_id, []).append(
                {
                    "kind": kind,
                    "payload": json.loads(data),
                    "actor": actor,
                    "created_at": created_at,
                }
            )
        return found

    @staticmethod
    def _ui_item(r: dict[str, Any], events: list[dict[str, Any]]) -> dict[str, Any]:
        feedback = [e["payload"] for e in events if e["kind"] == "feedback"]
        reviews = [
            {
                "label": e["payload"].get("label"),
                "note": e["payload"].get("note"),
                "actor": e["actor"],
                "created_at": e["created_at"],
            }
            for e in events
            if e["kind"] == "review"
        ]
        keep = "answer_id seq created_at channel origin session question status answer"
        keep += " evidence_level citations template latency_ms"
        return {k: r[k] for k in keep.split()} | {
            "feedback": feedback,
            "helpful": sum(1 for f in feedback if f.get("helpful") is True),
            "not_helpful": sum(1 for f in feedback if f.get("helpful") is False),
            "reviews": reviews,
            "review": reviews[-1]["label"] if reviews else None,
        }

    def gaps(
        self, since: str | None = None, until: str | None = None, limit: int = 500
    ) -> list[dict[str, Any]]:
        """`not_found` and `clarify` questions (not greetings) grouped by their normalised
        text (lowercase, spacing and end punctuation ignored), most frequent first, with
        the compound/condition names the bot had no assessment for."""
        query = select(
            records.c.answer_id,
            records.c.created_at,
            records.c.question,
            records.c.status,
            records.c.data,
        ).where(
            records.c.kind == "answer",
            records.c.status.in_(self.GAP_STATUSES),
            records.c.template.is_(None) | (records.c.template != "smalltalk"),
        )
        if since:
            query = query.where(records.c.created_at >= since)
        if until:
            query = query.where(records.c.created_at <= until)
        try:
            with self.engine.connect() as conn:
                rows = conn.execute(query.order_by(records.c.seq)).all()
        except SQLAlchemyError as exc:
            raise AuditUnavailable(str(exc)) from exc
        groups: dict[str, dict[str, Any]] = {}
        for answer_id, created_at, question, status, data in rows:
            key = " ".join((question or "").lower().split()).strip(" ?!.,;:")
            group = groups.setdefault(
                key, {"question": key, "count": 0, "statuses": {}, "unknown": set()}
            )
            group["count"] += 1
            group["statuses"][status] = group["statuses"].get(status, 0) + 1
            group.setdefault("first_seen", created_at)
            group.update(last_seen=created_at, answer_id=answer_id)
            entities = json.loads(data).get("trace", {}).get("entities") or {}
            for kind in ("unknown_compounds", "unknown_conditions"):
                group["unknown"].update(n.lower() for n in entities.get(kind) or ())
        found = sorted(groups.values(), key=lambda g: g["last_seen"], reverse=True)
        found.sort(key=lambda g: g["count"], reverse=True)  # stable: newest first on ties
        return [g | {"unknown": sorted(g["unknown"])} for g in found[:limit]]

    def daily(self, since: str | None = None, until: str | None = None) -> list[dict[str, Any]]:
        """Replies per UTC day by status, and the feedback on them (votes on that day's
        answers: helpful, not_helpful, helpful_ratio or None without votes). With both
        `since` and `until`, every day between them is listed, also days without replies."""
        day = func.substr(records.c.created_at, literal_column("1"), literal_column("10"))
        per_status = select(day, records.c.status, func.count()).where(records.c.kind == "answer")
        answer, vote = records.alias("answer"), records.alias("vote")
        answer_day = func.substr(answer.c.created_at, literal_column("1"), literal_column("10"))
        helpful = case((vote.c.data.like(self._contains('"helpful":true')), 1), else_=0)
        per_vote = (
            select(answer_day, func.sum(helpful), func.count())
            .select_from(
                vote.join(
                    answer, and_(answer.c.answer_id == vote.c.answer_id, answer.c.kind == "answer")
                )
            )
            .where(vote.c.kind == "feedback")
        )
        if since:
            per_status = per_status.where(records.c.created_at >= since)
            per_vote = per_vote.where(answer.c.created_at >= since)
        if until:
            per_status = per_status.where(records.c.created_at <= until)
            per_vote = per_vote.where(answer.c.created_at <= until)
        days: dict[str, dict[str, Any]] = {}
        if since and until:
            first, end = datetime.fromisoformat(since[:10]), datetime.fromisoformat(until[:10])
            while first <= end and len(days) < 3660:
                days[first.strftime("%Y-%m-%d")] = {}
                first += timedelta(days=1)
        try:
            with self.engine.connect() as conn:
                counted = conn.execute(per_status.group_by(day, records.c.status)).all()
                voted = conn.execute(per_vote.group_by(answer_day)).all()
        except SQLAlchemyError as exc:
            raise AuditUnavailable(str(exc)) from exc
        for when, status, n in counted:
            days.setdefault(when, {})[status] = int(n)
        votes = {when: (int(good or 0), int(n)) for when, good, n in voted}
        out = []
        for when in sorted(days):
            good, total = votes.get(when, (0, 0))
            out.append(
                {
                    "day": when,
                    "total": sum(days[when].values()),
                    "statuses": days[when],
                    "helpful": good,
                    "not_helpful": total - good,
                    "helpful_ratio": round(good / total, 4) if total else None,
                }
            )
        return out


def _walk(rows: Iterator[dict[str, Any]], seq: int, prev: str) -> tuple[Verdict | None, int]:
    """The first broken link after (seq, prev), or None; and the last good seq."""
    start = seq
    for r in rows:
        if r["seq"] != seq + 1:
            problem = f"records {seq + 1}..{r['seq'] - 1} are missing (deleted)"
        elif record_hash(r) != r["hash"]:
            problem = f"record {r['seq']} was edited (its fields no longer match its hash)"
        elif r["prev_hash"] != prev:
            problem = f"record {r['seq']} does not follow record {seq} (reordered or replaced)"
        else:
            seq, prev = r["seq"], r["hash"]
            continue
        return Verdict(False, seq - start, problem, seq + 1), seq
    return None, seq


def _decode(row: dict[str, Any]) -> dict[str, Any]:
    row["data"] = json.loads(row["data"])
    if row["kind"] == "answer":
        row.update(
            citations=row["data"].get("citations", []),
            suggestions=row["data"].get("suggestions", []),
            trace=row["data"].get("trace", {}),
        )
    return row
