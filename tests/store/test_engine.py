"""Engines, migrations and PostgreSQL's restricted application role."""

from __future__ import annotations

import datetime as dt
import json
import secrets
from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from sqlalchemy import Engine, create_engine, inspect, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import IntegrityError, ProgrammingError

from tests.store.conftest import empty_postgres
from vru_risk.store import (
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
from vru_risk.store.engine import MIGRATIONS, VERSION_TABLE, DatabaseError
from vru_risk.store.models import ApiToken, Base, User

TABLES = [
    "api_tokens",
    "audit_key_segments",
    "audit_log",
    "decisions",
    "ended_sessions",
    "flag_loads",
    "flag_programmes",
    "flag_views",
    "flags",
    "login_failures",
    "login_known_clients",
    "request_counts",
    "review_log_mirror",
    "users",
    VERSION_TABLE,
]


def test_migrations_create_every_table_and_match_the_models(engine: Engine) -> None:
    assert table_names(engine) == TABLES
    with engine.connect() as conn:
        context = MigrationContext.configure(
            conn, opts={"version_table": VERSION_TABLE, "compare_type": True}
        )
        assert compare_metadata(context, Base.metadata) == []
        assert conn.execute(text(f"SELECT version_num FROM {VERSION_TABLE}")).scalar() == "0005a"


def test_the_upgrade_to_0003d_gives_existing_tokens_an_expiry_and_keeps_them(
    db_url: str,
) -> None:
    """Tokens issued before expiry existed expire 90 days after they were issued; users keep
    their rows (generation 0: their sessions stay valid until a reset)."""
    engine = make_engine(db_url)
    try:
        with engine.begin() as conn:  # the schema as 0002 left it
            conn.execute(text(f"DROP TABLE IF EXISTS {VERSION_TABLE}"))
            for table in reversed(Base.metadata.sorted_tables):
                conn.execute(text(f'DROP TABLE IF EXISTS "{table.name}"'))
            config = Config()
            config.set_main_option("script_location", str(MIGRATIONS))
            config.attributes["connection"] = conn
            command.upgrade(config, "0002")
            conn.execute(
                text(
                    "INSERT INTO users (id, username, role, programmes, password_hash, active, "
                    "created_at) VALUES (1, 'dana', 'data_scientist', '[]', 'x', true, :at)"
                ),
                {"at": dt.datetime(2026, 1, 1, 9, 30, tzinfo=dt.UTC)},
            )
            conn.execute(
                text(
                    "INSERT INTO api_tokens (id, user_id, token_sha256, created_at) "
                    "VALUES (1, 1, 'abc', :at)"
                ),
                {"at": dt.datetime(2026, 1, 1, 9, 30, tzinfo=dt.UTC)},
            )
        migrate(engine)
        with session_factory(engine)() as s:
            token = s.get(ApiToken, 1)
            user = s.get(User, 1)
            assert token is not None and user is not None
            assert token.expires_at == dt.datetime(2026, 4, 1, 9, 30, tzinfo=dt.UTC)
            assert token.revoked_at is None and token.label is None
            assert user.credentials_generation == 0
        with engine.begin() as conn:  # and back: the rows stay
            config.attributes["connection"] = conn
            command.downgrade(config, "0002")
            assert conn.execute(text("SELECT count(*) FROM api_tokens")).scalar() == 1
            assert "login_known_clients" not in inspect(conn).get_table_names()
        migrate(engine)
        assert table_names(engine) == TABLES
    finally:
        engine.dispose()


def test_migrate_twice_is_a_no_op(engine: Engine) -> None:
    migrate(engine)
    migrate(engine)
    with engine.connect() as conn:
        assert conn.execute(text(f"SELECT count(*) FROM {VERSION_TABLE}")).scalar() == 1


def test_sqlite_connections_use_wal_busy_timeout_and_foreign_keys(tmp_path: Path) -> None:
    engine = open_database(f"sqlite:///{tmp_path / 'deep' / 'app.db'}")
    try:
        with engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
            assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() == 30000
            assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        with pytest.raises(IntegrityError), engine.begin() as conn:
            conn.execute(
                text(
                    "INSERT INTO flag_programmes (flag_id, programme_id, status, rank) "
                    "VALUES ('no-such-flag', 'jump_start', 'offered', 1)"
                )
            )
    finally:
        engine.dispose()


def test_the_servers_connections_leave_wal_checkpoints_to_a_background_thread(
    tmp_path: Path,
) -> None:
    """The server's engines never checkpoint at commit (a checkpoint syncs the database file
    and stalled requests 250 ms); the Checkpointer does, and empties the WAL when stopped."""
    path = tmp_path / "app.db"
    wal = tmp_path / "app.db-wal"
    engine = open_database(f"sqlite:///{path}", background_checkpoint=True)
    checkpointer = Checkpointer(engine, interval=3600)  # only the explicit calls below
    try:
        with engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA wal_autocheckpoint").scalar() == 0
        for i in range(300):  # more than 1,000 WAL pages: SQLite would checkpoint at commit
            with engine.begin() as conn:
                conn.execute(
                    text("INSERT INTO review_log_mirror (seq, body, digest) VALUES (:i, :b, :d)"),
                    {"i": i + 1, "b": json.dumps({"pad": "x" * 12_000}), "d": f"{i:064d}"},
                )
        assert wal.stat().st_size > 1000 * 4096  # nothing checkpointed it on the way
        checkpointer.stop()
        assert wal.stat().st_size == 0  # TRUNCATE: the WAL is empty
        with engine.connect() as conn:
            assert conn.exec_driver_sql("SELECT count(*) FROM review_log_mirror").scalar() == 300
    finally:
        checkpointer.stop()
        engine.dispose()
    other = make_engine(f"sqlite:///{path}")  # the command line keeps SQLite's default
    try:
        with other.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA wal_autocheckpoint").scalar() == 1000
    finally:
        other.dispose()


@pytest.mark.parametrize(
    ("url", "words"),
    [
        ("not a url", "cannot be parsed"),
        ("postgresql+psycopg2://u@localhost/db", "psycopg 3"),
        ("mysql+pymysql://u@localhost/db", "only SQLite and PostgreSQL"),
    ],
)
def test_unusable_urls_are_refused_with_what_to_write(url: str, words: str) -> None:
    with pytest.raises(DatabaseError, match=words):
        make_engine(url)


def test_plain_postgresql_urls_use_psycopg_3() -> None:
    engine = make_engine("postgresql://u@localhost/db")
    assert engine.dialect.driver == "psycopg"
    engine.dispose()


def test_grant_app_role_is_postgresql_only(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'a.db'}")
    with pytest.raises(DatabaseError, match="only exists on PostgreSQL"):
        grant_app_role(engine, "vru_app")
    engine.dispose()


def drop_role(owner: Engine, role: str) -> None:
    """Remove a test's application role (and what it owns), then the owner's engine."""
    with owner.begin() as conn:
        conn.execute(text(f'DROP OWNED BY "{role}"'))
        conn.execute(text(f'DROP ROLE "{role}"'))
    owner.dispose()


def test_app_role_cannot_update_or_delete_the_audit_log(postgres_database: str) -> None:
    empty_postgres(postgres_database)
    owner = make_engine(postgres_database)
    role = f"vru_app_{secrets.token_hex(3)}"
    with pytest.raises(DatabaseError, match="not allowed"):
        grant_app_role(owner, "Robert'); DROP TABLE users;--")
    grant_app_role(owner, role)
    grant_app_role(owner, role)  # idempotent
    app_url = make_url(postgres_database).set(username=role, password=None)
    app = create_engine(app_url)
    try:
        with app.begin() as conn:  # SELECT and INSERT are allowed
            conn.execute(
                text(
                    "INSERT INTO audit_log (seq, at, username, role, purpose, route, prev_mac, "
                    "mac) VALUES (1, 'now', 'u', 'admin', 'test', '/', 'x', 'y')"
                )
            )
            assert conn.execute(text("SELECT count(*) FROM audit_log")).scalar() == 1
        with app.begin() as conn:  # the audit log's key segments: append-only too
            conn.execute(
                text(
                    "INSERT INTO audit_key_segments (segment, first_seq, fingerprint, at) "
                    "VALUES (1, 1, 'f', 'now')"
                )
            )
        for statement in (
            "UPDATE audit_log SET username = 'someone else'",
            "DELETE FROM audit_log",
            "TRUNCATE audit_log",
            "DROP TABLE audit_log",
            "UPDATE audit_key_segments SET fingerprint = 'g'",
            "DELETE FROM audit_key_segments",
            "UPDATE vru_alembic_version SET version_num = 'x'",
        ):
            with (
                pytest.raises(ProgrammingError, match=r"permission denied|must be owner"),
                app.begin() as conn,
            ):
                conn.execute(text(statement))
        with app.begin() as conn:  # normal DML elsewhere
            conn.execute(
                text(
                    "INSERT INTO flags (flag_id, person_id, as_of, expires, band, model_name, "
                    "model_version, content_hash, body, loaded_at) VALUES ('f', 'p', "
                    "'2026-01-01', '2026-02-01', 'b', 'm', 1, 'h', '{}', now())"
                )
            )
            conn.execute(text("UPDATE flags SET band = 'c' WHERE flag_id = 'f'"))
            conn.execute(text("DELETE FROM flags WHERE flag_id = 'f'"))
    finally:
        app.dispose()
        drop_role(owner, role)


def test_a_role_not_granted_the_new_tables_is_named_before_serving(
    postgres_database: str,
) -> None:
    """After an upgrade that adds tables, the restricted role lacks them until the grant is
    re-run: `missing_privileges` (checked by `vru serve`) names each missing right."""
    empty_postgres(postgres_database)
    owner = make_engine(postgres_database)
    role = f"vru_app_{secrets.token_hex(3)}"
    grant_app_role(owner, role)
    # as if the tables of 0002, 0003c and 0003d had come after the grant
    added = ("login_failures", "ended_sessions", "audit_key_segments", "login_known_clients")
    with owner.begin() as conn:
        for table in added:
            conn.execute(text(f'REVOKE ALL ON TABLE "{table}" FROM "{role}"'))
    app = create_engine(make_url(postgres_database).set(username=role, password=None))
    try:
        assert missing_privileges(owner) == []  # the owner has every right
        missing = missing_privileges(app)
        assert "SELECT on ended_sessions" in missing and "DELETE on login_failures" in missing
        assert "INSERT on audit_key_segments" in missing
        assert "UPDATE on login_known_clients" in missing
        assert not any("UPDATE on audit" in m or "DELETE on audit" in m for m in missing)
        assert not any(" audit_log" in m or "users" in m for m in missing)
        grant_app_role(owner, role)
        assert missing_privileges(app) == []
        with app.begin() as conn:  # the grant gives no UPDATE on the new tables
            conn.execute(text("INSERT INTO ended_sessions (csrf_sha256, issued) VALUES ('a', 1)"))
            with pytest.raises(ProgrammingError, match="permission denied"):
                conn.execute(text("UPDATE ended_sessions SET issued = 2"))
    finally:
        app.dispose()
        drop_role(owner, role)


def test_missing_privileges_and_connection_limit_are_postgresql_only(engine: Engine) -> None:
    if engine.dialect.name == "sqlite":
        assert missing_privileges(engine) == [] and connection_limit(engine) is None
    else:
        limit = connection_limit(engine)
        assert limit is not None and limit > 0
