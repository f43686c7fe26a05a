"""What the routers share: declared error responses, page rendering, purpose limitation
(which programme a practitioner acts for, which flags they may see) and audit rows."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Final

from fastapi import HTTPException, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import BaseModel
from sqlalchemy.orm import Session

from vru_risk.flags.flag import Flag
from vru_risk.flags.programmes import Programme
from vru_risk.serving.access_log.log import AuditEvent, AuditLog, AuditLogError
from vru_risk.serving.deps import AppState
from vru_risk.serving.schemas import ErrorOut, ValidationErrorOut, WithdrawnOut
from vru_risk.store.flag_store import (
    StoredFlag,
    Withdrawal,
    latest_as_of,
    stored_flag,
    stored_flags_of_moment,
    visible,
)
from vru_risk.store.flag_views import record_view
from vru_risk.store.inputs import is_flag_id
from vru_risk.store.users import UserInfo

ROLE_NAMES: Final = {
    "practitioner": "practitioner",
    "data_scientist": "data scientist",
    "ethics_panel": "ethics panel",
    "admin": "administrator",
}
HOME: Final = {
    "practitioner": "/flags",
    "data_scientist": "/models",
    "ethics_panel": "/models",
    "admin": "/users",
}

#: Every API route declares these (OpenAPI); routes that show an individual add 503.
ERRORS: Final[dict[int | str, dict[str, Any]]] = {
    401: {"model": ErrorOut, "description": "Not signed in: no valid API token"},
    403: {"model": ErrorOut, "description": "Your role or programmes do not allow this"},
    404: {"model": ErrorOut, "description": "Not found (or not among your programmes')"},
    422: {"model": ValidationErrorOut, "description": "The request is not valid"},
}
#: Routes with a JSON body also declare 400 (a body that is not JSON at all).
BAD_BODY: Final[dict[int | str, dict[str, Any]]] = {
    400: {"model": ErrorOut, "description": "The body is not JSON"},
}
#: Routes that show one flag, or record a decision on it, also declare 410.
GONE: Final[dict[int | str, dict[str, Any]]] = {
    410: {
        "model": WithdrawnOut,
        "description": "The flag was withdrawn by an administrator: when and why. Only "
        "practitioners of a programme it was offered to get this answer (anyone else: 404)",
    }
}
#: Routes that name an individual (a flag, its decisions, a person to score) are rate limited.
LIMITED: Final[dict[int | str, dict[str, Any]]] = {
    429: {
        "model": ErrorOut,
        "description": "Too many requests naming an individual: wait the `Retry-After` "
        "seconds (per user, VRU_IDENTIFIER_REQUESTS_PER_MINUTE / _PER_HOUR)",
        "headers": {
            "Retry-After": {
                "description": "seconds until the exceeded window ends",
                "schema": {"type": "integer", "minimum": 1},
            }
        },
    }
}
UNAVAILABLE: Final[dict[int | str, dict[str, Any]]] = {
    503: {
        "model": ErrorOut,
        "description": "Individual data or scoring is unavailable (no audit key, no champion)",
    }
}


def json_out(body: BaseModel, *, status_code: int = 200) -> Response:
    """``body`` as the JSON response, serialised once by pydantic (a route that returns its
    response model instead has FastAPI validate and serialise it again; the route still declares
    ``response_model`` for the OpenAPI document)."""
    return Response(body.model_dump_json(), status_code=status_code, media_type="application/json")


def state_of(request: Request) -> AppState:
    state = request.app.state.vru
    assert isinstance(state, AppState)
    return state


# --- pages ----------------------------------------------------------------------------------


def render(
    request: Request,
    name: str,
    context: Mapping[str, Any],
    *,
    status_code: int = 200,
    headers: Mapping[str, str] | None = None,
) -> HTMLResponse:
    """A page, with the signed-in user (if any) and the session's CSRF token."""
    state = state_of(request)
    full = {
        "user": getattr(request.state, "user", None),
        "csrf_token": getattr(request.state, "csrf_token", ""),
        "role_names": ROLE_NAMES,
        "nav": "",
        "title": "",
        **context,
    }
    response: HTMLResponse = state.templates.TemplateResponse(
        request, name, full, status_code=status_code, headers=dict(headers or {})
    )
    return response


