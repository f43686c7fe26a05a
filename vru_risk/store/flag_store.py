"""Flags and their programme lists in the application database (practitioners' decisions on
them: :mod:`~vru_risk.store.decisions`).

A flag is stored whole (its JSON, exactly as ``vru flags generate`` wrote it) beside the columns
the service filters on; ``flag_programmes`` lists each programme it is offered to with its rank,
so that a programme's list is one indexed query.

Functions take a :class:`~sqlalchemy.orm.Session` and never commit: the caller owns the
transaction. Redaction by programme (:meth:`Flag.for_programme`) and audit logging are the
caller's job: these functions return full flags.

One visibility rule (:func:`shown`): a flag is shown once published (its load finished, see
:mod:`~vru_risk.serving.flag_staging`) and until withdrawn (``vru flags withdraw``); lists also
apply the display period. A stored flag that can no longer be shown safely (a body that does
not parse, e.g. a non-finite number stored as null; an id longer than the audit log accepts; a
control character) is left out with a logged warning naming its flag id, never its person id.

Example
-------
>>> Withdrawal(dt.datetime(2026, 3, 2, 9, 30), "sent in error", "admin").sentence("0a1b")
'flag 0a1b was withdrawn on 2026-03-02 at 09:30 UTC: sent in error'
"""

from __future__ import annotations

import datetime as dt
import functools
import logging
from collections import Counter
from dataclasses import dataclass, field

from pydantic import ValidationError
from sqlalchemy import ColumnElement, and_, func, or_, select
from sqlalchemy.orm import InstrumentedAttribute, Session

from vru_risk.flags import ledger
from vru_risk.flags.flag import Flag
from vru_risk.flags.programmes import Programme, Programmes, load_programmes
from vru_risk.pydantic_errors import error_location
from vru_risk.store.flag_checks import FlagStoreError as FlagStoreError
from vru_risk.store.flag_checks import storage_problem
from vru_risk.store.flag_loader import LoadResult as LoadResult
from vru_risk.store.flag_loader import load_flags as load_flags
from vru_risk.store.flag_loader import read_flags_jsonl as read_flags_jsonl
from vru_risk.store.models import DecisionRow, FlagLoad, FlagProgramme, FlagRow

# FlagStoreError, LoadResult, load_flags and read_flags_jsonl are re-exported where callers have
# always found them: loading lives in flag_loader, the checks (and that error) in flag_checks

log = logging.getLogger("vru_risk.serving.flags")


@dataclass(frozen=True)
class Withdrawal:
    """When, why and by whom (the operating-system account) a flag was withdrawn."""

    at: dt.datetime
    reason: str
    by: str

    def sentence(self, flag_id: str) -> str:
        return (
            f"flag {flag_id} was withdrawn on {self.at:%Y-%m-%d} at {self.at:%H:%M} UTC: "
            f"{self.reason}"
        )


@dataclass(frozen=True)
class StoredFlag:
    """A published flag (full, not redacted) and its withdrawal, if it was withdrawn."""

    flag: Flag
    withdrawal: Withdrawal | None


@dataclass(frozen=True)
class Aggregates:
    """Counts only: never a person id.

    ``decisions_by_programme_kind`` counts each flag's current decision per programme (a
    decision that a later one corrects is not counted).
    """

    today: dt.date | None
    flags_by_programme_band: dict[str, dict[str, int]]
    decisions_by_programme_kind: dict[str, dict[str, int]]
    flags_by_model_version: dict[int, int]
    total_flags: int
    #: distinct young people behind each count above (what suppression of small cells counts)
    people_by_programme_band: dict[str, dict[str, int]] = field(default_factory=dict)
    people_by_programme_kind: dict[str, dict[str, int]] = field(default_factory=dict)
    people_by_model_version: dict[int, int] = field(default_factory=dict)
    total_people: int = 0


@functools.lru_cache(maxsize=8192)
def _to_flag(body: str) -> Flag:
    """A stored flag's JSON as a Flag (flags are immutable: each body is parsed once)."""
    return Flag.model_validate_json(body)


def published() -> ColumnElement[bool]:
    """Flags whose load was published (or that were loaded before loads were staged)."""
    unpublished = select(FlagLoad.id).where(FlagLoad.published_at.is_(None))
    return or_(FlagRow.load_id.is_(None), FlagRow.load_id.not_in(unpublished))


def shown() -> ColumnElement[bool]:
    """The visibility rule of stored flags: published and not withdrawn (lists, the single
    flag and decisions follow it; lists add the display period)."""
    return and_(published(), FlagRow.withdrawn_at.is_(None))


