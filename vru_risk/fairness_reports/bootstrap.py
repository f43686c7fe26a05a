"""Bootstrap confidence intervals for the audit's group rates, resampling people.

A replicate draws as many people as the sample holds, with replacement, and takes *all* of each
drawn person's rows (rows of one person are not independent). A person drawn twice appears twice,
as two distinct people. The operating point
(:mod:`~vru_risk.fairness_reports.operating_points`) is then applied again inside the replicate:
a ``TopK`` list is re-cut, a ``TopFraction`` re-cut at the replicate's size, and
``ServiceLists`` rebuilt (one row per person per month, the top ``capacity`` per month, ties
broken by the replicate's own random order). A ``Threshold`` does not depend on the sample, and
a ``ServiceAllocation`` is not replayed again: each drawn moment keeps the offer the replay over
the whole audit window gave it (re-running the day-by-day allocation per replicate would cost a
replay each, and a replicate's duplicated people would compete for places as strangers), so
its intervals reflect which young people happened to be in the window, not the competition
for places among them.

Replicates are computed from per-group confusion counts with numpy
(:mod:`~vru_risk.fairness_reports.confusion`; ``MetricFrame`` costs about 0.3 s a replicate, and
``benchmarks/bootstrap.py`` times a replicate against one through ``MetricFrame``). Intervals are
percentile intervals over the replicates in which a metric is defined (``undefined_share`` says
how many were not: e.g. a replicate without a positive in a small group has no TPR for it).
Groups suppressed in the full sample (the audit's thresholds) get NaN estimates and intervals.
The groups are the audit's: those of the rows the operating point considered (a group can lose
every row to the one-row-per-person-and-month rule of ``ServiceLists``; it is then absent, as in
the audit).

Example
-------
>>> import numpy as np, pandas as pd
>>> rng = np.random.default_rng(0)
>>> y = rng.integers(0, 2, 400)
>>> table = bootstrap_intervals(
...     y, y + rng.normal(0, 1, 400),
...     sensitive_features=pd.DataFrame({"sex": rng.choice(["f", "m"], 400)}),
...     operating_point=Threshold(0.5), person_id=np.arange(400), n_resamples=200,
... )
>>> row = table.query("group == 'm' and metric == 'tpr_difference'").iloc[0]
>>> bool(row.low < row.estimate < row.high)
True
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import replace

import numpy as np
import numpy.typing as npt
import pandas as pd

from vru_risk.fairness_reports.confusion import CONFUSION_RATES, FN, FP, TP, rates_from_cells
from vru_risk.fairness_reports.groups import choose_references
from vru_risk.fairness_reports.inputs import check_inputs
from vru_risk.fairness_reports.metrics import (
    MIN_PEOPLE,
    MIN_PEOPLE_FLAGGED,
    MIN_PEOPLE_WITH_OUTCOME,
    safe_divide,
    suppression_reason,
)
from vru_risk.fairness_reports.operating_points import (
    OperatingPoint,
    ServiceAllocation,
    ServiceLists,
    Threshold,
    TopFraction,
    TopK,
    calibration_probability,
    check_operating_point,
    check_operating_point_rows,
    fraction_to_k,
    select,
    top_k_flags,
)
from vru_risk.fairness_reports.resample import (
    Design,
    calibration_errors,
    confusion_cells,
    distinct_people_of,
    make_design,
)
from vru_risk.fairness_reports.unassessable import Cell, base_metric, interval_reason
from vru_risk.models.service_lists import service_list_rows

__all__ = ["BOOTSTRAP_METRICS", "CALIBRATION", "bootstrap_intervals"]

BOOTSTRAP_METRICS: tuple[str, ...] = CONFUSION_RATES
"""Rates with intervals; each also as ``<metric>_difference`` and ``<metric>_ratio``."""
CALIBRATION = "calibration_error"
"""A group's calibration error: an interval of its own (no difference or ratio), when the
scores are probabilities."""


def _replicate(
    design: Design,
    op: OperatingPoint,
    fixed_flags: np.ndarray | None,
    rng: np.random.Generator,
) -> np.ndarray:
    """One replicate's confusion cells (and, with probabilities, each group's calibration error
    as a fifth column): draw people, take their rows, re-apply ``op``."""
    cells, population = _replicate_cells(design, op, fixed_flags, rng)
    if design.bin is None:
        return cells
    return np.column_stack([cells, calibration_errors(design, population)])


def _replicate_cells(
    design: Design,
    op: OperatingPoint,
    fixed_flags: np.ndarray | None,
    rng: np.random.Generator,
) -> tuple[np.ndarray, np.ndarray]:
    """One replicate's confusion cells and the rows of its audited population."""
    people = len(design.sizes)
    draws = rng.integers(0, people, size=people)
    sizes = design.sizes[draws]
    ends = np.cumsum(sizes)
    total = int(ends[-1])
    offsets = np.repeat(design.starts[draws] - (ends - sizes), sizes) + np.arange(total)
    rows = design.by_person[offsets]
    if isinstance(op, Threshold | ServiceAllocation):
        assert fixed_flags is not None
        return confusion_cells(design, rows, fixed_flags[rows]), rows
    if isinstance(op, TopK):
        return confusion_cells(design, rows, top_k_flags(design.scores[rows], op.k)), rows
    if isinstance(op, TopFraction):
        k = fraction_to_k(op.fraction, total)
        return confusion_cells(design, rows, top_k_flags(design.scores[rows], k)), rows
    assert design.month is not None
    # riskiest first: score rank, then a fresh random tiebreak in [0, 1) (one sort)
    order = np.argsort(-(design.score_rank[rows] + rng.random(total)))
    lists = service_list_rows(
        order,
        np.repeat(np.arange(people), sizes),  # each draw is a distinct person
        design.month[rows],
        capacity=op.capacity,
    )
    return confusion_cells(design, rows[lists.rows], lists.flagged), rows[lists.rows]


