"""The audit log's key segments: the keyed fingerprint of each audit key and the row it keys
from (``vru audit-log rotate-key`` starts a new one).

Revision ID: 0003c
Revises: 0002
Create Date: 2026-12-05
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003c"
down_revision: str | Sequence[str] | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Create ``audit_key_segments`` (empty: an existing log's segment 1 is recorded by the
    first command or server start that holds its key)."""
    op.create_table(
        "audit_key_segments",
        sa.Column("segment", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("first_seq", sa.BigInteger(), nullable=False),
        sa.Column("fingerprint", sa.String(length=64), nullable=False),
        sa.Column("at", sa.String(length=40), nullable=False),
        sa.PrimaryKeyConstraint("segment"),
        sa.UniqueConstraint("fingerprint"),
    )


def downgrade() -> None:
    """Drop ``audit_key_segments`` (the fingerprints stay in the anchor outside the database)."""
    op.drop_table("audit_key_segments")
