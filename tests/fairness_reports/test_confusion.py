"""Per-group confusion counts give the same rates as Fairlearn's MetricFrame; empty
denominators are NaN, not 0."""

from __future__ import annotations

import numpy as np
import pandas as pd
from fairlearn.metrics import (  # type: ignore[import-untyped, unused-ignore]
    MetricFrame,
    count,
    false_negative_rate,
    false_positive_rate,
    selection_rate,
    true_positive_rate,
)
from sklearn.metrics import precision_score, roc_auc_score

from vru_risk.fairness_reports.bootstrap import BOOTSTRAP_METRICS
from vru_risk.fairness_reports.confusion import confusion_counts, rates_from_counts
from vru_risk.fairness_reports.metrics import group_metrics


def test_confusion_counts_give_the_same_rates_as_metric_frame() -> None:
    rng = np.random.default_rng(11)
    n = 3000
    y = rng.integers(0, 2, n)
    flagged = (rng.random(n) < 0.2 + 0.3 * y).astype(int)
    groups = rng.choice(["a", "b", "c", "d"], n, p=[0.5, 0.3, 0.15, 0.05])

    counts = confusion_counts(y, flagged, groups)
    assert counts["count"].tolist() == pd.Series(groups).value_counts().sort_index().tolist()
    assert (counts[["tp", "fp", "fn", "tn"]].sum(axis=1) == counts["count"]).all()
    ours = rates_from_counts(counts)

    frame = MetricFrame(
        metrics={
            "selection_rate": selection_rate,
            "tpr": true_positive_rate,
            "fnr": false_negative_rate,
            "fpr": false_positive_rate,
            "ppv": precision_score,
        },
        y_true=y,
        y_pred=flagged,
        sensitive_features=pd.Series(groups, name="group"),
    )
    assert list(ours.columns) == list(BOOTSTRAP_METRICS)
    np.testing.assert_allclose(
        ours.to_numpy(float), frame.by_group[list(BOOTSTRAP_METRICS)].to_numpy(float), rtol=1e-12
    )
    assert list(ours.index) == list(frame.by_group.index)


def test_empty_denominators_are_nan_not_zero() -> None:
    counts = confusion_counts([0, 0, 1], [0, 0, 1], ["a", "a", "b"])
    rates = rates_from_counts(counts)
    undefined = rates.isna().to_dict(orient="index")
    assert undefined["a"]["tpr"]  # a has no positives
    assert undefined["a"]["ppv"]  # nothing flagged in a
    assert undefined["b"]["fpr"]  # b has no negatives
    assert rates.to_dict(orient="index")["a"]["fpr"] == 0.0


def test_the_audits_group_metrics_equal_fairlearns_own_metrics_exactly() -> None:
    """``group_metrics`` asks MetricFrame for one tuple of figures per group (one call, not one
    per rate); every rate equals what Fairlearn's and scikit-learn's own metrics give, to the
    last bit, and a rate with an empty denominator is NaN where they give 0."""
    rng = np.random.default_rng(5)
    n = 4000
    y = (rng.random(n) < 0.12).astype(int)
    flagged = (rng.random(n) < 0.1 + 0.3 * y).astype(int)
    groups = rng.choice(["a", "b", "c", "z"], n, p=[0.5, 0.3, 0.19, 0.01])
    y[groups == "z"] = 0  # a group with nobody with the outcome
    score = rng.random(n)
    frames, overall = group_metrics(
        y, flagged, {"g": groups}, score=score, probability=score, calibration_bins=10
    )
    ours = frames["g"]
    theirs = MetricFrame(
        metrics={
            "count": count,
            "selection_rate": selection_rate,
            "tpr": true_positive_rate,
            "fnr": false_negative_rate,
            "fpr": false_positive_rate,
            "auc": lambda t, _p, s: roc_auc_score(t, s) if len(set(t)) > 1 else float("nan"),
        },
        y_true=y,
        y_pred=flagged,
        sensitive_features=pd.Series(groups, name="group"),
        sample_params={"auc": {"s": score}},
    ).by_group
    assert ours["count"].tolist() == theirs["count"].tolist()
    for rate in ("selection_rate", "tpr", "fnr", "fpr", "auc"):
        defined = ours[rate].notna()
        assert ours.loc[defined, rate].tolist() == theirs.loc[defined, rate].astype(float).tolist()
    assert ours.loc["z", ["tpr", "fnr", "auc"]].isna().all()  # Fairlearn: tpr 0, fnr 0
    assert ours.loc["z", "fpr"] == theirs.loc["z", "fpr"]
    for group in ("a", "b", "c"):
        mask = groups == group
        flagged_here = flagged[mask] == 1
        assert ours.loc[group, "ppv"] == y[mask][flagged_here].mean()
        assert ours.loc[group, "base_rate"] == y[mask].mean()
        assert ours.loc[group, "false_omission_rate"] == y[mask][~flagged_here].mean()
    assert overall["count"] == n and overall["positives"] == int(y.sum())
