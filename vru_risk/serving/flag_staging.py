"""Large flag loads, staged and published: ``vru flags load``.

One load at a time per database (a second one is refused at once with :class:`LoadBusyError`).
The flags are checked as :mod:`~vru_risk.store.flag_loader` checks them, then *staged* under a
new ``flag_loads`` row in short transactions of :data:`BATCH` flags, so that practitioners'
decisions are recorded between them, and *published* in one short transaction that marks the
load published. Until then no staged flag is listed, shown or open to a decision
(:func:`~vru_risk.store.flag_store.shown`). A load that stops half-way (refused, interrupted,
killed) leaves only unpublished rows, which it, or the next load, discards.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack, contextmanager
from typing import Final

from sqlalchemy import Engine, delete, select, text, update

from vru_risk.file_lock import LockFileError, exclusive_lock
from vru_risk.flags.flag import Flag
from vru_risk.store.engine import lock_file_beside, session_factory
from vru_risk.store.flag_checks import FlagStoreError
from vru_risk.store.flag_loader import (
    LoadResult,
    already_stored,
    flag_rows,
    insert_rows,
    unique_flags,
)
from vru_risk.store.models import FlagLoad, FlagProgramme, FlagRow, utcnow

log = logging.getLogger("vru_risk.serving.flags")

#: Flags staged per transaction: each holds SQLite's write lock for about 0.1 s.
BATCH: Final = 1000
#: SQLite: the pause between two batches. Its busy handler retries a waiting writer (a
#: practitioner's decision, an audit row) at most every 100 ms, so a longer pause lets every
#: waiting writer in: none waits much longer than one batch.
SQLITE_PAUSE: Final = 0.11
_LOAD_LOCK_ID: Final = 7310004
_MEMORY_LOCK = threading.Lock()  # in-memory SQLite: one process, one database


class LoadBusyError(FlagStoreError):
    """Another ``vru flags load`` is running on the same database."""


@contextmanager
def load_lock(engine: Engine) -> Iterator[None]:
    """Hold the database's one flags-load lock, or raise :class:`LoadBusyError` at once.

    PostgreSQL: a session advisory lock on a connection kept for the load; a SQLite file: an
    exclusive ``flock`` on ``<database>.load-lock`` beside it. Both end with the process, so a
    killed load never blocks the next one.
    """
    if engine.dialect.name == "postgresql":
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            got = conn.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": _LOAD_LOCK_ID})
            if not got.scalar_one():
                raise _busy(engine)
            try:
                yield
            finally:
                conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": _LOAD_LOCK_ID})
        return
    path = lock_file_beside(engine, ".load-lock")
    if path is None:
        if not _MEMORY_LOCK.acquire(blocking=False):
            raise _busy(engine)
        try:
            yield
        finally:
            _MEMORY_LOCK.release()
        return
    with ExitStack() as held:
        try:
            held.enter_context(exclusive_lock(path, wait=False))
        except BlockingIOError:
            raise _busy(engine) from None
        except LockFileError as exc:
            raise FlagStoreError(
                f"the load lock {path} cannot be opened ({exc.strerror}); check that this user "
                "may create files beside the database"
            ) from None
        yield


def _busy(engine: Engine) -> LoadBusyError:
    with session_factory(engine)() as session:
        running = session.scalars(
            select(FlagLoad).where(FlagLoad.published_at.is_(None)).order_by(FlagLoad.id.desc())
        ).first()
    what = (
        ""
        if running is None
        else f" (load {running.id} of {running.source}, started "
        f"{running.started_at:%Y-%m-%d %H:%M} UTC by {running.operator})"
    )
    return LoadBusyError(
        f"another `vru flags load` is running on this database{what}; nothing was loaded. "
        "Wait for it to finish, then run this command again (a flag it already loaded is "
        "counted as already present)"
    )


def discard_unpublished(engine: Engine, load_ids: Sequence[int] | None = None) -> int:
    """Delete the staged rows of loads never published (all of them, or ``load_ids``) in short
    transactions, then the loads; returns how many flags were discarded. Only call it holding
    :func:`load_lock` (or for the caller's own load)."""
    writes = session_factory(engine, write=True)
    with writes.begin() as session:
        query = select(FlagLoad.id).where(FlagLoad.published_at.is_(None))
        if load_ids is not None:
            query = query.where(FlagLoad.id.in_(list(load_ids)))
        ids = list(session.scalars(query))
    discarded = 0
    pause = SQLITE_PAUSE if engine.dialect.name == "sqlite" else 0.0
    for load_id in ids:
        while True:
            if discarded:
                time.sleep(pause)  # let waiting writers in (see SQLITE_PAUSE)
            with writes.begin() as session:
                batch = list(
                    session.scalars(
                        select(FlagRow.flag_id).where(FlagRow.load_id == load_id).limit(BATCH)
                    )
                )
                if batch:
                    session.execute(delete(FlagProgramme).where(FlagProgramme.flag_id.in_(batch)))
                    session.execute(delete(FlagRow).where(FlagRow.flag_id.in_(batch)))
                else:
                    session.execute(delete(FlagLoad).where(FlagLoad.id == load_id))
            discarded += len(batch)
            if not batch:
                break
    return discarded


def load_flags_staged(
    engine: Engine,
    flags: Sequence[Flag],
    *,
    source: str,
    operator: str,
    today: dt.date | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> LoadResult:
    """Stage the flags in batches and publish them together (see the module's docstring).

    ``source`` (the file) and ``operator`` are kept with the load. ``progress(staged, total)``
    is called after each batch. Raises :class:`LoadBusyError` while another load runs, and
    :class:`FlagStoreError` for flags that cannot be stored; either way nothing is published.
    """
    incoming = unique_flags(flags, today or dt.date.today())
    with load_lock(engine):
        discarded = discard_unpublished(engine)
        with session_factory(engine)() as session:
            present, withdrawn = already_stored(session, incoming)
        new = [f for i, f in incoming.items() if i not in present]
        load_id: int | None = None
        if new:
            load_id = _stage(engine, new, source=source, operator=operator, progress=progress)
    if discarded:
        log.warning("discarded %d staged flag(s) of unfinished loads", discarded)
    return LoadResult(
        inserted=len(new),
        already_present=len(present),
        withdrawn_present=withdrawn,
        load_id=load_id,
        discarded=discarded,
    )


def _stage(
    engine: Engine,
    new: Sequence[Flag],
    *,
    source: str,
    operator: str,
    progress: Callable[[int, int], None] | None,
) -> int:
    writes = session_factory(engine, write=True)
    with writes.begin() as session:
        load = FlagLoad(source=source[-255:], operator=operator[:64], staged=len(new))
        session.add(load)
        session.flush()
        load_id = load.id
    try:
        pause = SQLITE_PAUSE if engine.dialect.name == "sqlite" else 0.0
        committed = 0.0
        for start in range(0, len(new), BATCH):
            rows, offers = flag_rows(new[start : start + BATCH], load_id=load_id)
            time.sleep(max(0.0, committed + pause - time.monotonic()))
            with writes.begin() as session:
                insert_rows(session, rows, offers)
            committed = time.monotonic()
            if progress is not None:
                progress(min(start + BATCH, len(new)), len(new))
        with writes.begin() as session:  # publishing: one row, one short transaction
            session.execute(
                update(FlagLoad)
                .where(FlagLoad.id == load_id, FlagLoad.published_at.is_(None))
                .values(published_at=utcnow())
            )
    except BaseException:
        try:
            discard_unpublished(engine, [load_id])
        except Exception as exc:  # the next load discards them
            log.error("staged flags of load %d could not be discarded: %s", load_id, exc)
        raise
    return load_id
