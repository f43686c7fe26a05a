"""Access-log fixtures: the application-database fixtures of ``tests/serving/db`` (every test
runs on SQLite and on PostgreSQL)."""

from tests.serving.db.conftest import db_url, engine, postgres_database, sessions

# fixtures of tests/serving/db, used here too
__all__ = ["db_url", "engine", "postgres_database", "sessions"]
