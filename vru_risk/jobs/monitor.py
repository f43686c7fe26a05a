"""The monitoring job: a monthly run that compares what was known by an as-of date with the
version's reference (made once: :mod:`vru_risk.jobs.monitor_reference`).

:func:`run_monitor` sees only what was known by ``as_of``: the moments of the 28 days up to it
(built as the daily job builds them: features from records known by each moment's day), the
sources' rows with a known date on or before it, and the flags dated up to it (with the
decisions and views recorded by the end of that day). It checks the sources, how they record
their categories (:mod:`vru_risk.monitoring.coding`), the inputs, the scores and the flags
against capacity (:mod:`vru_risk.monitoring.checks`), the outcomes, the
groups, the practitioners' decisions and the feedback watch
(:mod:`vru_risk.jobs.monitor_decisions`), combines the findings into a verdict (exit 0, 4 or 3),
writes ``report.json`` and ``report.html`` under ``VRU_HOME/monitoring/vru-risk-v{N}/{as_of}/``,
logs both to the version's run and names who is to be told. It never suspends anything. Every
refusal is a :class:`JobError` raised before anything is written.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any, Final

import numpy as np
import pandas as pd

from vru_risk.data.load import DataFolder
from vru_risk.features.catalog import CatalogError
from vru_risk.features.config import FeatureBuildConfig
from vru_risk.features.context import moment_context
from vru_risk.features.moments import MomentsError, build_moments
from vru_risk.jobs.common import JobError, engine_options
from vru_risk.jobs.monitor_data import (
    approved_hashes,
    build_config,
    category_counts,
    connection_with_sources,
    criteria_of,
    event_sources,
    last_known,
    load_reference,
    load_version,
    monitoring_dir,
    notify_of,
    offers_from_store,
    open_data,
    people_attributes,
    programmes_of,
    reference_command,
    weekly_rows,
)
from vru_risk.jobs.monitor_decisions import decision_sections
from vru_risk.jobs.monitor_groups import group_section
from vru_risk.jobs.monitor_outcomes import OUTCOME_NOTE, matured_moments, replayed, score
from vru_risk.models.registry import Registry, VersionInfo
from vru_risk.models.risk_model import RiskModel
from vru_risk.models.tags import TRAIN_END_TAG
from vru_risk.monitoring import checks
from vru_risk.monitoring.coding import coding_check
from vru_risk.monitoring.criteria import MonitoringCriteria
from vru_risk.monitoring.outcome_section import outcome_section, precision_section
from vru_risk.monitoring.outcomes import Maturity
from vru_risk.monitoring.reference import MonitoringReference
from vru_risk.monitoring.report import build_report, write_report
from vru_risk.monitoring.verdict import Finding, Verdict, approval_findings, combine
from vru_risk.settings import Settings

#: the days of a monitoring run: the as-of date and the 27 before it
WINDOW_DAYS: Final = 28


@dataclass(frozen=True)
class MonitorRequest:
    """Monitor ``version`` (default: the champion) on ``data_dir`` as of ``as_of`` (default:
    the folder's extract date)."""

    data_dir: Path
    version: int | None = None
    as_of: date | None = None


@dataclass(frozen=True)
class MonitorResult:
    version: int
    as_of: date
    verdict: Verdict
    json_path: Path
    html_path: Path
    report: dict[str, Any]
    notify: tuple[str, ...]
    notify_note: str | None


def _check_training_end(info: VersionInfo, model: RiskModel, day: date) -> None:
    train_end = info.tags.get(TRAIN_END_TAG) or model.info.get("train_end")
    if train_end and day < date.fromisoformat(train_end):
        raise JobError(
            f"--as-of {day} is before version {info.version}'s training end ({train_end}): "
            "monitoring judges a model on what came after its training; give a later date"
        )


def _as_of(info: VersionInfo, model: RiskModel, folder: DataFolder, as_of: date | None) -> date:
    day = as_of or folder.extract_date
    _check_training_end(info, model, day)
    if day > folder.extract_date:
        raise JobError(
            f"--as-of {day} is after the data's extract date {folder.extract_date}: nothing can "
            "be known then; give a date on or before it"
        )
    return day


def run_monitor(settings: Settings, request: MonitorRequest) -> MonitorResult:
    """One monitoring run (see the module docstring)."""
    registry = Registry(settings.tracking_uri)
    model, info = load_version(registry, request.version, settings.lightgbm_threads)
    reference = load_reference(settings, registry, info)
    config = build_config(model, info.version)
    if reference.spec_hash != model.spec.hash:
        raise JobError(
            f"version {info.version}'s reference was made with another feature spec; recreate "
            f"it with {reference_command(info.version)}"
        )
    if request.as_of is not None:  # refuse a date before training without opening the data
        _check_training_end(info, model, request.as_of)
    folder = open_data(settings, request.data_dir)
    as_of = _as_of(info, model, folder, request.as_of)
    criteria = criteria_of(settings, registry, info)
    programmes = programmes_of(settings)
    notify, notify_note = notify_of(settings)
    start = as_of - timedelta(days=WINDOW_DAYS - 1)
    days = [start + timedelta(days=k) for k in range(WINDOW_DAYS)]
    engine = engine_options(settings)
    try:
        moments = build_moments(folder, model.spec, config, days, **engine)
    except (MomentsError, CatalogError) as exc:
        raise JobError(str(exc)) from None
    probability, percentile = score(model, moments.frame)
    months = checks.window_months(start, as_of)
    scores, score_found = checks.score_check(reference, probability, percentile, months, criteria)
    sources = event_sources(folder, reference.binning.sources)
    con = connection_with_sources(folder, model.spec.reporting_lag_days, settings)
    try:
        weeks = weekly_rows(con, sources, start - timedelta(days=start.weekday()), as_of)
        statuses = [
            checks.SourceStatus(
                source=s,
                last_known=last_known(con, s, as_of) if s in sources else None,
                refreshed=_known_refresh(folder, s, as_of),
                present=s in sources,
            )
            for s in reference.binning.sources
            if s in reference.sources or s in sources
        ]
        people = people_attributes(con)
        recorded = category_counts(con, sources, start, as_of, as_of)
    finally:
        con.close()
    coding_rows, coding_found = coding_check(reference.categories, recorded, months, criteria)
    unfed = {st.source for st in statuses if st.last_known is None or st.last_known < start}
    phrases = {f.name: f.phrase for f in model.spec.features}
    _, summaries, drift_found = checks.input_checks(
        reference, moments.frame, months, criteria, unfed=unfed, phrases=phrases
    )
    source_rows, outage_found = checks.source_checks(
        statuses, weeks, reference, criteria, as_of=as_of
    )
    offers, capacity_note = offers_from_store(settings, info.version, start, as_of)
    capacity_rows, capacity_found = (
        checks.capacity_check(offers, programmes, start, as_of) if offers else ([], [])
    )
    floor = min(p.min_percentile for p in programmes.programmes)
    outcomes, outcome_found = _outcomes(settings, folder, model, info, config, as_of)
    # one read of the moments' context for both replays: the matured months and the window
    days_replayed = [*outcomes[0]["as_of"], *moments.frame["as_of"]]
    context = (
        moment_context(folder, model.spec, config, min(days_replayed), max(days_replayed), **engine)
        if days_replayed
        else None
    )
    replay = None
    if not outcomes[0].empty:
        replay = replayed(
            settings, folder, model, config, outcomes[0], programmes, as_of=as_of, context=context
        )
    # support lowers the outcomes it is given to prevent: calibration is judged on the matured
    # moments not given support (all of them, flagged or not), the supported left out and counted
    supported = np.zeros(0, dtype=bool) if replay is None else replay["supported"].to_numpy(bool)
    outcomes_section, calibration_found = outcome_section(
        outcomes[0] if replay is None else replay[~supported],
        outcomes[1],
        estimate_from=probability[percentile >= floor],
        criteria=criteria,
    )
    outcomes_section["note"] = OUTCOME_NOTE
    outcomes_section["floor_percentile"] = floor
    outcomes_section["in_calibration_window"] = outcome_found
    outcomes_section["supported_left_out"] = int(supported.sum())
    precision_found: list[Finding] = []
    outcomes_section["precision"] = None
    if replay is not None:
        outcomes_section["precision"], precision_found = precision_section(
            replay, expected_precision=reference.allocation.precision, criteria=criteria
        )
    recent = None
    if len(moments.frame):
        rows = moments.frame[["person_id", "as_of"]].assign(
            person_id=moments.frame["person_id"].astype(str),
            probability=probability,
            percentile=percentile,
        )
        recent = replayed(
            settings, folder, model, config, rows, programmes, as_of=as_of, context=context
        )
    groups, group_found = group_section(recent, replay, people, criteria)
    decisions, feedback, decision_found = decision_sections(
        settings, info.version, as_of, people, criteria, programmes
    )
    approved = approved_hashes(settings, info.version)
    changed = approval_findings(approved, {"reference": reference.hash, "criteria": criteria.hash})
    verdict = combine(
        [
            *outage_found,
            *coding_found,
            *drift_found,
            *score_found,
            *capacity_found,
            *calibration_found,
            *precision_found,
            *group_found,
            *decision_found,
            *changed,
        ]
    )
    report = build_report(
        subject={
            **_subject(info, model, reference, criteria),
            "approved_reference_hash": approved["reference"],
            "approved_criteria_hash": approved["criteria"],
        },
        as_of=as_of,
        window=(start, as_of),
        data={
            "extract_date": folder.extract_date.isoformat(),
            "fingerprint": folder.fingerprint[:16],
        },
        verdict=verdict,
        sources=source_rows,
        inputs=checks.drift_rows(summaries, phrases),
        coding=coding_rows,
        season=checks.season_note(reference, months),
        scores=scores,
        capacity={"note": capacity_note, "rows": capacity_rows},
        outcomes=outcomes_section,
        groups=groups,
        decisions=decisions,
        feedback=feedback,
        notify=notify,
        notify_note=notify_note,
        generated_at=datetime.now(UTC).isoformat(timespec="seconds"),
    )
    out = monitoring_dir(settings, info.version, as_of)
    json_path, html_path = write_report(report, out)
    registry.upload(info.run_id, out, f"monitoring/{as_of.isoformat()}")
    return MonitorResult(
        version=info.version,
        as_of=as_of,
        verdict=verdict,
        json_path=json_path,
        html_path=html_path,
        report=report,
        notify=notify,
        notify_note=notify_note,
    )


def _outcomes(
    settings: Settings,
    folder: DataFolder,
    model: RiskModel,
    info: VersionInfo,
    config: FeatureBuildConfig,
    as_of: date,
) -> tuple[tuple[pd.DataFrame, Maturity], list[str]]:
    """The matured scored moments since the training end, their maturity, and which matured
    months lie in the version's calibration window (its calibration there is in-sample)."""
    since = date.fromisoformat(info.tags.get(TRAIN_END_TAG) or model.info["train_end"])
    frame, months = matured_moments(settings, folder, model, config, since=since, as_of=as_of)
    start, end = model.info.get("calibration_start"), model.info.get("calibration_end")
    inside = [m for m in months.matured if start and end and start[:7] <= m and f"{m}-01" < end]
    return (frame, months), inside


def _known_refresh(folder: DataFolder, source: str, as_of: date) -> date | None:
    """The manifest's refresh date of ``source`` when it was on or before ``as_of``."""
    day = folder.refreshed.get(source)
    return day if day is not None and day <= as_of else None


def _subject(
    info: VersionInfo, model: RiskModel, ref: MonitoringReference, criteria: MonitoringCriteria
) -> dict[str, Any]:
    return {
        "name": "vru-risk",
        "version": info.version,
        "content_hash": model.content_hash,
        "train_end": info.tags.get(TRAIN_END_TAG) or model.info.get("train_end", ""),
        "reference_hash": ref.hash,
        "reference_window": f"{ref.window_start} to {ref.window_end}",
        "reference_expected_precision": ref.allocation.precision,
        "criteria_hash": criteria.hash,
    }
