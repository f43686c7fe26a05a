"""``/health``: whether the service is up, and if degraded, why and how to fix it (anonymous)."""

from __future__ import annotations

from fastapi import APIRouter

from vru_risk.serving.access_log.ready import current_key_problem
from vru_risk.serving.deps import State
from vru_risk.serving.model_service import ScoringUnavailableError
from vru_risk.serving.routes.common import ERRORS
from vru_risk.serving.schemas import HealthOut

router = APIRouter(tags=["health"])


@router.get(
    "/health",
    response_model=HealthOut,
    responses=ERRORS,
    summary="Service status (no authentication)",
)
def health(state: State) -> HealthOut:
    """``ok``, or ``degraded`` with the reason and the fix: without a usable champion scoring
    answers 503 (flag lists still work); without a usable audit log (no key, a key that is not
    the log's, a missing or contradicting anchor, found at start; or a key rotated since, checked
    on every call) no individual data is served."""
    model = state.models.status()
    reasons, fixes = [], []
    if isinstance(model, ScoringUnavailableError):
        reasons.append(f"scoring is unavailable: {model.reason}")
        fixes.append(model.fix)
    audit_problem = (
        state.audit_problem
        if state.audit is None
        else current_key_problem(state.audit.engine, state.audit.fingerprint)
    )
    if audit_problem is not None:
        reasons.append(audit_problem)
        fixes.append(
            "set VRU_AUDIT_KEY and restart the server"
            if state.settings.audit_key is None
            else "resolve the audit log's problem named in the reason, then restart the server"
        )
    return HealthOut(
        status="degraded" if reasons else "ok",
        scoring="unavailable" if isinstance(model, ScoringUnavailableError) else "available",
        reason="; ".join(reasons) or None,
        fix="; ".join(fixes) or None,
        audit_log="unavailable" if audit_problem is not None else "ready",
    )
