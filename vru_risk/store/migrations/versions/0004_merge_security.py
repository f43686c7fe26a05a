"""Join the schema branches of the security review's fixes (decisions' idempotency keys and
request counts, flag loading and withdrawal, audit key segments, accounts and tokens) into one
history.

Revision ID: 0004
Revises: 0003a, 0003b, 0003c, 0003d
Create Date: 2026-12-05
"""

from __future__ import annotations

from collections.abc import Sequence

revision: str = "0004"
down_revision: str | Sequence[str] | None = ("0003a", "0003b", "0003c", "0003d")
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Nothing to change: the branches' own revisions made the tables."""


def downgrade() -> None:
    """Nothing to undo here."""
