"""Flag views: which practitioner was shown which flag, for which programme, and when (the
decisions monitoring's "opened before it expired"; the audit log keeps the person and the route,
not the flag).

Revision ID: 0005a
Revises: 0004
Create Date: 2026-12-12
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005a"
down_revision: str | Sequence[str] | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Create ``flag_views`` (empty: views before this revision were not recorded)."""
    op.create_table(
        "flag_views",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("flag_id", sa.String(length=64), nullable=False),
        sa.Column("programme_id", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("viewed_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["flag_id"], ["flags.flag_id"]),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_flag_views_flag", "flag_views", ["flag_id", "programme_id"], unique=False)


def downgrade() -> None:
    """Drop ``flag_views`` (the recorded views are lost)."""
    op.drop_index("ix_flag_views_flag", table_name="flag_views")
    op.drop_table("flag_views")
