"""The locks the audit log's writers queue on, so that concurrent writers leave one gapless chain.

Threads of one process queue on a thread lock (:class:`~vru_risk.serving.access_log.log.AuditLog`
holds it); processes writing to a SQLite file's log (``vru serve --workers N``, a command beside
the server) on an exclusive lock of a file beside the database (:func:`process_lock`), which
wakes the next writer at once where SQLite's busy handler would poll with sleeps of up to 100 ms;
PostgreSQL on an advisory lock taken in the writing transaction (:data:`ADVISORY_LOCK_ID`).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Final

from sqlalchemy import Engine

from vru_risk.file_lock import LockFailedError, exclusive_lock
from vru_risk.serving.access_log.records import AuditLogError
from vru_risk.store.engine import lock_file_beside

#: PostgreSQL: the advisory lock every transaction appending audit rows takes first.
ADVISORY_LOCK_ID: Final = 7310003


def process_lock_path(engine: Engine) -> Path | None:
    """The file whose lock the processes writing to a SQLite file's audit log queue on: the
    database file's resolved path + ``.audit-lock``; None for in-memory SQLite, ``file:`` URIs
    (SQLite's own locking then) and PostgreSQL (its advisory lock waits without polling).

    >>> from vru_risk.store import make_engine
    >>> str(process_lock_path(make_engine("sqlite:////srv/vru/../vru/app.db")))
    '/srv/vru/app.db.audit-lock'
    >>> process_lock_path(make_engine("sqlite://")) is None
    True
    """
    return lock_file_beside(engine, ".audit-lock")


@contextmanager
def process_lock(path: Path | None) -> Iterator[None]:
    """Hold the lock of ``path`` (none to hold when None); :class:`AuditLogError` saying what
    to check when it cannot be opened or locked."""
    if path is None:
        yield
        return
    with ExitStack() as held:
        try:
            held.enter_context(exclusive_lock(path))
        except LockFailedError as exc:
            raise AuditLogError(
                f"the audit log's lock file {path} cannot be locked ({exc})"
            ) from None
        except OSError as exc:
            raise AuditLogError(
                f"the audit log's lock file {path} cannot be opened ({exc}); check that the "
                "server's user may create and read files beside the database"
            ) from None
        yield
