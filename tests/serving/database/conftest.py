"""Database tests of the service's own modules (staged loading, retention, login and request
limits, the administration commands): the application-database fixtures of ``tests/store``
(every test runs on SQLite and on PostgreSQL)."""

from tests.store.conftest import db_url, engine, postgres_database, sessions

# fixtures of tests/store, used here too
__all__ = ["db_url", "engine", "postgres_database", "sessions"]
