"""Outcomes, honestly: which months have matured, calibration on every scored moment, realised
precision on the moments NOT given support, and an estimate before maturity.

- **Maturity.** A moment's outcome is known once its label window (``horizon_days``, 365 by
  default) and the longest reporting lag of the label sources have passed: a moment on day ``d``
  has matured by ``as_of`` when ``d + horizon + lag <= as_of`` (the rule the labels' censoring
  uses), so a month has matured when its last day has (about 14 months later).
- **Calibration** on all scored matured moments, not only flags: the slope and intercept of a
  logistic regression of the outcome on ``logit(probability)`` (1 and 0 when calibrated), the
  Brier score and the expected calibration error (equal-width bins, as
  :func:`vru_risk.models.service_lists.expected_calibration_error`), each with a bootstrap
  interval that resamples young people (all of a person's moments together), not rows.
- **Realised precision** is judged on *unsupported* moments only: offered but not taken up, and
  above the floor with no place left. Support works (the synthetic county cuts serious violence
  by 40% while it lasts), so the supported moments' precision is lowered by the programme's own
  success: it is reported beside, never used to judge the model.
- **Before maturity**, the precision a month's offers should reach is estimated as the mean
  calibrated probability of the offered moments. It assumes nothing has changed since
  calibration, and support breaks that assumption: it is labelled an estimate everywhere.

Example
-------
>>> from datetime import date
>>> m = maturity(["2023-12", "2024-01"], date(2025, 3, 1), horizon_days=365, lag_days=31)
>>> m.matured, m.pending, m.latest_matured_moment
(('2023-12',), ('2024-01',), datetime.date(2024, 1, 30))
"""

from __future__ import annotations

import calendar
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Final

import numpy as np
import numpy.typing as npt
import pandas as pd

from vru_risk.features.config import FeatureBuildConfig

#: Probabilities are clipped to [CLIP, 1 - CLIP] before the logit.
CLIP: Final = 1e-6
ESTIMATE_NOTE: Final = (
    "estimate: the mean calibrated probability of these moments, assuming nothing changed since "
    "calibration (support given to flagged young people breaks this assumption)"
)


@dataclass(frozen=True)
class Maturity:
    as_of: date
    horizon_days: int
    lag_days: int
    latest_matured_moment: date
    matured: tuple[str, ...]
    pending: tuple[str, ...]


def maturity(months: Iterable[str], as_of: date, *, horizon_days: int, lag_days: int) -> Maturity:
    """Which of ``months`` (``YYYY-MM``) have matured by ``as_of`` (see the module docstring)."""
    latest = as_of - timedelta(days=horizon_days + lag_days)
    matured: list[str] = []
    pending: list[str] = []
    for month in sorted(set(months)):
        try:
            year, mon = (int(part) for part in month.split("-"))
            last = date(year, mon, calendar.monthrange(year, mon)[1])
        except ValueError:
            raise ValueError(f"month {month!r} is not YYYY-MM") from None
        (matured if last <= latest else pending).append(month)
    return Maturity(as_of, horizon_days, lag_days, latest, tuple(matured), tuple(pending))


def maturity_for(months: Iterable[str], as_of: date, config: FeatureBuildConfig) -> Maturity:
    """:func:`maturity` with the label horizon and label sources' lag of a build config."""
    return maturity(
        months, as_of, horizon_days=config.label.horizon_days, lag_days=config.label_lag_days
    )


@dataclass(frozen=True)
class Interval:
    """An estimate with its bootstrap interval (None where undefined)."""

    value: float | None
    low: float | None
    high: float | None


def person_weights(person_id: npt.ArrayLike, replicates: int, seed: int) -> Iterator[np.ndarray]:
    """Row weights of ``replicates`` person-level bootstrap samples: each young person is drawn
    with replacement and brings all their rows."""
    codes, levels = pd.factorize(np.asarray(person_id, dtype=object))
    n = len(levels)
    rng = np.random.default_rng(seed)
    for _ in range(replicates):
        counts = rng.multinomial(n, np.full(n, 1.0 / n)) if n else np.zeros(0)
        yield counts[codes].astype("float64")


