"""Loading flags: reading a flags file, checking every flag, storing them all or none.

:func:`read_flags_jsonl` refuses a file (naming it and each bad line) unless every line is a
flag that can be stored and shown (:mod:`~vru_risk.store.flag_checks`). :func:`load_flags`
adds flags in the caller's transaction, published at once (small sets: tests, fixtures);
``vru flags load`` stages large files instead (:mod:`~vru_risk.serving.flag_staging`), with the
same checks and rows (:func:`unique_flags`, :func:`already_stored`, :func:`flag_rows`).

Both are idempotent by flag id: a flag stored with the same content is counted as already
present (a withdrawn one stays withdrawn); one stored with different content refuses the load.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from pydantic import ValidationError
from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from vru_risk.flags.flag import Flag
from vru_risk.flags.ledger import FlagsFileError, date_problem, read_flags_file
from vru_risk.store.flag_checks import FlagStoreError, column_problem, storage_problem
from vru_risk.store.models import FlagProgramme, FlagRow, utcnow

_SHOWN_ERRORS: Final = 10
_CHUNK: Final = 500


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


def read_flags_jsonl(path: Path, *, today: dt.date | None = None) -> list[Flag]:
    """Every line of a flags JSONL file validated; errors name the file and line numbers.

    Blank lines are skipped; a file without a flag is refused. Nothing is returned unless every
    line is a flag that can be stored and shown on ``today`` (default the real date): the rules
    of :func:`~vru_risk.flags.ledger.read_flags_file` (finite numbers, no control characters, an
    as_of not after today, an expiry not before the as_of, one content per flag id) and ids the
    database and audit log accept.
    """
    try:
        flags = read_flags_file(
            path,
            today=today or dt.date.today(),
            check=column_problem,
            summary="{count} bad line(s); nothing was loaded",
            advice="Regenerate the file with `vru flags generate` or fix those lines.",
            shown=_SHOWN_ERRORS,
        )
    except FlagsFileError as exc:
        raise FlagStoreError(str(exc)) from None
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
