"""Flag views: a practitioner was shown a flag (its page, or the API's flag detail), acting for
one programme. The audit log records the person and the route of every view, not which flag was
opened; this table records the flag, so that monitoring can say which offers were opened before
they expired (:mod:`vru_risk.monitoring.decisions`).

A view is recorded only when the flag was shown (after its audit row; never for a 403 or 404),
never updated, and deleted with its flag by retention
(:func:`vru_risk.serving.retention.delete_flags_before`). Functions take a
:class:`~sqlalchemy.orm.Session` and never commit: the caller owns the transaction.

Example
-------
>>> from vru_risk.store import open_database, session_factory
>>> with session_factory(open_database("sqlite://"))() as session:
...     views_of(session, ["0a1b2c3d4e5f60718293"])
[]
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from vru_risk.store.models import FlagView, utcnow


@dataclass(frozen=True)
class ViewInfo:
    """One recorded view (who saw it is kept, but monitoring never reads it)."""

    flag_id: str
    programme_id: str
    user_id: int
    viewed_at: dt.datetime


def record_view(
    session: Session,
    *,
    flag_id: str,
    programme_id: str,
    user_id: int,
    at: dt.datetime | None = None,
) -> None:
    """Append that user ``user_id`` was shown flag ``flag_id`` acting for ``programme_id``
    (``at``: now by default)."""
    session.add(
        FlagView(
            flag_id=flag_id,
            programme_id=programme_id,
            user_id=user_id,
            viewed_at=at or utcnow(),
        )
    )
    session.flush()


def views_of(session: Session, flag_ids: Sequence[str]) -> list[ViewInfo]:
    """The views of some flags, oldest first."""
    if not flag_ids:
        return []
    rows = session.scalars(
        select(FlagView)
        .where(FlagView.flag_id.in_(list(flag_ids)))
        .order_by(FlagView.viewed_at, FlagView.id)
    )
    return [ViewInfo(r.flag_id, r.programme_id, r.user_id, r.viewed_at) for r in rows]