def _interval(value: float | None, replicates: list[float], level: float) -> Interval:
    r = np.asarray([x for x in replicates if np.isfinite(x)], dtype="float64")
    if value is None or not np.isfinite(value) or r.size == 0:
        return Interval(None if value is None or not np.isfinite(value) else value, None, None)
    tail = (1 - level) / 2
    return Interval(float(value), float(np.quantile(r, tail)), float(np.quantile(r, 1 - tail)))


def logistic_calibration(
    y: np.ndarray, p: np.ndarray, w: np.ndarray | None = None
) -> tuple[float, float]:
    """(intercept, slope) of a weighted logistic regression of ``y`` on ``logit(p)`` by Newton's
    method; NaN when undefined (one class only, or no convergence).

    >>> p = np.array([0.2, 0.2, 0.2, 0.2, 0.2, 0.8, 0.8, 0.8, 0.8, 0.8])
    >>> y = np.array([0, 0, 0, 0, 1, 1, 1, 1, 1, 0])
    >>> [round(v, 6) + 0.0 for v in logistic_calibration(y, p)]  # calibrated: 0 and 1
    [0.0, 1.0]
    """
    w = np.ones(len(y)) if w is None else w
    if np.sum(w * y) <= 0 or np.sum(w * (1 - y)) <= 0:
        return float("nan"), float("nan")
    pc = np.clip(p, CLIP, 1 - CLIP)
    x = np.column_stack([np.ones(len(pc)), np.log(pc / (1 - pc))])

    def loglik(b: np.ndarray) -> float:
        eta = x @ b
        return float(np.sum(w * (y * eta - np.logaddexp(0.0, eta))))

    mean = float(np.sum(w * y) / np.sum(w))
    beta = np.array([np.log(mean / (1 - mean)), 0.0])  # Newton from the null model, halving
    current = loglik(beta)  # steps that would lower the likelihood: it cannot diverge
    for _ in range(100):
        mu = 0.5 * (1.0 + np.tanh((x @ beta) / 2))  # the logistic function, without overflow
        grad = x.T @ (w * (y - mu))
        hess = (x * (w * mu * (1 - mu))[:, None]).T @ x
        try:
            step = np.linalg.solve(hess, grad)
        except np.linalg.LinAlgError:
            return float("nan"), float("nan")
        for _ in range(40):
            trial = loglik(beta + step)
            if trial >= current - 1e-12:
                break
            step = step / 2
        beta = beta + step
        current = loglik(beta)
        if np.max(np.abs(step)) < 1e-9:
            return float(beta[0]), float(beta[1])
    return float("nan"), float("nan")


def weighted_ece(y: np.ndarray, p: np.ndarray, w: np.ndarray, bins: int = 10) -> float:
    """Expected calibration error over equal-width bins with row weights (unit weights give
    :func:`vru_risk.models.service_lists.expected_calibration_error`)."""
    total = w.sum()
    if total <= 0:
        return float("nan")
    which = np.clip(np.digitize(p, np.linspace(0.0, 1.0, bins + 1)[1:-1]), 0, bins - 1)
    gap = np.abs(
        np.bincount(which, weights=w * y, minlength=bins)
        - np.bincount(which, weights=w * p, minlength=bins)
    )
    return float(gap.sum() / total)


@dataclass(frozen=True)
class Calibration:
    moments: int
    people: int
    slope: Interval
    intercept: Interval
    brier: Interval
    ece: Interval


