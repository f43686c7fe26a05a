"""``/api/v1/model``: the model the service scores with and its review state (any role)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Depends

from vru_risk.models.risk_model import MODEL_NAME
from vru_risk.serving.deps import State, api_roles
from vru_risk.serving.model_service import ScoringUnavailableError
from vru_risk.serving.routes.common import ERRORS
from vru_risk.serving.schemas import ModelOut
from vru_risk.settings import Settings
from vru_risk.store.users import UserInfo

router = APIRouter(tags=["model"])

AnyRole = Annotated[
    UserInfo, Depends(api_roles("practitioner", "data_scientist", "ethics_panel", "admin"))
]


def report_path(settings: Settings, version: int) -> Path:
    """Where ``vru audit`` writes a version's HTML report."""
    return settings.report_dir(version) / "report.html"


def report_url(settings: Settings, version: int) -> str | None:
    return f"/models/{version}/report" if report_path(settings, version).is_file() else None


@router.get(
    "/api/v1/model", response_model=ModelOut, responses=ERRORS, summary="The model in service"
)
def current_model(state: State, _user: AnyRole) -> ModelOut:
    """Name, version, content hash and review state of the champion in service; when there is
    none, why and how to put one into service. The report link is the version's fairness report
    page (data scientists and the ethics panel)."""
    status = state.models.status()
    if isinstance(status, ScoringUnavailableError):
        return ModelOut(
            name=MODEL_NAME,
            in_service=False,
            version=None,
            content_hash=None,
            review_state=status.reason,
            report_url=None,
            fix=status.fix,
        )
    return ModelOut(
        name=MODEL_NAME,
        in_service=True,
        version=status.info.version,
        content_hash=status.model.content_hash,
        review_state=status.review_state,
        report_url=report_url(state.settings, status.info.version),
        fix=None,
    )