@functools.lru_cache(maxsize=8192)
def _showable(body: str) -> Flag | str:
    """A stored flag, or why it cannot be shown (never quoting its values)."""
    try:
        flag = _to_flag(body)
    except ValidationError as exc:
        where = ", ".join(
            f"{error_location(e['loc'], default='body')} ({e['type']})" for e in exc.errors()[:3]
        )
        return f"its stored body does not parse as a flag: {where}"
    return storage_problem(flag, body) or flag


def _usable(flag_id: str, body: str, where: str) -> Flag | None:
    found = _showable(body)
    if isinstance(found, str):
        log.warning("flag %s is left out of %s: %s", flag_id[:64], where, found)
        return None
    return found


def published_flag_column(
    session: Session, flag_id: str, column: InstrumentedAttribute[str]
) -> tuple[str, Withdrawal | None] | None:
    """``column`` of the published flag ``flag_id`` (withdrawn or not) and its withdrawal, or
    None when there is no such flag or it is still being loaded."""
    row = session.execute(
        select(column, FlagRow.withdrawn_at, FlagRow.withdrawn_reason, FlagRow.withdrawn_by).where(
            FlagRow.flag_id == flag_id, published()
        )
    ).first()
    if row is None:
        return None
    return row[0], _withdrawal(row.withdrawn_at, row.withdrawn_reason, row.withdrawn_by)


def _withdrawal(at: dt.datetime | None, reason: str | None, by: str | None) -> Withdrawal | None:
    """A stored flag's withdrawal columns as a :class:`Withdrawal`, or None (not withdrawn)."""
    return None if at is None else Withdrawal(at, reason or "", by or "")


def stored_flag(session: Session, flag_id: str) -> StoredFlag | None:
    """A published flag, withdrawn or not, or None (unknown, still being loaded, or stored in
    a form that cannot be shown: logged)."""
    found = published_flag_column(session, flag_id, FlagRow.body)
    if found is None:
        return None
    body, withdrawal = found
    flag = _usable(flag_id, body, "the flag's page")
    if flag is None:
        return None
    return StoredFlag(flag, withdrawal)


def get_flag(session: Session, flag_id: str) -> Flag | None:
    """The full flag (not redacted) if it is shown (:func:`shown`), or None."""
    found = stored_flag(session, flag_id)
    return None if found is None or found.withdrawal is not None else found.flag


@functools.lru_cache(maxsize=8192)
def _redacted(body: str, programme: Programme) -> Flag:
    """A stored flag as ``programme`` may see it (each body is redacted once per programme)."""
    return _to_flag(body).for_programme(programme)


def display_period(today: dt.date, visible_days: int) -> tuple[dt.date, dt.date]:
    """The as_of days of the flags listed on ``today``: ``visible_days`` back to ``today``,
    inclusive (a flag is listed too only until its ``expires`` day)."""
    return today - dt.timedelta(days=visible_days), today


def visible(flag: Flag, today: dt.date | None, visible_days: int) -> bool:
    """Whether a flag is still listed on ``today`` (the rule :func:`flags_for_programme`
    applies in the database): its as_of within :func:`display_period`, not expired."""
    if today is None:
        return False
    earliest, latest = display_period(today, visible_days)
    return earliest <= flag.as_of <= latest and flag.expires >= today


def flags_for_programme(
    session: Session,
    programme_id: str,
    *,
    today: dt.date,
    visible_days: int,
    redact_for: Programme | None = None,
) -> list[Flag]:
    """Flags offered to a programme, as_of within ``visible_days`` of ``today`` and not expired,
    by rank. Full flags, or redacted with ``Flag.for_programme`` when ``redact_for`` is given.

    A flag is listed from its as_of day until ``visible_days`` days later (inclusive) or its
    ``expires`` day, whichever comes first; flags dated after ``today``, not yet published or
    withdrawn are not listed, nor (with a logged warning) flags stored in a form that cannot be
    shown.
    """
    if redact_for is not None and redact_for.id != programme_id:
        raise ValueError(f"flags of {programme_id!r} cannot be redacted for {redact_for.id!r}")
    earliest, latest = display_period(today, visible_days)
    rows = session.execute(
        select(FlagRow.flag_id, FlagRow.body)
        .join(FlagProgramme, FlagProgramme.flag_id == FlagRow.flag_id)
        .where(
            FlagProgramme.programme_id == programme_id,
            FlagProgramme.status == "offered",
            FlagRow.as_of >= earliest,
            FlagRow.as_of <= latest,
            FlagRow.expires >= today,
            shown(),
        )
        .order_by(
            FlagProgramme.rank.is_(None),
            FlagProgramme.rank,
            FlagRow.as_of.desc(),
            FlagRow.flag_id,
        )
    )
    where = f"the list of {programme_id}"
    usable = [(body, flag) for flag_id, body in rows if (flag := _usable(flag_id, body, where))]
    if redact_for is None:
        return [flag for _, flag in usable]
    return [_redacted(body, redact_for) for body, _ in usable]


