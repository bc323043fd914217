"""The audit chain: one append-only table of hash-chained records, and the chain's anchor.

Revision ID: 0001
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "records",
        sa.Column("seq", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("answer_id", sa.String(64)),
        sa.Column("created_at", sa.String(32), nullable=False),
        sa.Column("actor", sa.String(64)),
        sa.Column("session", sa.String(64)),
        sa.Column("channel", sa.String(16)),
        sa.Column("origin", sa.String(255)),
        sa.Column("question", sa.Text),
        sa.Column("status", sa.String(16)),
        sa.Column("answer", sa.Text),
        sa.Column("html", sa.Text),
        sa.Column("evidence_level", sa.Text),
        sa.Column("template", sa.String(64)),
        sa.Column("index_digest", sa.String(32)),
        sa.Column("model", sa.String(128)),
        sa.Column("disclaimer_hash", sa.String(64)),
        sa.Column("latency_ms", sa.Float),
        sa.Column("data", sa.Text, nullable=False),
        sa.Column("prev_hash", sa.String(64), nullable=False),
        sa.Column("hash", sa.String(64), nullable=False, unique=True),
    )
    op.create_index("ix_records_answer_id", "records", ["answer_id"])
    op.create_index("ix_records_kind_created", "records", ["kind", "created_at"])
    op.create_index("ix_records_status", "records", ["status"])
    op.create_table(
        "chain_anchor",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("seq", sa.BigInteger, nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
        sa.Column("created_at", sa.String(32), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("chain_anchor")
    op.drop_table("records")
