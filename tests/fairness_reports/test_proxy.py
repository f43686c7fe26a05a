"""The proxy test: a feature that carries an audit-only attribute is named and flagged; noise is
not; missing values form "unknown"; small groups are skipped and listed; bad input is refused."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from vru_risk.fairness_reports import proxy as proxy_module
from vru_risk.fairness_reports.proxy import proxy_test

N = 600


@pytest.fixture(autouse=True)
def _one_thread(monkeypatch: pytest.MonkeyPatch) -> None:
    """LightGBM on one thread: with two, OpenMP spin-waits whenever another process holds a
    core of a 2-core machine and these tiny fits take 20 to 60 times as long."""
    monkeypatch.setitem(proxy_module.PARAMS, "num_threads", 1)


@pytest.fixture(scope="module")
def features() -> pd.DataFrame:
    rng = np.random.default_rng(1)
    return pd.DataFrame(
        {
            "postcode_signal": rng.normal(size=N),
            "noise_a": rng.normal(size=N),
            "noise_b": rng.poisson(1.0, size=N).astype("float64"),
        }
    )


def carried_by(features: pd.DataFrame, seed: int = 2) -> np.ndarray:
    rng = np.random.default_rng(seed)
    signal = features["postcode_signal"] + rng.normal(scale=0.3, size=len(features))
    return np.where(signal > 0, "group_a", "group_b")


def test_a_feature_that_carries_an_attribute_is_named_and_flagged(
    features: pd.DataFrame,
) -> None:
    (result,) = proxy_test(
        features, pd.DataFrame({"ethnicity": carried_by(features)}), level=0.7, seed=0
    )
    assert result["attribute"] == "ethnicity"
    assert result["flagged"] is True
    assert result["auc"] > 0.85 and result["level"] == 0.7
    assert result["top_features"][0] == "postcode_signal"
    assert result["group"] in {"group_a", "group_b"}
    assert [g["group"] for g in result["groups"]] == ["group_a", "group_b"]
    assert result["auc"] == max(g["auc"] for g in result["groups"])
    assert result["skipped_groups"] == []
    # the same AUC under a stricter level is not flagged: the level decides, not the feature
    (strict,) = proxy_test(
        features, pd.DataFrame({"ethnicity": carried_by(features)}), level=0.99, seed=0
    )
    assert strict["auc"] == pytest.approx(result["auc"])
    assert strict["flagged"] is False


def test_noise_features_are_not_flagged(features: pd.DataFrame) -> None:
    rng = np.random.default_rng(3)
    sensitive = pd.DataFrame({"sex": rng.choice(["female", "male"], N)})
    (result,) = proxy_test(features, sensitive, level=0.7, seed=0)
    assert result["flagged"] is False
    assert abs(result["auc"] - 0.5) < 0.1
    for group in result["groups"]:
        assert abs(group["auc"] - 0.5) < 0.1
        assert len(group["top_features"]) <= 3


def test_missing_attribute_values_form_the_unknown_group(features: pd.DataFrame) -> None:
    rng = np.random.default_rng(4)
    values = pd.Series(rng.choice(["none", "ehcp"], N), dtype=object)
    values[rng.random(N) < 0.1] = None
    values[:40] = np.nan  # NaN and None alike
    (result,) = proxy_test(features, pd.DataFrame({"sen": values}), level=0.7, seed=0, folds=2)
    assert [g["group"] for g in result["groups"]] == ["ehcp", "none", "unknown"]
    assert result["skipped_groups"] == []


def test_pandas_na_values_also_form_the_unknown_group(features: pd.DataFrame) -> None:
    values = pd.Series(np.where(np.arange(N) % 2 == 0, "yes", "no"), dtype="string")
    values[:60] = pd.NA
    (result,) = proxy_test(features, pd.DataFrame({"fsm": values}), level=0.7, seed=0, folds=2)
    assert [g["group"] for g in result["groups"]] == ["no", "unknown", "yes"]


def test_small_groups_are_skipped_and_listed(features: pd.DataFrame) -> None:
    index = np.arange(N)
    values = np.where(index < 12, "tiny", np.where(index % 2 == 0, "even", "odd"))
    sensitive = pd.DataFrame({"looked_after": values, "all_same": ["x"] * N})
    tiny, same = proxy_test(features, sensitive, level=0.7, seed=0, min_group=30)
    assert tiny["skipped_groups"] == ["tiny"]
    assert [g["group"] for g in tiny["groups"]] == ["even", "odd"]
    # a group that is everyone has no "rest" to tell it from: skipped too, nothing to report
    assert same["skipped_groups"] == ["x"]
    assert same["groups"] == [] and same["auc"] is None and same["group"] is None
    assert same["top_features"] == [] and same["flagged"] is False
    # with a lower threshold the small group is tested
    (kept,) = proxy_test(features, sensitive[["looked_after"]], seed=0, min_group=10)
    assert kept["skipped_groups"] == []
    assert "tiny" in [g["group"] for g in kept["groups"]]


def test_the_result_is_reproducible_for_a_seed(features: pd.DataFrame) -> None:
    sensitive = pd.DataFrame({"ethnicity": carried_by(features)})
    assert proxy_test(features, sensitive, seed=5) == proxy_test(features, sensitive, seed=5)


def test_misaligned_lengths_are_refused(features: pd.DataFrame) -> None:
    sensitive = pd.DataFrame({"sex": ["female", "male"] * 10})
    with pytest.raises(ValueError, match=r"features have 600 rows but sensitive_features 20"):
        proxy_test(features, sensitive)
