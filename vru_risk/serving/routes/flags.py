"""``/api/v1/flags``: today's flags of a programme, one flag, its decisions (practitioners).

Every flag returned is redacted to the sources the practitioner's programme may see, and every
individual returned is written to the audit log first (a list writes one row per person).
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Path, Query, Request
from fastapi.responses import Response

from vru_risk.models.flag import Flag
from vru_risk.models.programmes import Programme
from vru_risk.serving.deps import AppState, Audit, Db, State, api_roles
from vru_risk.serving.flag_store import (
    DecisionInfo,
    FlagStoreError,
    decisions_for,
    record_decision,
)
from vru_risk.serving.routes.common import (
    BAD_BODY,
    ERRORS,
    GONE,
    UNAVAILABLE,
    audit_views,
    flag_for,
    flag_or_withdrawn,
    json_out,
    programme_list,
)
from vru_risk.serving.schemas import (
    DecisionIn,
    DecisionListOut,
    DecisionOut,
    FlagListOut,
    FlagOut,
    ProgrammeOut,
)
from vru_risk.serving.users import UserInfo, UserInputError

router = APIRouter(tags=["flags"])

Practitioner = Annotated[UserInfo, Depends(api_roles("practitioner"))]
FlagId = Annotated[str, Path(min_length=1, max_length=64, description="the flag's id")]
ProgrammeQuery = Annotated[
    str | None,
    Query(
        max_length=64,
        description="the programme you act for; default your first programme",
    ),
]


def flag_out(flag: Flag) -> FlagOut:
    return FlagOut.model_validate(flag.model_dump(mode="python"))


def decision_out(d: DecisionInfo) -> DecisionOut:
    return DecisionOut(
        id=d.id,
        flag_id=d.flag_id,
        programme=d.programme_id,
        username=d.username,
        decision=d.decision,
        referred_to=d.referred_to,
        reason_code=d.reason_code,
        text=d.text,
        created_at=d.created_at,
        corrects=d.corrects,
    )


def programme_out(p: Programme, today: dt.date | None) -> ProgrammeOut:
    return ProgrammeOut(
        id=p.id,
        name=p.name,
        capacity=p.capacity,
        period=p.period,
        period_start=None if today is None else p.period_start(today),
        period_end=None if today is None else p.period_end(today),
    )


@router.get(
    "/api/v1/flags",
    response_model=FlagListOut,
    responses={**ERRORS, **UNAVAILABLE},
    summary="Today's flags for one of your programmes",
)
def list_flags(
    request: Request,
    state: State,
    db: Db,
    user: Practitioner,
    audit: Audit,
    programme: ProgrammeQuery = None,
) -> Response:
    """Flags offered to the programme whose as_of is within the display period of the service's
    "today" (the newest as_of loaded), by rank, redacted to the programme's shared sources.
    Writes one audit row per young person listed."""
    prog, today, shown, used = programme_list(request, state, db, user, audit, programme)
    return json_out(
        FlagListOut(
            programme=programme_out(prog, today),
            today=today,
            capacity_used=used,
            flags=[flag_out(f) for f in shown],
        )
    )


@router.get(
    "/api/v1/flags/{flag_id}",
    response_model=FlagOut,
    responses={**ERRORS, **GONE, **UNAVAILABLE},
    summary="One flag, explained",
)
def get_one(
    request: Request,
    state: State,
    db: Db,
    user: Practitioner,
    audit: Audit,
    flag_id: FlagId,
    programme: ProgrammeQuery = None,
) -> Response:
    """One flag of your programmes, redacted to the programme's shared sources (one audit row).
    A flag an administrator withdrew answers 410 with when and why."""
    flag, prog = flag_for(state, db, user, flag_id, programme)
    audit_views(audit, request, user, [flag], f"view flag: {prog.id}")
    return json_out(flag_out(flag))


@router.get(
    "/api/v1/flags/{flag_id}/decisions",
    response_model=DecisionListOut,
    responses={**ERRORS, **UNAVAILABLE},
    summary="The decisions your programmes recorded on a flag",
)
def list_decisions(
    request: Request,
    state: State,
    db: Db,
    user: Practitioner,
    audit: Audit,
    flag_id: FlagId,
) -> DecisionListOut:
    """Oldest first; only your programmes' decisions (one audit row). A withdrawn flag keeps
    its decisions: they are listed too."""
    flag, prog, _withdrawal = flag_or_withdrawn(state, db, user, flag_id, None)
    audit_views(audit, request, user, [flag], f"view decisions: {prog.id}")
    mine = decisions_for(db, flag_id, programme_ids=user.programmes)
    return DecisionListOut(flag_id=flag_id, decisions=[decision_out(d) for d in mine])


@router.post(
    "/api/v1/flags/{flag_id}/decisions",
    response_model=DecisionOut,
    status_code=201,
    responses={**ERRORS, **BAD_BODY, **GONE, **UNAVAILABLE},
    summary="Record a decision on a flag (append-only)",
)
def add_decision(
    request: Request,
    state: State,
    db: Db,
    user: Practitioner,
    audit: Audit,
    flag_id: FlagId,
    body: DecisionIn,
) -> DecisionOut:
    """Referred to a named programme, no action, or disagree, with a reason code and free text.
    Never an update: a correction is a new decision naming the one it corrects (one audit row).
    Refused with 410 on a flag an administrator withdrew.
    """
    flag, prog = flag_for(state, db, user, flag_id, body.programme)
    db.rollback()  # end the read transaction before writing (SQLite: one writer at a time)
    audit_views(audit, request, user, [flag], f"record decision: {prog.id}")
    info = save_decision(
        state,
        flag_id=flag.flag_id,
        user=user,
        programme_id=prog.id,
        decision=body.decision,
        reason_code=body.reason_code,
        text=body.text,
        referred_to=body.referred_to,
        corrects=body.corrects,
    )
    return decision_out(info)


def save_decision(state: AppState, **fields: Any) -> DecisionInfo:
    """Append a decision in its own write transaction; bad input -> 422 with the store's message."""
    with state.write_sessions() as session:
        try:
            info = record_decision(session, **fields)
        except (FlagStoreError, UserInputError) as exc:
            session.rollback()
            raise HTTPException(422, f"the decision was not recorded: {exc}") from None
        session.commit()
    return info
