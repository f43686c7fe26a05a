"""Evaluation pages for the ethics panel and data scientists (aggregates only; practitioners
and administrators get the same refusal as on the other model pages):

- ``/evaluation``: every evaluation ``vru evaluate`` wrote, with what each design may say;
- ``/evaluation/{version}/{run}``: one evaluation's full report, as the job wrote it.

What the pages read is found and parsed by :mod:`vru_risk.jobs.evaluate_history`.
"""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import FileResponse, Response

from vru_risk.jobs.common import JobError
from vru_risk.jobs.evaluate_history import (
    BadEvaluationError,
    evaluation_report,
    evaluation_runs,
)
from vru_risk.serving.deps import State
from vru_risk.serving.routes.common import render
from vru_risk.serving.routes.monitoring_pages import Reader, Version

router = APIRouter(tags=["pages"], include_in_schema=False)


@router.get("/evaluation")
def evaluation_page(request: Request, state: State, _user: Reader) -> Response:
    """Every evaluation, newest period first, with each design's statement."""
    context = {
        "nav": "evaluation",
        "title": "Who benefits: programme evaluations",
        "runs": evaluation_runs(state.settings),
    }
    return render(request, "evaluation.html.j2", context)


@router.get("/evaluation/{version}/{run}")
def evaluation_run(state: State, _user: Reader, version: Version, run: str) -> Response:
    """One evaluation's full report (aggregates only, self-contained: no script, no link out)."""
    try:
        path = evaluation_report(state.settings, version, run)
    except BadEvaluationError as exc:
        raise HTTPException(422, str(exc)) from None
    except JobError as exc:
        raise HTTPException(404, str(exc)) from None
    return FileResponse(path, media_type="text/html; charset=utf-8")
