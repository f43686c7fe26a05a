"""The evaluation job: who a version's flags reached, and whether the support offered helped.

:func:`run_evaluation` reads a period's matured moments, the offers and decisions the service
recorded, the support the data folder records and the lottery's draws
(:mod:`vru_risk.jobs.evaluate_data`); it counts reach per programme and period, overall and by
age band, school and each audit-only group, in distinct young people with small cells
suppressed (:func:`vru_risk.evaluation.reach.reach_table`); it estimates each programme's
effect by each design the data allow (:mod:`vru_risk.jobs.evaluate_designs`); and it writes
``report.json`` and ``report.html`` under ``VRU_HOME/evaluation/vru-risk-v{N}/{from}_{to}/``
and logs both to the version's MLflow run. Aggregates only: no person identifier reaches the
report. Every refusal is a :class:`~vru_risk.jobs.common.JobError` (exit 2) raised before
anything is written: an unknown programme, a period that is empty or back to front, a period
past the extract, no outcomes matured yet (with the day they will be).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any, Final

import numpy as np
import pandas as pd

from vru_risk.evaluation.reach import reach_table
from vru_risk.evaluation.report import build_report, write_report
from vru_risk.features.context import moment_context
from vru_risk.flags.programmes import Programme
from vru_risk.flags.replay import window_candidates
from vru_risk.jobs.common import JobError, engine_options
from vru_risk.jobs.evaluate_data import (
    EvaluationInputs,
    draws_of,
    matured,
    people_of,
    service_record,
    support_of,
)
from vru_risk.jobs.evaluate_designs import DEFAULT_EFFECT, effect_sections
from vru_risk.jobs.monitor_data import (
    build_config,
    governance_path,
    load_version,
    open_data,
    programmes_of,
)
from vru_risk.models.registry import Registry
from vru_risk.models.tags import TRAIN_END_TAG
from vru_risk.monitoring.governance import EVALUATION_QUESTIONS, GovernanceError, load_governance
from vru_risk.settings import Settings

#: the default period: the year up to the extract date
DEFAULT_DAYS: Final = 365
#: how the reach table is broken down beside the programme totals
BREAKDOWNS: Final = ("age_band", "school")


@dataclass(frozen=True)
class EvaluateRequest:
    """Evaluate ``version`` (default: the champion) on ``data_dir`` over ``start`` to ``end``
    (default: the year up to the extract date), for one programme or all; ``effect``: the
    effect of interest (a risk difference, negative = fewer young people involved) where a
    programme pre-registered none."""

    data_dir: Path
    programme: str | None = None
    start: date | None = None
    end: date | None = None
    version: int | None = None
    effect: float | None = None


@dataclass(frozen=True)
class EvaluateResult:
    version: int
    out: Path
    json_path: Path
    html_path: Path
    report: dict[str, Any]


def _programmes(settings: Settings, wanted: str | None) -> list[Programme]:
    programmes = programmes_of(settings).programmes
    if wanted is None:
        return list(programmes)
    found = [p for p in programmes if wanted in (p.id, p.name)]
    if not found:
        known = ", ".join(f"{p.id} ({p.name})" for p in programmes)
        raise JobError(f"unknown programme {wanted!r}: the programmes file has {known}")
    return found


def _in_order(start: date, end: date) -> None:
    if start > end:
        raise JobError(f"--from {start} is after --to {end}: give the earlier day first")


def _period(request: EvaluateRequest, extract: date, train_end: date | None) -> tuple[date, date]:
    end = request.end or extract
    start = request.start or end - timedelta(days=DEFAULT_DAYS - 1)
    if end > extract:
        raise JobError(
            f"--to {end} is after the data's extract date ({extract}): nothing after it is "
            "known; give --to on or before it"
        )
    _in_order(start, end)
    if train_end is not None and end <= train_end:
        raise JobError(
            f"the period {start} to {end} ends before the version was in service (its training "
            f"data end on {train_end}): give a period after that day"
        )
    if train_end is not None and start <= train_end:
        start = train_end + timedelta(days=1)
    return start, end


def run_evaluation(settings: Settings, request: EvaluateRequest) -> EvaluateResult:
    """One evaluation (see the module docstring)."""
    if (request.effect is not None and not -1.0 < request.effect < 1.0) or request.effect == 0.0:
        raise JobError(
            f"--effect {request.effect} is not a risk difference: give a non-zero number "
            "between -1 and 1, e.g. -0.03 for 3 percentage points fewer"
        )
    if request.start is not None and request.end is not None:
        _in_order(request.start, request.end)  # before anything is read
    chosen = _programmes(settings, request.programme)
    try:
        answers = load_governance(governance_path(settings)).evaluation
    except GovernanceError as exc:
        raise JobError(str(exc)) from None
    folder = open_data(settings, request.data_dir)
    _period(request, folder.extract_date, None)  # a period past the extract: before the model
    registry = Registry(settings.tracking_uri)
    model, info = load_version(registry, request.version, settings.lightgbm_threads)
    config = build_config(model, info.version)
    recorded_end = info.tags.get(TRAIN_END_TAG) or model.info.get("train_end")
    train_end = date.fromisoformat(str(recorded_end)) if recorded_end else None
    start, end = _period(request, folder.extract_date, train_end)
    offers, decisions = service_record(settings, info.version, start, end)
    ids = {p.id for p in chosen}
    offers = offers.loc[offers["programme_id"].isin(ids)].reset_index(drop=True)
    decisions = decisions.loc[decisions["programme_id"].isin(ids)].reset_index(drop=True)
    if offers.empty:
        names = ", ".join(p.name for p in chosen)
        raise JobError(
            f"no flag of version {info.version} offered a place in {names} between {start} and "
            f"{end}: the period is empty; choose a period in which the version was in service"
        )
    moments, maturity = matured(settings, folder, model, config, start=start, end=end)
    lags = dict(model.spec.reporting_lag_days)
    inputs = EvaluationInputs(
        start=start,
        end=end,
        as_of=folder.extract_date,
        maturity=maturity,
        moments=moments,
        offers=offers,
        decisions=decisions,
        support=support_of(folder, lags, settings, programmes_of(settings)),
        people=people_of(folder, lags, settings, end),
        draws=draws_of(settings, chosen, start, end),
        feature_names=tuple(model.spec.names),
    )
    eligible = _eligibility(settings, inputs, folder, model, config)
    reach = _reach(settings, inputs, chosen)
    effects = []
    out = settings.home / "evaluation" / f"vru-risk-v{info.version}" / f"{start}_{end}"
    if request.programme is not None:
        out = out.with_name(f"{out.name}_{chosen[0].id}")
    for programme in chosen:
        effect = programme.lottery.effect or request.effect or DEFAULT_EFFECT
        effects.append(
            {
                "programme_id": programme.id,
                "programme": programme.name,
                "policy": programme.policy,
                "lottery_enabled": programme.lottery.enabled,
                "designs": effect_sections(
                    inputs,
                    programme,
                    eligible[programme.id],
                    effect=effect,
                    looks_path=settings.home / "evaluation" / "looks.jsonl",
                    record_look=True,
                ),
            }
        )
    report = build_report(
        subject={
            "version": info.version,
            "programmes": [{"id": p.id, "name": p.name} for p in chosen],
            "data_fingerprint": folder.fingerprint[:16],
            "extract_date": folder.extract_date.isoformat(),
        },
        period=(start, end),
        maturity=maturity,
        reach=reach,
        effects=effects,
        min_people=settings.aggregate_min_people,
        counts={
            "moments": len(moments),
            "offers": len(offers),
            "lottery_participants": len(inputs.draws),
        },
        generated_at=datetime.now(UTC).isoformat(timespec="seconds"),
        governance=[
            {"key": key, "question": question, "answer": getattr(answers, key).strip() or None}
            for key, question in EVALUATION_QUESTIONS.items()
        ],
    )
    json_path, html_path = write_report(report, out)
    registry.upload(info.run_id, out, f"evaluation/{out.name}")
    return EvaluateResult(info.version, out, json_path, html_path, report)


def _eligibility(
    settings: Settings, inputs: EvaluationInputs, folder: Any, model: Any, config: Any
) -> dict[str, np.ndarray]:
    """Per programme, per matured moment: whether the programme may be offered it (ages,
    trigger kinds, places it works with, support already under way), as the allocation says."""
    moments = inputs.moments
    if moments.empty:
        return {}
    first, last = min(moments["as_of"]), max(moments["as_of"])
    context = moment_context(folder, model.spec, config, first, last, **engine_options(settings))
    rows = moments[["person_id", "as_of", "probability", "percentile"]]
    programmes = programmes_of(settings)
    candidates = window_candidates(rows, context, programmes)
    return {
        p.id: np.asarray(candidates.eligible[p.id].eligible, dtype=bool)
        for p in programmes.programmes
    }


def _reach(settings: Settings, inputs: EvaluationInputs, chosen: list[Programme]) -> dict[str, Any]:
    """The reach tables: per programme and period, then by each breakdown and audit group."""
    costs = {p.id: p.cost_per_period for p in chosen if p.cost_per_period is not None}
    support = inputs.support.loc[
        [inputs.start <= d <= inputs.end for d in inputs.support["start_date"]]
    ]
    args = (inputs.offers, inputs.decisions, support, inputs.people)
    common: dict[str, Any] = {"min_people": settings.aggregate_min_people, "programmes": chosen}
    tables = {"programme": reach_table(*args, by="programme", costs=costs, **common)}
    for by in BREAKDOWNS:
        tables[by] = reach_table(*args, by=by, **common)
    groups = [c for c in inputs.people.columns if c not in ("person_id", "age_band", "school")]
    for attribute in groups:
        tables[f"group:{attribute}"] = reach_table(*args, by=f"group:{attribute}", **common)
    return {key: _records(frame) for key, frame in tables.items()}


def _records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    out = []
    for row in frame.to_dict(orient="records"):
        out.append({str(k): _plain(v) for k, v in row.items()})
    return out


def _plain(value: Any) -> Any:
    if value is None or value is pd.NA:
        return None
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, (np.floating, float)):
        return None if not np.isfinite(value) else float(value)
    if isinstance(value, (date, pd.Timestamp)):
        return value.isoformat()[:10]
    if isinstance(value, np.bool_):
        return bool(value)
    return value
