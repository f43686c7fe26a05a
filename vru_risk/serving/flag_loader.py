"""Loading flags: reading a flags file, checking every flag, and storing them all or none.

:func:`read_flags_jsonl` refuses a file (naming it and each bad line) unless every line is a
flag that can be stored and shown (:mod:`~vru_risk.serving.flag_checks`). Two ways to store:

- :func:`load_flags` adds flags in the caller's transaction, published at once (small sets:
  tests, fixtures).
- :func:`load_flags_staged` is ``vru flags load``: one load at a time per database (a second
  one is refused with :class:`LoadBusyError`); flags are *staged* under a new ``flag_loads``
  row in short transactions of :data:`BATCH` flags, so practitioners' decisions are recorded
  between them, and *published* in one short transaction that marks the load published. Until
  then no staged flag is listed, shown or open to a decision. A load that stops half-way
  (refused, interrupted, killed) leaves only unpublished rows, which it or the next load
  discards.

Both are idempotent by flag id: a flag stored with the same content is counted as already
present (a withdrawn one stays withdrawn); one stored with different content refuses the load.
"""

from __future__ import annotations

import datetime as dt
import fcntl
import logging
import os
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from pydantic import ValidationError
from sqlalchemy import Engine, delete, insert, select, text, update
from sqlalchemy.orm import Session

from vru_risk.models.flag import Flag
from vru_risk.serving.db.engine import session_factory
from vru_risk.serving.db.models import FlagLoad, FlagProgramme, FlagRow, utcnow
from vru_risk.serving.flag_checks import FlagStoreError, date_problem, storage_problem

log = logging.getLogger("vru_risk.serving.flags")

#: Flags staged per transaction: each holds SQLite's write lock for about 0.1 s.
BATCH: Final = 1000
#: SQLite: the pause between two batches. Its busy handler retries a waiting writer (a
#: practitioner's decision, an audit row) at most every 100 ms, so a longer pause lets every
#: waiting writer in: none waits much longer than one batch.
SQLITE_PAUSE: Final = 0.11
_SHOWN_ERRORS: Final = 10
_CHUNK: Final = 500
_LOAD_LOCK_ID: Final = 7310004
_MEMORY_LOCK = threading.Lock()  # in-memory SQLite: one process, one database


class LoadBusyError(FlagStoreError):
    """Another ``vru flags load`` is running on the same database."""


@dataclass(frozen=True)
class LoadResult:
    """How many flags were new, how many were already stored with the same content (of them,
    how many are withdrawn), the load that published them, and how many staged rows of
    earlier, unfinished loads were discarded first."""

    inserted: int
    already_present: int
    withdrawn_present: int = 0
    load_id: int | None = None
    discarded: int = 0


def _problem_list(path: Path, problems: list[str]) -> FlagStoreError:
    shown = "\n".join(f"  - {p}" for p in problems[:_SHOWN_ERRORS])
    rest = len(problems) - _SHOWN_ERRORS
    return FlagStoreError(
        f"{path}: {len(problems)} bad line(s); nothing was loaded:\n{shown}"
        + (f"\n  ... and {rest} more" if rest > 0 else "")
        + "\nRegenerate the file with `vru flags generate` or fix those lines."
    )


def read_flags_jsonl(path: Path, *, today: dt.date | None = None) -> list[Flag]:
    """Every line of a flags JSONL file validated; errors name the file and line numbers.

    Blank lines are skipped; a file without a flag is refused. Nothing is returned unless every
    line is a flag that can be stored and shown on ``today`` (default the real date): finite
    numbers, ids the database and audit log accept, no control characters, an as_of not after
    today and an expiry not before the as_of. A flag id given twice with different content is
    refused.
    """
    try:
        content = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise FlagStoreError(
            f"{path} does not exist; give the file `vru flags generate` wrote"
        ) from None
    except IsADirectoryError:
        raise FlagStoreError(f"{path} is a folder; give the flags .jsonl file in it") from None
    except UnicodeDecodeError as exc:
        raise FlagStoreError(
            f"{path} is not UTF-8 text ({exc.reason}); is it a JSONL file?"
        ) from None
    except OSError as exc:
        raise FlagStoreError(
            f"{path} cannot be read ({exc.strerror}); check its permissions"
        ) from None
    day = today or dt.date.today()
    flags: list[Flag] = []
    problems: list[str] = []
    seen: dict[str, tuple[int, Flag]] = {}
    for number, line in enumerate(content.splitlines(), 1):
        if not line.strip():
            continue
        try:
            flag = Flag.model_validate_json(line)
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(p) for p in first["loc"]) or "line"
            more = f" (and {exc.error_count() - 1} more)" if exc.error_count() > 1 else ""
            problems.append(f"line {number}: {where}: {first['msg']}{more}")
            continue
        problem = storage_problem(flag, line) or date_problem(flag, day)
        if problem is not None:
            problems.append(f"line {number}: {problem}")
            continue
        earlier = seen.get(flag.flag_id)
        if earlier is not None:
            if earlier[1] != flag:
                problems.append(
                    f"line {number}: flag {flag.flag_id} was already on line {earlier[0]} with "
                    "different content"
                )
            continue
        seen[flag.flag_id] = (number, flag)
        flags.append(flag)
    if problems:
        raise _problem_list(path, problems)
    if not flags:
        raise FlagStoreError(
            f"no flags in {path}: the file is empty or holds only blank lines. Give the file "
            "`vru flags generate` wrote (a day without flags needs no load)"
        )
    return flags


