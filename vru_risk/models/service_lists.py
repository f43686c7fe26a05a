"""The service's monthly lists, and the expected calibration error: one rule each, used by
training's evaluation and by the fairness audit alike.

The monthly list rule
---------------------
The service can take ``capacity`` young people a calendar month (of the as-of date). Each month:

1. every row gets a random tiebreak in [0, 1), drawn in row order from
   ``numpy.random.default_rng(seed)`` (:func:`tiebreaks`);
2. rows are ordered by score, then tiebreak, both descending (:func:`risk_order`);
3. each person counts once a month: their first row in that order (their highest-scored example
   that month, as a practitioner sees one flag per person);
4. the first ``capacity`` of those kept rows in each month are flagged.

The rows kept in step 3 are the month's *population* (one row per person per month); the others
were never a separate decision. :func:`service_list_rows` is the rule on integer-coded arrays
(the kernel; the fairness bootstrap calls it with its own order in every replicate),
:func:`monthly_selection` applies it to scores, person ids and as-of dates, and
:func:`monthly_lists` to a frame (training's precision at capacity,
``vru_risk.training.evaluate.at_capacity``). The fairness audit's ``ServiceLists`` operating
point (``vru_risk.fairness_reports.operating_points``) uses :func:`monthly_selection`.

Calibration error
-----------------
:func:`expected_calibration_error`: the mean absolute gap between the observed rate and the mean
probability over equal-width probability bins, weighted by count: training reports it per model,
the audit per group.

Example
-------
>>> import pandas as pd
>>> frame = pd.DataFrame({
...     "person_id": ["a", "a", "b", "c"],
...     "as_of": pd.to_datetime(["2024-01-03", "2024-01-20", "2024-01-09", "2024-02-01"]),
...     "score": [0.9, 0.95, 0.8, 0.1],
... })
>>> lists = monthly_lists(frame, capacity=1, seed=0)
>>> lists[["person_id", "score", "month", "flagged"]].to_numpy().tolist()
[['a', 0.95, '2024-01', True], ['b', 0.8, '2024-01', False], ['c', 0.1, '2024-02', True]]
>>> monthly_selection(frame["score"], frame["person_id"], frame["as_of"], capacity=1, seed=0)
Selection(rows=[1, 2, 3], flagged=[True, False, True])
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pandas as pd

__all__ = [
    "Selection",
    "expected_calibration_error",
    "month_codes",
    "monthly_lists",
    "monthly_selection",
    "risk_order",
    "service_list_rows",
    "tiebreaks",
]


@dataclass(frozen=True, eq=False)
class Selection:
    """Which rows a list considered and which of them it flagged.

    ``rows`` are positions in the input (ascending), ``flagged`` is aligned with ``rows``.
    """

    rows: np.ndarray
    flagged: np.ndarray

    @property
    def n_flagged(self) -> int:
        return int(self.flagged.sum())

    def __repr__(self) -> str:
        return f"Selection(rows={self.rows.tolist()}, flagged={self.flagged.tolist()})"


def tiebreaks(seed: int, n: int) -> np.ndarray:
    """The random order that breaks ties between rows: one draw in [0, 1) per row."""
    draws: np.ndarray = np.random.default_rng(seed).random(n)
    return draws


def month_codes(as_of: npt.ArrayLike, *, name: str = "as_of") -> np.ndarray:
    """Calendar month of each as-of date as an integer (year * 12 + month - 1).

    ``name`` is how error messages call the dates (every row needs one).
    """
    try:
        dates = pd.DatetimeIndex(pd.to_datetime(np.asarray(as_of)))
    except (ValueError, TypeError) as exc:
        raise ValueError(f"{name} must hold dates (datetime64 or ISO strings): {exc}") from exc
    missing = np.asarray(dates.isna())
    if missing.any():
        raise ValueError(
            f"{name} has {int(missing.sum())} missing dates: every row needs "
            "the as-of date that puts it in a monthly list"
        )
    codes: np.ndarray = np.asarray(dates.year * 12 + dates.month - 1, dtype=np.int64)
    return codes


def risk_order(scores: np.ndarray, tiebreak: np.ndarray) -> np.ndarray:
    """Row positions by score, then ``tiebreak``, both descending (riskiest first)."""
    order = np.argsort(-tiebreak, kind="stable")  # two stable sorts: np.lexsort is slower
    ordered: np.ndarray = order[np.argsort(-scores[order], kind="stable")]
    return ordered


def service_list_rows(
    order: np.ndarray, person: np.ndarray, month: np.ndarray, *, capacity: int
) -> Selection:
    """The monthly lists on integer-coded arrays (the kernel of every form of the rule).

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


