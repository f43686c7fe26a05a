"""Engines for SQLite and PostgreSQL, migrations, and the application's restricted role."""

from __future__ import annotations

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

VERSION_TABLE = "vru_alembic_version"


def make_engine(url: str) -> Engine:
    """An engine for ``url``: SQLite gets WAL, a busy timeout and foreign keys on every
    connection; PostgreSQL URLs must use psycopg 3 (``postgresql+psycopg://``)."""
    raise NotImplementedError


def migrate(engine: Engine) -> None:
    """Upgrade the schema to the newest revision (Alembic; version table vru_alembic_version)."""
    raise NotImplementedError


def open_database(url: str) -> Engine:
    """:func:`make_engine` then :func:`migrate`: the way every command and the app open it."""
    raise NotImplementedError


def session_factory(engine: Engine, *, write: bool = False) -> sessionmaker[Session]:
    """Sessions on ``engine``; ``write=True`` starts SQLite transactions with BEGIN IMMEDIATE
    (take the write lock first, so a busy database waits instead of failing)."""
    raise NotImplementedError


def table_names(engine: Engine) -> list[str]:
    """The tables present in the database."""
    raise NotImplementedError


def grant_app_role(engine: Engine, role: str, *, password: str | None = None) -> None:
    """PostgreSQL only: create ``role`` (LOGIN) if missing and grant it normal DML on the
    application tables but only SELECT and INSERT on ``audit_log``. Idempotent."""
    raise NotImplementedError