def _percentiles(values: np.ndarray, quantiles: Sequence[float]) -> list[np.ndarray]:
    """Linear-interpolated quantiles over axis 0, ignoring NaN (all-NaN → NaN, no warning)."""
    ordered = np.sort(values, axis=0)  # NaN sort last
    valid = (~np.isnan(values)).sum(axis=0)
    out = []
    for q in quantiles:
        position = q * np.maximum(valid - 1, 0)
        below = np.floor(position).astype(np.int64)
        above = np.ceil(position).astype(np.int64)
        low = np.take_along_axis(ordered, below[None, :], axis=0)[0]
        high = np.take_along_axis(ordered, above[None, :], axis=0)[0]
        value = low + (high - low) * (position - below)
        out.append(np.where(valid > 0, value, math.nan))
    return out


def bootstrap_intervals(
    y_true: npt.ArrayLike,
    scores: npt.ArrayLike,
    *,
    sensitive_features: pd.DataFrame,
    operating_point: OperatingPoint,
    person_id: npt.ArrayLike | None = None,
    n_resamples: int = 1000,
    confidence: float = 0.95,
    seed: int = 0,
    reference_groups: Mapping[str, str] | None = None,
    intersections: Sequence[tuple[str, ...]] = (),
    min_count: int = MIN_PEOPLE,
    min_positives: int = MIN_PEOPLE_WITH_OUTCOME,
    min_flagged: int = MIN_PEOPLE_FLAGGED,
    probability: npt.ArrayLike | None = None,
    calibration_bins: int = 10,
) -> pd.DataFrame:
    """Percentile intervals of group rates and their gaps to the reference, resampling people.

    Parameters
    ----------
    y_true, scores, sensitive_features, operating_point, reference_groups, intersections
        As in :func:`~vru_risk.fairness_reports.audit.audit` (same groups, same reference).
    person_id : array-like, optional
        The person of each row: the resampling unit. Defaults to the operating point's own
        ``person_id`` for :class:`ServiceLists` (and must equal it if given); required otherwise.
    n_resamples : int
        Bootstrap replicates.
    confidence : float
        Two-sided level of the percentile interval, in (0, 1).
    seed : int
        Seeds the draws (and the tie-breaking inside rebuilt service lists).
    min_count, min_positives, min_flagged : int
        The audit's suppression thresholds, applied to the full sample's distinct people.
    probability : array-like, optional
        Calibrated probabilities (as in the audit: by default the scores, when they are
        probabilities): each group's calibration error (:data:`CALIBRATION`, over
        ``calibration_bins`` equal-width bins) then gets an interval like the rates, resampling
        people; scores that are not probabilities get no calibration rows.

    Returns
    -------
    pandas.DataFrame
        One row per (attribute, group, metric) with columns ``attribute``, ``group``,
        ``is_reference``, ``metric`` (one of :data:`BOOTSTRAP_METRICS`, or that name with
        ``_difference`` (group − reference) or ``_ratio`` (group / reference); the reference
        group has no difference/ratio rows), ``estimate`` (full sample), ``low``, ``high``,
        ``undefined_share``, ``suppressed``, ``count``, ``positives``, ``flagged`` and
        ``reason``: why the interval is missing, in plain words (None when it is not);
        :func:`~vru_risk.fairness_reports.unassessable.interval_notes` gives one note per such
        group.
    """
    op = check_operating_point(operating_point)
    if isinstance(n_resamples, bool) or not isinstance(n_resamples, int) or n_resamples < 1:
        raise ValueError(f"n_resamples must be a positive integer, got {n_resamples!r}")
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must be in (0, 1), e.g. 0.95; got {confidence!r}")
    inputs = check_inputs(y_true, scores, sensitive_features, intersections, probability)
    n = len(inputs.y_true)
    check_operating_point_rows(op, n)
    person = _resolve_person(person_id, op, n)
    if n == 0:
        raise ValueError("y_true is empty: there is nothing to resample")

    design = make_design(inputs.y_true, inputs.scores, inputs.groups, person, op)
    prob = calibration_probability(inputs.scores, inputs.probability, op)
    if prob is not None:
        edges = np.linspace(0.0, 1.0, calibration_bins + 1)[1:-1]
        which = np.clip(np.digitize(prob, edges), 0, calibration_bins - 1).astype(np.int64)
        design = replace(design, probability=prob, bin=which, bins=calibration_bins)
    full = select(inputs.scores, op)
    point_cells = confusion_cells(design, full.rows, full.flagged)

    counts = point_cells.sum(axis=1)
    positives = point_cells[:, FN] + point_cells[:, TP]
    flagged = point_cells[:, FP] + point_cells[:, TP]
    people = distinct_people_of(design, person, full.rows, full.flagged)
    suppressed = np.array(
        [
            suppression_reason(
                int(c),
                int(p),
                int(f),
                min_count=min_count,
                min_positives=min_positives,
                min_flagged=min_flagged,
            )
            is not None
            for c, p, f in people
        ],
        dtype=bool,
    )
    attributes = list(inputs.groups)
    group_counts = {
        attribute: pd.Series(
            {
                g: int(c)
                for (a, g), c in zip(design.labels, counts, strict=True)
                if a == attribute and c > 0  # as in the audit: groups of its population only
            }
        )
        for attribute in attributes
    }
    reference = choose_references(group_counts, reference_groups)
    reference_gid = np.array(
        [design.labels.index((a, reference[a])) for a in attributes], dtype=np.int64
    )[design.attribute_of]

    fixed_flags = None
    if isinstance(op, Threshold | ServiceAllocation):
        fixed_flags = np.zeros(n, dtype=bool)
        fixed_flags[full.rows] = full.flagged
    rng = np.random.default_rng(seed)
    replicate_cells = np.stack(
        [_replicate(design, op, fixed_flags, rng) for _ in range(n_resamples)]
    )

    point = _with_comparisons(rates_from_cells(point_cells), reference_gid, suppressed)
    replicates = _with_comparisons(
        rates_from_cells(replicate_cells[..., :4]), reference_gid, suppressed
    )
    if design.bin is not None:  # calibration within each group: an interval like the others
        point[CALIBRATION] = np.where(suppressed, math.nan, calibration_errors(design, full.rows))
        replicates[CALIBRATION] = np.where(suppressed, math.nan, replicate_cells[..., 4])
    alpha = 1.0 - confidence
    is_reference = np.arange(design.n_groups) == reference_gid
    cells = [
        Cell(group, int(c), int(p), int(f), bool(s))
        for (_, group), (c, p, f), s in zip(design.labels, people, suppressed, strict=True)
    ]
    thresholds = {
        "min_count": min_count,
        "min_positives": min_positives,
        "min_flagged": min_flagged,
    }
    rows = []
    for metric, estimate in point.items():
        values = replicates[metric]
        low, high = _percentiles(values, (alpha / 2, 1 - alpha / 2))
        undefined = np.isnan(values).mean(axis=0)
        comparison = metric.endswith(("_difference", "_ratio"))
        for g, (attribute, group) in enumerate(design.labels):
            if (comparison and is_reference[g]) or counts[g] == 0:
                continue
            reason = None
            if np.isnan(low[g]) or np.isnan(high[g]):
                ref, base = int(reference_gid[g]), base_metric(metric)
                rates = (float(point[base][g]), float(point[base][ref]))
                reason = interval_reason(metric, cells[g], cells[ref], rates, thresholds)
            rows.append(
                {
                    "attribute": attribute,
                    "group": group,
                    "is_reference": bool(is_reference[g]),
                    "metric": metric,
                    "estimate": float(estimate[g]),
                    "low": float(low[g]),
                    "high": float(high[g]),
                    "undefined_share": float(undefined[g]),
                    "suppressed": bool(suppressed[g]),
                    "count": int(counts[g]),
                    "positives": int(positives[g]),
                    "flagged": int(flagged[g]),
                    "reason": reason,
                }
            )
    table = pd.DataFrame(rows)
    order = {name: i for i, name in enumerate(point)}
    group_order = {label: i for i, label in enumerate(design.labels)}
    key = [
        (group_order[(a, g)], order[m])
        for a, g, m in zip(table["attribute"], table["group"], table["metric"], strict=True)
    ]
    return table.iloc[sorted(range(len(table)), key=key.__getitem__)].reset_index(drop=True)


