"""Operating points: who is flagged, and which rows an audit counts.

* :class:`ServiceAllocation` — the places the service would have offered: the daily job's own
  allocation (:func:`vru_risk.flags.replay.replay_window`: each programme's capacity,
  eligibility, floor and policy, replayed day by day over the audit window; built by
  :func:`service_allocation`). **The audit population is every audit row (one teachable
  moment)**: a group's selection rate is the share of its moments offered a place, its recall
  the share of its moments with the outcome that were offered one.
* :class:`ServiceLists` — the hindsight monthly lists: per calendar month of ``as_of``, one row per
  person (their highest score that month, ties between rows broken by the seeded random order), the
  top ``capacity`` of those rows flagged: the rule of :mod:`vru_risk.models.service_lists`, the same
  one training's precision at capacity uses. **The audit population is the rows the lists
  considered: one row per person per month**, so counts are in young-people-months, and the kept
  row's label and sensitive values stand for that person-month; a person's other rows that month are
  left out (they were never a separate decision). :attr:`Selection.rows` gives the positions of the
  rows kept.
* :class:`Threshold` — every row whose score is at or beyond ``value`` is flagged (a score equal
  to the threshold is flagged).
* :class:`TopK` — the ``k`` highest scores; every row tied with the k-th score is flagged too, so
  more than ``k`` may be flagged (:attr:`Selection.n_flagged` says how many).
* :class:`TopFraction` — ``TopK`` with ``k = ceil(fraction * n)``.

Except :class:`Threshold` with ``lower_is_riskier=True``, higher scores are riskier.

Example
-------
>>> import numpy as np
>>> select(np.array([0.9, 0.5, 0.5, 0.1]), TopK(2))
Selection(rows=[0, 1, 2, 3], flagged=[True, True, True, False])
>>> describe_operating_point(TopFraction(0.25))
{'kind': 'top_fraction', 'fraction': 0.25}
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Literal, assert_never

import numpy as np
import numpy.typing as npt
import pandas as pd

from vru_risk.fairness_reports.inputs import check_count, check_length
from vru_risk.features.context import MomentContext
from vru_risk.flags.programmes import Programmes
from vru_risk.flags.replay import WindowReplay, replay_window
from vru_risk.models.service_lists import Selection, monthly_selection
from vru_risk.models.tags import ALLOCATION_RULE

#: the operating point of :class:`ServiceAllocation`, as the report names it
ALLOCATION_WORDS = (
    "the places the service would have offered (each programme's capacity, eligibility, floor "
    "and policy, replayed day by day)"
)


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
        check_count("ServiceLists.capacity", self.capacity)
        if isinstance(self.seed, bool) or not isinstance(self.seed, int | np.integer):
            raise ValueError(f"ServiceLists.seed must be an integer, got {self.seed!r}")


@dataclass(frozen=True, eq=False)
class ServiceAllocation:
    """The places the service would have offered: ``offered[k]`` says whether audit row k (one
    teachable moment) was offered a place by any programme when the daily job's allocation was
    replayed over the audit window. Build it with :func:`service_allocation`; ``programmes``
    describes each programme's rule (capacity, period, floor, policy) for the report."""

    offered: npt.ArrayLike = field(repr=False)
    programmes: tuple[dict[str, Any], ...] = ()
    seed: int = 0
    valid_days: int = 90
    kind: Literal["service_allocation"] = field(default="service_allocation", init=False)

    def __post_init__(self) -> None:
        offered = np.asarray(self.offered)
        if offered.ndim != 1 or offered.dtype != np.bool_:
            raise ValueError(
                "ServiceAllocation.offered must be one True/False per audit row: build it with "
                "vru_risk.fairness_reports.operating_points.service_allocation"
            )

    def restricted(self, keep: npt.ArrayLike) -> ServiceAllocation:
        """The same offers on a subset of the rows (e.g. those whose outcome is known): the
        places were allocated among every row, labelled or not, as the service would have."""
        return ServiceAllocation(
            offered=np.asarray(self.offered)[np.asarray(keep)],
            programmes=self.programmes,
            seed=self.seed,
            valid_days=self.valid_days,
        )


