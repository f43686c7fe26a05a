"""Initial schema: users, API tokens, flags and their programmes, decisions, review-log mirror,
audit log.

Revision ID: 0001
Revises:
Create Date: 2026-11-25
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Create every table of the first release."""
    op.create_table(
        "audit_log",
        sa.Column("seq", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("at", sa.String(length=40), nullable=False),
        sa.Column("username", sa.String(length=64), nullable=False),
        sa.Column("role", sa.String(length=32), nullable=False),
        sa.Column("person_id", sa.String(length=128), nullable=True),
        sa.Column("model_version", sa.Integer(), nullable=True),
        sa.Column("purpose", sa.String(length=64), nullable=False),
        sa.Column("route", sa.String(length=255), nullable=False),
        sa.Column("prev_mac", sa.String(length=64), nullable=False),
        sa.Column("mac", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("seq"),
    )
    op.create_index("ix_audit_log_person_id", "audit_log", ["person_id"], unique=False)

    op.create_table(
        "flags",
        sa.Column("flag_id", sa.String(length=64), nullable=False),
        sa.Column("person_id", sa.String(length=128), nullable=False),
        sa.Column("as_of", sa.Date(), nullable=False),
        sa.Column("expires", sa.Date(), nullable=False),
        sa.Column("band", sa.String(length=64), nullable=False),
        sa.Column("model_name", sa.String(length=128), nullable=False),
        sa.Column("model_version", sa.Integer(), nullable=False),
        sa.Column("content_hash", sa.String(length=128), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("loaded_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("flag_id"),
    )
    op.create_index("ix_flags_as_of", "flags", ["as_of"], unique=False)
    op.create_index("ix_flags_person_id", "flags", ["person_id"], unique=False)

    op.create_table(
        "review_log_mirror",
        sa.Column("seq", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("body", sa.JSON(), nullable=False),
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("seq"),
    )
    op.create_table(
        "users",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("username", sa.String(length=64), nullable=False),
        sa.Column("role", sa.String(length=32), nullable=False),
        sa.Column("programmes", sa.JSON(), nullable=False),
        sa.Column("password_hash", sa.String(length=255), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("disabled_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "role in ('practitioner', 'data_scientist', 'ethics_panel', 'admin')",
            name="ck_users_role",
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("username"),
    )
    op.create_table(
        "api_tokens",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("token_sha256", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("token_sha256"),
    )
    op.create_index("ix_api_tokens_user_id", "api_tokens", ["user_id"], unique=False)

    op.create_table(
        "decisions",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("flag_id", sa.String(length=64), nullable=False),
        sa.Column("programme_id", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("username", sa.String(length=64), nullable=False),
        sa.Column("decision", sa.String(length=16), nullable=False),
        sa.Column("referred_to", sa.String(length=64), nullable=True),
        sa.Column("reason_code", sa.String(length=64), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("corrects", sa.Integer(), nullable=True),
        sa.CheckConstraint(
            "(decision = 'referred') = (referred_to is not null)", name="ck_decisions_referred"
        ),
        sa.CheckConstraint(
            "decision in ('referred', 'no_action', 'disagree')", name="ck_decisions_kind"
        ),
        sa.ForeignKeyConstraint(
            ["corrects"],
            ["decisions.id"],
        ),
        sa.ForeignKeyConstraint(
            ["flag_id"],
            ["flags.flag_id"],
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_decisions_flag", "decisions", ["flag_id", "programme_id"], unique=False)

    op.create_table(
        "flag_programmes",
        sa.Column("flag_id", sa.String(length=64), nullable=False),
        sa.Column("programme_id", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=32), nullable=False),
        sa.Column("rank", sa.Integer(), nullable=True),
        sa.CheckConstraint("status in ('offered', 'already_supported')", name="ck_fp_status"),
        sa.ForeignKeyConstraint(
            ["flag_id"],
            ["flags.flag_id"],
        ),
        sa.PrimaryKeyConstraint("flag_id", "programme_id"),
    )
    op.create_index(
        "ix_flag_programmes_listing",
        "flag_programmes",
        ["programme_id", "status", "rank"],
        unique=False,
    )


def downgrade() -> None:
    """Drop every table (data included)."""
    op.drop_index("ix_flag_programmes_listing", table_name="flag_programmes")

    op.drop_table("flag_programmes")
    op.drop_index("ix_decisions_flag", table_name="decisions")

    op.drop_table("decisions")
    op.drop_index("ix_api_tokens_user_id", table_name="api_tokens")

    op.drop_table("api_tokens")
    op.drop_table("users")
    op.drop_table("review_log_mirror")
    op.drop_index("ix_flags_person_id", table_name="flags")
    op.drop_index("ix_flags_as_of", table_name="flags")

    op.drop_table("flags")
    op.drop_index("ix_audit_log_person_id", table_name="audit_log")

    op.drop_table("audit_log")
