"""Aggregates (counts only, never a person): ``/api/v1/aggregates`` and the ``/aggregates``
page, for data scientists, the ethics panel and administrators."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from vru_risk.flags.flag import BANDS
from vru_risk.serving.deps import Db, State, api_roles, page_roles
from vru_risk.serving.routes.common import ERRORS, render, service_today
from vru_risk.serving.schemas import AggregatesOut
from vru_risk.store.flag_store import aggregates
from vru_risk.store.users import Role, UserInfo

router = APIRouter(tags=["aggregates"])

ROLES: tuple[Role, ...] = ("data_scientist", "ethics_panel", "admin")


def counts(db: Db) -> AggregatesOut:
    found = aggregates(db, today=service_today(db))
    return AggregatesOut(
        today=found.today,
        total_flags=found.total_flags,
        flags_by_programme_band=found.flags_by_programme_band,
        decisions_by_programme_kind=found.decisions_by_programme_kind,
        flags_by_model_version={str(k): v for k, v in found.flags_by_model_version.items()},
    )


@router.get(
    "/api/v1/aggregates",
    response_model=AggregatesOut,
    responses=ERRORS,
    summary="Counts of flags and decisions (no individual data)",
)
def aggregates_api(db: Db, _user: Annotated[UserInfo, Depends(api_roles(*ROLES))]) -> AggregatesOut:
    """Flags by programme and band, decisions by programme and kind, flags by model version."""
    return counts(db)


@router.get("/aggregates", include_in_schema=False)
def aggregates_page(
    request: Request,
    state: State,
    db: Db,
    _user: Annotated[UserInfo, Depends(page_roles(*ROLES))],
) -> Response:
    found = counts(db)
    names = {p.id: p.name for p in state.programmes.programmes}
    known = [label for _, label in BANDS]
    seen = {b for bands in found.flags_by_programme_band.values() for b in bands}
    order = [*known, *sorted(seen - set(known))]  # highest first; any other label after
    return render(
        request,
        "aggregates.html.j2",
        {
            "title": "Aggregates",
            "nav": "aggregates",
            "agg": found,
            "names": names,
            "band_order": order,
        },
    )