ERROR_TITLES: Final = {
    400: "The request cannot be used",
    403: "You cannot open this page",
    404: "Page not found",
    405: "Method not allowed",
    409: "Not allowed by the rules",
    410: "This flag was withdrawn",
    413: "Too much was sent",
    422: "There is a problem with what was sent",
    429: "Too many attempts",
    503: "Service unavailable",
}


def render_error(
    request: Request, status: int, message: str, *, headers: Mapping[str, str] | None = None
) -> HTMLResponse:
    title = ERROR_TITLES.get(status, "Something went wrong")
    return render(
        request,
        "error.html.j2",
        {"title": title, "message": message},
        status_code=status,
        headers=headers,
    )


# --- purpose limitation ---------------------------------------------------------------------


def service_today(db: Session, real_today: dt.date | None = None) -> dt.date | None:
    """The service's "today": the newest as_of among shown flags (the daily extract's date),
    never later than the real date (``real_today``, default the clock's): a flag dated in the
    future cannot empty every list."""
    newest = latest_as_of(db)
    if newest is None:
        return None
    return min(newest, real_today or dt.date.today())


def acting_programme(state: AppState, user: UserInfo, requested: str | None) -> Programme:
    """The programme a practitioner acts for: ``requested`` if it is theirs (else 403), or
    their first programme."""
    if requested is None or requested == "":
        if not user.programmes:
            raise HTTPException(403, "your account is bound to no programme: ask an administrator")
        requested = user.programmes[0]
    if requested not in user.programmes:
        raise HTTPException(
            403,
            f"you do not work for programme {requested!r}; your programmes: "
            f"{', '.join(user.programmes) or 'none'}",
        )
    programme = state.programme(requested)
    if programme is None:
        raise HTTPException(
            404,
            f"programme {requested!r} is not in the programmes configuration; ask an "
            "administrator to correct your account",
        )
    return programme


class FlagWithdrawnError(HTTPException):
    """410 Gone: the flag was withdrawn (when and why; ``extra_body`` for the API's answer)."""

    def __init__(self, flag_id: str, withdrawal: Withdrawal) -> None:
        super().__init__(
            410,
            f"{withdrawal.sentence(flag_id)}. It is no longer offered, and no decision can be "
            "recorded on it; the decisions already recorded stay in its history",
        )
        self.extra_body = WithdrawnOut(
            detail=str(self.detail),
            flag_id=flag_id,
            withdrawn_at=withdrawal.at,
            reason=withdrawal.reason,
        ).model_dump(mode="json", exclude={"detail"})


def not_shown(state: AppState) -> str:
    """The one answer (404) for a flag or moment a practitioner may not see, whatever the
    reason (unknown, another programme's, no longer shown, malformed id): it echoes nothing of
    the request, so that it confirms nothing."""
    return (
        "no such flag among the flags currently shown to your programmes: a flag is shown only "
        "to the programmes it is offered to, and only for the "
        f"{state.settings.flag_visible_days}-day display period after its date; only the "
        "moment of a flag shown to your programme can be scored"
    )


def shown_flag(
    state: AppState, db: Session, user: UserInfo, flag_id: str, requested: str | None
) -> tuple[Flag, Programme, Withdrawal | None] | None:
    """The one visibility rule (the flag pages, the API and scoring): a flag as the
    practitioner's programme may see it (redacted) with its withdrawal if it was withdrawn, or
    None.

    The flag must be *offered* to one of the practitioner's programmes (the lists show only
    offers, not "already supported") and still be within its display period
    (:func:`~vru_risk.store.flag_store.visible`);
    the programme is ``requested`` (theirs, else 403) or the first of theirs it is offered to.
    A malformed id is None without a database lookup. Whoever may not see a flag gets None
    whether it was withdrawn or not.
    """
    if requested:
        acting_programme(state, user, requested)  # another's programme: 403 before anything
    if not is_flag_id(flag_id):
        return None
    return _as_shown(state, db, user, stored_flag(db, flag_id), requested)


