"""Fairness audit of a ranking at an operating point, disaggregated with Fairlearn's MetricFrame.

The audit answers, per sensitive attribute (sex, ethnicity, sen, fsm, looked_after, imd_band,
age_band …) and per requested intersection ("ethnicity*sex"): who is flagged at the operating
point the service actually uses, how often flags land on those who go on to have the outcome,
and how the groups compare with a reference group.

:func:`audit` validates its inputs (:mod:`~vru_risk.fairness_reports.inputs`), applies the operating
point (:mod:`~vru_risk.fairness_reports.operating_points`: the places the service would have
offered, the hindsight monthly lists, a threshold, the top k or the top fraction), labels the groups
and picks each attribute's reference group (:mod:`~vru_risk.fairness_reports.groups`), and computes
counts, rates, suppression, composition and the comparisons with the reference group
(:mod:`~vru_risk.fairness_reports.metrics`, which documents every column of
:attr:`AuditResult.by_group`).

Groups that cannot be assessed
------------------------------
``cannot_assess`` names, in words, the values of a group that cannot be assessed (``"its rates"``
for a suppressed group; ``"recall, miss rate, AUC and …"`` for a group without anyone with the
outcome) and ``cannot_assess_reason`` says why ("too few to judge: only 3 young people, none with
the outcome …"); both are None for a group assessed in full. :attr:`AuditResult.notes` gives one
:class:`~vru_risk.fairness_reports.notes.GroupNote` per such group.

Summaries
---------
:meth:`AuditResult.difference` and :meth:`AuditResult.ratio` summarise the comparisons per
attribute in Fairlearn's way (the largest absolute difference, the smallest ratio folded into
[0, 1]).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
import pandas as pd

from vru_risk.fairness_reports.groups import choose_references
from vru_risk.fairness_reports.inputs import AuditInputs, check_count, check_inputs
from vru_risk.fairness_reports.metrics import (
    COMPARED_METRICS,
    MIN_PEOPLE,
    MIN_PEOPLE_FLAGGED,
    MIN_PEOPLE_WITH_OUTCOME,
    RATE_METRICS,
    compare,
    distinct_people,
    group_metrics,
    safe_divide,
)
from vru_risk.fairness_reports.notes import GroupNote
from vru_risk.fairness_reports.operating_points import (
    OperatingPoint,
    ServiceAllocation,
    ServiceLists,
    Threshold,
    calibration_probability,
    check_operating_point,
    check_operating_point_rows,
    describe_operating_point,
    select,
)
from vru_risk.fairness_reports.unassessable import assess_rates, rate_notes
from vru_risk.models.service_lists import Selection

ComparisonMethod = Literal["to_reference", "between_groups"]


@dataclass(frozen=True, eq=False)
class AuditResult:
    """Disaggregated metrics at an operating point (columns: see :mod:`.metrics`).

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
        ``"rows"``, ``"person-months"`` (ServiceLists) or ``"moments"`` (ServiceAllocation):
        what one counted unit is.
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
                folded = np.minimum(values, safe_divide(np.ones(len(values)), values))
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
    min_count: int = MIN_PEOPLE,
    min_positives: int = MIN_PEOPLE_WITH_OUTCOME,
    min_flagged: int = MIN_PEOPLE_FLAGGED,
    calibration_bins: int = 10,
    probability: npt.ArrayLike | None = None,
    person_id: npt.ArrayLike | None = None,
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
    operating_point : ServiceAllocation | ServiceLists | Threshold | TopK | TopFraction
        Who is flagged (see :mod:`vru_risk.fairness_reports.operating_points`).
    intersections : sequence of tuples of attribute names
        E.g. ``(("ethnicity", "sex"),)`` adds the attribute ``"ethnicity*sex"``.
    reference_groups : mapping, optional
        Attribute → reference group; by default the largest group with no ``"unknown"`` part.
    min_count, min_positives, min_flagged : int
        A group with fewer distinct people than ``min_count``, people with the outcome than
        ``min_positives`` or people flagged than ``min_flagged`` is suppressed: counts shown,
        rates NaN (:mod:`.metrics`: suppression by distinct people).
    calibration_bins : int
        Equal-width probability bins of the calibration error.
    probability : array-like, optional
        Calibrated probabilities for the calibration error. By default the scores, when they
        all lie in [0, 1] and higher is riskier; otherwise the calibration error is NaN.
    person_id : array-like, optional
        The person of each row, so that small cells are counted in distinct people. By default
        the operating point's own (``ServiceLists``), else each row is a different person.

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
        check_count(name, value)
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

    frames, overall = group_metrics(
        y,
        flagged,
        {attribute: labels[rows] for attribute, labels in inputs.groups.items()},
        score=oriented,
        probability=None if prob is None else prob[rows],
        calibration_bins=calibration_bins,
    )
    person = _person(person_id, op, n)[rows]
    frames = {
        attribute: frame.join(distinct_people(person, inputs.groups[attribute][rows], y, flagged))
        for attribute, frame in frames.items()
    }

    reference = choose_references({a: f["count"] for a, f in frames.items()}, reference_groups)
    thresholds = {
        "min_count": min_count,
        "min_positives": min_positives,
        "min_flagged": min_flagged,
    }
    parts = [
        compare(frame, attribute, reference[attribute], thresholds)
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
        population=_population(op),
        thresholds=thresholds,
    )


def _person(person_id: npt.ArrayLike | None, op: OperatingPoint, n: int) -> np.ndarray:
    """The person of each row: given, the operating point's own, or one person per row."""
    if person_id is None and isinstance(op, ServiceLists):
        person_id = op.person_id
    if person_id is None:
        return np.arange(n)
    ids = np.asarray(person_id, dtype=object).ravel()
    if len(ids) != n:
        raise ValueError(
            f"person_id has {len(ids)} rows but y_true has {n}: pass one id per row, aligned "
            "with y_true"
        )
    if pd.isna(pd.Series(ids)).any():
        raise ValueError("person_id has missing values: every row needs a person")
    return ids


def _population(op: OperatingPoint) -> str:
    """What one counted unit is: a person-month (the hindsight monthly lists), a teachable
    moment (the service's allocation replayed), or a row."""
    if isinstance(op, ServiceLists):
        return "person-months"
    if isinstance(op, ServiceAllocation):
        return "moments"
    return "rows"


def _probability(inputs: AuditInputs, op: OperatingPoint) -> np.ndarray | None:
    return calibration_probability(inputs.scores, inputs.probability, op)
