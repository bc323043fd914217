"""An index on the session pseudonym: the staff pages show a conversation's turns and
filter the list by session. Records are not changed (nor their hashes).

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_records_session_seq", "records", ["session", "seq"])


def downgrade() -> None:
    op.drop_index("ix_records_session_seq", "records")
