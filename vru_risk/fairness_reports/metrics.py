"""The audit's per-group metrics, suppression, composition and comparisons with the reference.

Metrics (columns of ``AuditResult.by_group``)
---------------------------------------------
``count``, ``positives`` (label 1), ``flagged``; ``base_rate`` (positives / count),
``selection_rate`` (flagged / count), ``tpr`` (recall: flagged positives / positives), ``fnr``
(1 − tpr), ``fpr`` (flagged negatives / negatives), ``ppv`` (precision: flagged positives /
flagged), ``false_omission_rate`` (unflagged positives / unflagged), ``auc`` (ROC AUC of the
scores within the group, oriented so that higher is riskier) and ``calibration_error`` (expected
calibration error over ``calibration_bins`` equal-width bins of the probability, weighted by
count: :func:`vru_risk.models.service_lists.expected_calibration_error`; only when probabilities
are available). A rate whose denominator is empty is NaN (Fairlearn's own confusion-matrix rates
report 0 there; the audit masks them).

Every point estimate is computed by :class:`fairlearn.metrics.MetricFrame` (Fairlearn's
``count``, ``selection_rate``, ``true_positive_rate``, ``false_negative_rate``,
``false_positive_rate`` and small callables for the rest).

Suppression (by distinct people)
--------------------------------
Cells are counted in *distinct people*, not in rows: a young person with twenty teachable
moments is one person. ``people``, ``people_with_outcome`` and ``people_flagged`` (columns of
``by_group``, :func:`distinct_people`) are the distinct people of a group, of its rows with the
outcome and of its flagged rows. A group with fewer than ``min_count`` people, ``min_positives``
people with the outcome or ``min_flagged`` people flagged (defaults :data:`MIN_PEOPLE`,
:data:`MIN_PEOPLE_WITH_OUTCOME`, :data:`MIN_PEOPLE_FLAGGED`, the one home of these minimums) is
*suppressed*: its counts stay visible, its rates (and its differences and ratios)
are **NaN** in ``by_group`` and **None** in ``AuditResult.to_records``, ``suppressed`` is True
and ``suppression_reason`` says which threshold it missed. :data:`SUPPRESSION_RULE` names this
rule; an audit records it (with the other rules its verdict depends on) in the version's tags.
The composition shares are computed from counts that are shown anyway, so they are not
suppressed. The overall row is never suppressed.

Comparisons with a reference group
----------------------------------
For each compared rate ``m`` (see :data:`COMPARED_METRICS`) ``by_group`` has ``m_difference``
(group − reference) and ``m_ratio`` (group / reference; NaN when the reference rate is 0). Both
are NaN when either group is suppressed. The reference group is chosen by
:func:`vru_risk.fairness_reports.groups.choose_references`.

Composition (Heller et al.)
---------------------------
``flagged_share`` is a group's share of all flagged rows, ``outcome_share`` its share of all rows
with the outcome; ``composition_ratio`` = flagged_share / outcome_share (above 1: the group is a
larger part of the list than of those who had the outcome).

Example
-------
>>> suppression_reason(12, 0, 3, min_count=50, min_positives=0, min_flagged=5)
'people 12 < 50; people flagged 3 < 5'
>>> safe_divide(np.array([1.0, 1.0, 1.0]), np.array([2.0, 0.0, np.nan])).tolist()
[0.5, nan, nan]
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd
from fairlearn.metrics import (  # type: ignore[import-untyped, unused-ignore]
    MetricFrame,
)
from sklearn.metrics import roc_auc_score

from vru_risk.models.service_lists import expected_calibration_error

RATE_METRICS: tuple[str, ...] = (
    "base_rate",
    "selection_rate",
    "tpr",
    "fnr",
    "fpr",
    "ppv",
    "false_omission_rate",
    "auc",
    "calibration_error",
)
"""Rates reported per group (NaN when the group is suppressed)."""

COMPARED_METRICS: tuple[str, ...] = RATE_METRICS
"""Rates with ``<metric>_difference`` and ``<metric>_ratio`` columns against the reference."""

COUNT_COLUMNS: tuple[str, ...] = ("count", "positives", "flagged")
PEOPLE_COLUMNS: tuple[str, ...] = ("people", "people_with_outcome", "people_flagged")
"""Distinct people of a group, of its rows with the outcome and of its flagged rows."""

#: the smallest cell whose rates are shown, in distinct people (the one home of these minimums;
#: a cell below any of them is suppressed: counts shown, rates withheld)
MIN_PEOPLE = 50
MIN_PEOPLE_WITH_OUTCOME = 10
MIN_PEOPLE_FLAGGED = 5
#: the small-cell rule these minimums are applied under (counted in distinct people, not rows)
SUPPRESSION_RULE = "distinct-people-1"

# ---------------------------------------------------------------------------- metric callables
# MetricFrame calls each with (y_true, y_pred) positionally, plus any sample parameters.


def _confusion(y_true: np.ndarray, y_pred: np.ndarray) -> tuple[int, int, int, int]:
    """(rows, rows with the outcome, rows flagged, rows flagged with the outcome): every count
    and rate of :data:`RATE_METRICS` but AUC and calibration follows from these four (one
    MetricFrame call instead of nine: Fairlearn stacks its inputs element by element on every
    call, which made most of an audit's time)."""
    return (
        len(y_true),
        int(np.sum(y_true)),
        int(np.sum(y_pred)),
        int(np.sum(y_true * y_pred)),
    )


def _from_confusion(confusion: pd.DataFrame) -> pd.DataFrame:
    """The counts and rates of each group from :func:`_confusion`'s four counts, the confusion
    rates by :func:`rates_from_cells` (the same floats as Fairlearn's and scikit-learn's rates:
    a count divided by a count; NaN where the denominator is empty)."""
    counts = confusion.astype(np.int64)
    n, pos, flagged, tp = (counts[c].to_numpy() for c in ("count", "positives", "flagged", "tp"))
    fp, fn = flagged - tp, pos - tp
    tn = n - pos - fp
    rates = rates_from_cells(np.stack([tn, fp, fn, tp], axis=-1))
    return pd.DataFrame(
        {
            "count": counts["count"],
            "positives": counts["positives"],
            "flagged": counts["flagged"],
            "base_rate": safe_divide(pos, n),
            "selection_rate": rates["selection_rate"],
            "tpr": rates["tpr"],
            "fnr": rates["fnr"],
            "fpr": rates["fpr"],
            "ppv": rates["ppv"],
            "false_omission_rate": safe_divide(fn, tn + fn),
        },
        index=counts.index,
    )


def _auc(y_true: np.ndarray, score: np.ndarray) -> float:
    if len(np.unique(y_true)) < 2:
        return math.nan
    return float(roc_auc_score(y_true, score))


#: what :func:`_figures_metric`'s function returns for each group, in order
FIGURES: tuple[str, ...] = ("count", "positives", "flagged", "tp", "auc", "calibration_error")


def _figures_metric(bins: int) -> Callable[..., tuple[float, ...]]:
    """One metric for MetricFrame returning a group's :data:`FIGURES`: its confusion counts
    (:func:`_confusion`), AUC and calibration error (NaN without probabilities). One call per
    group, not one per figure: Fairlearn stacks every input element by element on each call,
    which made most of an audit's time."""

    def figures(
        y_true: np.ndarray,
        y_pred: np.ndarray,
        *,
        score: np.ndarray,
        probability: np.ndarray | None = None,
    ) -> tuple[float, ...]:
        calibration = (
            math.nan
            if probability is None
            else expected_calibration_error(y_true, probability, bins)
        )
        return (*_confusion(y_true, y_pred), _auc(y_true, score), calibration)

    return figures


def group_metrics(
    y: np.ndarray,
    flagged: np.ndarray,
    groups: Mapping[str, np.ndarray],
    *,
    score: np.ndarray,
    probability: np.ndarray | None,
    calibration_bins: int,
) -> tuple[dict[str, pd.DataFrame], pd.Series]:
    """Counts and rates per group of each attribute (MetricFrame), and over everyone.

    ``y`` (0/1), ``flagged`` (0/1), ``score`` (oriented: higher is riskier), ``probability``
    and every array of group labels are aligned over the audit population.
    """
    metrics = {"figures": _figures_metric(calibration_bins)}
    params: dict[str, Any] = {"score": score}
    if probability is not None:
        params["probability"] = probability
    sample_params = {"figures": params}

    frames: dict[str, pd.DataFrame] = {}
    overall: pd.Series | None = None
    for attribute, labels in groups.items():
        frame = MetricFrame(
            metrics=metrics,
            y_true=y,
            y_pred=flagged,
            sensitive_features=pd.Series(labels, name="group"),
            sample_params=sample_params,
        )
        frames[attribute] = _tidy(frame.by_group)
        if overall is None:
            whole = _tidy(frame.overall.to_frame().T).iloc[0]
            overall = pd.Series(
                {k: int(whole[k]) if k in COUNT_COLUMNS else float(whole[k]) for k in whole.index},
                dtype=object,
                name="overall",
            )
    if overall is None:
        raise ValueError("groups is empty: pass at least one attribute")
    return frames, overall


def _tidy(raw: pd.DataFrame) -> pd.DataFrame:
    """Integer counts and the rates (NaN where a denominator is empty), AUC and calibration
    error, from MetricFrame's ``figures`` column (:data:`FIGURES` per group)."""
    figures = pd.DataFrame(raw["figures"].tolist(), index=raw.index, columns=list(FIGURES))
    frame = _from_confusion(figures[["count", "positives", "flagged", "tp"]])
    frame["auc"] = figures["auc"].astype(float)
    frame["calibration_error"] = figures["calibration_error"].astype(float)
    return frame


def suppression_reason(
    n: int, positives: int, flagged: int, *, min_count: int, min_positives: int, min_flagged: int
) -> str | None:
    """Why a group's rates are withheld ("people 12 < 50; people flagged 3 < 5"), or None;
    the counts are distinct people."""
    reasons = [
        f"{name} {value} < {minimum}"
        for name, value, minimum in (
            ("people", n, min_count),
            ("people with the outcome", positives, min_positives),
            ("people flagged", flagged, min_flagged),
        )
        if value < minimum
    ]
    return "; ".join(reasons) if reasons else None


def distinct_people(
    person: npt.ArrayLike, labels: npt.ArrayLike, y: npt.ArrayLike, flagged: npt.ArrayLike
) -> pd.DataFrame:
    """Distinct people per group (:data:`PEOPLE_COLUMNS`), indexed by group label.

    >>> distinct_people(["a", "a", "a", "b"], ["g", "g", "g", "g"], [1, 1, 0, 0], [1, 0, 0, 0])
    ... # doctest: +NORMALIZE_WHITESPACE
           people  people_with_outcome  people_flagged
    group
    g           2                    1               1
    """
    frame = pd.DataFrame(
        {
            "group": np.asarray(labels, dtype=object),
            "person": np.asarray(person, dtype=object),
            "y": np.asarray(y, dtype=float) == 1,
            "flagged": np.asarray(flagged, dtype=float) == 1,
        }
    )
    people = frame.groupby("group", sort=True)["person"].nunique()
    out = pd.DataFrame(
        {
            "people": people,
            "people_with_outcome": frame[frame["y"]].groupby("group")["person"].nunique(),
            "people_flagged": frame[frame["flagged"]].groupby("group")["person"].nunique(),
        },
        index=people.index,
    )
    return out.fillna(0).astype(np.int64).rename_axis("group")


def compare(
    frame: pd.DataFrame, attribute: str, reference: str, thresholds: Mapping[str, int]
) -> pd.DataFrame:
    """Suppression (by the distinct people of ``frame``'s :data:`PEOPLE_COLUMNS`), composition
    shares and differences/ratios against the reference group."""
    out = frame.rename_axis("group").reset_index()
    out["group"] = out["group"].astype(str)
    out.insert(0, "attribute", attribute)
    reasons = [
        suppression_reason(
            int(n),
            int(positives),
            int(flagged),
            min_count=thresholds["min_count"],
            min_positives=thresholds["min_positives"],
            min_flagged=thresholds["min_flagged"],
        )
        for n, positives, flagged in out[list(PEOPLE_COLUMNS)].to_numpy(np.int64)
    ]
    suppressed = np.array([reason is not None for reason in reasons], dtype=bool)
    out.insert(5, "suppressed", suppressed)
    out.insert(6, "suppression_reason", pd.Series(reasons, dtype=object))
    out.loc[suppressed, list(RATE_METRICS)] = math.nan

    total_flagged, total_positives = int(out["flagged"].sum()), int(out["positives"].sum())
    out["flagged_share"] = out["flagged"] / total_flagged if total_flagged else math.nan
    out["outcome_share"] = out["positives"] / total_positives if total_positives else math.nan
    out["composition_ratio"] = safe_divide(
        out["flagged_share"].to_numpy(float), out["outcome_share"].to_numpy(float)
    )

    is_reference = (out["group"] == reference).to_numpy()
    out.insert(2, "is_reference", is_reference)
    ref = out.loc[is_reference].iloc[0]
    for metric in COMPARED_METRICS:
        values = out[metric].to_numpy(float)
        ref_value = float(ref[metric])
        out[f"{metric}_difference"] = values - ref_value
        out[f"{metric}_ratio"] = safe_divide(values, np.full(len(values), ref_value))
    return out


def safe_divide(numerator: npt.ArrayLike, denominator: npt.ArrayLike) -> np.ndarray:
    """Elementwise ratio, NaN where the denominator is 0, NaN or infinite (no numpy warnings)."""
    num = np.asarray(numerator, dtype=float)
    den = np.asarray(denominator, dtype=float)
    out = np.full(np.broadcast(num, den).shape, math.nan)
    np.divide(num, den, out=out, where=np.isfinite(den) & (den != 0))
    return out


CONFUSION_RATES: tuple[str, ...] = ("selection_rate", "tpr", "fnr", "fpr", "ppv")
"""The rates :func:`rates_from_cells` gives, in this order."""

# cell of a row in a confusion table: 2 * label + flagged
TN, FP, FN, TP = 0, 1, 2, 3


def rates_from_cells(cells: np.ndarray) -> dict[str, np.ndarray]:
    """Rates from confusion cells ``(..., 4)`` ordered tn, fp, fn, tp (NaN if undefined)."""
    tn, fp, fn, tp = (cells[..., i] for i in (TN, FP, FN, TP))
    return {
        "selection_rate": safe_divide(tp + fp, tn + fp + fn + tp),
        "tpr": safe_divide(tp, tp + fn),
        "fnr": safe_divide(fn, tp + fn),
        "fpr": safe_divide(fp, fp + tn),
        "ppv": safe_divide(tp, tp + fp),
    }
