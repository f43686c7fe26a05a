"""The outcomes section: calibration on matured months only, the slope finding from its
interval, and before maturity an estimate that judges nothing."""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd

from vru_risk.monitoring.criteria import MonitoringCriteria
from vru_risk.monitoring.outcome_section import outcome_section, precision_section
from vru_risk.monitoring.outcomes import maturity

CRITERIA = MonitoringCriteria()


def scored(slope: float, n_people: int = 600, seed: int = 1) -> pd.DataFrame:
    """Two months of moments whose outcome follows ``logit^-1(slope * logit(p))``, and a third
    month not yet matured (its labels are NaN)."""
    rng = np.random.default_rng(seed)
    rows = []
    for month in ("2025-01", "2025-02", "2025-06"):
        p = rng.uniform(0.02, 0.6, n_people)
        logit = np.log(p / (1 - p))
        truth = 1 / (1 + np.exp(-slope * logit))
        y = (rng.uniform(size=n_people) < truth).astype("float64")
        if month == "2025-06":
            y[:] = np.nan
        rows.append(
            pd.DataFrame(
                {
                    "month": month,
                    "probability": p,
                    "label": y,
                    "person_id": [f"p{i}" for i in range(n_people)],
                }
            )
        )
    return pd.concat(rows, ignore_index=True)


AS_OF = date(2026, 5, 31)  # with 365 + 60 days: moments up to 2025-04-01 have matured


def test_calibration_uses_matured_months_and_a_calibrated_model_is_not_judged_outside() -> None:
    frame = scored(1.0)
    m = maturity(sorted(set(frame["month"])), AS_OF, horizon_days=365, lag_days=60)
    section, found = outcome_section(frame, m, estimate_from=[], criteria=CRITERIA, replicates=100)
    assert section["matured_months"] == ["2025-01", "2025-02"]
    assert section["pending_months"] == ["2025-06"]
    cal = section["calibration"]
    assert cal["moments"] == 1200 and cal["people"] == 600  # a person's rows counted once
    assert cal["slope"]["low"] < 1.0 < cal["slope"]["high"]
    assert section["bounds"]["judged"] and found == [] and section["estimate"] is None
    assert [m["month"] for m in section["by_month"]] == ["2025-01", "2025-02"]
    assert "person_id" not in str(section) and "p1" not in str(section)


def test_an_overconfident_model_has_its_slope_found_outside_the_bounds() -> None:
    frame = scored(0.3)
    m = maturity(sorted(set(frame["month"])), AS_OF, horizon_days=365, lag_days=60)
    _, found = outcome_section(frame, m, estimate_from=[], criteria=CRITERIA, replicates=100)
    assert [f.criterion for f in found] == ["calibration_slope"]
    assert found[0].level == "suspension_recommended"


def test_before_maturity_only_an_estimate_is_shown_and_nothing_is_judged() -> None:
    frame = scored(0.3)
    m = maturity(sorted(set(frame["month"])), date(2025, 12, 31), horizon_days=365, lag_days=60)
    section, found = outcome_section(frame.iloc[:0], m, estimate_from=[0.2, 0.4], criteria=CRITERIA)
    assert found == [] and section["calibration"] is None
    assert section["estimate"]["value"] == 0.3 and section["estimate"]["moments"] == 2
    assert "assuming nothing changed" in section["estimate"]["note"]


def replayed(precision: dict[str, float], n: int = 200) -> pd.DataFrame:
    """Per month, ``n`` offered moments not supported with the given share of outcomes, ``n``
    offered and supported with no outcome, and ``n`` below the floor with every outcome."""
    rows = []
    for month, share in precision.items():
        hits = round(share * n)
        for kind in ("unsupported", "supported", "below"):
            label = (
                [1.0] * hits + [0.0] * (n - hits)
                if kind == "unsupported"
                else [0.0 if kind == "supported" else 1.0] * n
            )
            rows.append(
                pd.DataFrame(
                    {
                        "month": month,
                        "label": label,
                        "person_id": [f"{month}-{kind}-{i}" for i in range(n)],
                        "offered": kind != "below",
                        "supported": kind == "supported",
                        "above_floor": kind != "below",
                    }
                )
            )
    return pd.concat(rows, ignore_index=True)


def test_precision_is_judged_on_unsupported_moments_and_needs_two_matured_months_below() -> None:
    section, found = precision_section(
        replayed({"2025-01": 0.4, "2025-02": 0.1}),
        expected_precision=0.4,
        criteria=CRITERIA,
        replicates=100,
    )
    assert found == []  # one month below the floor 0.24 is not enough
    assert section["floor"] == 0.24 and section["offered"] == 800
    assert section["supported"]["moments"] == 400 and section["supported"]["positives"] == 0
    assert section["unsupported"]["moments"] == 400  # moments below the floor never count
    assert section["unsupported"]["precision"]["value"] == 0.25
    _, found = precision_section(
        replayed({"2025-01": 0.4, "2025-02": 0.1, "2025-03": 0.05}),
        expected_precision=0.4,
        criteria=CRITERIA,
        replicates=100,
    )
    assert [f.criterion for f in found] == ["precision_floor"]
    assert "2025-02" in found[0].sentence and "2025-03" in found[0].sentence


def test_a_share_over_too_few_young_people_is_withheld() -> None:
    frame = replayed({"2025-01": 0.4}, n=5)  # 5 people per kind, under the 10 a cell needs
    section, found = precision_section(
        frame, expected_precision=0.4, criteria=CRITERIA, replicates=20
    )
    month = section["by_month"][0]["unsupported"]
    assert month["suppressed"] and month["precision"]["value"] is None
    assert month["positives"] is None and month["moments"] == 5 and found == []
