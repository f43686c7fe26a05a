"""Model versions with their fairness reports (data scientists and the ethics panel), and the
ethics panel's decisions: approve, reject, override, suspend, each with a written reason and
recorded under the signed-in member's name (``fairness_reports.review`` applies the rules).

A version approved in the review log whose fairness audit does not describe the service's
allocation (its :data:`~vru_risk.models.tags.AUDIT_ALLOCATION_TAG` is not
:data:`~vru_risk.models.tags.ALLOCATION_RULE`: audited on the monthly top-k lists before the
allocation was replayed) is marked :data:`REVIEW_AGAIN` until it is audited again. The mark only
informs the panel: such a version keeps loading and serving.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Annotated, Any, Final

from fastapi import APIRouter, Depends, Form, HTTPException, Request
from fastapi.responses import FileResponse, RedirectResponse, Response

from vru_risk.fairness_reports.verdicts import review_again as verdict_review_again
from vru_risk.jobs.card import has_card
from vru_risk.jobs.common import JobError
from vru_risk.jobs.monitor_data import approval_criteria_hash
from vru_risk.jobs.monitor_history import agenda, versions_with_runs
from vru_risk.models.promotion import ReviewRefusedError, allowed_actions, review
from vru_risk.models.registry import CHAMPION, Registry, RegistryError, VersionInfo
from vru_risk.models.review_log import ReviewEntry, ReviewLogError, ReviewState, review_state
from vru_risk.models.tags import (
    ALLOCATION_RULE,
    AUDIT_ALLOCATION_TAG,
    FAIRNESS_TAG,
    PERFORMANCE_GATE_TAG,
)
from vru_risk.serving.deps import (
    AppState,
    Csrf,
    State,
    mirror_review_log,
    page_roles,
)
from vru_risk.serving.model_service import ScoringUnavailableError
from vru_risk.serving.routes.common import render
from vru_risk.serving.routes.model import report_path
from vru_risk.store.users import UserInfo

router = APIRouter(tags=["pages"], include_in_schema=False)

Reader = Annotated[UserInfo, Depends(page_roles("data_scientist", "ethics_panel"))]
Panel = Annotated[UserInfo, Depends(page_roles("ethics_panel"))]

ACTIONS: Final = {
    "approve": "Approve: put into service (fairness gate passed)",
    "override": "Override: put into service although the fairness gate did not pass "
    "(needs two members)",
    "reject": "Reject: must not go into service",
    "suspend": "Suspend: take out of service now",
}
REVIEW_AGAIN: Final = "evaluated under the previous allocation rule: review again"


@dataclass(frozen=True)
class VersionRow:
    info: VersionInfo
    created: str
    performance: str
    fairness: str
    report: str | None
    reviews: list[ReviewEntry]
    review_again: str | None = None
    #: the panel's review state from the log (approved, overridden by whom, ...)
    review: ReviewState = field(default_factory=lambda: ReviewState("not reviewed", ()))
    #: the fairness verdict changed under the audit's new rules and the panel has not decided
    verdict_changed: str | None = None
    #: the decisions the rules allow on this version now (value -> words)
    allowed: dict[str, str] = field(default_factory=dict)
    #: the version's model card page, when ``vru models card`` made it
    card: str | None = None
    #: its monitoring page, when ``vru monitor`` ran for it
    monitoring: str | None = None


def approved(reviews: list[ReviewEntry]) -> bool:
    """An approval, or an override by two members, is in a version's review history."""
    overriders = {e.reviewer for e in reviews if e.action == "override"}
    return any(e.action == "approve" for e in reviews) or len(overriders) >= 2


def review_again(info: VersionInfo, reviews: list[ReviewEntry]) -> str | None:
    """:data:`REVIEW_AGAIN` for an approved version whose audit predates the allocation rule,
    with what to run; None otherwise."""
    if not approved(reviews) or info.tags.get(AUDIT_ALLOCATION_TAG) == ALLOCATION_RULE:
        return None
    return (
        f"{REVIEW_AGAIN}. Its fairness audit judged the monthly top-k lists, not the places the "
        "service would have offered; a data scientist audits it again with `vru audit --version "
        f"{info.version} --data DATA_DIR`, then the panel reviews the new report. It stays in "
        "service meanwhile."
    )


