"""The audit log: every reply as shown, with what produced it, in one hash chain.

Each record (an answer, or an event about one: feedback, a review label, a staff view)
stores the hash of the record before it and a hash over every field it stores, so an
edited, deleted, reordered or truncated record is found by `verify`. Records are only
ever appended. SQLite by default (WAL, synchronous=FULL), PostgreSQL for several
instances; on both, writers take the chain in turn (a lock), so there is one chain.
"""

from __future__ import annotations

import hashlib
import json
import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
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
    create_engine,
    delete,
    event,
    func,
    insert,
    select,
    text,
)
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import SQLAlchemyError

from bot.answer import Reply

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

    @classmethod
    def open(cls, url: str, redact_questions: bool = True) -> AuditLog:
        if url.startswith("sqlite:///"):
            Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
        try:
            engine = create_engine(url, pool_pre_ping=True)
            if engine.dialect.name == "sqlite":
                _sqlite_pragmas(engine)
            log = cls(engine, redact_questions)
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
        try:
            with self._lock, self.engine.begin() as conn:
                self._chain_lock(conn)
                last = conn.execute(
                    select(records.c.seq, records.c.hash).order_by(records.c.seq.desc()).limit(1)
                ).first()
                if last is None:
                    anchor = conn.execute(select(chain_anchor.c.seq, chain_anchor.c.hash)).first()
                    last = anchor
                seq, prev = (last[0] + 1, last[1]) if last else (1, GENESIS)
                full = {f: None for f in FIELDS} | row | {"seq": seq, "prev_hash": prev}
                full["hash"] = record_hash(full)
                conn.execute(insert(records).values(**full))
                return seq
        except SQLAlchemyError as exc:
            raise AuditUnavailable(str(exc)) from exc

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
            "trace": json.loads(canonical(reply.trace)),
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
        query = select(records).where(records.c.kind == "answer")
        if q:
            like = f"%{q.lower()}%"
            query = query.where(
                func.lower(records.c.question).like(like) | func.lower(records.c.answer).like(like)
            )
        if status:
            query = query.where(records.c.status == status)
        if since:
            query = query.where(records.c.created_at >= since)
        if until:
            query = query.where(records.c.created_at <= until)
        if channel:
            query = query.where(records.c.channel == channel)
        if cursor is not None:
            query = query.where(records.c.seq < cursor)
        query = query.order_by(records.c.seq.desc()).limit(limit + 1)
        with self.engine.connect() as conn:
            rows = [_decode(dict(r._mapping)) for r in conn.execute(query)]
            page = rows[:limit]
            ids = [r["answer_id"] for r in page]
            events = (
                conn.execute(
                    select(
                        records.c.answer_id,
                        records.c.kind,
                        records.c.data,
                        records.c.actor,
                        records.c.created_at,
                    )
                    .where(records.c.answer_id.in_(ids), records.c.kind != "answer")
                    .order_by(records.c.seq)
                ).all()
                if ids
                else []
            )
        by_answer: dict[str, list[dict[str, Any]]] = {}
        for answer_id, kind, data, actor, created_at in events:
            by_answer.setdefault(answer_id, []).append(
                {
                    "kind": kind,
                    "payload": json.loads(data),
                    "actor": actor,
                    "created_at": created_at,
                }
            )
        items = []
        for r in page:
            found = by_answer.get(r["answer_id"], [])
            items.append(
                {
                    "answer_id": r["answer_id"],
                    "created_at": r["created_at"],
                    "channel": r["channel"],
                    "question": r["question"],
                    "status": r["status"],
                    "answer": r["answer"],
                    "evidence_level": r["evidence_level"],
                    "citations": r["citations"],
                    "template": r["template"],
                    "feedback": [e["payload"] for e in found if e["kind"] == "feedback"],
                    "reviews": [e for e in found if e["kind"] == "review"],
                }
            )
        more = len(rows) > limit
        return items, (page[-1]["seq"] if more and page else None)

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
