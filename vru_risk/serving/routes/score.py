"""``POST /api/v1/score``: explain the model's score for one young person on one day
(practitioners).

The features come from the moments the daily job materialised (``vru flags generate`` writes
``VRU_HOME/flags/moments-<day>/``), never from raw tables per request: only a teachable moment
the daily job found can be scored, with the model in service. The answer is Flag-shaped (no
programme offers), redacted to the programme the practitioner acts for, and audit-logged.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import Response

from vru_risk.features.catalog import CatalogError
from vru_risk.models.flag import ModelRef
from vru_risk.models.flagging import explain_moment_rows, score_rows
from vru_risk.models.risk_model import MODEL_NAME, FrameMismatchError
from vru_risk.serving.deps import Audit, Model, MomentsUnavailableError, State, api_roles
from vru_risk.serving.routes.common import (
    BAD_BODY,
    ERRORS,
    UNAVAILABLE,
    acting_programme,
    audit_views,
    json_out,
)
from vru_risk.serving.routes.flags import flag_out
from vru_risk.serving.schemas import FlagOut, ScoreIn
from vru_risk.serving.users import UserInfo

router = APIRouter(tags=["score"])

Practitioner = Annotated[UserInfo, Depends(api_roles("practitioner"))]


@router.post(
    "/api/v1/score",
    response_model=FlagOut,
    responses={**ERRORS, **BAD_BODY, **UNAVAILABLE},
    summary="Explain the model's score for one young person on one day",
)
def score(
    request: Request,
    state: State,
    user: Practitioner,
    audit: Audit,
    model: Model,
    body: ScoreIn,
) -> Response:
    """The calibrated probability, percentile and band, with reasons for and against (which
    explain the raw score, log-odds before calibration), what the model cannot see and what
    could change it, for a teachable moment the daily job materialised. Advisory only; never
    for enforcement. One audit row."""
    prog = acting_programme(state, user, body.programme)
    try:
        moment = state.moments.find(model.model, body.person_id, body.as_of)
        if moment is None:
            raise HTTPException(
                404,
                f"no teachable moment of {body.person_id!r} known on {body.as_of} among the days "
                "the daily job materialised: only a moment found by `vru flags generate` can be "
                "scored (scoring anyone on any day would be profiling)",
            )
        ref = ModelRef(
            name=MODEL_NAME, version=model.info.version, content_hash=model.model.content_hash
        )
        scores = score_rows(model.model, moment)
        flag = explain_moment_rows(model.model, moment, scores, model_ref=ref)[0]
    except MomentsUnavailableError as exc:
        raise HTTPException(
            503,
            f"the teachable moments materialised for {body.as_of} cannot be used: {exc}; run "
            "`vru flags generate` for that day with the model in service",
        ) from None
    except (KeyError, FrameMismatchError, CatalogError) as exc:
        raise HTTPException(
            503,
            f"the materialised features of {body.as_of} do not fit the model in service "
            f"(version {model.info.version}: {exc}); run `vru flags generate` for that day "
            "with this model",
        ) from None
    shown = flag.for_programme(prog)
    audit_views(audit, request, user, [shown], f"score person: {prog.id}")
    return json_out(flag_out(shown))
