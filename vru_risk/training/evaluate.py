"""Evaluation that replays the service: monthly lists of the top *capacity* young people.

For each calendar month of test as-of dates, each person counts once (their highest-scored
example that month, as a practitioner sees one flag per person), the ``capacity`` highest scores
are "flagged" (ties broken in a seeded random order: the rule of
:mod:`vru_risk.models.service_lists`, which the fairness audit applies too), and precision,
recall and lift are taken at that list size. Pooled figures add the months up. Threshold-free
metrics (AUC, average precision, Brier score, expected calibration error) are reported beside
them, never instead of them.

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

from vru_risk.models.service_lists import expected_calibration_error, monthly_lists


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
