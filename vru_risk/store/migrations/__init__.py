"""Alembic migrations of the application database (run programmatically by ``migrate``)."""