def _selection_and_order(
    scores: npt.ArrayLike,
    person_id: npt.ArrayLike,
    as_of: npt.ArrayLike,
    *,
    capacity: int,
    seed: int,
    as_of_name: str,
) -> tuple[Selection, np.ndarray]:
    values = np.asarray(scores, dtype=float)
    person, _ = pd.factorize(np.asarray(person_id, dtype=object), use_na_sentinel=False)
    order = risk_order(values, tiebreaks(seed, len(values)))
    month = month_codes(as_of, name=as_of_name)
    return service_list_rows(order, person, month, capacity=capacity), order


def monthly_selection(
    scores: npt.ArrayLike,
    person_id: npt.ArrayLike,
    as_of: npt.ArrayLike,
    *,
    capacity: int,
    seed: int,
    as_of_name: str = "as_of",
) -> Selection:
    """The monthly lists of scored rows: the rows kept (one per person per month), flags.

    ``scores``, ``person_id`` and ``as_of`` are aligned row by row; ``as_of_name`` is how error
    messages call the dates.
    """
    selection, _ = _selection_and_order(
        scores, person_id, as_of, capacity=capacity, seed=seed, as_of_name=as_of_name
    )
    return selection


def monthly_lists(frame: pd.DataFrame, *, capacity: int, seed: int) -> pd.DataFrame:
    """Mark the flagged rows: one row per person per month, the top ``capacity`` per month.

    ``frame`` needs person_id, as_of and score; the result keeps its columns (and index) for
    the rows kept, riskiest first, with a ``month`` column ("2024-01") and a boolean
    ``flagged``.
    """
    if frame.empty:
        return frame.assign(month=pd.Series(dtype=str), flagged=pd.Series(dtype=bool))
    dates = pd.to_datetime(frame["as_of"])
    selection, order = _selection_and_order(
        frame["score"].to_numpy(),
        frame["person_id"].to_numpy(dtype=object),
        dates.to_numpy(),
        capacity=capacity,
        seed=seed,
        as_of_name="as_of",
    )
    in_population = np.zeros(len(frame), dtype=bool)
    in_population[selection.rows] = True
    flagged = np.zeros(len(frame), dtype=bool)
    flagged[selection.rows] = selection.flagged
    kept = order[in_population[order]]  # the population, riskiest first
    data = frame.assign(month=dates.dt.strftime("%Y-%m"))
    lists: pd.DataFrame = data.iloc[kept].assign(flagged=flagged[kept])
    return lists


def expected_calibration_error(y: np.ndarray, p: np.ndarray, bins: int = 10) -> float:
    """Mean |observed rate − mean probability| over equal-width bins, weighted by count.

    NaN when there are no rows.

    Examples
    --------
    >>> y = np.array([0, 0, 1, 1, 1, 0, 1, 0])
    >>> p = np.array([0.1, 0.1, 0.1, 0.1, 0.9, 0.9, 0.9, 0.9])
    >>> round(expected_calibration_error(y, p), 6)  # |0.5 - 0.1| and |0.5 - 0.9|
    0.4
    """
    if len(y) == 0:
        return float("nan")
    which = np.clip(np.digitize(p, np.linspace(0.0, 1.0, bins + 1)[1:-1]), 0, bins - 1)
    n = np.bincount(which, minlength=bins)
    gap = np.abs(
        np.bincount(which, weights=y.astype(float), minlength=bins)
        - np.bincount(which, weights=p, minlength=bins)
    )
    return float(gap.sum() / n.sum())  # sum over bins of n_b * |mean_y - mean_p| / N
