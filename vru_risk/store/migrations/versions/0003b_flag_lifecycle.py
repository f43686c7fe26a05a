"""Flags staged and published per load, and withdrawn by an administrator.

``flag_loads`` records each ``vru flags load``; its flags are staged under ``flags.load_id`` and
shown only once the load is published. ``flags.withdrawn_at``, ``withdrawn_reason`` and
``withdrawn_by`` record ``vru flags withdraw``. Flags loaded before this revision have no load
(``load_id`` null) and count as published.

Revision ID: 0003b
Revises: 0002
Create Date: 2026-12-05
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003b"
down_revision: str | Sequence[str] | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Create ``flag_loads``; add the load and withdrawal columns to ``flags``."""
    op.create_table(
        "flag_loads",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("source", sa.String(length=255), nullable=False),
        sa.Column("operator", sa.String(length=64), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("staged", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.add_column("flags", sa.Column("load_id", sa.Integer(), nullable=True))
    op.add_column("flags", sa.Column("withdrawn_at", sa.DateTime(timezone=True), nullable=True))
    op.add_column("flags", sa.Column("withdrawn_reason", sa.String(length=300), nullable=True))
    op.add_column("flags", sa.Column("withdrawn_by", sa.String(length=64), nullable=True))
    op.create_index("ix_flags_load_id", "flags", ["load_id"], unique=False)


def downgrade() -> None:
    """Drop the columns and ``flag_loads`` (staged, unpublished flags are deleted first, and
    withdrawals are forgotten: withdraw those flags again after upgrading)."""
    op.execute(
        "DELETE FROM flag_programmes WHERE flag_id IN (SELECT flag_id FROM flags WHERE load_id "
        "IN (SELECT id FROM flag_loads WHERE published_at IS NULL))"
    )
    op.execute(
        "DELETE FROM flags WHERE load_id IN (SELECT id FROM flag_loads WHERE published_at IS NULL)"
    )
    op.drop_index("ix_flags_load_id", table_name="flags")
    for column in ("withdrawn_by", "withdrawn_reason", "withdrawn_at", "load_id"):
        op.drop_column("flags", column)  # SQLite 3.35+ drops a column in place
    op.drop_table("flag_loads")