def _with_comparisons(
    rates: dict[str, np.ndarray], reference_gid: np.ndarray, suppressed: np.ndarray
) -> dict[str, np.ndarray]:
    """Add ``<metric>_difference`` / ``_ratio`` against each group's reference; NaN-suppress."""
    out: dict[str, np.ndarray] = {}
    for metric in BOOTSTRAP_METRICS:
        values = np.where(suppressed, math.nan, rates[metric])
        ref = values[..., reference_gid]
        out[metric] = values
        out[f"{metric}_difference"] = values - ref
        out[f"{metric}_ratio"] = safe_divide(values, ref)
    return out


def _resolve_person(person_id: npt.ArrayLike | None, op: OperatingPoint, n: int) -> np.ndarray:
    if person_id is None:
        if not isinstance(op, ServiceLists):
            raise ValueError(
                "person_id is required: the bootstrap resamples people (all of a person's rows "
                "together); pass one id per row"
            )
        person_id = op.person_id
    ids = np.asarray(person_id, dtype=object).ravel()
    if len(ids) != n:
        raise ValueError(
            f"person_id has {len(ids)} rows but y_true has {n}: pass one id per row, aligned "
            "with y_true"
        )
    if pd.isna(pd.Series(ids)).any():
        raise ValueError("person_id has missing values: every row needs a person")
    if isinstance(op, ServiceLists):
        own = np.asarray(op.person_id, dtype=object).ravel()
        if not np.array_equal(ids.astype(str), own.astype(str)):
            raise ValueError(
                "person_id differs from ServiceLists.person_id: the lists and the resampling "
                "must use the same people (leave person_id out to use the lists' own)"
            )
    codes, _ = pd.factorize(ids)
    return codes.astype(np.int64)