def service_allocation(
    rows: pd.DataFrame,
    context: MomentContext,
    programmes: Programmes,
    *,
    seed: int = 0,
    valid_days: int = 90,
) -> tuple[ServiceAllocation, WindowReplay]:
    """The operating point of the places the service would have offered to ``rows``
    (person_id, as_of, probability, percentile: one row per moment), with the replay itself
    (its offers and each programme-day's rule): :func:`vru_risk.flags.replay.replay_window`,
    the daily job's allocation, not a copy of it."""
    result = replay_window(rows, context, programmes, seed=seed, valid_days=valid_days)
    described = tuple(
        {
            "programme": p.id,
            "capacity": p.capacity,
            "period": p.period,
            "min_percentile": p.min_percentile,
            "policy": p.policy,
        }
        for p in programmes.programmes
    )
    point = ServiceAllocation(
        offered=result.offered, programmes=described, seed=seed, valid_days=valid_days
    )
    return point, result


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
        check_count("TopK.k", self.k)


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


OperatingPoint = ServiceAllocation | ServiceLists | Threshold | TopK | TopFraction
_OPERATING_POINTS = (ServiceAllocation, ServiceLists, Threshold, TopK, TopFraction)


def check_operating_point(operating_point: object) -> OperatingPoint:
    """Return ``operating_point`` if it is one of the four kinds, else raise a ValueError."""
    if not isinstance(operating_point, _OPERATING_POINTS):
        raise ValueError(
            f"unknown operating point {operating_point!r}: use service_allocation(rows, context, "
            "programmes), ServiceLists(capacity, seed, person_id, as_of), Threshold(value), "
            "TopK(k) or TopFraction(fraction) "
            "from vru_risk.fairness_reports.operating_points"
        )
    return operating_point


def describe_operating_point(operating_point: OperatingPoint) -> dict[str, Any]:
    """A JSON-ready description of an operating point (without the per-row arrays)."""
    match operating_point:
        case ServiceAllocation(programmes=programmes, seed=seed, valid_days=valid_days):
            return {
                "kind": "service_allocation",
                "in_words": ALLOCATION_WORDS,
                "rule": ALLOCATION_RULE,
                "programmes": [dict(p) for p in programmes],
                "seed": seed,
                "offer_valid_days": valid_days,
            }
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
        case ServiceAllocation(offered=offered):
            return Selection(everyone, np.asarray(offered, dtype=bool))
        case ServiceLists(capacity=capacity, seed=seed, person_id=person_id, as_of=as_of):
            return monthly_selection(
                scores,
                person_id,
                as_of,
                capacity=capacity,
                seed=seed,
                as_of_name="ServiceLists.as_of",
            )
        case _:
            assert_never(operating_point)


def check_operating_point_rows(operating_point: OperatingPoint, n: int) -> None:
    """ServiceLists and ServiceAllocation carry per-row arrays: they must line up with
    ``y_true``."""
    if isinstance(operating_point, ServiceAllocation):
        check_length("ServiceAllocation.offered", operating_point.offered, n)
    if isinstance(operating_point, ServiceLists):
        check_length("ServiceLists.person_id", operating_point.person_id, n)
        check_length("ServiceLists.as_of", operating_point.as_of, n)
        if pd.isna(pd.Series(np.asarray(operating_point.person_id, dtype=object))).any():
            raise ValueError("ServiceLists.person_id has missing values: every row needs a person")


def calibration_probability(
    scores: np.ndarray, probability: np.ndarray | None, op: OperatingPoint
) -> np.ndarray | None:
    """The probabilities calibration is judged on: those given, else the scores when they all
    lie in [0, 1] and higher is riskier; None when the scores are not probabilities."""
    if probability is not None:
        return probability
    higher_is_riskier = not (isinstance(op, Threshold) and op.lower_is_riskier)
    if higher_is_riskier and len(scores) and scores.min() >= 0.0 and scores.max() <= 1.0:
        return scores
    return None