def stored_flags_of_moment(
    session: Session, person_id: str, as_of: dt.date
) -> list[tuple[str, StoredFlag]]:
    """Every published flag of ``person_id`` known on ``as_of``, withdrawn or not, by flag id
    (flags of several model versions may share a moment), in one query; whether one is shown
    is the caller's rule. A body that cannot be shown is left out (logged, as
    :func:`stored_flag` does)."""
    rows = session.execute(
        select(
            FlagRow.flag_id,
            FlagRow.body,
            FlagRow.withdrawn_at,
            FlagRow.withdrawn_reason,
            FlagRow.withdrawn_by,
        )
        .where(FlagRow.person_id == person_id, FlagRow.as_of == as_of, published())
        .order_by(FlagRow.flag_id)
    ).all()
    found = []
    for flag_id, body, at, reason, by in rows:
        flag = _usable(flag_id, body, "scoring")
        if flag is not None:
            found.append((flag_id, StoredFlag(flag, _withdrawal(at, reason, by))))
    return found


def capacity_used(
    session: Session, programme_id: str, day: dt.date, *, programmes: Programmes | None = None
) -> int:
    """Flags offered to the programme in its capacity period holding ``day``: the published
    offers' dates, counted by :func:`vru_risk.flags.ledger.capacity_used`."""
    configured = programmes or load_programmes()
    try:
        programme = configured.by_id(programme_id)
    except KeyError as exc:
        raise FlagStoreError(str(exc.args[0])) from None
    offers = session.execute(
        select(FlagRow.as_of, func.count())
        .select_from(FlagProgramme)
        .join(FlagRow, FlagRow.flag_id == FlagProgramme.flag_id)
        .where(
            FlagProgramme.programme_id == programme_id,
            FlagProgramme.status == "offered",
            published(),
        )
        .group_by(FlagRow.as_of)
    )
    dates = (as_of for as_of, count in offers for _ in range(count))
    return ledger.capacity_used(dates, programme, day)


def latest_as_of(session: Session) -> dt.date | None:
    """The newest as_of among shown flags (:func:`shown`: published, not withdrawn), so that
    withdrawing a mistaken load (a stray flag dated later than the extract) gives the lists
    back their previous "today"."""
    value = session.scalar(select(func.max(FlagRow.as_of)).where(shown()))
    return value if isinstance(value, dt.date) else None


def aggregates(session: Session, *, today: dt.date | None) -> Aggregates:
    """Counts of flags by programme and band, decisions by programme and kind, model versions,
    each with the number of distinct young people behind it."""
    by_band: dict[str, dict[str, int]] = {}
    people_band: dict[str, dict[str, int]] = {}
    for programme, band, n, people in session.execute(
        select(
            FlagProgramme.programme_id,
            FlagRow.band,
            func.count(),
            func.count(func.distinct(FlagRow.person_id)),
        )
        .join(FlagRow, FlagRow.flag_id == FlagProgramme.flag_id)
        .where(FlagProgramme.status == "offered", published())
        .group_by(FlagProgramme.programme_id, FlagRow.band)
    ):
        by_band.setdefault(programme, {})[band] = int(n)
        people_band.setdefault(programme, {})[band] = int(people)
    corrected = select(DecisionRow.corrects).where(DecisionRow.corrects.is_not(None))
    by_kind: dict[str, dict[str, int]] = {}
    people_kind: dict[str, dict[str, int]] = {}
    for programme, kind, n, people in session.execute(
        select(
            DecisionRow.programme_id,
            DecisionRow.decision,
            func.count(),
            func.count(func.distinct(FlagRow.person_id)),
        )
        .join(FlagRow, FlagRow.flag_id == DecisionRow.flag_id, isouter=True)
        .where(DecisionRow.id.not_in(corrected))
        .group_by(DecisionRow.programme_id, DecisionRow.decision)
    ):
        by_kind.setdefault(programme, {})[kind] = int(n)
        people_kind.setdefault(programme, {})[kind] = int(people)
    versions = Counter[int]()
    people_version: dict[int, int] = {}
    for version, n, people in session.execute(
        select(FlagRow.model_version, func.count(), func.count(func.distinct(FlagRow.person_id)))
        .where(published())
        .group_by(FlagRow.model_version)
    ):
        versions[int(version)] = int(n)
        people_version[int(version)] = int(people)
    total_people = session.scalar(
        select(func.count(func.distinct(FlagRow.person_id))).where(published())
    )
    return Aggregates(
        today=today,
        flags_by_programme_band=by_band,
        decisions_by_programme_kind=by_kind,
        flags_by_model_version=dict(sorted(versions.items())),
        total_flags=sum(versions.values()),
        people_by_programme_band=people_band,
        people_by_programme_kind=people_kind,
        people_by_model_version=dict(sorted(people_version.items())),
        total_people=int(total_people or 0),
    )
