"""Monitoring references and reports for the tests of the pages, made by the real builders from
small inputs: no data folder and no training. The factory model (``tests.factories.risk_model``)
scores frames of the factory spec; the reference is :func:`compute_reference` of such a window;
each month's report gathers :func:`checks.input_checks`, :func:`checks.score_check`,
:func:`outcome_section`, :func:`precision_section`, :func:`group_section` and
:func:`verdict.outage_findings` into :func:`build_report`, as ``vru monitor`` does.

Young people carry identifiers in the county's own format (``P0000001``), so that a test can
assert that none of them reaches a page.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from tests.factories import frame_for
from vru_risk.features.context import MomentContext
from vru_risk.flags.programmes import load_programmes
from vru_risk.jobs.monitor_groups import group_section
from vru_risk.models.gate_config import FairnessGateConfig
from vru_risk.models.risk_model import RiskModel
from vru_risk.monitoring import checks
from vru_risk.monitoring.criteria import load_criteria
from vru_risk.monitoring.outcome_section import outcome_section, precision_section
from vru_risk.monitoring.outcomes import maturity
from vru_risk.monitoring.reference import MonitoringReference, compute_reference
from vru_risk.monitoring.report import build_report, write_report
from vru_risk.monitoring.verdict import Finding, combine, outage_findings

#: the packaged criteria, the group bounds from the default fairness gate (as the job resolves them)
CRITERIA = load_criteria().resolved(FairnessGateConfig())
#: the young people of these reports, in the county's identifier format
PEOPLE = [f"P{i + 1:07d}" for i in range(600)]
REFERENCE_START = date(2025, 1, 6)


def people(seed: int = 0) -> pd.DataFrame:
    """Audit-only attributes of :data:`PEOPLE`."""
    rng = np.random.default_rng(seed)
    n = len(PEOPLE)
    return pd.DataFrame(
        {
            "person_id": PEOPLE,
            "sex": rng.choice(["female", "male", "unknown"], n, p=[0.45, 0.49, 0.06]),
            "ethnicity": rng.choice(
                ["asian", "black", "mixed", "white", "unknown"], n, p=[0.1, 0.1, 0.1, 0.68, 0.02]
            ),
        }
    )


def _context(frame: pd.DataFrame) -> MomentContext:
    return MomentContext(
        frame=pd.DataFrame(
            {
                "person_id": frame["person_id"],
                "as_of": frame["as_of"],
                "age_completed": 14,
                "school_id": "SEC-0001",
            }
        ),
        triggers=pd.DataFrame(
            {
                "person_id": frame["person_id"],
                "as_of": frame["as_of"],
                "trigger_kind": "police_contact",
                "trigger_date": frame["as_of"],
                "source": "police_contacts",
                "detail": "suspect",
            }
        ),
        supported=pd.DataFrame(columns=["person_id", "day", "programme"]),
    )


def scored_moments(model: RiskModel, n: int, seed: int, start: date, days: int) -> pd.DataFrame:
    """Up to ``n`` moments (one per person and day) of :data:`PEOPLE` over ``days`` days from
    ``start``, scored by ``model``, with an outcome drawn from the calibrated probability."""
    rng = np.random.default_rng(seed)
    x, _ = frame_for(model.spec, n, seed)
    probability = model.predict(x)
    frame = pd.DataFrame(
        {
            "person_id": rng.choice(PEOPLE, n),
            "as_of": [start + timedelta(days=int(d)) for d in rng.integers(0, days, n)],
            "probability": probability,
            "percentile": model.percentile(probability),
            "label": (rng.uniform(size=n) < probability).astype("float64"),
        }
    )
    both = pd.concat([frame, x], axis=1)
    return both.drop_duplicates(["person_id", "as_of"]).reset_index(drop=True)


def reference_for(
    model: RiskModel, seed: int = 1, start: date = REFERENCE_START
) -> MonitoringReference:
    """A reference of about 1,200 moments over 25 weeks from ``start`` (the first half of
    2025)."""
    scored = scored_moments(model, 1200, seed, start, 175)
    scored = scored.merge(people(), on="person_id", how="left")
    return compute_reference(
        scored,
        _context(scored),
        load_programmes(),
        model.spec,
        label="label",
        min_people_per_cell=CRITERIA.groups.min_people_per_cell,
    )


@dataclass(frozen=True)
class Month:
    """What one monitoring run saw: its as-of date, inputs of some sources moved (``shift``: the
    share of moments with one more record of the source in each of its features), matured
    months' realised precision on moments not given support, the calibration slope of the
    outcomes, and sources silent for some days."""

    as_of: date
    shift: Mapping[str, float] = field(default_factory=dict)
    precision: Mapping[str, float] = field(default_factory=dict)
    slope: float = 1.0
    silent: Mapping[str, int] = field(default_factory=dict)


def _outcomes(month: Month, seed: int) -> pd.DataFrame:
    """300 scored moments per matured month, outcomes following ``slope``."""
    rng = np.random.default_rng(seed)
    rows = []
    for m in month.precision:
        p = rng.uniform(0.02, 0.6, 300)
        truth = 1 / (1 + np.exp(-month.slope * np.log(p / (1 - p))))
        rows.append(
            pd.DataFrame(
                {
                    "month": m,
                    "probability": p,
                    "label": (rng.uniform(size=300) < truth).astype("float64"),
                    "person_id": rng.choice(PEOPLE, 300),
                }
            )
        )
    empty = pd.DataFrame({"month": [], "probability": [], "label": [], "person_id": []})
    return pd.concat(rows, ignore_index=True) if rows else empty


def _replayed(month: Month, seed: int) -> pd.DataFrame:
    """Per matured month, 120 offered moments not supported (their share of outcomes as
    given), 40 offered and supported, 120 below the floor."""
    rng = np.random.default_rng(seed)
    rows = []
    for m, share in month.precision.items():
        for kind, n in (("unsupported", 120), ("supported", 40), ("below", 120)):
            hits = round(share * n) if kind == "unsupported" else n // 5
            rows.append(
                pd.DataFrame(
                    {
                        "month": m,
                        "label": np.r_[np.ones(hits), np.zeros(n - hits)],
                        "person_id": rng.choice(PEOPLE, n),
                        "offered": kind != "below",
                        "supported": kind == "supported",
                        "above_floor": kind != "below",
                        "probability": rng.uniform(0.3, 0.5, n),
                    }
                )
            )
    return pd.concat(rows, ignore_index=True)


def monitoring_report(
    model: RiskModel,
    reference: MonitoringReference,
    month: Month,
    *,
    version: int,
    generated_at: datetime,
    seed: int = 0,
) -> dict[str, Any]:
    """The report of one run (as ``vru monitor`` builds it; no capacity or source rows)."""
    start = month.as_of - timedelta(days=27)
    months = checks.months_between(start, month.as_of)
    frame = scored_moments(model, 400, seed, start, 28)
    rng = np.random.default_rng(seed + 1)
    for source, share in month.shift.items():
        more = rng.uniform(size=len(frame)) < share
        for f in model.spec.features:
            if f.source == source:
                frame.loc[more, f.name] = frame.loc[more, f.name] + 1
    probability = model.predict(frame[list(model.spec.names)])
    percentile = model.percentile(probability)
    _, summaries, drift_found = checks.input_checks(reference, frame, months, CRITERIA)
    scores, score_found = checks.score_check(reference, probability, percentile, months, CRITERIA)
    floor = min(p.min_percentile for p in load_programmes().programmes)
    matured = _outcomes(month, seed)
    listed = [*month.precision, month.as_of.strftime("%Y-%m")]
    section, calibration_found = outcome_section(
        matured,
        maturity(listed, month.as_of, horizon_days=365, lag_days=60),
        estimate_from=probability[percentile >= floor],
        criteria=CRITERIA,
        replicates=100,
    )
    # as the monitor job writes it without a replay: no supported moment left out
    section |= {
        "note": "n",
        "floor_percentile": floor,
        "in_calibration_window": [],
        "supported_left_out": 0,
    }
    precision_found: list[Finding] = []
    section["precision"] = None
    if month.precision:
        section["precision"], precision_found = precision_section(
            _replayed(month, seed),
            expected_precision=reference.allocation.precision,
            criteria=CRITERIA,
            replicates=100,
        )
    recent = frame[["person_id"]].assign(offered=percentile >= 90)
    groups, group_found = group_section(recent, None, people(), CRITERIA)
    verdict = combine(
        [
            *drift_found,
            *score_found,
            *calibration_found,
            *precision_found,
            *group_found,
            *outage_findings(dict(month.silent), CRITERIA),
        ]
    )
    return build_report(
        subject={
            "name": "vru-risk",
            "version": version,
            "content_hash": model.content_hash,
            "train_end": "2024-12-31",
            "reference_hash": reference.hash,
            "reference_window": f"{reference.window_start} to {reference.window_end}",
            "reference_expected_precision": reference.allocation.precision,
            "criteria_hash": CRITERIA.hash,
            "approved_reference_hash": None,
            "approved_criteria_hash": None,
        },
        as_of=month.as_of,
        window=(start, month.as_of),
        data={"extract_date": month.as_of.isoformat(), "fingerprint": "f" * 16},
        verdict=verdict,
        sources=[],
        inputs=checks.drift_rows(summaries),
        season=checks.season_note(reference, months),
        scores=scores,
        capacity={"note": "Not checked: no flags were loaded.", "rows": []},
        outcomes=section,
        groups=groups,
        decisions={"note": "Not checked: no flags were loaded."},
        feedback={"note": "Not checked: no flags were loaded."},
        notify=["Chair of the ethics panel <panel@vru.example>"],
        notify_note=None,
        generated_at=generated_at.isoformat(timespec="seconds"),
    )


#: three monthly runs of a version in service: a clean one, one whose police inputs moved (a
#: review), and one with a silent A&E feed and matured months below the floor (suspension)
MONTHS = (
    Month(date(2026, 4, 30), precision={"2025-01": 0.40, "2025-02": 0.38}),
    Month(
        date(2026, 5, 31),
        shift={"police_contacts": 0.4},
        precision={"2025-01": 0.40, "2025-02": 0.38, "2025-03": 0.35},
    ),
    Month(
        date(2026, 6, 30),
        shift={"police_contacts": 0.4},
        precision={"2025-01": 0.40, "2025-02": 0.38, "2025-03": 0.12, "2025-04": 0.10},
        silent={"ae_visits": 52},
    ),
)


def write_runs(
    home: Path,
    reports: Mapping[date, Mapping[str, Any]],
    *,
    version: int,
    latest_written: datetime,
) -> list[Path]:
    """Write ``reports`` (by as-of date) as runs of ``version`` under ``home``; the newest is
    dated ``latest_written``, each older one a month before the next."""
    out = []
    days = sorted(reports)
    for back, day in enumerate(reversed(days)):
        report = dict(reports[day])
        report["subject"] = {**report["subject"], "version": version}
        report["title"] = f"Monitoring of vru-risk version {version} on {day.isoformat()}"
        written = latest_written - timedelta(days=30 * back)
        report["generated_at"] = written.isoformat(timespec="seconds")
        folder = home / "monitoring" / f"vru-risk-v{version}" / day.isoformat()
        write_report(report, folder)
        out.append(folder)
    return out


@dataclass(frozen=True)
class MonthReports:
    """A reference and the reports of :data:`MONTHS` (of version 1; :func:`write_runs` files
    them under any version)."""

    reference: MonitoringReference
    reports: Mapping[date, Mapping[str, Any]]


@pytest.fixture(scope="session")
def month_reports(risk_model: RiskModel) -> MonthReports:
    """Made once per session (about a second)."""
    reference = reference_for(risk_model)
    now = datetime.now(UTC)
    reports = {
        m.as_of: monitoring_report(risk_model, reference, m, version=1, generated_at=now, seed=k)
        for k, m in enumerate(MONTHS)
    }
    return MonthReports(reference, reports)
