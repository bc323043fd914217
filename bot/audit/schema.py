"""The audit log's tables, readable in one place (Alembic migrations in bot/migrations/)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Float,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
)

MIGRATIONS = Path(__file__).resolve().parent.parent / "migrations"
GENESIS = "0" * 64
# Held while the schema is migrated and while records are appended (PostgreSQL).
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
    # Revision 0003. Which frozen field list and algorithm the hash uses (chain.FORMATS);
    # NULL is format 1, the records written before formats existed.
    Column("hash_format", Integer),
    Column("key_id", String(16)),  # the HMAC key's id for keyed records, else NULL
    # Filterable facts kept as columns (derived from `data`; verify checks they agree).
    Column("helpful", Boolean),  # feedback: the vote
    Column("label", String(32)),  # review: the label
    Column("cited", Text),  # answer: one lowercase line per cited page (title ... page id)
    # Revision 0005: a conversation's turns, in order (the staff detail page, `?session=`).
    Index("ix_records_session_seq", "session", "seq"),
)
chain_anchor = Table(
    "chain_anchor",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("seq", BigInteger, nullable=False),
    Column("hash", String(64), nullable=False),
    Column("created_at", String(32), nullable=False),
)
# Every column a record is written with (the hash is computed from them).
WRITTEN = tuple(c.name for c in records.columns if c.name != "hash")
# Declared lengths: a row over one would fail its whole batch on PostgreSQL.
LENGTHS = {c.name: c.type.length for c in records.columns if getattr(c.type, "length", None)}


def now() -> str:
    """UTC time as stored: fixed-width ISO text, so it sorts and hashes the same anywhere."""
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def canonical(value: Any) -> str:
    return json.dumps(
        value, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=list
    )


def derived(kind: str, data: dict[str, Any]) -> dict[str, Any]:
    """The filterable columns of a record, from its (hashed) data.

    `verify` checks every record's columns against this, whatever its hash format: change
    it only together with a migration that recomputes the columns of existing records."""
    helpful = data.get("helpful") if kind == "feedback" else None
    label = data.get("label") if kind == "review" else None
    cited = None
    if kind == "answer" and data.get("citations"):
        fields = ("title", "compound", "condition", "page_id")
        cited = "\n".join(
            " ".join(str(c.get(k) or "") for k in fields).lower() for c in data["citations"]
        )
    return {
        "helpful": helpful if isinstance(helpful, bool) else None,
        "label": label if isinstance(label, str) else None,
        "cited": cited,
    }
