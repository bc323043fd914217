"""Staff API tokens expire and can be revoked one by one.

Each token gets a public id (the start of its hash) and an expiry. Tokens made before
this revision expire 90 days after they were made.

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

from datetime import datetime, timedelta

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None
TIME = "%Y-%m-%dT%H:%M:%S.%fZ"


def upgrade() -> None:
    with op.batch_alter_table("staff_tokens") as batch:
        batch.add_column(sa.Column("token_id", sa.String(16)))
        batch.add_column(sa.Column("expires_at", sa.String(32)))
    tokens = sa.table(
        "staff_tokens",
        sa.column("token_hash", sa.String),
        sa.column("created_at", sa.String),
        sa.column("token_id", sa.String),
        sa.column("expires_at", sa.String),
    )
    conn = op.get_bind()
    for token_hash, created_at in conn.execute(
        sa.select(tokens.c.token_hash, tokens.c.created_at)
    ).all():
        expires = datetime.strptime(created_at, TIME) + timedelta(days=90)
        conn.execute(
            tokens.update()
            .where(tokens.c.token_hash == token_hash)
            .values(token_id=token_hash[:12], expires_at=expires.strftime(TIME))
        )
    op.create_index("ix_staff_tokens_token_id", "staff_tokens", ["token_id"])


def downgrade() -> None:
    op.drop_index("ix_staff_tokens_token_id", "staff_tokens")
    with op.batch_alter_table("staff_tokens") as batch:
        batch.drop_column("expires_at")
        batch.drop_column("token_id")