def unique_flags(flags: Iterable[Flag], today: dt.date) -> dict[str, Flag]:
    """The flags by id, each checked as :func:`read_flags_jsonl` checks a line; a refused set
    raises :class:`FlagStoreError` naming the first problems."""
    incoming: dict[str, Flag] = {}
    problems: list[str] = []
    for flag in flags:
        known = incoming.get(flag.flag_id)
        if known is not None and known != flag:
            raise FlagStoreError(
                f"flag {flag.flag_id} is given twice with different content; nothing was loaded"
            )
        problem = storage_problem(flag) or date_problem(flag, today)
        if problem is not None:
            problems.append(f"flag {flag.flag_id[:64]}: {problem}")
        incoming[flag.flag_id] = flag
    if problems:
        raise FlagStoreError(
            f"{len(problems)} flag(s) cannot be stored; nothing was loaded: "
            + "; ".join(problems[:_SHOWN_ERRORS])
        )
    return incoming


def already_stored(session: Session, incoming: dict[str, Flag]) -> tuple[set[str], int]:
    """The ids of ``incoming`` already stored with the same content, and how many of those
    are withdrawn; refuses (FlagStoreError) when any is stored with different content."""
    ids = list(incoming)
    present: set[str] = set()
    withdrawn = 0
    conflicts: list[str] = []
    for start in range(0, len(ids), _CHUNK):
        chunk = ids[start : start + _CHUNK]
        for flag_id, body, withdrawn_at in session.execute(
            select(FlagRow.flag_id, FlagRow.body, FlagRow.withdrawn_at).where(
                FlagRow.flag_id.in_(chunk)
            )
        ):
            try:
                same = Flag.model_validate_json(body) == incoming[flag_id]
            except ValidationError:  # a damaged stored body: not the same content
                same = False
            if same:
                present.add(flag_id)
                withdrawn += withdrawn_at is not None
            else:
                conflicts.append(flag_id)
    if conflicts:
        raise FlagStoreError(
            f"{len(conflicts)} flag id(s) are already stored with different content (first: "
            f"{', '.join(sorted(conflicts)[:5])}); a flag id names one person, day and model, so "
            "this file was not made by the same model files. Nothing was loaded."
        )
    return present, withdrawn


def flag_rows(
    flags: Sequence[Flag], *, load_id: int | None
) -> tuple[list[dict[str, object]], list[dict[str, object]]]:
    """The ``flags`` and ``flag_programmes`` rows of ``flags`` (prepared before a transaction
    opens, so that it only inserts)."""
    now = utcnow()
    rows: list[dict[str, object]] = [
        {
            "flag_id": f.flag_id,
            "person_id": f.person_id,
            "as_of": f.as_of,
            "expires": f.expires,
            "band": f.band,
            "model_name": f.scoring_model.name,
            "model_version": f.scoring_model.version,
            "content_hash": f.scoring_model.content_hash,
            "body": f.model_dump_json(),
            "loaded_at": now,
            "load_id": load_id,
        }
        for f in flags
    ]
    offers: list[dict[str, object]] = [
        {"flag_id": f.flag_id, "programme_id": o.programme, "status": o.status, "rank": o.rank}
        for f in flags
        for o in f.programmes
    ]
    return rows, offers


def insert_rows(
    session: Session, rows: list[dict[str, object]], offers: list[dict[str, object]]
) -> None:
    """Insert prepared :func:`flag_rows` (one multi-row statement per table)."""
    if rows:
        session.execute(insert(FlagRow), rows)
    if offers:
        session.execute(insert(FlagProgramme), offers)


def load_flags(
    session: Session, flags: Iterable[Flag], *, today: dt.date | None = None
) -> LoadResult:
    """Insert flags idempotently by flag_id in the caller's transaction, published at once.

    Every flag is checked first (as of ``today``, default the real date), so a refused load
    adds nothing. For large files use :func:`load_flags_staged`.
    """
    incoming = unique_flags(flags, today or dt.date.today())
    present, withdrawn = already_stored(session, incoming)
    insert_rows(
        session, *flag_rows([f for i, f in incoming.items() if i not in present], load_id=None)
    )
    return LoadResult(
        inserted=len(incoming) - len(present),
        already_present=len(present),
        withdrawn_present=withdrawn,
    )


def _lock_path(engine: Engine) -> Path | None:
    database = engine.url.database if engine.dialect.name == "sqlite" else None
    if not database or database == ":memory:" or database.startswith("file:"):
        return None
    path = Path(database).resolve()
    return path.with_name(path.name + ".load-lock")


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
    path = _lock_path(engine)
    if path is None:
        if not _MEMORY_LOCK.acquire(blocking=False):
            raise _busy(engine)
        try:
            yield
        finally:
            _MEMORY_LOCK.release()
        return
    try:
        fd = os.open(path, os.O_RDONLY | os.O_CREAT, 0o600)
    except OSError as exc:
        raise FlagStoreError(
            f"the load lock {path} cannot be opened ({exc.strerror}); check that this user may "
            "create files beside the database"
        ) from None
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise _busy(engine) from None
        yield
    finally:
        os.close(fd)  # closing releases the lock


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
