"""The application database: SQLAlchemy 2 models, engines, Alembic migrations and the queries
over its tables that need no web request (below ``jobs``, so that a job reads what the service
does; it never imports ``serving``, ``jobs`` or the settings).

- :mod:`~vru_risk.store.engine` (engines, sessions, migrations, PostgreSQL roles),
  :mod:`~vru_risk.store.models` (the tables), ``migrations/`` (Alembic),
  :mod:`~vru_risk.store.review_mirror` (the ethics panel's review log, mirrored).
- :mod:`~vru_risk.store.users` (users, roles, passwords), :mod:`~vru_risk.store.flag_store`
  (what is shown, to whom, how long), :mod:`~vru_risk.store.decisions` (practitioners'
  decisions), :mod:`~vru_risk.store.flag_views` (which flag was shown to whom),
  :mod:`~vru_risk.store.flag_checks` and :mod:`~vru_risk.store.flag_loader` (what a
  stored flag must be, loading flags), :mod:`~vru_risk.store.inputs` (the form of identifiers and
  free text, the one validation of a decision), :mod:`~vru_risk.store.service_rows` (what
  monitoring reads of a version's service: offers, decisions, views, flags).

One schema for SQLite (the embedded default, under ``VRU_HOME``) and PostgreSQL (by URL, through
psycopg 3: ``postgresql+psycopg://user@host/db``). :func:`open_database` makes an engine and runs
the migrations (their version table is ``vru_alembic_version``, so the database can be shared
with other tools). Functions of :mod:`~vru_risk.store.users` and
:mod:`~vru_risk.store.flag_store` take a :class:`~sqlalchemy.orm.Session` and never commit: the
caller owns the transaction (``with sessions.begin() as session: ...``).

Example
-------
>>> engine = open_database("sqlite://")
>>> sorted(t for t in table_names(engine) if t != "vru_alembic_version")[:3]
['api_tokens', 'audit_key_segments', 'audit_log']
"""

from vru_risk.store.engine import (
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
