"""Engines for SQLite and PostgreSQL, migrations, and the application's restricted role.

SQLite (the embedded default) gets, on every connection: WAL journal (readers never wait for the
writer), a busy timeout (a writer waits for the lock instead of failing), foreign keys on, and
transactions begun by SQLAlchemy rather than by the ``sqlite3`` module, so that a write session
can take the write lock first with ``BEGIN IMMEDIATE`` (:func:`session_factory`,
``write=True``). PostgreSQL is reached through psycopg 3 (``postgresql+psycopg://``).
"""

from __future__ import annotations

import logging
import re
import threading
from pathlib import Path
from typing import Any, Final

from alembic import command
from alembic.config import Config
from sqlalchemy import Connection, Engine, create_engine, event, inspect, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import StaticPool

log = logging.getLogger("vru_risk.store")

VERSION_TABLE: Final = "vru_alembic_version"
MIGRATIONS: Final = Path(__file__).with_name("migrations")
BUSY_TIMEOUT_MS: Final = 30_000
_IMMEDIATE: Final = "vru_sqlite_begin_immediate"
_ROLE_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


class DatabaseError(ValueError):
    """A database URL or role that cannot be used; the message says what to do."""


def make_engine(url: str, *, background_checkpoint: bool = False) -> Engine:
    """An engine for ``url``: SQLite gets WAL, a busy timeout and foreign keys on every
    connection; PostgreSQL URLs must use psycopg 3 (``postgresql+psycopg://``).

    ``background_checkpoint`` (the server): this engine's SQLite connections never checkpoint
    the WAL at commit; a :class:`Checkpointer` does it in the background instead. (At commit,
    the checkpoint that SQLite runs every 1,000 WAL pages syncs the database file: measured
    here at 250 ms, during which every request waiting for the audit log stalls.)

    Example
    -------
    >>> engine = make_engine("sqlite://")
    >>> with engine.connect() as conn:
    ...     conn.exec_driver_sql("PRAGMA foreign_keys").scalar()
    1
    """
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise DatabaseError(
            f"database URL {url!r} cannot be parsed; write it as sqlite:////path/app.db or "
            "postgresql+psycopg://user@host:5432/dbname"
        ) from None
    backend = parsed.get_backend_name()
    if backend == "postgresql":
        if parsed.get_driver_name() != "psycopg":
            raise DatabaseError(
                f"database URL uses the driver {parsed.get_driver_name()!r}; vru-risk talks to "
                "PostgreSQL through psycopg 3: write postgresql+psycopg://..."
            )
        # pinned whatever the server's or role's default: the login limit and the audit log
        # take an advisory lock, then read; only under READ COMMITTED does that read see what
        # the previous holder committed (REPEATABLE READ would take its snapshot before the
        # wait: measured, 16 of 16 parallel sign-in attempts then passed a limit of 5)
        return create_engine(
            parsed, pool_pre_ping=True, future=True, isolation_level="READ COMMITTED", **POOL
        )
    if backend != "sqlite":
        raise DatabaseError(
            f"database URL {parsed.render_as_string(hide_password=True)!r}: only SQLite and "
            "PostgreSQL (postgresql+psycopg://) are supported"
        )
    memory = parsed.database in (None, "", ":memory:")
    if not memory and parsed.database:
        Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
    kwargs: dict[str, Any] = {"connect_args": {"check_same_thread": False}}
    if memory:
        kwargs["poolclass"] = StaticPool  # one shared in-memory database
    else:
        kwargs.update(POOL)
    engine = create_engine(parsed, **kwargs)
    _sqlite_events(engine, wal=not memory, autocheckpoint=not background_checkpoint)
    return engine


#: A request may hold two connections at once (its session, and the audit log's own
#: transaction). The server works on VRU_REQUEST_THREADS requests at a time (default 4, at most
#: anyio's 40 threads): the pool holds 2 x 40, so that no setting of it exhausts the pool and
#: waits out its timeout (SQLAlchemy's default 5 + 10 did, at 16 concurrent requests with 40
#: threads). PostgreSQL's default max_connections is 100; each process of ``vru serve --workers
#: N`` has its own pools, and ``vru serve`` warns when N x 3 x VRU_REQUEST_THREADS could exceed
#: the server's limit.
POOL: Final[dict[str, int]] = {"pool_size": 10, "max_overflow": 80, "pool_timeout": 30}


