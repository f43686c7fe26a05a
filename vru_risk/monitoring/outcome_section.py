"""The outcomes and calibration section of a monitoring report, from scored matured moments.

:func:`outcome_section` takes the moments a version scored since its training end, each with its
month, calibrated probability, person and recorded outcome (NaN while not known), and the
:class:`~vru_risk.monitoring.outcomes.Maturity` of those months at the as-of date. When at least
one month has matured it computes :func:`~vru_risk.monitoring.outcomes.calibration` on every
matured moment (not only flags) and :func:`~vru_risk.monitoring.verdict.calibration_findings`;
before maturity it shows only :func:`~vru_risk.monitoring.outcomes.estimated_precision`, labelled
an estimate that assumes nothing changed, and judges nothing.

The section holds aggregates only: counts, shares and intervals, never a person identifier.

Example
-------
>>> from datetime import date
>>> from vru_risk.monitoring.outcomes import maturity
>>> frame = pd.DataFrame({"month": ["2026-05"], "probability": [0.2], "label": [float("nan")],
...                       "person_id": ["a"]})
>>> m = maturity(["2026-05"], date(2026, 6, 30), horizon_days=365, lag_days=60)
>>> section, found = outcome_section(frame, m, estimate_from=[0.2], criteria=MonitoringCriteria())
>>> section["matured_months"], section["estimate"]["value"], found
([], 0.2, [])
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from vru_risk.monitoring.criteria import MonitoringCriteria
from vru_risk.monitoring.outcomes import (
    Calibration,
    Interval,
    Maturity,
    OutcomePrecision,
    Rate,
    calibration,
    estimated_precision,
    outcome_precision,
)
from vru_risk.monitoring.verdict import Finding, calibration_findings, precision_findings

FRAME_COLUMNS = ("month", "probability", "label", "person_id")


def _interval(i: Interval) -> dict[str, float | None]:
    return {"value": i.value, "low": i.low, "high": i.high}


def _calibration_dict(c: Calibration) -> dict[str, Any]:
    return {
        "moments": c.moments,
        "people": c.people,
        "slope": _interval(c.slope),
        "intercept": _interval(c.intercept),
        "brier": _interval(c.brier),
        "ece": _interval(c.ece),
    }


def outcome_section(
    frame: pd.DataFrame,
    matured: Maturity,
    *,
    estimate_from: npt.ArrayLike,
    criteria: MonitoringCriteria,
    replicates: int = 400,
    seed: int = 0,
) -> tuple[dict[str, Any], list[Finding]]:
    """The report's ``outcomes`` section and its findings (see the module docstring).

    ``frame`` has :data:`FRAME_COLUMNS` (no row when nothing has matured); ``estimate_from``
    holds the probabilities of the recent moments above the floor whose mean is the precision
    estimate shown before maturity."""
    missing = [c for c in FRAME_COLUMNS if c not in frame.columns]
    if missing:
        raise ValueError(f"the scored moments lack the column(s) {missing}")
    done = list(matured.matured)
    section: dict[str, Any] = {
        "horizon_days": matured.horizon_days,
        "lag_days": matured.lag_days,
        "latest_matured_moment": matured.latest_matured_moment.isoformat(),
        "matured_months": done,
        "pending_months": list(matured.pending),
        "calibration": None,
        "by_month": [],
        "estimate": None,
        "bounds": {
            "slope_low": criteria.calibration.slope_low,
            "slope_high": criteria.calibration.slope_high,
            "min_moments": criteria.calibration.min_moments,
            "judged": False,
        },
    }
    found: list[Finding] = []
    if not done or frame.empty:
        p = np.asarray(estimate_from, dtype="float64")
        estimate = estimated_precision(p, np.ones(len(p), dtype=bool))
        section["estimate"] = asdict(estimate)
        return section, found
    rows = frame[frame["month"].isin(done)]
    label = rows["label"].to_numpy(dtype="float64")
    cal = calibration(
        label,
        rows["probability"].to_numpy(dtype="float64"),
        rows["person_id"].astype(str).to_numpy(),
        replicates=replicates,
        seed=seed,
    )
    section["calibration"] = _calibration_dict(cal)
    least = criteria.groups.min_people_per_cell
    section["by_month"] = []
    for m, g in rows.groupby("month", sort=True):
        known = g[~np.isnan(g["label"].to_numpy(dtype="float64"))]
        shown = known["person_id"].nunique() >= least
        section["by_month"].append(
            {
                "month": m,
                "moments": len(known),
                "suppressed": not shown,
                "observed": _mean(known["label"].to_numpy(dtype="float64")) if shown else None,
                "predicted": _mean(known["probability"].to_numpy(dtype="float64"))
                if shown
                else None,
            }
        )
    s = cal.slope
    if s.value is not None and s.low is not None and s.high is not None:
        found = calibration_findings(s.value, s.low, s.high, cal.moments, criteria)
    section["bounds"]["judged"] = cal.moments >= criteria.calibration.min_moments and (
        s.low is not None
    )
    return section, found


def _mean(values: np.ndarray) -> float | None:
    known = values[~np.isnan(values)]
    return float(known.mean()) if known.size else None


PRECISION_COLUMNS = ("month", "label", "person_id", "offered", "supported", "above_floor")


def _rate(r: Rate, least: int) -> dict[str, Any]:
    """A rate, its share and positives withheld when fewer than ``least`` distinct people."""
    shown = r.people >= least
    return {
        "moments": r.moments,
        "people": r.people,
        "suppressed": not shown,
        "positives": r.positives if shown else None,
        "precision": _interval(r.precision if shown else Interval(None, None, None)),
    }


def _expected(rows: pd.DataFrame) -> float | None:
    """What a still-healthy model expects of the moments judged (offered or above the floor,
    not supported): their mean calibrated probability; None without probabilities."""
    if "probability" not in rows.columns:
        return None
    judged = (rows["offered"].to_numpy(dtype=bool) | rows["above_floor"].to_numpy(dtype=bool)) & ~(
        rows["supported"].to_numpy(dtype=bool)
    )
    return _mean(rows["probability"].to_numpy(dtype="float64")[judged])


def precision_section(
    frame: pd.DataFrame,
    *,
    expected_precision: float | None,
    criteria: MonitoringCriteria,
    replicates: int = 400,
    seed: int = 0,
) -> tuple[dict[str, Any], list[Finding]]:
    """Realised precision of the replayed allocation over matured moments, overall and by month,
    judged on the moments NOT given support only (offered but not supported, and above the floor
    with no place); the supported are shown apart and never judge the model.

    ``frame`` has :data:`PRECISION_COLUMNS` (one row per matured moment; ``supported``: support
    under way for the person around the moment, as known by the as-of date; ``above_floor``:
    at or above a programme floor). :func:`~vru_risk.monitoring.verdict.precision_findings`
    judges the months, oldest first (a month of fewer than ``min_moments`` moments never counts
    against the model). A share over fewer distinct people than the criteria's
    ``min_people_per_cell`` is withheld (counts only), here and in the calibration by month."""
    missing = [c for c in PRECISION_COLUMNS if c not in frame.columns]
    if missing:
        raise ValueError(f"the replayed moments lack the column(s) {missing}")

    def kinds(rows: pd.DataFrame) -> OutcomePrecision:
        supported = rows["supported"].to_numpy(dtype=bool)
        return outcome_precision(
            rows["label"].to_numpy(dtype="float64"),
            rows["offered"].to_numpy(dtype=bool),
            supported,
            rows["above_floor"].to_numpy(dtype=bool) & ~supported,
            rows["person_id"].astype(str).to_numpy(),
            replicates=replicates,
            seed=seed,
        )

    least = criteria.groups.min_people_per_cell
    overall = kinds(frame)
    months = []
    windows = []
    for month, rows in frame.groupby("month", sort=True):
        k = kinds(rows)
        u = k.unsupported
        expected = _expected(rows)
        months.append(
            {
                "month": month,
                "unsupported": _rate(u, least),
                "supported": _rate(k.supported, least),
                "expected": expected,
                "floor": criteria.precision.floor(
                    expected if expected is not None else expected_precision
                ),
            }
        )
        if u.precision.value is not None:
            high = u.precision.high if u.precision.high is not None else u.precision.value
            windows.append((str(month), u.precision.value, high, u.moments, expected))
    section = {
        "expected_precision": expected_precision,
        "floor": criteria.precision.floor(expected_precision),
        "matured_windows": criteria.precision.matured_windows,
        "min_moments": criteria.precision.min_moments,
        "offered": int(frame["offered"].sum()),
        "unsupported": _rate(overall.unsupported, least),
        "not_taken_up": _rate(overall.not_taken_up, least),
        "no_place": _rate(overall.no_place, least),
        "supported": _rate(overall.supported, least),
        "by_month": months,
    }
    return section, precision_findings(windows, expected_precision, criteria)
