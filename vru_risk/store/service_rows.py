"""What monitoring reads of the service from the application database: the offers of a model
version's flags, the practitioners' decisions on them, the views of them, and the flags
themselves (for their main reasons), each for a span of flag dates.

Rows carry the young person's pseudonymous id because monitoring counts *distinct people* to
suppress small cells; the monitoring report never shows it. Decisions and views are returned
whatever their time: monitoring keeps those recorded by its as-of date
(:mod:`vru_risk.monitoring.decisions`). Functions take a :class:`~sqlalchemy.orm.Session` and
only read.

Example
-------
>>> from vru_risk.store import open_database, session_factory
>>> with session_factory(open_database("sqlite://"))() as session:
...     offers_of_version(session, 3, dt.date(2026, 6, 1), dt.date(2026, 6, 28))
[]
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import ColumnElement, select
from sqlalchemy.orm import Session

from vru_risk.store.flag_store import published, shown
from vru_risk.store.models import DecisionRow, FlagProgramme, FlagRow, FlagView


@dataclass(frozen=True)
class Offer:
    """A flag offered to a programme."""

    flag_id: str
    programme_id: str
    person_id: str
    as_of: dt.date
    expires: dt.date
    band: str


@dataclass(frozen=True)
class DecisionEvent:
    """A recorded decision (``corrects``: the decision it corrects)."""

    id: int
    flag_id: str
    programme_id: str
    decision: str
    reason_code: str
    created_at: dt.datetime
    corrects: int | None


@dataclass(frozen=True)
class ViewEvent:
    flag_id: str
    programme_id: str
    viewed_at: dt.datetime


@dataclass(frozen=True)
class VersionFlag:
    """A flag and its stored body (its JSON as ``vru flags generate`` wrote it)."""

    flag_id: str
    person_id: str
    as_of: dt.date
    body: str


def _of_version(
    version: int, start: dt.date | None, end: dt.date, *, withdrawn: bool
) -> list[ColumnElement[bool]]:
    """Flags of ``version`` dated ``start`` (None: any) to ``end``, published, and (unless
    ``withdrawn``) not withdrawn."""
    out = [FlagRow.model_version == version, FlagRow.as_of <= end]
    if start is not None:
        out.append(FlagRow.as_of >= start)
    out.append(published() if withdrawn else shown())
    return out


def offers_of_version(
    session: Session, version: int, start: dt.date, end: dt.date, *, withdrawn: bool = False
) -> list[Offer]:
    """The offers (status ``offered``) of ``version``'s published flags dated ``start`` to
    ``end``; withdrawn flags' offers only when ``withdrawn`` (capacity counts them: their
    places were spent)."""
    rows = session.execute(
        select(
            FlagRow.flag_id,
            FlagProgramme.programme_id,
            FlagRow.person_id,
            FlagRow.as_of,
            FlagRow.expires,
            FlagRow.band,
        )
        .join(FlagProgramme, FlagProgramme.flag_id == FlagRow.flag_id)
        .where(
            FlagProgramme.status == "offered",
            *_of_version(version, start, end, withdrawn=withdrawn),
        )
        .order_by(FlagRow.as_of, FlagRow.flag_id, FlagProgramme.programme_id)
    ).all()
    return [Offer(*row) for row in rows]


def decisions_of_version(
    session: Session, version: int, start: dt.date, end: dt.date
) -> list[DecisionEvent]:
    """Every decision on ``version``'s shown flags dated ``start`` to ``end``, oldest first."""
    rows = session.execute(
        select(
            DecisionRow.id,
            DecisionRow.flag_id,
            DecisionRow.programme_id,
            DecisionRow.decision,
            DecisionRow.reason_code,
            DecisionRow.created_at,
            DecisionRow.corrects,
        )
        .join(FlagRow, FlagRow.flag_id == DecisionRow.flag_id)
        .where(*_of_version(version, start, end, withdrawn=False))
        .order_by(DecisionRow.created_at, DecisionRow.id)
    ).all()
    return [DecisionEvent(*row) for row in rows]


def views_of_version(
    session: Session, version: int, start: dt.date, end: dt.date
) -> list[ViewEvent]:
    """Every view of ``version``'s shown flags dated ``start`` to ``end``, oldest first."""
    rows = session.execute(
        select(FlagView.flag_id, FlagView.programme_id, FlagView.viewed_at)
        .join(FlagRow, FlagRow.flag_id == FlagView.flag_id)
        .where(*_of_version(version, start, end, withdrawn=False))
        .order_by(FlagView.viewed_at, FlagView.id)
    ).all()
    return [ViewEvent(*row) for row in rows]


def flags_of_version(session: Session, version: int, end: dt.date) -> list[VersionFlag]:
    """``version``'s shown flags dated up to ``end`` (its whole service so far), by date."""
    rows = session.execute(
        select(FlagRow.flag_id, FlagRow.person_id, FlagRow.as_of, FlagRow.body)
        .where(*_of_version(version, None, end, withdrawn=False))
        .order_by(FlagRow.as_of, FlagRow.flag_id)
    ).all()
    return [VersionFlag(*row) for row in rows]
