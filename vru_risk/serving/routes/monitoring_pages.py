"""Monitoring pages for data scientists and the ethics panel (aggregates only; practitioners and
administrators get the same refusal as on the other model pages):

- ``/monitoring``: the open items the panel has to act on, and every monitored version;
- ``/models/{version}/monitoring``: a version's runs over time, charted on the server;
- ``/models/{version}/monitoring/{run}``: one run's full report, as ``vru monitor`` wrote it.

What the pages read is found and parsed by :mod:`vru_risk.jobs.monitor_history`; charts are
:mod:`vru_risk.monitoring.history_charts`. The routes check the role, call and render.
"""

from __future__ import annotations

from typing import Annotated, Final

from fastapi import APIRouter, Depends, HTTPException, Path, Request
from fastapi.responses import FileResponse, Response

from vru_risk.data.contract import SOURCE_NAMES
from vru_risk.jobs.common import JobError
from vru_risk.jobs.monitor_history import (
    BadRunError,
    agenda,
    monitor_command,
    run_report,
    version_history,
    versions_with_runs,
)
from vru_risk.monitoring import history_charts
from vru_risk.monitoring.open_items import figure_lines
from vru_risk.monitoring.report import LEVEL_WORDS
from vru_risk.serving.deps import State, page_roles
from vru_risk.serving.routes.common import render
from vru_risk.store.users import UserInfo

router = APIRouter(tags=["pages"], include_in_schema=False)

Reader = Annotated[UserInfo, Depends(page_roles("data_scientist", "ethics_panel"))]
#: the largest version number a page accepts (MLflow numbers versions from 1)
MAX_VERSION: Final = 2**31 - 1
Version = Annotated[int, Path(ge=1, le=MAX_VERSION, description="a registered model version")]
LEVEL_TAGS: Final = {
    "nothing": "Nothing to report",
    "review": "Review",
    "suspension_recommended": "Suspension recommended",
}


def _common() -> dict[str, object]:
    return {"nav": "monitoring", "level_tags": LEVEL_TAGS, "figure_lines": figure_lines}


@router.get("/monitoring")
def monitoring_page(request: Request, state: State, user: Reader) -> Response:
    """Open items first, then every version with monitoring runs and its latest verdict."""
    todo = agenda(state.settings)
    versions = [version_history(state.settings, v) for v in versions_with_runs(state.settings)]
    context = {
        **_common(),
        "title": "Monitoring",
        "agenda": todo,
        "histories": [h for h in versions if h.runs or h.unreadable],
        "can_review": user.role == "ethics_panel",
    }
    return render(request, "monitoring.html.j2", context)


@router.get("/models/{version}/monitoring")
def version_monitoring(request: Request, state: State, user: Reader, version: Version) -> Response:
    """A version's monitoring runs over time: verdicts, charts, links to each full report."""
    history = version_history(state.settings, version)
    if not history.runs and not history.unreadable:
        raise HTTPException(
            404,
            f"version {version} has no monitoring run yet: a data scientist runs "
            f"{monitor_command(version)} each month once it is in service (it needs the "
            f"version's monitoring reference: `vru monitor reference --version {version} --data "
            "DATA_DIR`)",
        )
    runs = history.runs
    todo = agenda(state.settings)
    context = {
        **_common(),
        "title": f"Monitoring of version {version}",
        "version": version,
        "history": history,
        "runs_newest_first": list(reversed(runs)),
        "items": [i for i in todo.items if i.version == version],
        "in_service": version in todo.in_service,
        "agenda_problem": todo.problem,
        "can_review": user.role == "ethics_panel",
        "level_words": LEVEL_WORDS,
        "precision": history_charts.precision_chart(runs),
        "slope": history_charts.slope_chart(runs),
        "drift": history_charts.drift_chart(runs, SOURCE_NAMES),
        "score": history_charts.score_chart(runs),
        "selection": history_charts.selection_charts(runs),
        "latest_selection": runs[-1].selection if runs else (),
    }
    return render(request, "monitoring_version.html.j2", context)


@router.get("/models/{version}/monitoring/{run}")
def monitoring_run(state: State, _user: Reader, version: Version, run: str) -> Response:
    """One run's full report (aggregates only, self-contained: no script, no link out)."""
    try:
        path = run_report(state.settings, version, run)
    except BadRunError as exc:
        raise HTTPException(422, str(exc)) from None
    except JobError as exc:
        raise HTTPException(404, str(exc)) from None
    return FileResponse(path, media_type="text/html; charset=utf-8")
