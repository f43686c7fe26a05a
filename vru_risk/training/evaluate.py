"""Evaluation that replays the service: monthly lists of the top *capacity* young people.

For each calendar month of test as-of dates, each person counts once (their highest-scored
example that month, as a practitioner sees one flag per person), the ``capacity`` highest scores
are "flagged" (ties broken in a seeded random order), and precision, recall and lift are taken at
that list size. Pooled figures add the months up. Threshold-free metrics (AUC, average precision,
Brier score, expected calibration error) are reported beside them, never instead of them.

Example
-------
>>> import pandas as pd
>>> frame = pd.DataFrame({
...     "person_id": ["a", "b", "c", "d"],
...     "as_of": pd.to_datetime(["2024-01-03"] * 4),
...     "score": [0.9, 0.8, 0.2, 0.1],
...     "label": [1.0, 0.0, 1.0, 0.0],
... })
>>> at_capacity(frame, capacity=2, seed=0).pooled.precision
0.5
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from sklearn.metrics import average_precision_score, brier_score_loss, roc_auc_score


@dataclass(frozen=True)
class CapacityMetrics:
    """Precision, recall and lift at a list size, for one month or pooled."""

    flagged: int
    flagged_positive: int
    eligible: int
    positives: int

    @property
    def precision(self) -> float:
        return self.flagged_positive / self.flagged if self.flagged else float("nan")

    @property
    def recall(self) -> float:
        return self.flagged_positive / self.positives if self.positives else float("nan")

    @property
    def base_rate(self) -> float:
        return self.positives / self.eligible if self.eligible else float("nan")

    @property
    def lift(self) -> float:
        base = self.base_rate
        return self.precision / base if base and not np.isnan(base) else float("nan")

    def __add__(self, other: CapacityMetrics) -> CapacityMetrics:
        return CapacityMetrics(
            self.flagged + other.flagged,
            self.flagged_positive + other.flagged_positive,
            self.eligible + other.eligible,
            self.positives + other.positives,
        )


@dataclass(frozen=True)
class CapacityResult:
    capacity: int
    by_month: dict[str, CapacityMetrics]
    pooled: CapacityMetrics


def monthly_lists(frame: pd.DataFrame, *, capacity: int, seed: int) -> pd.DataFrame:
    """Mark the flagged rows: one row per person per month, the top ``capacity`` per month.

    ``frame`` needs person_id, as_of, score and label; the result has a ``month`` column, one
    row per (person, month) and a boolean ``flagged``.
    """
    if frame.empty:
        return frame.assign(month=pd.Series(dtype=str), flagged=pd.Series(dtype=bool))
    rng = np.random.default_rng(seed)
    data = frame.assign(
        month=pd.to_datetime(frame["as_of"]).dt.strftime("%Y-%m"),
        tiebreak=rng.random(len(frame)),
    )
    # one flag per person per month: the person's highest-scored example that month
    data = data.sort_values(["score", "tiebreak"], ascending=False, kind="mergesort")
    data = data.drop_duplicates(["month", "person_id"], keep="first")
    data["rank"] = data.groupby("month").cumcount()
    return data.assign(flagged=data["rank"] < capacity).drop(columns=["tiebreak", "rank"])


def at_capacity(frame: pd.DataFrame, *, capacity: int, seed: int) -> CapacityResult:
    """Precision, recall and lift at ``capacity`` per month and pooled (labels must be 0/1)."""
    lists = monthly_lists(frame, capacity=capacity, seed=seed)
    by_month: dict[str, CapacityMetrics] = {}
    for month, group in lists.groupby("month", sort=True):
        flagged = group[group["flagged"]]
        by_month[str(month)] = CapacityMetrics(
            flagged=len(flagged),
            flagged_positive=int(flagged["label"].sum()),
            eligible=len(group),
            positives=int(group["label"].sum()),
        )
    pooled = sum(by_month.values(), CapacityMetrics(0, 0, 0, 0))
    return CapacityResult(capacity, by_month, pooled)


def expected_calibration_error(y: np.ndarray, p: np.ndarray, bins: int = 10) -> float:
    """Mean |observed rate - mean probability| over equal-width bins, weighted by count."""
    edges = np.linspace(0.0, 1.0, bins + 1)
    which = np.clip(np.digitize(p, edges[1:-1]), 0, bins - 1)
    total = 0.0
    for b in range(bins):
        mask = which == b
        if mask.any():
            total += mask.sum() * abs(float(y[mask].mean()) - float(p[mask].mean()))
    return total / len(y) if len(y) else float("nan")


def calibration_curve(y: np.ndarray, p: np.ndarray, bins: int = 10) -> pd.DataFrame:
    """Per probability bin: count, mean predicted probability, observed rate."""
    edges = np.linspace(0.0, 1.0, bins + 1)
    which = np.clip(np.digitize(p, edges[1:-1]), 0, bins - 1)
    rows = []
    for b in range(bins):
        mask = which == b
        if mask.any():
            rows.append(
                {
                    "bin": f"{edges[b]:.1f}-{edges[b + 1]:.1f}",
                    "count": int(mask.sum()),
                    "mean_predicted": float(p[mask].mean()),
                    "observed": float(y[mask].mean()),
                }
            )
    return pd.DataFrame(rows)


def threshold_free(y: np.ndarray, score: np.ndarray, probability: np.ndarray) -> dict[str, float]:
    """AUC and average precision of the ranking; Brier and ECE of the probabilities."""
    both = len(np.unique(y)) == 2
    return {
        "auc": float(roc_auc_score(y, score)) if both else float("nan"),
        "average_precision": float(average_precision_score(y, score)) if both else float("nan"),
        "brier": float(brier_score_loss(y, probability)),
        "ece": expected_calibration_error(y, probability),
    }