def _rows(state: AppState) -> tuple[list[VersionRow], str]:
    """Newest first, with review entries; or an explanation of why they cannot be read."""
    try:
        versions = Registry(state.registry_uri).versions()
        entries = state.review_log.entries()
    except (RegistryError, ReviewLogError) as exc:
        return [], str(exc)
    rows = []
    monitored = set(versions_with_runs(state.settings))
    champion = next((v.version for v in versions if CHAMPION in v.aliases), None)
    for v in reversed(versions):
        created = dt.datetime.fromtimestamp(v.created_ms / 1000, tz=dt.UTC)
        has_report = report_path(state.settings, v.version).is_file()
        reviews = [e for e in entries if e.version == v.version]
        rows.append(
            VersionRow(
                info=v,
                created=created.strftime("%Y-%m-%d %H:%M UTC"),
                performance=v.tags.get(PERFORMANCE_GATE_TAG, "") or "not recorded",
                fairness=v.tags.get(FAIRNESS_TAG, "") or "no fairness report yet",
                report=f"/models/{v.version}/report" if has_report else None,
                reviews=reviews,
                review_again=review_again(v, reviews),
                review=review_state(entries, v.version),
                verdict_changed=verdict_review_again(v.version, v.tags, entries),
                allowed={
                    a: ACTIONS[a]
                    for a in allowed_actions(v, champion=champion, entries=entries)
                    if a in ACTIONS
                },
                card=f"/models/{v.version}/card" if has_card(state.settings, v.version) else None,
                monitoring=f"/models/{v.version}/monitoring" if v.version in monitored else None,
            )
        )
    return rows, ""


def _page(
    request: Request,
    state: AppState,
    user: UserInfo,
    *,
    status_code: int = 200,
    **extra: Any,
) -> Response:
    rows, problem = _rows(state)
    service = state.models.status()
    context: dict[str, Any] = {
        "title": "Model versions",
        "nav": "models",
        "rows": rows,
        "problem": problem,
        "agenda": agenda(state.settings),
        "champion": next((r.info.version for r in rows if CHAMPION in r.info.aliases), None),
        "in_service": None if isinstance(service, ScoringUnavailableError) else service,
        "not_in_service": service if isinstance(service, ScoringUnavailableError) else None,
        "actions": ACTIONS,
        "review_again_words": REVIEW_AGAIN,
        "can_review": user.role == "ethics_panel",
        "error": "",
        "error_version": None,
        "form": {"action": "", "reason": ""},
        "done": None,
        **extra,
    }
    return render(request, "models.html.j2", context, status_code=status_code)


@router.get("/models")
def models_page(request: Request, state: State, user: Reader, entry: int | None = None) -> Response:
    """Every registered version: gates, aliases, fairness report, review history."""
    done = None
    if entry is not None:
        try:
            done = next((e for e in state.review_log.entries() if e.seq == entry), None)
        except ReviewLogError:
            done = None
    return _page(request, state, user, done=done)


@router.get("/models/{version}/report")
def report(state: State, _user: Reader, version: int) -> Response:
    """The version's fairness report as ``vru audit`` wrote it (aggregates only)."""
    path = report_path(state.settings, version)
    if not path.is_file():
        raise HTTPException(
            404,
            f"version {version} has no fairness report yet: a data scientist audits it with "
            f"`vru audit --version {version} --data DATA_DIR`",
        )
    return FileResponse(path, media_type="text/html; charset=utf-8")


@router.post("/models/{version}/review")
def review_version(
    request: Request,
    state: State,
    user: Panel,
    _csrf: Csrf,
    version: int,
    action: Annotated[str, Form(max_length=20)] = "",
    reason: Annotated[str, Form(max_length=4000)] = "",
) -> Response:
    """Record the signed-in member's decision about a version, then show the versions again."""
    form = {"action": action, "reason": reason}

    def refused(status: int, message: str) -> Response:
        return _page(
            request,
            state,
            user,
            status_code=status,
            error=message,
            error_version=version,
            form=form,
        )

    if action not in ACTIONS:
        return refused(422, "Choose a decision: approve, override, reject or suspend.")
    if not reason.strip():
        return refused(422, "Write the reason for your decision: it is kept in the review log.")
    try:
        criteria = (
            approval_criteria_hash(state.settings, version)
            if action in ("approve", "override")
            else None
        )
        outcome = review(
            action,
            version=version,
            reviewer=user.username,
            reason=reason,
            registry=Registry(state.registry_uri),
            log=state.review_log,
            criteria_hash=criteria,
        )
    except (ReviewRefusedError, JobError) as exc:
        return refused(409, f"Your decision was not recorded: {exc}.")
    except (RegistryError, ReviewLogError) as exc:
        return refused(409, f"Your decision could not be recorded: {exc}.")
    state.models.load()  # a new champion, or a suspension, takes effect now
    mirror_review_log(state.write_sessions, state.review_log)
    return RedirectResponse(f"/models?entry={outcome.entry.seq}#version-{version}", status_code=303)
