"""Fairness audit of a ranking at an operating point, disaggregated with Fairlearn's MetricFrame.

The audit answers, per sensitive attribute (sex, ethnicity, sen, fsm, looked_after, imd_band,
age_band …) and per requested intersection ("ethnicity*sex"): who is flagged at the operating
point the service actually uses, how often flags land on those who go on to have the outcome,
and how the groups compare with a reference group.

Operating points
----------------
* :class:`ServiceLists` — the service's own: per calendar month of ``as_of``, one row per person
  (their highest score that month, ties between rows broken by the seeded random order), the top
  ``capacity`` of those rows flagged. This is the rule of ``vru_risk.training.evaluate.
  monthly_lists`` (re-implemented here, because this layer may not import ``training``; a test
  checks that the same rows in the same order with the same seed give the same lists). **The
  audit population is the rows the lists considered: one row per person per month**, so counts
  are in young-people-months, and the kept row's label and sensitive values stand for that
  person-month; a person's other rows that month are left out (they were never a separate
  decision). :attr:`AuditResult.selection` gives the positions of the rows kept.
* :class:`Threshold` — every row whose score is at or beyond ``value`` is flagged (a score equal
  to the threshold is flagged).
* :class:`TopK` — the ``k`` highest scores; every row tied with the k-th score is flagged too, so
  more than ``k`` may be flagged (:attr:`Selection.n_flagged` says how many).
* :class:`TopFraction` — ``TopK`` with ``k = ceil(fraction * n)``.

Except :class:`Threshold` with ``lower_is_riskier=True``, higher scores are riskier.

Groups
------
Group labels are strings. A missing sensitive value becomes the explicit group ``"unknown"``
(never dropped); booleans become ``"true"``/``"false"``, integral floats their integer
(``3.0`` → ``"3"``), anything else ``str(value)``. An intersection of attributes ``("ethnicity",
"sex")`` is the attribute ``"ethnicity*sex"`` with groups such as ``"black*male"``.

Metrics (columns of :attr:`AuditResult.by_group`)
-------------------------------------------------
``count``, ``positives`` (label 1), ``flagged``; ``base_rate`` (positives / count),
``selection_rate`` (flagged / count), ``tpr`` (recall: flagged positives / positives), ``fnr``
(1 − tpr), ``fpr`` (flagged negatives / negatives), ``ppv`` (precision: flagged positives /
flagged), ``false_omission_rate`` (unflagged positives / unflagged), ``auc`` (ROC AUC of the
scores within the group, oriented so that higher is riskier) and ``calibration_error`` (expected
calibration error over ``calibration_bins`` equal-width bins of the probability, weighted by
count; only when probabilities are available). A rate whose denominator is empty is NaN
(Fairlearn's own confusion-matrix rates report 0 there; the audit masks them).

Every point estimate is computed by :class:`fairlearn.metrics.MetricFrame` (Fairlearn's
``count``, ``selection_rate``, ``true_positive_rate``, ``false_negative_rate``,
``false_positive_rate`` and small callables for the rest).

Suppression
-----------
A group with fewer than ``min_count`` members, ``min_positives`` positives or ``min_flagged``
flagged rows is *suppressed*: its counts stay visible, its rates (and its differences and ratios)
are **NaN** in :attr:`AuditResult.by_group` and **None** in :meth:`AuditResult.to_records`,
``suppressed`` is True and ``suppression_reason`` says which threshold it missed. The
composition shares are computed from counts that are shown anyway, so they are not suppressed.
The overall row is never suppressed.

Groups that cannot be assessed
------------------------------
``cannot_assess`` names, in words, the values of a group that cannot be assessed (``"its rates"``
for a suppressed group; ``"recall, miss rate, AUC and …"`` for a group without anyone with the
outcome) and ``cannot_assess_reason`` says why ("too few to judge: only 3 young people, none with
the outcome …"); both are None for a group assessed in full. :attr:`AuditResult.notes` gives one
:class:`~vru_risk.fairness_reports.notes.GroupNote` per such group.

Comparisons with a reference group
----------------------------------
Each attribute has a reference group (``reference_groups``, or by default its largest group
with no ``"unknown"`` part; ties go to the first label in sorted order). For each compared rate
``m`` (see :data:`COMPARED_METRICS`) ``by_group`` has ``m_difference`` (group − reference) and
``m_ratio`` (group / reference; NaN when the reference rate is 0). Both are NaN when either
group is suppressed.
:meth:`AuditResult.difference` and :meth:`AuditResult.ratio` summarise them per attribute in
Fairlearn's way (the largest absolute difference, the smallest ratio folded into [0, 1]).

Composition (Heller et al.)
---------------------------
``flagged_share`` is a group's share of all flagged rows, ``outcome_share`` its share of all rows
with the outcome; ``composition_ratio`` = flagged_share / outcome_share (above 1: the group is a
larger part of the list than of those who had the outcome).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, assert_never

import numpy as np
import numpy.typing as npt
import pandas as pd
from fairlearn.metrics import (  # type: ignore[import-untyped, unused-ignore]
    MetricFrame,
    count,
    false_negative_rate,
    false_positive_rate,
    selection_rate,
    true_positive_rate,
)
from sklearn.metrics import roc_auc_score

from vru_risk.fairness_reports.notes import GroupNote
from vru_risk.fairness_reports.unassessable import assess_rates, rate_notes

UNKNOWN = "unknown"
"""The group of rows whose sensitive value is missing."""

INTERSECTION_SEP = "*"
"""Joins attribute names (``ethnicity*sex``) and group labels (``black*male``)."""

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

ComparisonMethod = Literal["to_reference", "between_groups"]


# --------------------------------------------------------------------------- operating points


@dataclass(frozen=True, eq=False)
class ServiceLists:
    """The service's monthly lists: per month, one row per person, the top ``capacity`` flagged.

    Parameters
    ----------
    capacity : int
        How many people the service can take per calendar month.
    seed : int
        Seed of the random order that breaks ties (between a person's rows and between people).
    person_id, as_of : array-like
        Aligned row by row with ``y_true``: whose row it is and its as-of date (the month).
    """

    capacity: int
    seed: int
    person_id: npt.ArrayLike = field(repr=False)
    as_of: npt.ArrayLike = field(repr=False)
    kind: Literal["service_lists"] = field(default="service_lists", init=False)

    def __post_init__(self) -> None:
        _check_count("ServiceLists.capacity", self.capacity)
        if isinstance(self.seed, bool) or not isinstance(self.seed, int | np.integer):
            raise ValueError(f"ServiceLists.seed must be an integer, got {self.seed!r}")


@dataclass(frozen=True)
class Threshold:
    """Flag every row whose score is at or above ``value`` (at or below if lower is riskier)."""

    value: float
    lower_is_riskier: bool = False
    kind: Literal["threshold"] = field(default="threshold", init=False)

    def __post_init__(self) -> None:
        if not isinstance(self.value, int | float | np.number) or math.isnan(self.value):
            raise ValueError(f"Threshold.value must be a number, got {self.value!r}")


@dataclass(frozen=True)
class TopK:
    """Flag the ``k`` highest scores and every row tied with the k-th."""

    k: int
    kind: Literal["top_k"] = field(default="top_k", init=False)

    def __post_init__(self) -> None:
        _check_count("TopK.k", self.k)


@dataclass(frozen=True)
class TopFraction:
    """Flag the top ``ceil(fraction * n)`` scores and every row tied with the last of them."""

    fraction: float
    kind: Literal["top_fraction"] = field(default="top_fraction", init=False)

    def __post_init__(self) -> None:
        if not isinstance(self.fraction, int | float | np.number) or not (
            0.0 <= float(self.fraction) <= 1.0
        ):
            raise ValueError(f"TopFraction.fraction must be in [0, 1], got {self.fraction!r}")


OperatingPoint = ServiceLists | Threshold | TopK | TopFraction
_OPERATING_POINTS = (ServiceLists, Threshold, TopK, TopFraction)


def _check_count(name: str, value: object) -> None:
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < 0:
        raise ValueError(f"{name} must be a non-negative integer, got {value!r}")


def check_operating_point(operating_point: object) -> OperatingPoint:
    """Return ``operating_point`` if it is one of the four kinds, else raise a ValueError."""
    if not isinstance(operating_point, _OPERATING_POINTS):
        raise ValueError(
            f"unknown operating point {operating_point!r}: use ServiceLists(capacity, seed, "
            "person_id, as_of), Threshold(value), TopK(k) or TopFraction(fraction) "
            "from vru_risk.fairness_reports.audit"
        )
    return operating_point


def describe_operating_point(operating_point: OperatingPoint) -> dict[str, Any]:
    """A JSON-ready description of an operating point (without the per-row arrays)."""
    match operating_point:
        case ServiceLists(capacity=capacity, seed=seed):
            return {"kind": "service_lists", "capacity": capacity, "seed": seed}
        case Threshold(value=value, lower_is_riskier=lower):
            return {"kind": "threshold", "value": float(value), "lower_is_riskier": lower}
        case TopK(k=k):
            return {"kind": "top_k", "k": k}
        case TopFraction(fraction=fraction):
            return {"kind": "top_fraction", "fraction": float(fraction)}
        case _:
            assert_never(operating_point)


@dataclass(frozen=True, eq=False)
class Selection:
    """What an operating point did: which rows it considered and which of them it flagged.

    ``rows`` are positions in the input (ascending), ``flagged`` is aligned with ``rows``.
    """

    rows: np.ndarray
    flagged: np.ndarray

    @property
    def n_flagged(self) -> int:
        return int(self.flagged.sum())


def top_k_flags(scores: np.ndarray, k: int) -> np.ndarray:
    """Flag the ``k`` highest scores and every score tied with the k-th highest."""
    n = len(scores)
    if k <= 0 or n == 0:
        return np.zeros(n, dtype=bool)
    if k >= n:
        return np.ones(n, dtype=bool)
    kth: float = np.partition(scores, n - k)[n - k]
    flags: np.ndarray = scores >= kth
    return flags


def fraction_to_k(fraction: float, n: int) -> int:
    """``ceil(fraction * n)``, forgiving floating-point noise (0.3 * 10 is 3, not 4)."""
    return min(n, math.ceil(fraction * n - 1e-9))


def month_codes(as_of: npt.ArrayLike) -> np.ndarray:
    """Calendar month of each as-of date as an integer (year * 12 + month - 1)."""
    try:
        dates = pd.DatetimeIndex(pd.to_datetime(np.asarray(as_of)))
    except (ValueError, TypeError) as exc:
        raise ValueError(
            f"ServiceLists.as_of must hold dates (datetime64 or ISO strings): {exc}"
        ) from exc
    missing = np.asarray(dates.isna())
    if missing.any():
        raise ValueError(
            f"ServiceLists.as_of has {int(missing.sum())} missing dates: every row needs "
            "the as-of date that puts it in a monthly list"
        )
    codes: np.ndarray = np.asarray(dates.year * 12 + dates.month - 1, dtype=np.int64)
    return codes


def risk_order(scores: np.ndarray, tiebreak: np.ndarray) -> np.ndarray:
    """Row positions by score, then ``tiebreak``, both descending (``monthly_lists``' order)."""
    order = np.argsort(-tiebreak, kind="stable")  # two stable sorts: np.lexsort is slower
    ordered: np.ndarray = order[np.argsort(-scores[order], kind="stable")]
    return ordered


def service_list_rows(
    order: np.ndarray, person: np.ndarray, month: np.ndarray, *, capacity: int
) -> Selection:
    """The monthly lists on integer-coded arrays (the kernel shared with the bootstrap).

    ``order`` lists row positions from riskiest to least risky, ties already broken (see
    :func:`risk_order`). The first row of each (month, person) in that order is kept; the first
    ``capacity`` kept rows of each month are flagged. ``person`` and ``month`` are non-negative
    integer codes.
    """
    n = len(order)
    if n == 0:
        return Selection(np.zeros(0, dtype=np.int64), np.zeros(0, dtype=bool))
    key = month[order].astype(np.int64) * (int(person.max()) + 1) + person[order]
    _, first = np.unique(key, return_index=True)
    is_first = np.zeros(n, dtype=bool)
    is_first[first] = True
    kept = order[is_first]  # one row per (month, person), riskiest first
    kept_month = month[kept]
    by_month = np.argsort(kept_month, kind="stable")
    sorted_month = kept_month[by_month]
    starts = np.flatnonzero(np.r_[True, sorted_month[1:] != sorted_month[:-1]])
    sizes = np.diff(np.r_[starts, len(kept)])
    rank = np.empty(len(kept), dtype=np.int64)
    rank[by_month] = np.arange(len(kept)) - np.repeat(starts, sizes)
    in_population = np.zeros(n, dtype=bool)
    in_population[kept] = True
    flagged = np.zeros(n, dtype=bool)
    flagged[kept] = rank < capacity
    rows = np.flatnonzero(in_population)
    return Selection(rows, flagged[rows])


def select(scores: np.ndarray, operating_point: OperatingPoint) -> Selection:
    """Apply an operating point to validated scores (see the module docstring for the rules)."""
    n = len(scores)
    everyone = np.arange(n)
    match operating_point:
        case Threshold(value=value, lower_is_riskier=lower):
            return Selection(everyone, scores <= value if lower else scores >= value)
        case TopK(k=k):
            return Selection(everyone, top_k_flags(scores, k))
        case TopFraction(fraction=fraction):
            return Selection(everyone, top_k_flags(scores, fraction_to_k(fraction, n)))
        case ServiceLists(capacity=capacity, seed=seed, person_id=person_id, as_of=as_of):
            person, _ = pd.factorize(np.asarray(person_id, dtype=object))
            tiebreak = np.random.default_rng(seed).random(n)  # as training.evaluate draws it
            order = risk_order(scores, tiebreak)
            return service_list_rows(order, person, month_codes(as_of), capacity=capacity)
        case _:
            assert_never(operating_point)


# ------------------------------------------------------------------------------- validation


@dataclass(frozen=True, eq=False)
class AuditInputs:
    """Validated, position-aligned inputs: 0/1 labels, float scores, string group labels."""

    y_true: np.ndarray
    scores: np.ndarray
    groups: dict[str, np.ndarray]
    probability: np.ndarray | None


def _length(name: str, values: object) -> int:
    try:
        return len(values)  # type: ignore[arg-type]
    except TypeError as exc:
        raise ValueError(f"{name} must be array-like with one value per row") from exc


def _check_length(name: str, values: object, n: int) -> None:
    got = _length(name, values)
    if got != n:
        raise ValueError(
            f"{name} has {got} rows but y_true has {n}: pass arrays aligned row by row "
            "with y_true (same length, same order)"
        )


def _first_positions(mask: np.ndarray) -> str:
    positions = np.flatnonzero(mask)
    head = ", ".join(str(p) for p in positions[:5])
    return f"{len(positions)} rows (first at positions {head})"


def check_labels(y_true: npt.ArrayLike) -> np.ndarray:
    """0/1 labels as an int8 array, or a ValueError naming what is wrong."""
    values = pd.Series(np.asarray(y_true, dtype=object).ravel(), dtype=object)
    missing = values.isna().to_numpy()
    if missing.any():
        raise ValueError(
            f"y_true has missing labels in {_first_positions(missing)}: drop censored or "
            "unlabelled examples before auditing"
        )
    numeric = pd.to_numeric(values, errors="coerce").to_numpy(dtype=float)
    bad = ~np.isin(numeric, [0.0, 1.0])
    if bad.any():
        found = sorted({str(v) for v in values[bad].unique()[:5]})
        raise ValueError(
            f"y_true must be binary (0/1 or False/True); found {found} in {_first_positions(bad)}"
        )
    return numeric.astype(np.int8)


def check_scores(name: str, scores: npt.ArrayLike, n: int) -> np.ndarray:
    """Finite float scores aligned with ``y_true``, or a ValueError."""
    _check_length(name, scores, n)
    try:
        values = np.asarray(scores, dtype=float).ravel()
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{name} must be numeric: {exc}") from exc
    bad = ~np.isfinite(values)
    if bad.any():
        raise ValueError(
            f"{name} has NaN or infinite values in {_first_positions(bad)}: score every row "
            "(or drop the rows the model could not score) before auditing"
        )
    return values


def group_labels(values: pd.Series) -> np.ndarray:
    """String group labels; missing values become :data:`UNKNOWN`."""

    def label(value: object) -> str:
        if isinstance(value, bool | np.bool_):
            return "true" if value else "false"
        if isinstance(value, float | np.floating) and float(value).is_integer():
            return str(int(value))
        return str(value)

    codes, levels = pd.factorize(values.to_numpy(dtype=object))  # missing values get code -1
    names = np.array([label(level) for level in levels] + [UNKNOWN], dtype=object)
    return names[codes]  # code -1 picks the trailing UNKNOWN


def sensitive_groups(
    sensitive_features: pd.DataFrame,
    intersections: Sequence[tuple[str, ...]],
    n: int,
) -> dict[str, np.ndarray]:
    """Group labels per attribute, then per intersection (``"a*b"``), in that order."""
    if not isinstance(sensitive_features, pd.DataFrame):
        raise ValueError(
            "sensitive_features must be a pandas DataFrame with one column per attribute "
            f"(e.g. sex, ethnicity), got {type(sensitive_features).__name__}"
        )
    if sensitive_features.shape[1] == 0:
        raise ValueError("sensitive_features has no columns: pass at least one attribute")
    _check_length("sensitive_features", sensitive_features, n)
    groups: dict[str, np.ndarray] = {}
    for column in sensitive_features.columns:
        if not isinstance(column, str) or INTERSECTION_SEP in column:
            raise ValueError(
                f"sensitive feature names must be strings without {INTERSECTION_SEP!r}, "
                f"got {column!r}"
            )
        groups[column] = group_labels(sensitive_features[column].reset_index(drop=True))
    for given in intersections:
        combo = _intersection(given)
        unknown = [name for name in combo if name not in sensitive_features.columns]
        if unknown:
            raise ValueError(
                f"intersection {combo!r} names {unknown}, which are not columns of "
                f"sensitive_features ({list(sensitive_features.columns)})"
            )
        parts = [groups[name].astype(str) for name in combo]
        joined = parts[0]
        for part in parts[1:]:
            joined = np.char.add(np.char.add(joined, INTERSECTION_SEP), part)
        groups[INTERSECTION_SEP.join(combo)] = joined.astype(object)
    return groups


def _intersection(combo: object) -> tuple[str, ...]:
    if (
        isinstance(combo, str)
        or not isinstance(combo, Sequence)
        or len(combo) < 2
        or not all(isinstance(name, str) for name in combo)
    ):
        raise ValueError(
            f"an intersection is a tuple of two or more attribute names, got {combo!r}"
        )
    return tuple(combo)


def check_inputs(
    y_true: npt.ArrayLike,
    scores: npt.ArrayLike,
    sensitive_features: pd.DataFrame,
    intersections: Sequence[tuple[str, ...]] = (),
    probability: npt.ArrayLike | None = None,
) -> AuditInputs:
    """Validate and align the audit's inputs (every error names what to change)."""
    n = _length("y_true", y_true)
    y = check_labels(y_true)
    s = check_scores("scores", scores, n)
    groups = sensitive_groups(sensitive_features, intersections, n)
    p = None
    if probability is not None:
        p = check_scores("probability", probability, n)
        if ((p < 0) | (p > 1)).any():
            raise ValueError(
                "probability must be in [0, 1]: pass calibrated probabilities, or leave it out "
                "to skip the calibration error"
            )
    return AuditInputs(y, s, groups, p)


def check_operating_point_rows(operating_point: OperatingPoint, n: int) -> None:
    """ServiceLists carries per-row arrays: they must line up with ``y_true``."""
    if isinstance(operating_point, ServiceLists):
        _check_length("ServiceLists.person_id", operating_point.person_id, n)
        _check_length("ServiceLists.as_of", operating_point.as_of, n)
        if pd.isna(pd.Series(np.asarray(operating_point.person_id, dtype=object))).any():
            raise ValueError("ServiceLists.person_id has missing values: every row needs a person")


def suppression_reason(
    n: int, positives: int, flagged: int, *, min_count: int, min_positives: int, min_flagged: int
) -> str | None:
    """Why a group's rates are withheld ("count 12 < 50; flagged 3 < 5"), or None."""
    reasons = [
        f"{name} {value} < {minimum}"
        for name, value, minimum in (
            ("count", n, min_count),
            ("positives", positives, min_positives),
            ("flagged", flagged, min_flagged),
        )
        if value < minimum
    ]
    return "; ".join(reasons) if reasons else None


def default_reference(counts: pd.Series) -> str:
    """The largest group without an ``unknown`` part (ties: the first label in sorted order)."""
    known = counts[[UNKNOWN not in str(label).split(INTERSECTION_SEP) for label in counts.index]]
    pool = known if len(known) else counts
    return str(pool.sort_index().idxmax())


def choose_references(
    counts: Mapping[str, pd.Series], reference_groups: Mapping[str, str] | None
) -> dict[str, str]:
    """Reference group per attribute: the requested one (checked to exist) or the default."""
    requested = dict(reference_groups or {})
    unknown = sorted(set(requested) - set(counts))
    if unknown:
        raise ValueError(
            f"reference_groups names {unknown}, which are not audited attributes "
            f"({list(counts)}); intersections are named like 'ethnicity*sex'"
        )
    chosen: dict[str, str] = {}
    for attribute, group_counts in counts.items():
        if attribute in requested:
            group = requested[attribute]
            if group not in group_counts.index:
                raise ValueError(
                    f"reference group {group!r} of {attribute!r} is not among its groups "
                    f"{sorted(group_counts.index)}"
                )
            chosen[attribute] = group
        else:
            chosen[attribute] = default_reference(group_counts)
    return chosen


# ---------------------------------------------------------------------------- metric callables
# MetricFrame calls each with (y_true, y_pred) positionally, plus any sample parameters.


def _positives(y_true: np.ndarray, _y_pred: np.ndarray) -> int:
    return int(np.sum(y_true))


def _flagged(_y_true: np.ndarray, y_pred: np.ndarray) -> int:
    return int(np.sum(y_pred))


def _base_rate(y_true: np.ndarray, _y_pred: np.ndarray) -> float:
    return float(np.mean(y_true)) if len(y_true) else math.nan


def _ppv(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    flagged = int(np.sum(y_pred))
    return float(np.sum(y_true * y_pred)) / flagged if flagged else math.nan


def _false_omission_rate(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    unflagged = int(np.sum(1 - y_pred))
    return float(np.sum(y_true * (1 - y_pred))) / unflagged if unflagged else math.nan


def _auc(y_true: np.ndarray, _y_pred: np.ndarray, *, score: np.ndarray) -> float:
    if len(np.unique(y_true)) < 2:
        return math.nan
    return float(roc_auc_score(y_true, score))


def expected_calibration_error(y: np.ndarray, p: np.ndarray, bins: int = 10) -> float:
    """Mean |observed rate − mean probability| over equal-width bins, weighted by count."""
    if len(y) == 0:
        return math.nan
    which = np.clip(np.digitize(p, np.linspace(0.0, 1.0, bins + 1)[1:-1]), 0, bins - 1)
    n = np.bincount(which, minlength=bins)
    gap = np.abs(
        np.bincount(which, weights=y.astype(float), minlength=bins)
        - np.bincount(which, weights=p, minlength=bins)
    )
    return float(gap.sum() / n.sum())  # sum over bins of n_b * |mean_y - mean_p| / N


def _calibration_metric(bins: int) -> Callable[..., float]:
    def calibration_error(y_true: np.ndarray, _y_pred: np.ndarray, *, probability: Any) -> float:
        return expected_calibration_error(y_true, probability, bins)

    return calibration_error


# ------------------------------------------------------------------------------------- result


@dataclass(frozen=True, eq=False)
class AuditResult:
    """Disaggregated metrics at an operating point (see the module docstring for columns).

    Attributes
    ----------
    by_group : pandas.DataFrame
        One row per (attribute, group): counts, suppression, rates, composition shares,
        ``is_reference`` and ``<metric>_difference`` / ``<metric>_ratio`` against the reference.
    overall : pandas.Series
        Counts and rates over the whole audit population.
    reference : dict
        Attribute → reference group.
    operating_point, selection
        The operating point and what it did (rows considered, flags).
    population : str
        ``"rows"`` or ``"person-months"`` (ServiceLists): what one counted unit is.
    """

    by_group: pd.DataFrame
    overall: pd.Series
    reference: dict[str, str]
    operating_point: OperatingPoint
    selection: Selection
    population: str
    thresholds: dict[str, int]

    @property
    def notes(self) -> list[GroupNote]:
        """One note per group whose rates are withheld or partly undefined (why, and what it
        means for the reader); see :mod:`vru_risk.fairness_reports.notes`."""
        return rate_notes(self.by_group)

    def _metric_column(self, metric: str) -> str:
        if metric not in COMPARED_METRICS:
            raise ValueError(f"unknown metric {metric!r}: choose one of {list(COMPARED_METRICS)}")
        return metric

    def difference(self, metric: str, *, method: ComparisonMethod = "to_reference") -> pd.Series:
        """Largest difference in ``metric`` per attribute, over groups that are not suppressed.

        ``"to_reference"``: the largest ``|group − reference|``; ``"between_groups"``: the
        largest minus the smallest group. NaN when fewer than two values are available.
        The signed per-group values are the ``<metric>_difference`` columns of ``by_group``.
        """
        column = self._metric_column(metric)
        out: dict[str, float] = {}
        for attribute, frame in self.by_group.groupby("attribute", sort=False):
            if method == "to_reference":
                others = frame.loc[~frame["is_reference"], f"{column}_difference"].dropna()
                out[str(attribute)] = float(others.abs().max()) if len(others) else math.nan
            elif method == "between_groups":
                values = frame[column].dropna()
                out[str(attribute)] = (
                    float(values.max() - values.min()) if len(values) >= 2 else math.nan
                )
            else:
                raise ValueError(f"method must be 'to_reference' or 'between_groups': {method!r}")
        return pd.Series(out, name=f"{column}_difference", dtype=float)

    def ratio(self, metric: str, *, method: ComparisonMethod = "to_reference") -> pd.Series:
        """Smallest ratio in ``metric`` per attribute, folded into [0, 1] as Fairlearn does.

        ``"to_reference"``: the smallest ``min(group / reference, reference / group)``;
        ``"between_groups"``: smallest group / largest group. NaN when undefined. The signed
        per-group values are the ``<metric>_ratio`` columns of ``by_group``.
        """
        column = self._metric_column(metric)
        out: dict[str, float] = {}
        for attribute, frame in self.by_group.groupby("attribute", sort=False):
            if method == "to_reference":
                ratios = frame.loc[~frame["is_reference"], f"{column}_ratio"].dropna()
                values = ratios.to_numpy(float)
                folded = np.minimum(values, _safe_ratio(np.ones(len(values)), values))
                folded[values == 0] = 0.0  # a zero rate against a positive one: fully unequal
                out[str(attribute)] = float(folded.min()) if len(folded) else math.nan
            elif method == "between_groups":
                rates = frame[column].dropna()
                top = float(rates.max()) if len(rates) >= 2 else math.nan
                out[str(attribute)] = float(rates.min()) / top if top > 0 else math.nan
            else:
                raise ValueError(f"method must be 'to_reference' or 'between_groups': {method!r}")
        return pd.Series(out, name=f"{column}_ratio", dtype=float)

    def to_records(self) -> list[dict[str, Any]]:
        """``by_group`` as plain dicts for a JSON report (NaN and suppressed rates → None)."""
        return [_plain(row) for row in self.by_group.to_dict(orient="records")]

    def to_dict(self) -> dict[str, Any]:
        """The whole result as JSON-ready plain data."""
        return {
            "operating_point": describe_operating_point(self.operating_point),
            "population": self.population,
            "thresholds": dict(self.thresholds),
            "overall": _plain(self.overall.to_dict()),
            "reference": dict(self.reference),
            "groups": self.to_records(),
        }


def _plain(row: Mapping[Any, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in row.items():
        if isinstance(value, bool | np.bool_):
            out[str(key)] = bool(value)
        elif isinstance(value, int | np.integer):
            out[str(key)] = int(value)
        elif isinstance(value, float | np.floating):
            out[str(key)] = float(value) if math.isfinite(value) else None
        elif value is None or (isinstance(value, str) and value == ""):
            out[str(key)] = None
        else:
            out[str(key)] = value if isinstance(value, str) else str(value)
    return out


# -------------------------------------------------------------------------------------- audit


def audit(
    y_true: npt.ArrayLike,
    scores: npt.ArrayLike,
    *,
    sensitive_features: pd.DataFrame,
    operating_point: OperatingPoint,
    intersections: Sequence[tuple[str, ...]] = (),
    reference_groups: Mapping[str, str] | None = None,
    min_count: int = 50,
    min_positives: int = 10,
    min_flagged: int = 5,
    calibration_bins: int = 10,
    probability: npt.ArrayLike | None = None,
) -> AuditResult:
    """Audit a ranking at an operating point, per sensitive attribute and intersection.

    Parameters
    ----------
    y_true : array-like of 0/1
        The outcome of each row (censored rows must be dropped first).
    scores : array-like of float
        The ranking score of each row (higher is riskier unless the operating point says so).
    sensitive_features : pandas.DataFrame
        One column per attribute, aligned by position with ``y_true`` (the index is ignored).
        Missing values become the group ``"unknown"``.
    operating_point : ServiceLists | Threshold | TopK | TopFraction
        Who is flagged (see the module docstring).
    intersections : sequence of tuples of attribute names
        E.g. ``(("ethnicity", "sex"),)`` adds the attribute ``"ethnicity*sex"``.
    reference_groups : mapping, optional
        Attribute → reference group; by default the largest group with no ``"unknown"`` part.
    min_count, min_positives, min_flagged : int
        A group below any of these is suppressed: counts shown, rates NaN.
    calibration_bins : int
        Equal-width probability bins of the calibration error.
    probability : array-like, optional
        Calibrated probabilities for the calibration error. By default the scores, when they
        all lie in [0, 1] and higher is riskier; otherwise the calibration error is NaN.

    Returns
    -------
    AuditResult

    Raises
    ------
    ValueError
        On misaligned lengths, non-binary or missing labels, NaN scores, an unknown operating
        point, unknown attributes or reference groups.

    Examples
    --------
    >>> import pandas as pd
    >>> result = audit(
    ...     [1, 0, 1, 0, 1, 0],
    ...     [0.9, 0.8, 0.4, 0.7, 0.6, 0.1],
    ...     sensitive_features=pd.DataFrame({"sex": ["f", "f", "f", "m", "m", None]}),
    ...     operating_point=Threshold(0.6),
    ...     min_count=0, min_positives=0, min_flagged=0,
    ... )
    >>> result.by_group[["group", "count", "flagged", "tpr", "ppv"]].to_numpy().tolist()
    [['f', 3, 2, 0.5, 0.5], ['m', 2, 2, 1.0, 0.5], ['unknown', 1, 0, nan, nan]]
    >>> result.reference
    {'sex': 'f'}
    >>> float(result.by_group.loc[1, "tpr_difference"])
    0.5
    """
    op = check_operating_point(operating_point)
    for name, value in (
        ("min_count", min_count),
        ("min_positives", min_positives),
        ("min_flagged", min_flagged),
    ):
        _check_count(name, value)
    if isinstance(calibration_bins, bool) or not isinstance(calibration_bins, int):
        raise ValueError(f"calibration_bins must be a positive integer, got {calibration_bins!r}")
    if calibration_bins < 1:
        raise ValueError(f"calibration_bins must be a positive integer, got {calibration_bins!r}")
    inputs = check_inputs(y_true, scores, sensitive_features, intersections, probability)
    n = len(inputs.y_true)
    check_operating_point_rows(op, n)

    selection = select(inputs.scores, op)
    rows = selection.rows
    y = inputs.y_true[rows].astype(np.int64)
    flagged = selection.flagged.astype(np.int64)
    lower_is_riskier = isinstance(op, Threshold) and op.lower_is_riskier
    oriented = -inputs.scores[rows] if lower_is_riskier else inputs.scores[rows]
    prob = _probability(inputs, op)

    metrics: dict[str, Callable[..., Any]] = {
        "count": count,
        "positives": _positives,
        "flagged": _flagged,
        "base_rate": _base_rate,
        "selection_rate": selection_rate,
        "tpr": true_positive_rate,
        "fnr": false_negative_rate,
        "fpr": false_positive_rate,
        "ppv": _ppv,
        "false_omission_rate": _false_omission_rate,
        "auc": _auc,
    }
    sample_params: dict[str, dict[str, Any]] = {"auc": {"score": oriented}}
    if prob is not None:
        metrics["calibration_error"] = _calibration_metric(calibration_bins)
        sample_params["calibration_error"] = {"probability": prob[rows]}

    frames: dict[str, pd.DataFrame] = {}
    overall: pd.Series | None = None
    for attribute, labels in inputs.groups.items():
        frame = MetricFrame(
            metrics=metrics,
            y_true=y,
            y_pred=flagged,
            sensitive_features=pd.Series(labels[rows], name="group"),
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
    assert overall is not None  # at least one attribute, checked above

    reference = choose_references({a: f["count"] for a, f in frames.items()}, reference_groups)
    thresholds = {
        "min_count": min_count,
        "min_positives": min_positives,
        "min_flagged": min_flagged,
    }
    parts = [
        _compare(frame, attribute, reference[attribute], thresholds)
        for attribute, frame in frames.items()
    ]
    by_group = assess_rates(
        pd.concat(parts, ignore_index=True),
        rates=RATE_METRICS,
        thresholds=thresholds,
        calibration_audited=prob is not None,
    )
    return AuditResult(
        by_group=by_group,
        overall=overall,
        reference=reference,
        operating_point=op,
        selection=selection,
        population="person-months" if isinstance(op, ServiceLists) else "rows",
        thresholds=thresholds,
    )


def _probability(inputs: AuditInputs, op: OperatingPoint) -> np.ndarray | None:
    if inputs.probability is not None:
        return inputs.probability
    higher_is_riskier = not (isinstance(op, Threshold) and op.lower_is_riskier)
    s = inputs.scores
    if higher_is_riskier and len(s) and s.min() >= 0.0 and s.max() <= 1.0:
        return s
    return None


def _tidy(raw: pd.DataFrame) -> pd.DataFrame:
    """Integer counts, NaN for rates whose denominator is empty, a calibration column."""
    frame = raw.copy()
    for column in COUNT_COLUMNS:
        frame[column] = frame[column].astype(np.int64)
    if "calibration_error" not in frame:
        frame["calibration_error"] = math.nan
    for column in RATE_METRICS:
        frame[column] = frame[column].astype(float)
    # Fairlearn's confusion-matrix rates are 0 where the denominator is empty: make them NaN
    no_positives = frame["positives"] == 0
    no_negatives = frame["count"] - frame["positives"] == 0
    frame.loc[no_positives, ["tpr", "fnr"]] = math.nan
    frame.loc[no_negatives, "fpr"] = math.nan
    frame.loc[frame["count"] == 0, ["selection_rate", "base_rate"]] = math.nan
    return frame


def _compare(
    frame: pd.DataFrame, attribute: str, reference: str, thresholds: Mapping[str, int]
) -> pd.DataFrame:
    """Suppression, composition shares and differences/ratios against the reference group."""
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
        for n, positives, flagged in out[list(COUNT_COLUMNS)].to_numpy(np.int64)
    ]
    suppressed = np.array([reason is not None for reason in reasons], dtype=bool)
    out.insert(5, "suppressed", suppressed)
    out.insert(6, "suppression_reason", pd.Series(reasons, dtype=object))
    out.loc[suppressed, list(RATE_METRICS)] = math.nan

    total_flagged, total_positives = int(out["flagged"].sum()), int(out["positives"].sum())
    out["flagged_share"] = out["flagged"] / total_flagged if total_flagged else math.nan
    out["outcome_share"] = out["positives"] / total_positives if total_positives else math.nan
    out["composition_ratio"] = _safe_ratio(
        out["flagged_share"].to_numpy(float), out["outcome_share"].to_numpy(float)
    )

    is_reference = (out["group"] == reference).to_numpy()
    out.insert(2, "is_reference", is_reference)
    ref = out.loc[is_reference].iloc[0]
    for metric in COMPARED_METRICS:
        values = out[metric].to_numpy(float)
        ref_value = float(ref[metric])
        out[f"{metric}_difference"] = values - ref_value
        out[f"{metric}_ratio"] = _safe_ratio(values, np.full(len(values), ref_value))
    return out


def _safe_ratio(numerator: np.ndarray, denominator: np.ndarray) -> np.ndarray:
    """numerator / denominator, NaN where the denominator is 0 or NaN (no warnings)."""
    out = np.full(len(numerator), math.nan)
    ok = np.isfinite(denominator) & (denominator != 0)
    np.divide(numerator, denominator, out=out, where=ok)
    return out
