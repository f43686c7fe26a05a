"""A programme's list of today's flags, shared by the list page and the API: the flags shown
(redacted to the programme, one audit row per young person listed), the capacity used and left
in the current period, and how the day's offers were chosen, in words."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from fastapi import Request
from sqlalchemy.orm import Session

from vru_risk.flags.allocate import how_chosen
from vru_risk.flags.flag import Flag
from vru_risk.flags.programmes import Programme
from vru_risk.serving.access_log.log import AuditLog
from vru_risk.serving.deps import AppState
from vru_risk.serving.routes.common import acting_programme, audit_views, service_today
from vru_risk.store.flag_store import capacity_used, flags_for_programme
from vru_risk.store.users import UserInfo


@dataclass(frozen=True)
class ProgrammeList:
    """One programme's list: its flags shown today, the service's today, the places used and
    left in the current period and how the day's offers were chosen."""

    programme: Programme
    today: dt.date | None
    flags: list[Flag]
    used: int
    places_left: int
    how_chosen: str

    def in_period(self, flag: Flag) -> bool:
        """Whether the flag was offered in the programme's current capacity period (the period
        whose places :attr:`used` counts)."""
        if self.today is None:
            return False
        start = self.programme.period_start(self.today)
        return start <= flag.as_of <= self.programme.period_end(self.today)

    @property
    def listed_this_period(self) -> int:
        """Offers listed that count against this period's places (the rows the capacity line
        speaks of; fewer than :attr:`used` when some were withdrawn or are no longer shown)."""
        return sum(
            1
            for f in self.flags
            if self.in_period(f)
            and any(
                o.programme == self.programme.id and o.status == "offered" for o in f.programmes
            )
        )


def how_offers_chosen(
    prog: Programme, today: dt.date | None, shown: Sequence[Flag], used: int
) -> tuple[int, str]:
    """The places left in the programme's current period and how the day's offers were
    chosen (its policy and the percentile they cleared, from the newest day's offers shown),
    in words (:func:`vru_risk.flags.allocate.how_chosen`)."""
    left = max(prog.capacity - used, 0)
    offers = [
        o
        for f in shown
        if f.as_of == today
        for o in f.programmes
        if o.programme == prog.id and o.status == "offered"
    ]
    policy = offers[0].policy if offers and offers[0].policy else prog.policy
    threshold = offers[0].threshold if offers else None
    return left, how_chosen(prog, policy, threshold, left)


def programme_list(
    request: Request,
    state: AppState,
    db: Session,
    user: UserInfo,
    audit: AuditLog,
    programme: str | None,
) -> ProgrammeList:
    """Today's flags of one of ``user``'s programmes, redacted to it, with one audit row per
    young person listed."""
    prog = acting_programme(state, user, programme)
    today = service_today(db)
    found = (
        []
        if today is None
        else flags_for_programme(
            db,
            prog.id,
            today=today,
            visible_days=state.settings.flag_visible_days,
            redact_for=prog,
        )
    )
    audit_views(audit, request, user, found, f"list flags: {prog.id}")
    used = 0 if today is None else capacity_used(db, prog.id, today, programmes=state.programmes)
    left, chosen = how_offers_chosen(prog, today, found, used)
    return ProgrammeList(prog, today, found, used, left, chosen)
