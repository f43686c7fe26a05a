"""Mitigation comparison for the ethics panel, at the service's own list size where possible.

Rows of the table:

- the model as is;
- group-blind alternatives a service could deploy: the same booster refitted without a source's
  features (e.g. police-recorded contacts; scored at training time, ``variant_*`` columns of
  ``predictions.parquet``), and the same booster refitted with Kamiran and Calders' re-weighing
  by ethnicity (:func:`reweighing_weights`: the group is used to weight training examples only,
  never at decision time; scored by ``vru audit``), at the same capacity. Stop and search is
  already excluded from every model by ``features/proxies.yaml``;
- *illustrative only*, because they use a protected attribute at decision time (unlawful
  direct discrimination for a service to deploy): group-specific thresholds equalising the miss
  rate (FNR) with the same total flagged, and Fairlearn's ``ThresholdOptimizer`` (true-positive
  rate parity) at its own operating point, which randomises decisions and cannot target a list
  size.

For each row: precision and recall at its operating point, and the disparities of every audited
attribute (smallest recall ratio to the reference group, largest miss-rate difference).

Example
-------
>>> import numpy as np, pandas as pd
>>> rng = np.random.default_rng(0)
>>> n = 400
>>> rows = pd.DataFrame({"person_id": [f"p{i}" for i in range(n)],
...     "as_of": pd.Timestamp("2024-01-15"), "label": (rng.random(n) < 0.2).astype(float)})
>>> score = rows["label"] * 0.3 + rng.random(n)
>>> groups = pd.DataFrame({"g": rng.choice(["a", "b"], n)})
>>> table = compare_mitigations(rows, {"as is": score.to_numpy()}, groups, capacity=40, seed=0,
...     min_count=10, min_positives=5, min_flagged=2)
>>> [r["name"] for r in table][:2]
['as is', 'group-specific thresholds equalising FNR (illustrative)']
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator

from vru_risk.fairness_reports.audit import (
    AuditResult,
    ServiceLists,
    Threshold,
    audit,
    group_labels,
)

AS_IS = "as is"


def reweighing_weights(groups: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """Kamiran and Calders' re-weighing: ``w(a, y) = P(A=a) P(Y=y) / P(A=a, Y=y)``.

    After weighting, group and label are independent in the training data, so a model cannot
    learn a group's over-recorded outcomes as risk through features that stand for the group.
    A missing group is its own ``unknown`` group. Weights average to one.

    >>> w = reweighing_weights(np.array(["a", "a", "a", "b"]), np.array([1.0, 1.0, 0.0, 0.0]))
    >>> [round(float(x), 3) for x in w]
    [0.75, 0.75, 1.5, 0.5]
    """
    g = pd.Series(groups, dtype=object).fillna("unknown").astype(str).to_numpy()
    y = np.asarray(labels, dtype="float64")
    if len(g) != len(y):
        raise ValueError(f"{len(g)} groups but {len(y)} labels")
    if np.isnan(y).any():
        raise ValueError("labels hold missing values: re-weigh labelled examples only")
    frame = pd.DataFrame({"g": g, "y": y})
    n = len(frame)
    p_group = frame["g"].map(frame["g"].value_counts() / n)
    p_label = frame["y"].map(frame["y"].value_counts() / n)
    p_joint = frame.groupby(["g", "y"])["y"].transform("size") / n
    weights: np.ndarray = (p_group * p_label / p_joint).to_numpy(dtype="float64")
    return weights


def _summary(result: AuditResult) -> dict[str, Any]:
    """Flat columns: precision, recall, and per attribute the smallest recall ratio (folded
    into [0, 1]) and the largest miss-rate difference to the reference group."""
    overall = result.overall
    out: dict[str, Any] = {
        "flagged": int(overall["flagged"]),
        "precision": _f(overall["ppv"]),
        "recall": _f(overall["tpr"]),
    }
    ratios, diffs = result.ratio("tpr"), result.difference("fnr").abs()
    for attribute in ratios.index:
        if "*" in str(attribute):
            continue
        out[f"recall_ratio_{attribute}"] = _f(ratios[attribute])
        out[f"fnr_gap_{attribute}"] = _f(diffs.get(attribute))
    return out


def _f(x: Any) -> float | None:
    try:
        value = float(x)
    except (TypeError, ValueError):
        return None
    return None if np.isnan(value) else value


def _best_rows(rows: pd.DataFrame, score: np.ndarray) -> np.ndarray:
    """Positions of each person's highest-scored row per month (the lists' population)."""
    frame = pd.DataFrame(
        {
            "person": rows["person_id"].to_numpy(),
            "month": pd.to_datetime(rows["as_of"]).dt.strftime("%Y-%m").to_numpy(),
            "score": score,
            "pos": np.arange(len(rows)),
        }
    )
    frame = frame.sort_values(["score", "pos"], ascending=[False, True], kind="mergesort")
    return np.sort(frame.drop_duplicates(["month", "person"])["pos"].to_numpy())


def equal_fnr_thresholds(
    score: np.ndarray, y: np.ndarray, groups: np.ndarray, total: int
) -> np.ndarray:
    """Flags from one threshold per group chosen so every group reaches the same recall,
    with (as nearly as ties allow) ``total`` flagged in all."""
    labels = np.unique(groups)

    def flags_for(target: float) -> np.ndarray:
        out = np.zeros(len(score), dtype=bool)
        for g in labels:
            mine = groups == g
            positives = np.sort(score[mine & (y == 1)])[::-1]
            if len(positives) == 0:
                continue
            k = int(np.ceil(target * len(positives)))
            if k == 0:
                continue
            cut = positives[min(k, len(positives)) - 1]
            out |= mine & (score >= cut)
        return out

    low, high = 0.0, 1.0
    for _ in range(40):  # bisection on the common recall
        mid = (low + high) / 2
        if flags_for(mid).sum() > total:
            high = mid
        else:
            low = mid
    return flags_for(low)


class _ScoreAsPrediction(BaseEstimator):  # type: ignore[misc]
    """A fitted 'estimator' whose prediction is the score itself (for ThresholdOptimizer)."""

    def __init__(self) -> None:
        self.is_fitted_ = True

    def fit(self, x: np.ndarray, y: np.ndarray) -> _ScoreAsPrediction:  # noqa: ARG002
        return self

    def predict(self, x: np.ndarray) -> np.ndarray:
        return np.asarray(x)[:, 0]


def threshold_optimizer_flags(
    score: np.ndarray, y: np.ndarray, groups: np.ndarray, *, seed: int
) -> np.ndarray:
    """Fairlearn ThresholdOptimizer (TPR parity, balanced accuracy) at its own operating point."""
    from fairlearn.postprocessing import (  # type: ignore[import-untyped, unused-ignore]
        ThresholdOptimizer,
    )

    optimizer = ThresholdOptimizer(
        estimator=_ScoreAsPrediction(),
        constraints="true_positive_rate_parity",
        objective="balanced_accuracy_score",
        prefit=True,
        predict_method="predict",
    )
    x = score.reshape(-1, 1)
    optimizer.fit(x, y, sensitive_features=groups)
    decided = np.asarray(optimizer.predict(x, sensitive_features=groups, random_state=seed))
    flags: np.ndarray = decided == 1
    return flags


def compare_mitigations(
    rows: pd.DataFrame,
    scores: Mapping[str, np.ndarray],
    sensitive: pd.DataFrame,
    *,
    capacity: int,
    seed: int,
    attribute: str | None = None,
    min_count: int = 50,
    min_positives: int = 10,
    min_flagged: int = 5,
) -> list[dict[str, Any]]:
    """The mitigation table. ``rows`` has person_id, as_of and label (0/1, no censored rows);
    ``scores`` maps a row name (first: the model as is) to scores aligned with ``rows``;
    ``attribute`` is the one the illustrative group-aware rows equalise (default: the first
    column of ``sensitive``)."""
    y = rows["label"].to_numpy(dtype="float64")
    out: list[dict[str, Any]] = []
    point = ServiceLists(
        capacity=capacity,
        seed=seed,
        person_id=rows["person_id"].to_numpy(),
        as_of=pd.to_datetime(rows["as_of"]).to_numpy(),
    )
    for name, score in scores.items():
        result = audit(
            y,
            score,
            sensitive_features=sensitive,
            operating_point=point,
            min_count=min_count,
            min_positives=min_positives,
            min_flagged=min_flagged,
        )
        kind = "the model" if name == AS_IS else "group-blind alternative"
        out.append({"name": name, "kind": kind, "operating_point": "capacity", **_summary(result)})
    base = np.asarray(next(iter(scores.values())), dtype="float64")
    keep = _best_rows(rows, base)
    attribute = attribute or str(sensitive.columns[0])
    groups = group_labels(sensitive[attribute].iloc[keep])
    total = int(out[0]["flagged"])
    yk, sk = y[keep], base[keep]
    sub = sensitive.iloc[keep].reset_index(drop=True)
    illustrative = {
        "group-specific thresholds equalising FNR (illustrative)": (
            equal_fnr_thresholds(sk, yk, np.asarray(groups), total),
            f"one threshold per {attribute} group, same total flagged",
        ),
        "Fairlearn ThresholdOptimizer, TPR parity (illustrative)": (
            threshold_optimizer_flags(sk, yk, np.asarray(groups), seed=seed),
            "its own operating point (randomised decisions; cannot target a list size)",
        ),
    }
    for name, (flags, how) in illustrative.items():
        # flags as scores 1/0 with a threshold of 1: exactly these rows are flagged
        result = audit(
            yk,
            flags.astype("float64"),
            sensitive_features=sub,
            operating_point=Threshold(1.0),
            min_count=min_count,
            min_positives=min_positives,
            min_flagged=min_flagged,
        )
        out.append(
            {
                "name": name,
                "kind": "illustrative: uses a protected attribute at decision time",
                "operating_point": how,
                **_summary(result),
            }
        )
    return out
