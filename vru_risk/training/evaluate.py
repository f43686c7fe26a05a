"""Evaluation at capacity: the places the service would have offered, and the hindsight bound.

Precision, recall and lift at capacity are those of the service's own allocation replayed over
the test rows (:mod:`vru_risk.training.allocation`, the daily job's function): day by day, each
programme's floor, places per period and policy. Beside them, and alone when the allocation
cannot be replayed (no moments' context), the *hindsight bound* (``hindsight_*``): for each
calendar month of test as-of dates, each person counts once (their highest-scored example that
month), the ``capacity`` highest scores are "flagged" (ties broken in a seeded random order: the
rule of :mod:`vru_risk.models.service_lists`). That list is chosen knowing the whole month's
scores, which the service, deciding day by day, cannot. Pooled figures add the months up.
Threshold-free metrics (AUC, average precision, Brier score, expected calibration error) are
reported beside them, never instead of them.

:func:`evaluate` takes every metric of one model on a fold's labelled test rows (also against
the other label variants, and among the treated and the untreated apart);
:func:`precision_difference` compares two models' offers (or lists) with a bootstrap over months.

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

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from sklearn.metrics import average_precision_score, brier_score_loss, roc_auc_score

from vru_risk.models.service_lists import expected_calibration_error, monthly_lists
from vru_risk.training.allocation import FoldOffers
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
    by_month = _by_month(monthly_lists(frame, capacity=capacity, seed=seed))
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
    """One model on one fold's test slice (or pooled over folds: ``fold`` 0).

    ``replayed``: its metrics at capacity (``precision_at_capacity`` ...) are the service's
    replayed offers and ``by_month`` counts those; otherwise only the hindsight lists' metrics
    exist (``hindsight_precision_at_capacity`` ...) and ``by_month`` counts the lists.
    ``hindsight_by_month`` and ``curve`` are always the monthly top-k lists."""

    model: str
    kind: str  # lightgbm | logistic | baseline | oracle
    fold: int
    metrics: dict[str, float]
    by_month: dict[str, CapacityMetrics]
    curve: dict[int, CapacityMetrics]
    calibration: pd.DataFrame | None = None
    replayed: bool = False
    hindsight_by_month: dict[str, CapacityMetrics] = field(default_factory=dict)
    offers: FoldOffers | None = None

    def at_capacity(self, measure: str) -> float:
        """``precision``, ``recall`` or ``lift`` at capacity, as this evaluation judged it."""
        return self.metrics[capacity_metric(measure, replayed=self.replayed)]


def capacity_metric(measure: str, *, replayed: bool) -> str:
    """The metric name of ``measure`` at capacity: the replay's, or the hindsight lists'.

    >>> capacity_metric("precision", replayed=True), capacity_metric("recall", replayed=False)
    ('precision_at_capacity', 'hindsight_recall_at_capacity')
    """
    return f"{measure}_at_capacity" if replayed else f"hindsight_{measure}_at_capacity"


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
    offers: FoldOffers | None = None,
) -> ModelEvaluation:
    """Every metric of one model on labelled test rows (``rows`` already drop censored ones).

    With ``offers`` (the service's allocation replayed, ``offers.offered`` aligned with
    ``rows``) the metrics at capacity are those offers'; the monthly top-k lists are reported
    beside them as ``hindsight_*``. Without, only the ``hindsight_*`` metrics exist."""
    seed, capacity = config.seed, config.capacity.per_month
    lists = monthly_lists(lists_frame(rows, score, label), capacity=capacity, seed=seed)
    hindsight = _by_month(lists)
    main = sum(hindsight.values(), CapacityMetrics(0, 0, 0, 0))
    y = rows[label].to_numpy(dtype="float64")
    metrics: dict[str, float] = {
        "hindsight_precision_at_capacity": main.precision,
        "hindsight_recall_at_capacity": main.recall,
        "hindsight_lift_at_capacity": main.lift,
        "hindsight_flagged": float(main.flagged),
        "hindsight_flagged_positive": float(main.flagged_positive),
        "hindsight_positives": float(main.positives),
        "hindsight_base_rate": main.base_rate,
        "positives": float(np.nansum(y)),
        "examples": float(len(rows)),
        "base_rate": float(np.nanmean(y)) if len(y) else float("nan"),
    }
    by_month = hindsight
    if offers is not None:
        months = rows["as_of"].dt.strftime("%Y-%m").to_numpy()
        by_month = _by_month(pd.DataFrame({"month": months, "flagged": offers.offered, "label": y}))
        m = offers.metrics
        metrics |= {
            "precision_at_capacity": m.precision,
            "recall_at_capacity": m.recall,
            "lift_at_capacity": m.precision / metrics["base_rate"]
            if metrics["base_rate"]
            else float("nan"),
            "offered": float(m.offered),
            "offered_positive": float(m.offered_positive),
            "places_used_share": m.places_used_share,
            "days_with_place_share": m.days_with_place_share,
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
    for c, cm in curve.items():
        metrics[f"hindsight_precision_at_{c}"] = cm.precision
        metrics[f"hindsight_recall_at_{c}"] = cm.recall
    metrics |= _judged_apart(rows, score, None if offers is None else offers.offered, config, label)
    return ModelEvaluation(
        model,
        kind,
        fold,
        metrics,
        by_month,
        curve,
        calib,
        replayed=offers is not None,
        hindsight_by_month=hindsight,
        offers=offers,
    )


def _by_month(lists: pd.DataFrame) -> dict[str, CapacityMetrics]:
    """Per month (``month``): rows flagged (or offered), of them positive, rows, positives."""
    out: dict[str, CapacityMetrics] = {}
    for month, group in lists.groupby("month", sort=True):
        chosen = group["flagged"].to_numpy(dtype=bool)
        y = group["label"].to_numpy(dtype="float64")
        out[str(month)] = CapacityMetrics(
            flagged=int(chosen.sum()),
            flagged_positive=int(y[chosen].sum()),
            eligible=len(group),
            positives=int(y.sum()),
        )
    return out


def _judged_apart(
    rows: pd.DataFrame,
    score: np.ndarray,
    offered: np.ndarray | None,
    config: ExperimentConfig,
    label: str,
) -> dict[str, float]:
    """The rows chosen judged against the other outcomes (label gaps, harm only, true
    involvement) and among the treated and the untreated apart (support received during the
    label window may have prevented the outcome, so the model looks worse among the treated
    than it is). Chosen: the ``offered`` rows (the replay), else the hindsight lists (drawn
    again among the rows whose outcome is known, as the main lists are)."""
    prefix = "" if offered is not None else "hindsight_"
    seed, capacity = config.seed, config.capacity.per_month
    out: dict[str, float] = {}
    variants = {f"gap{g}": f"{label}_gap{g}" for g in config.features.label.extra_gaps}
    variants["harm"] = f"{label}_harm"
    variants["true_involvement"] = "label_true_involvement"
    for name, column in variants.items():
        if column not in rows.columns:
            continue
        y = rows[column].to_numpy(dtype="float64")
        keep = ~np.isnan(y)
        if offered is not None:
            precision, recall = _precision_recall(y[keep], offered[keep])
        else:
            res = at_capacity(
                lists_frame(rows[keep], score[keep], column), capacity=capacity, seed=seed
            )
            precision, recall = res.pooled.precision, res.pooled.recall
        out[f"{prefix}{name}_precision_at_capacity"] = precision
        out[f"{prefix}{name}_recall_at_capacity"] = recall
        out[f"{name}_auc"] = threshold_free(y[keep], score[keep], score[keep])["auc"]
    if "label_window_treated" not in rows.columns:
        return out
    treated = rows["label_window_treated"].to_numpy(dtype="float64")
    y = rows[label].to_numpy(dtype="float64")
    chosen = offered
    if offered is None:  # the lists' population: one row per person a month
        frame = lists_frame(rows, score, label).assign(treated=treated)
        lists = monthly_lists(frame, capacity=capacity, seed=seed)
        treated, y = lists["treated"].to_numpy(), lists["label"].to_numpy(dtype="float64")
        chosen = lists["flagged"].to_numpy(dtype=bool)
    assert chosen is not None
    for name, value in (("treated", 1.0), ("untreated", 0.0)):
        part = treated == value
        out[f"{name}_examples"] = float(part.sum())
        precision, recall = _precision_recall(y[part], chosen[part])
        out[f"{prefix}{name}_precision_at_capacity"] = precision
        out[f"{prefix}{name}_recall_at_capacity"] = recall
    return out


def _precision_recall(y: np.ndarray, chosen: np.ndarray) -> tuple[float, float]:
    hits, positives = float(y[chosen].sum()), float(y.sum())
    return (
        hits / int(chosen.sum()) if chosen.any() else float("nan"),
        hits / positives if positives else float("nan"),
    )


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
