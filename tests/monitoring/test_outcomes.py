"""Outcomes: maturity months, calibration with person-level intervals, realised precision on
unsupported moments only, and the pre-maturity estimate."""

from __future__ import annotations

from datetime import date

import numpy as np
import pytest

from vru_risk.features.config import FeatureBuildConfig
from vru_risk.models.service_lists import expected_calibration_error
from vru_risk.monitoring.outcomes import (
    ESTIMATE_NOTE,
    calibration,
    estimated_precision,
    logistic_calibration,
    maturity,
    maturity_for,
    outcome_precision,
    rate,
    weighted_ece,
)


def test_maturity_months_by_hand() -> None:
    # 365-day horizon + 31 days' lag: moments up to 2024-01-30 have matured by 2025-03-01
    m = maturity(
        ["2024-01", "2023-11", "2023-12", "2024-02"],
        date(2025, 3, 1),
        horizon_days=365,
        lag_days=31,
    )
    assert m.latest_matured_moment == date(2024, 1, 30)
    assert m.matured == ("2023-11", "2023-12")
    assert m.pending == ("2024-01", "2024-02")
    # one day later January's last day has matured
    assert (
        "2024-01" in maturity(["2024-01"], date(2025, 3, 2), horizon_days=365, lag_days=31).matured
    )
    with pytest.raises(ValueError, match="YYYY-MM"):
        maturity(["Jan 2024"], date(2025, 3, 1), horizon_days=365, lag_days=31)


def test_maturity_reads_the_label_horizon_and_the_label_sources_lag() -> None:
    config = FeatureBuildConfig()
    m = maturity_for(["2024-01"], date(2025, 3, 1), config)
    assert (m.horizon_days, m.lag_days) == (365, config.label_lag_days) == (365, 31)


def _world(n: int, seed: int, stretch: float = 1.0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    z = rng.normal(-2.0, 1.0, n)
    y = (rng.random(n) < 1 / (1 + np.exp(-z))).astype("float64")
    p = 1 / (1 + np.exp(-stretch * z))  # stretch > 1: overconfident scores
    people = np.array([f"p{i // 2}" for i in range(n)], dtype=object)
    return y, p, people


def test_calibrated_scores_have_slope_near_one_and_overconfident_ones_below() -> None:
    y, p, people = _world(6000, 1)
    good = calibration(y, p, people, replicates=100)
    assert good.slope.low is not None and good.slope.high is not None
    assert good.slope.low < 1.0 < good.slope.high
    assert good.moments == 6000 and good.people == 3000
    y2, p2, _ = _world(6000, 1, stretch=2.0)
    bad = calibration(y2, p2, people, replicates=100)
    assert bad.slope.value == pytest.approx(0.5, abs=0.1)
    assert bad.slope.high is not None and bad.slope.high < 0.7


def test_unmatured_moments_are_left_out_and_one_class_is_undefined() -> None:
    y = np.array([1.0, 0.0, np.nan, 0.0])
    p = np.array([0.6, 0.4, 0.9, 0.3])
    assert calibration(y, p, ["a", "b", "c", "d"], replicates=50).moments == 3
    assert np.isnan(logistic_calibration(np.zeros(3), np.full(3, 0.2))[1])
    assert (
        calibration(np.zeros(3), np.full(3, 0.2), ["a", "b", "c"], replicates=50).slope.value
        is None
    )


def test_ece_with_unit_weights_is_the_models_ece() -> None:
    y, p, _ = _world(500, 3)
    assert weighted_ece(y, p, np.ones(500)) == pytest.approx(expected_calibration_error(y, p))


def test_intervals_resample_people_not_rows() -> None:
    y = np.array([1.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 1.0])
    people = np.array([f"p{i}" for i in range(8)], dtype=object)
    once = rate(y, np.ones(8, dtype=bool), people, replicates=200)
    # each young person's moment repeated ten times: same people, same evidence, same interval
    tenfold = rate(np.repeat(y, 10), np.ones(80, dtype=bool), np.repeat(people, 10), replicates=200)
    assert tenfold.people == once.people == 8 and tenfold.moments == 80
    assert tenfold.precision == once.precision


def test_realised_precision_judges_only_unsupported_moments() -> None:
    #            offered, took up, above floor, label
    rows = [
        (True, True, True, 0.0),  # supported: support worked, no outcome
        (True, True, True, 0.0),
        (True, False, True, 1.0),  # offered, not taken up
        (False, False, True, 1.0),  # above the floor, no place left
        (False, False, True, 0.0),
        (False, False, True, np.nan),  # not matured
        (False, False, False, 1.0),  # below the floor: not a flag
    ]
    offered, took, above, label = (np.array(c) for c in zip(*rows, strict=True))
    people = [f"p{i}" for i in range(len(rows))]
    result = outcome_precision(label, offered, took, above, people, replicates=50)
    assert (result.unsupported.moments, result.unsupported.positives) == (3, 2)
    assert result.unsupported.precision.value == pytest.approx(2 / 3)
    assert result.not_taken_up.precision.value == 1.0
    assert result.no_place.precision.value == pytest.approx(0.5)
    assert result.supported.precision.value == 0.0  # shown apart, never judged


def test_pre_maturity_estimate_is_labelled_an_estimate() -> None:
    e = estimated_precision([0.1, 0.3, 0.8], [True, True, False])
    assert e.value == pytest.approx(0.2) and e.moments == 2
    assert e.note == ESTIMATE_NOTE and e.note.startswith("estimate")
    assert estimated_precision([0.1], [False]).value is None
