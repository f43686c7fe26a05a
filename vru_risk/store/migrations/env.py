"""Alembic environment: run by :func:`vru_risk.store.engine.migrate` with a live connection.

No ``alembic.ini`` is needed: ``migrate`` builds the configuration in code and hands over its
connection in ``config.attributes["connection"]``. The version table is ``vru_alembic_version``
so that the database can be shared with other tools' migrations (MLflow keeps its own).
"""

from __future__ import annotations

from alembic import context
from sqlalchemy.engine import Connection

from vru_risk.store.engine import VERSION_TABLE
from vru_risk.store.models import Base


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        version_table=VERSION_TABLE,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


# Alembic's context exists only while a migration runs; importing this module otherwise (as
# pytest's doctest collection does) does nothing.
_config = getattr(context, "config", None)
if _config is not None:
    connection = _config.attributes.get("connection")
    if not isinstance(connection, Connection):
        raise RuntimeError(
            "run the migrations with `vru db upgrade` (or vru_risk.store.migrate), "
            "which passes the database connection in; alembic.ini is not used"
        )
    _run(connection)