def _sqlite_events(engine: Engine, *, wal: bool, autocheckpoint: bool) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # SQLAlchemy emits BEGIN itself (below)
        cursor = dbapi_connection.cursor()
        cursor.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA foreign_keys = ON")
        if wal:
            cursor.execute("PRAGMA journal_mode = WAL")
            cursor.execute("PRAGMA synchronous = NORMAL")
            if not autocheckpoint:
                cursor.execute("PRAGMA wal_autocheckpoint = 0")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        immediate = conn.get_execution_options().get(_IMMEDIATE, False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


class Checkpointer:
    """Checkpoints an SQLite database's WAL from a background thread every ``interval``
    seconds (``PASSIVE``: it never waits for, nor blocks, readers and writers), for engines made
    with ``background_checkpoint``; :meth:`stop` runs a last full checkpoint. A no-op on
    PostgreSQL and in-memory SQLite.
    """

    def __init__(self, engine: Engine, *, interval: float = 1.0) -> None:
        self.engine = engine
        self.interval = interval
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        database = engine.url.database
        if engine.dialect.name == "sqlite" and database not in (None, "", ":memory:"):
            self._thread = threading.Thread(
                target=self._run, name="vru-sqlite-checkpoint", daemon=True
            )
            self._thread.start()

    def checkpoint(self, mode: str = "PASSIVE") -> None:
        try:
            with self.engine.connect() as conn:
                conn.exec_driver_sql(f"PRAGMA wal_checkpoint({mode})")
        except Exception as exc:  # logged, never fatal: the next round tries again
            log.warning("WAL checkpoint of %s failed: %s", self.engine.url.database, exc)

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self.checkpoint()

    def stop(self) -> None:
        if self._thread is None:
            return
        self._stop.set()
        self._thread.join(timeout=30)
        self.checkpoint("TRUNCATE")


def writer(engine: Engine) -> Engine:
    """The engine whose SQLite transactions begin with ``BEGIN IMMEDIATE`` (no-op elsewhere)."""
    if engine.dialect.name != "sqlite":
        return engine
    return engine.execution_options(**{_IMMEDIATE: True})


def lock_file_beside(engine: Engine, suffix: str) -> Path | None:
    """The lock file of a SQLite database file: its resolved path + ``suffix``; None for
    in-memory SQLite, ``file:`` URIs and PostgreSQL (which have locks of their own).

    >>> str(lock_file_beside(make_engine("sqlite:////srv/vru/../vru/app.db"), ".x-lock"))
    '/srv/vru/app.db.x-lock'
    """
    database = engine.url.database if engine.dialect.name == "sqlite" else None
    if not database or database == ":memory:" or database.startswith("file:"):
        return None
    path = Path(database).resolve()
    return path.with_name(path.name + suffix)


def migrate(engine: Engine) -> None:
    """Upgrade the schema to the newest revision (Alembic; version table vru_alembic_version).

    On PostgreSQL the upgrade holds an advisory lock, so that two processes starting at once do
    not both try to create the tables. Every head is applied ("heads"): branches of the history
    are joined by a merge revision before a release.
    """
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(text("SELECT pg_advisory_xact_lock(7310001)"))
        config.attributes["connection"] = conn
        command.upgrade(config, "heads")


def open_database(url: str, *, background_checkpoint: bool = False) -> Engine:
    """:func:`make_engine` then :func:`migrate`: the way every command and the app open it."""
    engine = make_engine(url, background_checkpoint=background_checkpoint)
    migrate(engine)
    return engine


def session_factory(engine: Engine, *, write: bool = False) -> sessionmaker[Session]:
    """Sessions on ``engine``; ``write=True`` starts SQLite transactions with BEGIN IMMEDIATE
    (take the write lock first, so a busy database waits instead of failing).

    Objects stay usable after commit (``expire_on_commit=False``).
    """
    return sessionmaker(writer(engine) if write else engine, expire_on_commit=False)


def table_names(engine: Engine) -> list[str]:
    """The tables present in the database."""
    return sorted(inspect(engine).get_table_names())


#: Tables the application role may change (the append-only ones are below).
#: ``request_counts`` needs UPDATE: a request adds one to its window's count (an UPSERT).
_DML_TABLES: Final = (
    "users",
    "api_tokens",
    "flags",
    "flag_loads",  # a load's own row: inserted, published (updated), discarded (deleted)
    "flag_programmes",
    "review_log_mirror",
    "request_counts",
    "login_known_clients",  # a known address's time of last sign-in is updated
)

#: Tables the application role adds to and deletes from, never updates: ``decisions`` and
#: ``flag_views`` are append-only (a correction is a new row; retention deletes whole flags'
#: histories).
_INSERT_DELETE_TABLES: Final = ("login_failures", "ended_sessions", "decisions", "flag_views")

#: Append-only tables: the application role may only read and add rows. Pruning old audit
#: rows (``vru audit-log prune``) runs as the tables' owner.
_APPEND_ONLY_TABLES: Final = ("audit_log", "audit_key_segments")


def missing_privileges(engine: Engine) -> list[str]:
    """PostgreSQL: the privileges on the application tables that the connecting role lacks
    (e.g. the restricted role after ``vru db upgrade`` added tables and nobody re-ran
    ``vru db grant-app-role``); empty on SQLite, and for the tables' owner.

    The server checks this at start-up: without it, every page would fail on its first read of
    a new table while ``/health`` said "ok".
    """
    if engine.dialect.name != "postgresql":
        return []
    needed = {
        **dict.fromkeys(_DML_TABLES, ("SELECT", "INSERT", "UPDATE", "DELETE")),
        **dict.fromkeys(_INSERT_DELETE_TABLES, ("SELECT", "INSERT", "DELETE")),
        **dict.fromkeys(_APPEND_ONLY_TABLES, ("SELECT", "INSERT")),
    }
    missing: list[str] = []
    with engine.connect() as conn:
        for table, privileges in needed.items():
            for privilege in privileges:
                ok = conn.execute(
                    text("SELECT has_table_privilege(current_user, :t, :p)"),
                    {"t": table, "p": privilege},
                ).scalar_one()
                if not ok:
                    missing.append(f"{privilege} on {table}")
        sequences = conn.execute(
            text(
                "SELECT sequencename FROM pg_sequences WHERE schemaname = current_schema() "
                "AND sequencename = ANY(:names)"
            ),
            {"names": [f"{t}_id_seq" for t in (*_DML_TABLES, *_INSERT_DELETE_TABLES)]},
        ).scalars()
        for sequence in sequences:
            ok = conn.execute(
                text("SELECT has_sequence_privilege(current_user, :s, 'USAGE')"),
                {"s": sequence},
            ).scalar_one()
            if not ok:
                missing.append(f"USAGE on sequence {sequence}")
    return missing


def connection_limit(engine: Engine) -> int | None:
    """PostgreSQL: the connections ordinary roles may open (``max_connections`` minus those
    reserved for superusers); None on SQLite."""
    if engine.dialect.name != "postgresql":
        return None
    with engine.connect() as conn:
        total = int(conn.execute(text("SHOW max_connections")).scalar_one())
        reserved = sum(
            int(conn.execute(text(f"SELECT current_setting('{name}', true)")).scalar_one() or 0)
            for name in ("superuser_reserved_connections", "reserved_connections")  # 16+
        )
    return total - reserved


def grant_app_role(engine: Engine, role: str, *, password: str | None = None) -> None:
    """PostgreSQL only: create ``role`` (LOGIN) if missing and grant it normal DML on the
    application tables but only SELECT and INSERT on ``audit_log`` and ``audit_key_segments``.
    Idempotent.

    Run it as the owner of the tables (the account that ran the migrations). The role is given
    no DDL, no TRUNCATE and read-only access to the migrations' version table.
    """
    if engine.dialect.name != "postgresql":
        raise DatabaseError(
            "a restricted application role only exists on PostgreSQL; the embedded SQLite "
            "database is protected by file permissions and the audit log's keyed chain"
        )
    if not _ROLE_NAME.match(role):
        raise DatabaseError(
            f"role name {role!r} is not allowed: use lower-case letters, digits and _ "
            "(starting with a letter or _; at most 63 characters)"
        )
    with engine.begin() as conn:
        conn.execute(text("SELECT pg_advisory_xact_lock(7310002)"))
        exists = conn.execute(
            text("SELECT 1 FROM pg_roles WHERE rolname = :r"), {"r": role}
        ).first()
        if exists is None:
            conn.execute(text(f'CREATE ROLE "{role}" LOGIN'))
        if password is not None:
            literal = conn.execute(text("SELECT quote_literal(:p)"), {"p": password}).scalar_one()
            conn.execute(text(f'ALTER ROLE "{role}" PASSWORD {literal}'))
        database = conn.execute(text("SELECT current_database()")).scalar_one()
        conn.execute(text(f'GRANT CONNECT ON DATABASE "{database}" TO "{role}"'))
        conn.execute(text(f'GRANT USAGE ON SCHEMA public TO "{role}"'))
        for table in _DML_TABLES:
            conn.execute(text(f'REVOKE ALL ON TABLE "{table}" FROM "{role}"'))
            conn.execute(
                text(f'GRANT SELECT, INSERT, UPDATE, DELETE ON TABLE "{table}" TO "{role}"')
            )
        for table in _INSERT_DELETE_TABLES:
            conn.execute(text(f'REVOKE ALL ON TABLE "{table}" FROM "{role}"'))
            conn.execute(text(f'GRANT SELECT, INSERT, DELETE ON TABLE "{table}" TO "{role}"'))
        for table in _APPEND_ONLY_TABLES:
            conn.execute(text(f'REVOKE ALL ON TABLE "{table}" FROM "{role}"'))
            conn.execute(text(f'GRANT SELECT, INSERT ON TABLE "{table}" TO "{role}"'))
        conn.execute(text(f'REVOKE ALL ON TABLE "{VERSION_TABLE}" FROM "{role}"'))
        conn.execute(text(f'GRANT SELECT ON TABLE "{VERSION_TABLE}" TO "{role}"'))
        conn.execute(text(f'GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO "{role}"'))
