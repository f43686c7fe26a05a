"""``/api/v1/flags``: today's flags of a programme, one flag, its decisions (practitioners).

Every flag returned is redacted to the sources the practitioner's programme may see, and every
individual returned is written to the audit log first (a list writes one row per person).
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Final

from fastapi import APIRouter, Depends, Header, HTTPException, Path, Query, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session

from vru_risk.flags.flag import Flag
from vru_risk.flags.programmes import Programme
from vru_risk.serving.access_log.log import AuditLog
from vru_risk.serving.deps import AppState, Audit, Db, State, api_roles
from vru_risk.serving.routes.common import (
    BAD_BODY,
    ERRORS,
    GONE,
    LIMITED,
    UNAVAILABLE,
    audit_views,
    flag_for,
    flag_or_withdrawn,
    json_out,
    record_flag_view,
)
from vru_risk.serving.routes.limits import limited_api_roles
from vru_risk.serving.routes.programme_list import programme_list
from vru_risk.serving.schemas import (
    DecisionIn,
    DecisionListOut,
    DecisionOut,
    ErrorOut,
    FlagListOut,
    FlagOut,
    ProgrammeOut,
)
from vru_risk.store.decisions import (
    DecisionInfo,
    IdempotencyConflictError,
    decisions_for,
    record_checked,
)
from vru_risk.store.flag_checks import FlagStoreError
from vru_risk.store.inputs import (
    FLAG_ID_PATTERN,
    IDEMPOTENCY_KEY_PATTERN,
    DecisionInput,
    DecisionInputError,
    check_decision,
)
from vru_risk.store.users import UserInfo, UserInputError

router = APIRouter(tags=["flags"])

Practitioner = Annotated[UserInfo, Depends(api_roles("practitioner"))]
#: a practitioner whose request names an individual: counted against their rate limit
LimitedPractitioner = Annotated[UserInfo, Depends(limited_api_roles("practitioner"))]
FlagId = Annotated[
    str,
    Path(
        min_length=1,
        max_length=64,
        description="the flag's id: 20 lower-case hexadecimal characters (any other path "
        "answers 404, as an unknown flag does)",
        json_schema_extra={"pattern": FLAG_ID_PATTERN},
    ),
]
IdempotencyKey = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        min_length=1,
        max_length=128,
        pattern=IDEMPOTENCY_KEY_PATTERN,
        description="1-128 visible ASCII characters, new for each decision (e.g. a UUID). A "
        "retry with the same key (after a lost answer) returns the decision already stored "
        "(200) and stores nothing new; the same key with different content answers 409",
    ),
]
REPLAYED: Final[dict[int | str, dict[str, Any]]] = {
    200: {
        "model": DecisionOut,
        "description": "A retry with an Idempotency-Key already used for this same decision: "
        "the decision stored then, unchanged; nothing new was stored",
    },
    409: {
        "model": ErrorOut,
        "description": "The Idempotency-Key was already used by you for a different decision",
    },
}
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
    listed = programme_list(request, state, db, user, audit, programme)
    return json_out(
        FlagListOut(
            programme=programme_out(listed.programme, listed.today),
            today=listed.today,
            capacity_used=listed.used,
            places_left=listed.places_left,
            how_offers_chosen=listed.how_chosen,
            flags=[flag_out(f) for f in listed.flags],
        )
    )


@router.get(
    "/api/v1/flags/{flag_id}",
    response_model=FlagOut,
    responses={**ERRORS, **GONE, **LIMITED, **UNAVAILABLE},
    summary="One flag, explained",
)
def get_one(
    request: Request,
    state: State,
    db: Db,
    user: LimitedPractitioner,
    audit: Audit,
    flag_id: FlagId,
    programme: ProgrammeQuery = None,
) -> Response:
    """One flag of your programmes, redacted to the programme's shared sources (one audit row).
    A flag an administrator withdrew answers 410 with when and why. The answer is recorded as a
    view of the flag by your programme (monitoring counts the flags opened before they
    expired); listing flags is not."""
    flag, prog = flag_for(state, db, user, flag_id, programme)
    audit_views(audit, request, user, [flag], f"view flag: {prog.id}")
    record_flag_view(state, db, user, flag, prog)
    return json_out(flag_out(flag))


@router.get(
    "/api/v1/flags/{flag_id}/decisions",
    response_model=DecisionListOut,
    responses={**ERRORS, **LIMITED, **UNAVAILABLE},
    summary="The decisions your programmes recorded on a flag",
)
def list_decisions(
    request: Request,
    state: State,
    db: Db,
    user: LimitedPractitioner,
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
    responses={**ERRORS, **BAD_BODY, **GONE, **LIMITED, **REPLAYED, **UNAVAILABLE},
    summary="Record a decision on a flag (append-only)",
)
def add_decision(
    request: Request,
    state: State,
    db: Db,
    user: LimitedPractitioner,
    audit: Audit,
    flag_id: FlagId,
    body: DecisionIn,
    idempotency_key: IdempotencyKey = None,
) -> Response:
    """Referred to a named programme (one of the configured programmes), no action, or
    disagree, with a reason code and free text (no control characters but line breaks and
    tabs). Never an update: a correction is a new decision naming the one it corrects. One
    audit row, written after the content was checked (a refusal by the store still has one).
    Refused with 410 on a flag an administrator withdrew.

    Send an `Idempotency-Key` header to make a retry safe: the same key with the same decision
    answers 200 with the decision stored the first time (same id and body) and stores nothing;
    the same key with different content answers 409. Without a key every request stores a
    decision (201).
    """
    flag, prog = flag_for(state, db, user, flag_id, body.programme)
    checked = checked_decision(state, body)
    info = save_decision(request, state, db, audit, user, flag, prog, checked, idempotency_key)
    return json_out(decision_out(info), status_code=200 if info.replayed else 201)


def checked_decision(state: AppState, body: DecisionIn) -> DecisionInput:
    """The decision's content checked before anything is written; bad input -> 422."""
    try:
        return check_decision(
            decision=body.decision,
            reason_code=body.reason_code,
            text=body.text,
            referred_to=body.referred_to,
            corrects=body.corrects,
            programmes=state.programmes,
        )
    except DecisionInputError as exc:
        raise HTTPException(422, f"the decision was not recorded: {exc}") from None


def save_decision(
    request: Request,
    state: AppState,
    db: Session,
    audit: AuditLog,
    user: UserInfo,
    flag: Flag,
    prog: Programme,
    checked: DecisionInput,
    idempotency_key: str | None,
) -> DecisionInfo:
    """Record a checked decision (the API and the pages alike): end the request's read
    transaction, write the audit row, then append the decision in its own write transaction; a
    refusal by the store -> 422 with its message, an idempotency key reused for other content
    -> 409."""
    db.rollback()  # end the read transaction before writing (SQLite: one writer at a time)
    audit_views(audit, request, user, [flag], f"record decision: {prog.id}")
    with state.write_sessions() as session:
        try:
            info = record_checked(
                session,
                checked,
                flag_id=flag.flag_id,
                user=user,
                programme_id=prog.id,
                idempotency_key=idempotency_key,
            )
        except IdempotencyConflictError as exc:
            session.rollback()
            raise HTTPException(409, f"the decision was not recorded: {exc}") from None
        except (FlagStoreError, UserInputError) as exc:
            session.rollback()
            raise HTTPException(422, f"the decision was not recorded: {exc}") from None
        session.commit()
    return info
