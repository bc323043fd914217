"""Hash formats and filterable columns.

Each record now says which frozen field list and algorithm its hash uses (`hash_format`,
NULL for the records written before: format 1), and which key when it is keyed (`key_id`).
The facts the staff filters use are columns, derived from the record's hashed data:
`helpful` (feedback), `label` (review), `cited` (answers). Existing records get them
filled in here; `verify` checks that they agree with the data, so they cannot be edited
unnoticed although format 1 hashes do not cover them.

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import json

import sqlalchemy as sa
from alembic import op

from bot.audit.schema import derived

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("records") as batch:
        batch.add_column(sa.Column("hash_format", sa.Integer))
        batch.add_column(sa.Column("key_id", sa.String(16)))
        batch.add_column(sa.Column("helpful", sa.Boolean))
        batch.add_column(sa.Column("label", sa.String(32)))
        batch.add_column(sa.Column("cited", sa.Text))
    records = sa.table(
        "records",
        sa.column("seq", sa.BigInteger),
        sa.column("kind", sa.String),
        sa.column("data", sa.Text),
        sa.column("helpful", sa.Boolean),
        sa.column("label", sa.String),
        sa.column("cited", sa.Text),
    )
    conn = op.get_bind()
    rows = conn.execute(
        sa.select(records.c.seq, records.c.kind, records.c.data).where(
            records.c.kind.in_(("answer", "feedback", "review"))
        )
    ).all()
    changes = [
        {"s": seq} | facts
        for seq, kind, data in rows
        if any((facts := derived(kind, json.loads(data))).values())
    ]
    if changes:
        conn.execute(
            records.update()
            .where(records.c.seq == sa.bindparam("s"))
            .values(
                helpful=sa.bindparam("helpful"),
                label=sa.bindparam("label"),
                cited=sa.bindparam("cited"),
            ),
            changes,
        )
    op.create_index("ix_records_kind_answer", "records", ["kind", "answer_id"])


def downgrade() -> None:
    op.drop_index("ix_records_kind_answer", "records")
    with op.batch_alter_table("records") as batch:
        for name in ("cited", "label", "helpful", "key_id", "hash_format"):
            batch.drop_column(name)
