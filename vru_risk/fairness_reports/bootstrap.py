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
from dataclasses import dataclass

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
    check_operating_point,
    check_operating_point_rows,
    fraction_to_k,
    select,
    top_k_flags,
)
from vru_risk.fairness_reports.unassessable import Cell, base_metric, interval_reason
from vru_risk.models.service_lists import month_codes, service_list_rows

__all__ = ["BOOTSTRAP_METRICS", "bootstrap_intervals"]

BOOTSTRAP_METRICS: tuple[str, ...] = CONFUSION_RATES
"""Rates with intervals; each also as ``<metric>_difference`` and ``<metric>_ratio``."""


@dataclass(frozen=True, eq=False)
class _Design:
    """Integer-coded inputs for fast replicates."""

    y: np.ndarray  # (n,) 0/1
    scores: np.ndarray  # (n,)
    gid: np.ndarray  # (n, attributes): global group id of each row under each attribute
    attribute_of: np.ndarray  # (groups,) attribute index of each global group
    labels: list[tuple[str, str]]  # (attribute, group) of each global group
    by_person: np.ndarray  # row positions sorted by person
    starts: np.ndarray  # (people,) first position of each person in by_person
    sizes: np.ndarray  # (people,) rows per person
    month: np.ndarray | None  # (n,) month codes (ServiceLists only)
    score_rank: np.ndarray  # (n,) dense rank of the score (0 = lowest), as float

    @property
    def n_groups(self) -> int:
        return len(self.labels)


def _cells(design: _Design, rows: np.ndarray, flagged: np.ndarray) -> np.ndarray:
    """Confusion cells ``(groups, 4)`` of the given population rows and their flags."""
    cell = 2 * design.y[rows] + flagged.astype(np.int64)
    index = (design.gid[rows] * 4 + cell[:, None]).ravel()
    return np.bincount(index, minlength=4 * design.n_groups).reshape(-1, 4)


def _replicate(
    design: _Design,
    op: OperatingPoint,
    fixed_flags: np.ndarray | None,
    rng: np.random.Generator,
) -> np.ndarray:
    """One replicate's confusion cells: draw people, take their rows, re-apply ``op``."""
    people = len(design.sizes)
    draws = rng.integers(0, people, size=people)
    sizes = design.sizes[draws]
    ends = np.cumsum(sizes)
    total = int(ends[-1])
    offsets = np.repeat(design.starts[draws] - (ends - sizes), sizes) + np.arange(total)
    rows = design.by_person[offsets]
    if isinstance(op, Threshold | ServiceAllocation):
        assert fixed_flags is not None
        return _cells(design, rows, fixed_flags[rows])
    if isinstance(op, TopK):
        return _cells(design, rows, top_k_flags(design.scores[rows], op.k))
    if isinstance(op, TopFraction):
        k = fraction_to_k(op.fraction, total)
        return _cells(design, rows, top_k_flags(design.scores[rows], k))
    assert design.month is not None
    # riskiest first: score rank, then a fresh random tiebreak in [0, 1) (one sort)
    order = np.argsort(-(design.score_rank[rows] + rng.random(total)))
    lists = service_list_rows(
        order,
        np.repeat(np.arange(people), sizes),  # each draw is a distinct person
        design.month[rows],
        capacity=op.capacity,
    )
    return _cells(design, rows[lists.rows], lists.flagged)


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
    inputs = check_inputs(y_true, scores, sensitive_features, intersections)
    n = len(inputs.y_true)
    check_operating_point_rows(op, n)
    person = _resolve_person(person_id, op, n)
    if n == 0:
        raise ValueError("y_true is empty: there is nothing to resample")

    design = _design(inputs.y_true, inputs.scores, inputs.groups, person, op)
    full = select(inputs.scores, op)
    point_cells = _cells(design, full.rows, full.flagged)

    counts = point_cells.sum(axis=1)
    positives = point_cells[:, FN] + point_cells[:, TP]
    flagged = point_cells[:, FP] + point_cells[:, TP]
    people = _distinct_people(design, person, full.rows, full.flagged)
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
    replicates = _with_comparisons(rates_from_cells(replicate_cells), reference_gid, suppressed)
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
        comparison = metric not in BOOTSTRAP_METRICS
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


def _distinct_people(
    design: _Design, person: np.ndarray, rows: np.ndarray, flagged: np.ndarray
) -> list[tuple[int, int, int]]:
    """Distinct people of each global group among ``rows``: in all, with the outcome, flagged
    (the small-cell rule counts people, not rows)."""
    size = int(person.max()) + 1 if len(person) else 1
    out = np.zeros((design.n_groups, 3), dtype=np.int64)
    masks = (
        np.ones(len(rows), dtype=bool),
        design.y[rows] == 1,
        np.asarray(flagged, dtype=bool),
    )
    for column in range(design.gid.shape[1]):
        gid = design.gid[rows, column]
        for k, mask in enumerate(masks):
            pairs = np.unique(gid[mask] * size + person[rows][mask])
            out[:, k] += np.bincount(pairs // size, minlength=design.n_groups)
    return [(int(a), int(b), int(c)) for a, b, c in out]


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


def _design(
    y: np.ndarray,
    scores: np.ndarray,
    groups: Mapping[str, np.ndarray],
    person: np.ndarray,
    op: OperatingPoint,
) -> _Design:
    columns: list[np.ndarray] = []
    labels: list[tuple[str, str]] = []
    attribute_of: list[int] = []
    offset = 0
    for index, (attribute, values) in enumerate(groups.items()):
        codes, levels = pd.factorize(values, sort=True)
        columns.append(codes.astype(np.int64) + offset)
        labels.extend((attribute, str(level)) for level in levels)
        attribute_of.extend([index] * len(levels))
        offset += len(levels)
    by_person = np.argsort(person, kind="stable")
    sizes = np.bincount(person)
    starts = np.cumsum(sizes) - sizes
    return _Design(
        y=y.astype(np.int64),
        scores=scores,
        gid=np.column_stack(columns),
        attribute_of=np.asarray(attribute_of, dtype=np.int64),
        labels=labels,
        by_person=by_person,
        starts=starts,
        sizes=sizes,
        month=month_codes(op.as_of, name="ServiceLists.as_of")
        if isinstance(op, ServiceLists)
        else None,
        score_rank=np.unique(scores, return_inverse=True)[1].astype(float),
    )
