"""Login rate-limit failures and ended sessions in the database, shared by every server process
(``vru serve --workers N``).

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | Sequence[str] | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Create ``login_failures`` and ``ended_sessions``."""
    op.create_table(
        "login_failures",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("at", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_login_failures_key_at", "login_failures", ["key", "at"], unique=False)
    op.create_index("ix_login_failures_at", "login_failures", ["at"], unique=False)
    op.create_table(
        "ended_sessions",
        sa.Column("csrf_sha256", sa.String(length=64), nullable=False),
        sa.Column("issued", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("csrf_sha256"),
    )
    op.create_index("ix_ended_sessions_issued", "ended_sessions", ["issued"], unique=False)


def downgrade() -> None:
    """Drop both tables (the rate-limit counts and the ended sessions are lost)."""
    op.drop_index("ix_ended_sessions_issued", table_name="ended_sessions")
    op.drop_table("ended_sessions")
    op.drop_index("ix_login_failures_at", table_name="login_failures")
    op.drop_index("ix_login_failures_key_at", table_name="login_failures")
    op.drop_table("login_failures")
