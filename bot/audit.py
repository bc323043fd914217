"""The audit log: every reply as shown, with what produced it, plus events about it.

SQLite by default (WAL, synchronous=FULL: a reply that was returned is on disk), any
SQLAlchemy URL otherwise. A reply is recorded in the same request before it is returned;
feedback is appended as an event, never as an edit of the answer row.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import (
    JSON,
    Column,
    DateTime,
    Float,
    ForeignKey,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    create_engine,
    event,
    func,
    insert,
    select,
)
from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError

from bot.answer import Reply

metadata = MetaData()

answers = Table(
    "answers",
    metadata,
    Column("answer_id", String(64), primary_key=True),
    Column("created_at", DateTime(timezone=True), nullable=False, index=True),
    Column("session", String(64), nullable=False, index=True),
    Column("channel", String(16), nullable=False),
    Column("origin", String(255)),
    Column("question", Text, nullable=False),
    Column("status", String(16), nullable=False, index=True),
    Column("answer", Text, nullable=False),
    Column("html", Text, nullable=False),
    Column("evidence_level", Text),
    Column("citations", JSON, nullable=False),
    Column("suggestions", JSON, nullable=False),
    Column("template", String(64), nullable=False),
    Column("trace", JSON, nullable=False),
    Column("index_digest", String(32), nullable=False),
    Column("model", String(128), nullable=False),
    Column("disclaimer_hash", String(64), nullable=False),
    Column("latency_ms", Float),
)

events = Table(
    "events",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("answer_id", String(64), ForeignKey("answers.answer_id"), nullable=False, index=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("kind", String(32), nullable=False),
    Column("payload", JSON, nullable=False),
)


class AuditUnavailable(Exception):
    """The log cannot be written: the reply must not be shown unlogged."""


def _sqlite_pragmas(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def on_connect(dbapi_connection: Any, _: Any) -> None:
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=FULL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=5000")
        cursor.close()


def pseudonym(session_id: str) -> str:
    """Sessions are stored as a hash, so the log does not hold a live session token."""
    return hashlib.sha256(f"session:{session_id}".encode()).hexdigest()[:32]


@dataclass
class AuditLog:
    engine: Engine

    @classmethod
    def open(cls, url: str) -> AuditLog:
        if url.startswith("sqlite:///"):
            Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, pool_pre_ping=True)
        if engine.dialect.name == "sqlite":
            _sqlite_pragmas(engine)
        metadata.create_all(engine)
        return cls(engine)

    def record(
        self,
        reply: Reply,
        question: str,
        channel: str,
        origin: str | None,
        index_digest: str,
        model: str,
    ) -> None:
        row = {
            "answer_id": reply.answer_id,
            "created_at": datetime.now(UTC),
            "session": pseudonym(reply.session_id),
            "channel": channel,
            "origin": origin,
            "question": question,
            "status": reply.status.value,
            "answer": reply.answer,
            "html": reply.html,
            "evidence_level": reply.evidence_level,
            "citations": [{**c.to_json(), "passage_id": c.passage_id} for c in reply.citations],
            "suggestions": list(reply.suggestions),
            "template": reply.template,
            "trace": json.loads(json.dumps(reply.trace, default=list)),
            "index_digest": index_digest,
            "model": model,
            "disclaimer_hash": hashlib.sha256(reply.disclaimer.encode()).hexdigest(),
            "latency_ms": reply.trace.get("latency_ms"),
        }
        try:
            with self.engine.begin() as conn:
                conn.execute(insert(answers).values(**row))
        except SQLAlchemyError as exc:
            raise AuditUnavailable(str(exc)) from exc

    def feedback(self, answer_id: str, helpful: bool, comment: str | None) -> bool:
        """Append feedback to an answer; False when the answer is unknown."""
        try:
            with self.engine.begin() as conn:
                known = conn.execute(
                    select(answers.c.answer_id).where(answers.c.answer_id == answer_id)
                ).first()
                if known is None:
                    return False
                conn.execute(
                    insert(events).values(
                        answer_id=answer_id,
                        created_at=datetime.now(UTC),
                        kind="feedback",
                        payload={"helpful": helpful, "comment": comment},
                    )
                )
        except SQLAlchemyError as exc:
            raise AuditUnavailable(str(exc)) from exc
        return True

    def answer(self, answer_id: str) -> dict[str, Any] | None:
        with self.engine.connect() as conn:
            row = conn.execute(select(answers).where(answers.c.answer_id == answer_id)).first()
            if row is None:
                return None
            found = dict(row._mapping)
            found["events"] = [
                dict(e._mapping)
                for e in conn.execute(
                    select(events).where(events.c.answer_id == answer_id).order_by(events.c.id)
                )
            ]
            return found

    def count(self) -> int:
        with self.engine.connect() as conn:
            return int(conn.execute(select(func.count()).select_from(answers)).scalar_one())