def calibration(
    label: npt.ArrayLike,
    probability: npt.ArrayLike,
    person_id: npt.ArrayLike,
    *,
    bins: int = 10,
    replicates: int = 400,
    level: float = 0.9,
    seed: int = 0,
) -> Calibration:
    """Calibration of matured moments (rows with a missing label are left out), with
    person-level bootstrap intervals (see the module docstring)."""
    y_all = np.asarray(label, dtype="float64")
    known = ~np.isnan(y_all)
    y = y_all[known]
    p = np.asarray(probability, dtype="float64")[known]
    people = np.asarray(person_id, dtype=object)[known]

    def stats(w: np.ndarray) -> tuple[float, float, float, float]:
        intercept, slope = logistic_calibration(y, p, w)
        total = w.sum()
        brier = float(np.sum(w * (p - y) ** 2) / total) if total else float("nan")
        return slope, intercept, brier, weighted_ece(y, p, w, bins)

    point = stats(np.ones(len(y))) if len(y) else (float("nan"),) * 4
    reps = [stats(w) for w in person_weights(people, replicates, seed)] if len(y) else []
    columns: list[tuple[float, ...]] = list(zip(*reps, strict=True)) if reps else [()] * 4
    slope, intercept, brier, ece = (
        _interval(v if np.isfinite(v) else None, list(c), level)
        for v, c in zip(point, columns, strict=True)
    )
    return Calibration(
        moments=len(y),
        people=int(pd.unique(people).size),
        slope=slope,
        intercept=intercept,
        brier=brier,
        ece=ece,
    )


@dataclass(frozen=True)
class Rate:
    """A share of matured moments with the outcome, and its person-level interval."""

    moments: int
    people: int
    positives: int
    precision: Interval


def rate(
    label: npt.ArrayLike,
    mask: npt.ArrayLike,
    person_id: npt.ArrayLike,
    *,
    replicates: int = 400,
    level: float = 0.9,
    seed: int = 0,
) -> Rate:
    """The outcome rate among the matured rows in ``mask`` (missing labels left out)."""
    y = np.asarray(label, dtype="float64")
    keep = np.asarray(mask, dtype=bool) & ~np.isnan(y)
    y = y[keep]
    people = np.asarray(person_id, dtype=object)[keep]
    value = float(y.mean()) if len(y) else None
    reps = [
        float(np.sum(w * y) / w.sum()) if w.sum() else float("nan")
        for w in person_weights(people, replicates if len(y) else 0, seed)
    ]
    return Rate(
        moments=len(y),
        people=int(pd.unique(people).size),
        positives=int(y.sum()),
        precision=_interval(value, reps, level),
    )


@dataclass(frozen=True)
class OutcomePrecision:
    """Realised precision by kind of moment; only ``unsupported`` judges the model."""

    unsupported: Rate
    not_taken_up: Rate
    no_place: Rate
    supported: Rate


def outcome_precision(
    label: npt.ArrayLike,
    offered: npt.ArrayLike,
    taken_up: npt.ArrayLike,
    above_floor: npt.ArrayLike,
    person_id: npt.ArrayLike,
    *,
    replicates: int = 400,
    level: float = 0.9,
    seed: int = 0,
) -> OutcomePrecision:
    """Realised precision on the moments not given support (offered but not taken up, and above
    the floor with no place), and on the supported, shown apart (see the module docstring)."""
    off = np.asarray(offered, dtype=bool)
    took = np.asarray(taken_up, dtype=bool) & off
    above = np.asarray(above_floor, dtype=bool)
    not_taken = off & ~took
    no_place = above & ~off

    def among(mask: np.ndarray) -> Rate:
        return rate(label, mask, person_id, replicates=replicates, level=level, seed=seed)

    return OutcomePrecision(
        unsupported=among(not_taken | no_place),
        not_taken_up=among(not_taken),
        no_place=among(no_place),
        supported=among(took),
    )


@dataclass(frozen=True)
class PrecisionEstimate:
    """The precision expected before outcomes mature: an estimate, and said to be one."""

    value: float | None
    moments: int
    note: str = ESTIMATE_NOTE


def estimated_precision(probability: npt.ArrayLike, mask: npt.ArrayLike) -> PrecisionEstimate:
    """Mean calibrated probability of the rows in ``mask`` (the offered moments of a month).

    >>> estimated_precision([0.2, 0.4, 0.9], [True, True, False]).value
    0.3
    """
    p = np.asarray(probability, dtype="float64")[np.asarray(mask, dtype=bool)]
    return PrecisionEstimate(value=round(float(p.mean()), 12) if len(p) else None, moments=len(p))
