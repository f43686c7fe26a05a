"""The application database: SQLAlchemy 2 models, engines and Alembic migrations.

One schema for SQLite (the embedded default, under ``VRU_HOME``) and PostgreSQL (by URL, through
psycopg 3: ``postgresql+psycopg://user@host/db``). :func:`open_database` makes an engine and runs
the migrations (their version table is ``vru_alembic_version``, so the database can be shared
with other tools). Functions of :mod:`~vru_risk.serving.users` and
:mod:`~vru_risk.serving.flag_store` take a :class:`~sqlalchemy.orm.Session` and never commit: the
caller owns the transaction (``with sessions.begin() as session: ...``).

Example
-------
>>> engine = open_database("sqlite://")
>>> sorted(t for t in table_names(engine) if t != "vru_alembic_version")[:3]
['api_tokens', 'audit_key_segments', 'audit_log']
"""

from vru_risk.serving.db.engine import (
    Checkpointer,
    connection_limit,
    grant_app_role,
    make_engine,
    migrate,
    missing_privileges,
    open_database,
    session_factory,
    table_names,
)

__all__ = [
    "Checkpointer",
    "connection_limit",
    "grant_app_role",
    "make_engine",
    "migrate",
    "missing_privileges",
    "open_database",
    "session_factory",
    "table_names",
]
