"""Mitigation comparison: group-specific thresholds, ThresholdOptimizer, the table's rows."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from vru_risk.fairness_reports.audit import audit
from vru_risk.fairness_reports.mitigation import (
    AS_IS,
    compare_mitigations,
    equal_fnr_thresholds,
    threshold_optimizer_flags,
)
from vru_risk.fairness_reports.operating_points import ServiceLists
from vru_risk.fairness_reports.reweighing import reweighing_weights


def world(n: int = 4000, seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    group = rng.choice(["a", "b"], n, p=[0.7, 0.3])
    y = (rng.random(n) < np.where(group == "a", 0.1, 0.2)).astype(float)
    # the score under-ranks group b's positives: unequal recall at one threshold
    score = y * np.where(group == "a", 1.0, 0.4) + rng.random(n)
    return score, y, group


def recall(flags: np.ndarray, y: np.ndarray, mask: np.ndarray) -> float:
    return float(flags[mask & (y == 1)].mean())


def test_group_thresholds_equalise_recall_with_the_same_total() -> None:
    score, y, group = world()
    total = 600
    flags = equal_fnr_thresholds(score, y, group, total).flags
    assert abs(int(flags.sum()) - total) <= 10
    assert abs(recall(flags, y, group == "a") - recall(flags, y, group == "b")) < 0.03
    single = score >= np.sort(score)[::-1][total - 1]
    gap_single = abs(recall(single, y, group == "a") - recall(single, y, group == "b"))
    assert gap_single > 0.2  # the planted disparity the thresholds remove


def test_threshold_optimizer_reaches_tpr_parity_at_its_own_operating_point() -> None:
    score, y, group = world()
    flags = threshold_optimizer_flags(score, y, group, seed=0).flags
    assert abs(recall(flags, y, group == "a") - recall(flags, y, group == "b")) < 0.06
    assert np.array_equal(flags, threshold_optimizer_flags(score, y, group, seed=0).flags)


def test_the_table_has_the_model_alternatives_and_illustrations() -> None:
    score, y, group = world(3000, 1)
    rng = np.random.default_rng(2)
    rows = pd.DataFrame(
        {
            "person_id": [f"p{i}" for i in range(len(y))],
            "as_of": pd.to_datetime("2024-01-01")
            + pd.to_timedelta(rng.integers(0, 90, len(y)), "D"),
            "label": y,
        }
    )
    sensitive = pd.DataFrame({"g": group, "sex": rng.choice(["f", "m"], len(y))})
    blind = score + rng.normal(scale=0.3, size=len(y))
    table = compare_mitigations(
        rows, {AS_IS: score, "without x": blind}, sensitive, capacity=100, seed=0
    ).rows
    assert [r["kind"] for r in table] == [
        "the model",
        "group-blind alternative",
        "illustrative: uses a protected attribute at decision time",
        "illustrative: uses a protected attribute at decision time",
    ]
    as_is = audit(
        y,
        score,
        sensitive_features=sensitive,
        operating_point=ServiceLists(
            capacity=100, seed=0, person_id=rows["person_id"], as_of=rows["as_of"]
        ),
    )
    assert table[0]["flagged"] == int(as_is.overall["flagged"]) == 300
    assert table[0]["precision"] == float(as_is.overall["ppv"])
    assert {"recall_ratio_g", "fnr_gap_g", "recall_ratio_sex", "fnr_gap_sex"} <= set(table[0])
    # equalising FNR on g narrows the recall gap between its groups at the same total
    assert abs(table[2]["flagged"] - table[0]["flagged"]) <= 0.03 * table[0]["flagged"]
    assert table[2]["recall_ratio_g"] > table[0]["recall_ratio_g"]


def test_reweighing_makes_group_and_label_independent() -> None:
    rng = np.random.default_rng(3)
    groups = rng.choice(
        np.array(["a", "b", "c", None], dtype=object), 5000, p=[0.6, 0.25, 0.1, 0.05]
    )
    rate = {"a": 0.05, "b": 0.2, "c": 0.1, None: 0.1}
    labels = (rng.random(5000) < np.array([rate[g] for g in groups])).astype(float)
    w = reweighing_weights(groups, labels)
    assert w.mean() == pytest.approx(1.0)
    named = pd.Series(groups).fillna("unknown").to_numpy()
    overall = np.average(labels, weights=w)
    for g in ("a", "b", "c", "unknown"):  # missing is its own group, never dropped
        inside = named == g
        assert np.average(labels[inside], weights=w[inside]) == pytest.approx(overall)
        assert w[inside].sum() == pytest.approx(inside.sum())  # group sizes are kept
    # the over-represented cell is weighted down, the under-represented one up
    assert w[(named == "b") & (labels == 1)][0] < 1 < w[(named == "a") & (labels == 1)][0]


def test_reweighing_refuses_unlabelled_or_misaligned_input() -> None:
    with pytest.raises(ValueError, match="missing values"):
        reweighing_weights(np.array(["a", "b"]), np.array([1.0, np.nan]))
    with pytest.raises(ValueError, match="2 groups but 3 labels"):
        reweighing_weights(np.array(["a", "b"]), np.array([1.0, 0.0, 1.0]))
