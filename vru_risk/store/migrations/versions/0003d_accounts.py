"""Accounts: password resets end sessions, API tokens expire and carry a label and last use,
sign-in failures are counted per username *and* client address, and the addresses each user
signed in from are remembered.

- ``users.credentials_generation`` (0): raised by a password reset; a session issued under an
  older generation is refused.
- ``api_tokens.expires_at`` (required), ``label``, ``last_used_at``. Tokens issued before this
  revision expire 90 days (the default of ``VRU_TOKEN_DAYS``) after they were issued.
- ``login_failures`` gets a ``client`` column (one row per attempt instead of one per username
  and one per address). Its rows live for an hour at most, so the table is recreated empty.
- ``login_known_clients``: (username HMAC, address HMAC, last successful sign-in).

Revision ID: 0003d
Revises: 0002
Create Date: 2026-12-01
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003d"
down_revision: str | Sequence[str] | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

#: the lifetime given to tokens issued before expiry existed (VRU_TOKEN_DAYS' default)
EXISTING_TOKEN_DAYS = 90


def _login_failures(*, client: bool) -> None:
    columns: list[sa.schema.SchemaItem] = [
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("key", sa.String(length=64), nullable=False),
    ]
    if client:
        columns.append(sa.Column("client", sa.String(length=64), nullable=False))
    columns += [sa.Column("at", sa.Float(), nullable=False), sa.PrimaryKeyConstraint("id")]
    op.create_table("login_failures", *columns)
    op.create_index("ix_login_failures_key_at", "login_failures", ["key", "at"], unique=False)
    if client:
        op.create_index(
            "ix_login_failures_client_at", "login_failures", ["client", "at"], unique=False
        )
    op.create_index("ix_login_failures_at", "login_failures", ["at"], unique=False)


def _drop_login_failures(*, client: bool) -> None:
    op.drop_index("ix_login_failures_at", table_name="login_failures")
    if client:
        op.drop_index("ix_login_failures_client_at", table_name="login_failures")
    op.drop_index("ix_login_failures_key_at", table_name="login_failures")
    op.drop_table("login_failures")


def upgrade() -> None:
    """Add the columns and tables; give existing tokens an expiry; recreate login_failures."""
    with op.batch_alter_table("users") as users:
        users.add_column(
            sa.Column("credentials_generation", sa.Integer(), server_default="0", nullable=False)
        )
    with op.batch_alter_table("api_tokens") as tokens:
        tokens.add_column(sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True))
        tokens.add_column(sa.Column("label", sa.String(length=100), nullable=True))
        tokens.add_column(sa.Column("last_used_at", sa.DateTime(timezone=True), nullable=True))
    table = sa.table(
        "api_tokens",
        sa.column("id", sa.Integer()),
        sa.column("created_at", sa.DateTime(timezone=True)),
        sa.column("expires_at", sa.DateTime(timezone=True)),
    )
    conn = op.get_bind()
    lifetime = dt.timedelta(days=EXISTING_TOKEN_DAYS)
    for token_id, created in conn.execute(sa.select(table.c.id, table.c.created_at)).all():
        conn.execute(
            table.update().where(table.c.id == token_id).values(expires_at=created + lifetime)
        )
    with op.batch_alter_table("api_tokens") as tokens:
        tokens.alter_column("expires_at", existing_type=sa.DateTime(timezone=True), nullable=False)
    _drop_login_failures(client=False)
    _login_failures(client=True)
    op.create_table(
        "login_known_clients",
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("client", sa.String(length=64), nullable=False),
        sa.Column("at", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("key", "client"),
    )
    op.create_index("ix_login_known_clients_at", "login_known_clients", ["at"], unique=False)


def downgrade() -> None:
    """Back to 0002 (token expiry, labels, known addresses and resets' generations are lost)."""
    op.drop_index("ix_login_known_clients_at", table_name="login_known_clients")
    op.drop_table("login_known_clients")
    _drop_login_failures(client=True)
    _login_failures(client=False)
    # ALTER TABLE ... DROP COLUMN (SQLite 3.35+): batch mode would copy `users`, and SQLite
    # refuses to drop a table other tables' foreign keys point at
    for table, column in (
        ("api_tokens", "last_used_at"),
        ("api_tokens", "label"),
        ("api_tokens", "expires_at"),
        ("users", "credentials_generation"),
    ):
        op.drop_column(table, column)
