"""``POST /api/v1/score``: explain the model's score of a teachable moment offered to your
programme (practitioners).

Purpose limitation: scoring is keyed by the moment a flag was made for, not by the person. Only
a (person, as_of) pair equal to a flag currently shown to the practitioner's programme (the rule
of the flag pages and ``GET /api/v1/flags/{id}``: offered to it, within the display period, not
expired) is scored; anything else (another programme's flag, a moment no flag was made for, the
same person on another day, a flag no longer shown) answers the same 404, which is audited, so
that probing is visible and learns nothing. The visibility check comes before the materialised
moments are read, so that no answer (not even a 503 for an unusable folder) depends on whether
a person not shown to the caller has a moment.

The features come from the moments the daily job materialised (``vru flags generate`` writes
``VRU_HOME/flags/moments-<day>/``), never from raw tables per request. The answer is
Flag-shaped (no programme offers), redacted to the programme the practitioner acts for exactly
as the flag page is, and audit-logged.
"""

from __future__ import annotations

from typing import Annotated, NoReturn

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import Response

from vru_risk.features.catalog import CatalogError
from vru_risk.flags.explain import explain_moment_rows
from vru_risk.flags.flag import Flag, ModelRef
from vru_risk.flags.programmes import Programme
from vru_risk.flags.score import score_rows
from vru_risk.models.risk_model import MODEL_NAME, FrameMismatchError
from vru_risk.serving.deps import AppState, Audit, Db, Model, State
from vru_risk.serving.model_service import LoadedModel
from vru_risk.serving.moment_store import MomentsUnavailableError
from vru_risk.serving.routes.common import (
    BAD_BODY,
    ERRORS,
    LIMITED,
    UNAVAILABLE,
    acting_programme,
    audit_person,
    audit_views,
    json_out,
    moment_flag,
    not_shown,
)
from vru_risk.serving.routes.flags import flag_out
from vru_risk.serving.routes.limits import limited_api_roles
from vru_risk.serving.schemas import FlagOut, ScoreIn
from vru_risk.store.users import UserInfo

router = APIRouter(tags=["score"])

LimitedPractitioner = Annotated[UserInfo, Depends(limited_api_roles("practitioner"))]


@router.post(
    "/api/v1/score",
    response_model=FlagOut,
    responses={**ERRORS, **BAD_BODY, **LIMITED, **UNAVAILABLE},
    summary="Explain the model's score of a teachable moment offered to your programme",
)
def score(
    request: Request,
    state: State,
    db: Db,
    user: LimitedPractitioner,
    audit: Audit,
    model: Model,
    body: ScoreIn,
) -> Response:
    """The calibrated probability, percentile and band, with reasons for and against (which
    explain the raw score, log-odds before calibration), what the model cannot see and what
    could change it, by the model in service, for a (person, as_of) pair equal to a flag
    currently shown to your programme (`programme`, default the first of yours it is offered
    to), redacted to that programme's data-sharing agreement as the flag page is. Advisory
    only; never for enforcement.

    Any other pair (another programme's flag, a moment no flag was made for, another day, a
    flag past its display period) answers 404 with one and the same message, whatever the
    reason. One audit row either way: `score person: PROGRAMME`, or `score refused:
    PROGRAMME` for a 404 or 503 after the programme check."""
    acting = acting_programme(state, user, body.programme)  # 403: not one of theirs
    shown = moment_flag(state, db, user, body.person_id, body.as_of, body.programme)
    db.rollback()  # the read is over: no snapshot held while scoring
    if shown is None:
        refuse(request, audit, user, body, acting, 404, not_shown(state))
    _, prog = shown  # the flag shown decides the programme; the model in service explains
    explained = explain(request, state, audit, user, body, model, prog)
    audit_views(audit, request, user, [explained], f"score person: {prog.id}")
    return json_out(flag_out(explained))


def explain(
    request: Request,
    state: AppState,
    audit: Audit,
    user: UserInfo,
    body: ScoreIn,
    model: LoadedModel,
    prog: Programme,
) -> Flag:
    """The model's explanation of the materialised moment, redacted for ``prog``; a moment
    that is not (or no longer) materialised answers the same 404 as any refusal."""
    try:
        moment = state.moments.find(model.model, body.person_id, body.as_of)
        if moment is None:
            refuse(request, audit, user, body, prog, 404, not_shown(state))
        ref = ModelRef(
            name=MODEL_NAME, version=model.info.version, content_hash=model.model.content_hash
        )
        scores = score_rows(model.model, moment)
        flag = explain_moment_rows(model.model, moment, scores, model_ref=ref)[0]
    except MomentsUnavailableError as exc:
        problem = (
            f"the teachable moments materialised for {body.as_of} cannot be used: {exc}; run "
            "`vru flags generate` for that day with the model in service"
        )
    except (KeyError, FrameMismatchError, CatalogError) as exc:
        problem = (
            f"the materialised features of {body.as_of} do not fit the model in service "
            f"(version {model.info.version}: {exc}); run `vru flags generate` for that day "
            "with this model"
        )
    else:
        return flag.for_programme(prog)
    refuse(request, audit, user, body, prog, 503, problem)


def refuse(
    request: Request,
    audit: Audit,
    user: UserInfo,
    body: ScoreIn,
    prog: Programme,
    status: int,
    detail: str,
) -> NoReturn:
    """Write the refusal's audit row (who asked about whom), then answer ``status``. (The
    purpose stays within the audit log's 64 characters with the longest programme id a
    configuration may hold, 41.)"""
    audit_person(audit, request, user, body.person_id, None, f"score refused: {prog.id}")
    raise HTTPException(status, detail)
