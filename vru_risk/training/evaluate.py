"""Evaluation that replays the service: monthly lists of the top *capacity* young people.

For each calendar month of test as-of dates, each person counts once (their highest-scored
example that month, as a practitioner sees one flag per person), the ``capacity`` highest scores
are "flagged" (ties broken in a seeded random order: the rule of
:mod:`vru_risk.models.service_lists`, which the fairness audit applies too), and precision,
recall and lift are taken at that list size. Pooled figures add the months up. Threshold-free
metrics (AUC, average precision, Brier score, expected calibration error) are reported beside
them, never instead of them.

:func:`evaluate` takes every metric of one model on a fold's labelled test rows (also against
the other label variants, and among the treated and the untreated apart);
:func:`precision_difference` compares two models' lists with a bootstrap over months.

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
from vru_risk.training.config import ExperimentConfig

BOOTSTRAP_RESAMPLES = 2000


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


# --- one model on one fold's test rows -------------------------------------------------------


@dataclass
class ModelEvaluation:
    """One model on one fold's test slice (or pooled over folds: ``fold`` 0)."""

    model: str
    kind: str  # lightgbm | logistic | baseline | oracle
    fold: int
    metrics: dict[str, float]
    by_month: dict[str, CapacityMetrics]
    curve: dict[int, CapacityMetrics]
    calibration: pd.DataFrame | None = None


@dataclass(frozen=True)
class Interval:
    estimate: float
    low: float
    high: float

    def text(self) -> str:
        return f"{self.estimate:+.3f} (95% CI {self.low:+.3f} to {self.high:+.3f})"


def lists_frame(rows: pd.DataFrame, score: np.ndarray, label: str) -> pd.DataFrame:
    """What :func:`monthly_lists` needs of ``rows`` scored by ``score``, judged on ``label``."""
    return pd.DataFrame(
        {
            "person_id": rows["person_id"].to_numpy(),
            "as_of": rows["as_of"].to_numpy(),
            "score": score,
            "label": rows[label].to_numpy(dtype="float64"),
        }
    )


def evaluate(
    rows: pd.DataFrame,
    score: np.ndarray,
    probability: np.ndarray | None,
    *,
    config: ExperimentConfig,
    model: str,
    kind: str,
    fold: int,
    label: str,
) -> ModelEvaluation:
    """Every metric of one model on labelled test rows (``rows`` already drop censored ones)."""
    seed, capacity = config.seed, config.capacity.per_month
    main = at_capacity(lists_frame(rows, score, label), capacity=capacity, seed=seed)
    y = rows[label].to_numpy(dtype="float64")
    metrics: dict[str, float] = {
        "precision_at_capacity": main.pooled.precision,
        "recall_at_capacity": main.pooled.recall,
        "lift_at_capacity": main.pooled.lift,
        "flagged": float(main.pooled.flagged),
        "flagged_positive": float(main.pooled.flagged_positive),
        "positives": float(main.pooled.positives),
        "examples": float(len(rows)),
        "base_rate": main.pooled.base_rate,
    }
    tf = threshold_free(y, score, probability if probability is not None else score)
    metrics["auc"], metrics["average_precision"] = tf["auc"], tf["average_precision"]
    calib = None
    if probability is not None:
        metrics["brier"], metrics["ece"] = tf["brier"], tf["ece"]
        calib = calibration_curve(y, probability)
    curve = {
        c: at_capacity(lists_frame(rows, score, label), capacity=c, seed=seed).pooled
        for c in config.capacity.curve
    }
    for c, m in curve.items():
        metrics[f"precision_at_{c}"] = m.precision
        metrics[f"recall_at_{c}"] = m.recall
    # the same lists judged against other outcomes: label gaps, harm only, true involvement
    variants = {f"gap{g}": f"{label}_gap{g}" for g in config.features.label.extra_gaps}
    variants["harm"] = f"{label}_harm"
    variants["true_involvement"] = "label_true_involvement"
    for name, column in variants.items():
        if column not in rows.columns:
            continue
        keep = rows[column].notna().to_numpy()
        sub = rows[keep]
        res = at_capacity(lists_frame(sub, score[keep], column), capacity=capacity, seed=seed)
        metrics[f"{name}_precision_at_capacity"] = res.pooled.precision
        metrics[f"{name}_recall_at_capacity"] = res.pooled.recall
        metrics[f"{name}_auc"] = threshold_free(
            sub[column].to_numpy(dtype="float64"), score[keep], score[keep]
        )["auc"]
    # treated / untreated: support received during the label window (it may have prevented the
    # outcome, so the model looks worse among the treated than it is)
    if "label_window_treated" in rows.columns:
        lists = _with_lists(rows, score, label, capacity, seed)
        for name, value in (("treated", 1.0), ("untreated", 0.0)):
            part = lists[lists["treated"] == value]
            flagged = part[part["flagged"]]
            pos = float(part["label"].sum())
            metrics[f"{name}_examples"] = float(len(part))
            metrics[f"{name}_precision_at_capacity"] = (
                float(flagged["label"].mean()) if len(flagged) else float("nan")
            )
            metrics[f"{name}_recall_at_capacity"] = (
                float(flagged["label"].sum()) / pos if pos else float("nan")
            )
    return ModelEvaluation(model, kind, fold, metrics, main.by_month, curve, calib)


def _with_lists(
    rows: pd.DataFrame, score: np.ndarray, label: str, capacity: int, seed: int
) -> pd.DataFrame:
    frame = lists_frame(rows, score, label).assign(
        treated=rows["label_window_treated"].to_numpy(dtype="float64")
    )
    return monthly_lists(frame, capacity=capacity, seed=seed)


def precision_difference(
    a: dict[str, CapacityMetrics], b: dict[str, CapacityMetrics], *, seed: int
) -> Interval:
    """Pooled precision at capacity of ``a`` minus ``b``, with a bootstrap over months.

    Months are the service's unit (one list a month), so they are resampled whole: the
    interval reflects month-to-month variation as well as the noise within a list.
    """
    months = sorted(set(a) & set(b))
    fa = np.array([[a[m].flagged_positive, a[m].flagged] for m in months], dtype="float64")
    fb = np.array([[b[m].flagged_positive, b[m].flagged] for m in months], dtype="float64")

    def diff(idx: np.ndarray) -> float:
        sa, sb = fa[idx].sum(axis=0), fb[idx].sum(axis=0)
        if sa[1] == 0 or sb[1] == 0:
            return float("nan")
        return float(sa[0] / sa[1] - sb[0] / sb[1])

    if not months:
        return Interval(float("nan"), float("nan"), float("nan"))
    estimate = diff(np.arange(len(months)))
    rng = np.random.default_rng(seed)
    draws = np.array(
        [diff(rng.integers(0, len(months), len(months))) for _ in range(BOOTSTRAP_RESAMPLES)]
    )
    low, high = np.nanquantile(draws, [0.025, 0.975])
    return Interval(estimate, float(low), float(high))