def _as_shown(
    state: AppState,
    db: Session,
    user: UserInfo,
    found: StoredFlag | None,
    requested: str | None,
) -> tuple[Flag, Programme, Withdrawal | None] | None:
    """:func:`shown_flag`'s rule applied to a stored flag already read (``requested`` already
    checked to be the user's)."""
    flag = None if found is None else found.flag
    concerned = (
        [] if flag is None else [o.programme for o in flag.programmes if o.status == "offered"]
    )
    mine = (
        ([requested] if requested in concerned else [])
        if requested
        else [p for p in user.programmes if p in concerned]
    )
    if flag is None or not mine:
        return None
    today = service_today(db)
    withdrawal = None if found is None else found.withdrawal
    if withdrawal is not None:
        # "today" counts shown flags only: a withdrawn flag dated later (the mistaken load
        # whose withdrawal gave the lists their day back) still says it was withdrawn
        own_day = min(flag.as_of, dt.date.today())
        today = own_day if today is None else max(today, own_day)
    if not visible(flag, today, state.settings.flag_visible_days):
        return None
    programme = acting_programme(state, user, mine[0])
    return flag.for_programme(programme), programme, withdrawal


def flag_or_withdrawn(
    state: AppState, db: Session, user: UserInfo, flag_id: str, requested: str | None
) -> tuple[Flag, Programme, Withdrawal | None]:
    """:func:`shown_flag`, or 404 (:func:`not_shown`): the flag page, which shows a withdrawn
    flag's notice instead of its decision form."""
    found = shown_flag(state, db, user, flag_id, requested)
    if found is None:
        raise HTTPException(404, not_shown(state))
    return found


def flag_for(
    state: AppState, db: Session, user: UserInfo, flag_id: str, requested: str | None
) -> tuple[Flag, Programme]:
    """:func:`shown_flag`, or 404 (:func:`not_shown`), or 410 when it was withdrawn."""
    flag, programme, withdrawal = flag_or_withdrawn(state, db, user, flag_id, requested)
    if withdrawal is not None:
        raise FlagWithdrawnError(flag.flag_id, withdrawal)
    return flag, programme


def moment_flag(
    state: AppState,
    db: Session,
    user: UserInfo,
    person_id: str,
    as_of: dt.date,
    requested: str | None,
) -> tuple[Flag, Programme] | None:
    """A flag of ``person_id`` known on ``as_of`` that :func:`shown_flag` shows the
    practitioner (acting for ``requested``) and that was not withdrawn, or None: what scoring
    may explain."""
    if requested:
        acting_programme(state, user, requested)  # another's programme: 403 before anything
    for flag_id, stored in stored_flags_of_moment(db, person_id, as_of):
        if not is_flag_id(flag_id):
            continue
        found = _as_shown(state, db, user, stored, requested)
        if found is not None and found[2] is None:
            return found[0], found[1]
    return None


# --- audit ----------------------------------------------------------------------------------


def route_name(request: Request) -> str:
    route = request.scope.get("route")
    path = getattr(route, "path", request.url.path)
    return f"{request.method} {path}"


def audit_views(
    audit: AuditLog,
    request: Request,
    user: UserInfo,
    flags: Iterable[Flag],
    purpose: str,
) -> list[int]:
    """One audit row per individual shown (who, which person, which model version, why)."""
    events = [
        AuditEvent(
            username=user.username,
            role=user.role,
            person_id=f.person_id,
            model_version=f.scoring_model.version,
            purpose=purpose,
            route=route_name(request),
        )
        for f in flags
    ]
    return append_events(audit, events)


def record_flag_view(
    state: AppState, db: Session, user: UserInfo, flag: Flag, programme: Programme
) -> None:
    """Record that ``flag`` was shown to ``user`` acting for ``programme`` (the flag-view
    event of :mod:`vru_risk.store.flag_views`): called by the flag page and the API's flag
    detail after the view's audit row, once the flag is sure to be shown. The request's read
    transaction is ended first (SQLite: one writer at a time, and a reader may not upgrade)."""
    db.rollback()
    with state.write_sessions.begin() as session:
        record_view(session, flag_id=flag.flag_id, programme_id=programme.id, user_id=user.id)


def audit_person(
    audit: AuditLog,
    request: Request,
    user: UserInfo,
    person_id: str,
    model_version: int | None,
    purpose: str,
) -> list[int]:
    event = AuditEvent(
        username=user.username,
        role=user.role,
        person_id=person_id,
        model_version=model_version,
        purpose=purpose,
        route=route_name(request),
    )
    return append_events(audit, [event])


def append_events(audit: AuditLog, events: Sequence[AuditEvent]) -> list[int]:
    """Write the rows before anything is shown; a failure refuses the view (503)."""
    if not events:
        return []
    try:
        return audit.append(events)
    except AuditLogError as exc:
        raise HTTPException(
            503,
            f"the audit log could not be written ({exc}); nothing was shown. Tell an "
            "administrator (`vru audit-log verify`)",
        ) from None
