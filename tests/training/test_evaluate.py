"""Metrics at capacity, hand-computed; baselines; threshold-free metrics."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from tests.training.test_config_and_splits import write
from vru_risk.training.baselines import BaselineError, parse_baseline
from vru_risk.training.config import ExperimentConfigError, load_experiment
from vru_risk.training.evaluate import (
    at_capacity,
    calibration_curve,
    threshold_free,
)


def frame(rows: list[tuple[str, str, float, float]]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["person_id", "as_of", "score", "label"]).assign(
        as_of=lambda f: pd.to_datetime(f["as_of"])
    )


def test_monthly_lists_flag_the_top_capacity_once_per_person() -> None:
    f = frame(
        [
            ("a", "2024-01-02", 0.9, 1),
            ("a", "2024-01-20", 0.95, 1),  # same person, same month: one flag, best score
            ("b", "2024-01-05", 0.8, 0),
            ("c", "2024-01-07", 0.3, 1),
            ("d", "2024-02-01", 0.1, 0),
            ("e", "2024-02-09", 0.2, 1),
        ]
    )
    result = at_capacity(f, capacity=2, seed=0)
    jan, feb = result.by_month["2024-01"], result.by_month["2024-02"]
    assert (jan.eligible, jan.flagged, jan.flagged_positive, jan.positives) == (3, 2, 1, 2)
    assert (feb.eligible, feb.flagged, feb.flagged_positive, feb.positives) == (2, 2, 1, 1)
    assert result.pooled.precision == pytest.approx(2 / 4)
    assert result.pooled.recall == pytest.approx(2 / 3)
    assert result.pooled.lift == pytest.approx((2 / 4) / (3 / 5))
    assert jan.recall == pytest.approx(0.5)


def test_capacity_larger_than_the_month_flags_everyone() -> None:
    f = frame([("a", "2024-01-02", 0.9, 1), ("b", "2024-01-03", 0.1, 0)])
    month = at_capacity(f, capacity=40, seed=0).by_month["2024-01"]
    assert month.flagged == 2
    assert month.recall == 1.0


def test_calibration_curve_and_threshold_free_metrics() -> None:
    y = np.array([0, 0, 1, 1, 1, 0, 1, 0])
    p = np.array([0.1, 0.1, 0.1, 0.1, 0.9, 0.9, 0.9, 0.9])
    curve = calibration_curve(y, p)
    assert list(curve["count"]) == [4, 4]
    perfect = threshold_free(y, p, np.full(8, 0.5))
    assert perfect["brier"] == pytest.approx(0.25)
    assert perfect["auc"] == pytest.approx(0.5)


def test_baselines_parse_and_score_missing_as_no() -> None:
    f = pd.DataFrame(
        {"pol_suspect_365d": [0.0, 1.0, np.nan], "att_rate_365d": [0.95, 0.85, np.nan]}
    )
    assert list(parse_baseline("pol_suspect_365d").score(f)) == [0.0, 1.0, 0.0]
    assert list(parse_baseline("persistent_absence").score(f)) == [0.0, 1.0, 0.0]
    with pytest.raises(BaselineError, match="is not 'feature'"):
        parse_baseline("pol_suspect_365d > 1")


def test_experiment_refuses_baselines_on_unknown_features(tmp_path: Path) -> None:
    path = write(tmp_path, models__baselines=["pol_suspect_365d", "stop_search_365d"])
    with pytest.raises(ExperimentConfigError, match="'stop_search_365d', not a feature"):
        load_experiment(path)
    assert yaml.safe_load(path.read_text())["models"]["baselines"][0] == "pol_suspect_365d"
