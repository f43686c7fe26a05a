"""Per-user counts of requests naming an individual (rate limits shared by every server
process) and idempotency keys of decisions.

Revision ID: 0003a
Revises: 0002
Create Date: 2026-12-01
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003a"
down_revision: str | Sequence[str] | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Create ``request_counts``; add ``decisions.idempotency_key``, unique per user."""
    op.create_table(
        "request_counts",
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("span", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("started", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("hits", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("key", "span", "started"),
    )
    # a nullable column and a unique index: no table rebuild on SQLite (the decisions table
    # references itself, which a batch copy would trip over)
    op.add_column("decisions", sa.Column("idempotency_key", sa.String(length=128), nullable=True))
    op.create_index(
        "uq_decisions_user_idempotency_key",
        "decisions",
        ["user_id", "idempotency_key"],
        unique=True,
    )


def downgrade() -> None:
    """Drop the counts and the decisions' idempotency keys."""
    op.drop_index("uq_decisions_user_idempotency_key", table_name="decisions")
    op.drop_column("decisions", "idempotency_key")  # SQLite 3.35+ drops a column in place
    op.drop_table("request_counts")
