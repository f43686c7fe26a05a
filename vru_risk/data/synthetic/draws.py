"""Random draws shared by the event processes: event days, categories, delays and details.

Events of a process are a Poisson process per person with a log-rate that is piecewise constant
per month (:func:`hazard_log_rate`), placed within a month by a day-of-week weighting
(:func:`poisson_days`) or on the school days a pupil attends (:func:`school_day_events`). The
other draws give the details of a record: a category from a mix, the day police learn of a
contact, an outcome and the day it is decided, an A&E arrival time and hospital.

Example
-------
>>> rng = np.random.default_rng(0)
>>> codes = pick(rng, {"drugs": 0.6, "none": 0.4}, ("drugs", "none", "other"), 5)
>>> set(codes.tolist()) <= {0, 1}
True
"""

from __future__ import annotations

import numpy as np

from vru_risk.data.contract import AE_REASON, POLICE_OUTCOME
from vru_risk.data.synthetic.context import ChunkContext
from vru_risk.data.synthetic.hazards import (
    AE_HOURS,
    OUTCOME_DELAY_DAYS,
    POLICE_LAG,
    POLICE_LONG_LAG,
    USUAL_HOSPITAL,
    Hazard,
)
from vru_risk.data.synthetic.model import (
    DAYS_PER_YEAR,
    FloatArray,
    IntArray,
    cumulative_weight,
    day_at_weight,
    month_of_day,
)
from vru_risk.data.synthetic.population import HOSPITALS


def _probabilities(
    mapping: dict[str, float], categories: tuple[str, ...]
) -> tuple[IntArray, FloatArray]:
    codes = np.array([categories.index(k) for k in mapping], dtype=np.int64)
    p = np.array(list(mapping.values()), dtype=np.float64)
    return codes, p / p.sum()


def pick(
    rng: np.random.Generator, mapping: dict[str, float], categories: tuple[str, ...], n: int
) -> IntArray:
    """Draw ``n`` category codes (indexes into ``categories``) from the mix ``mapping``."""
    codes, p = _probabilities(mapping, categories)
    return np.asarray(codes[rng.choice(len(p), size=n, p=p)], dtype=np.int64)


def hazard_log_rate(ctx: ChunkContext, h: Hazard, per: float = DAYS_PER_YEAR) -> FloatArray:
    """Log-rate per (person, month) of a hazard: per day of weight 1 (``per`` days a year)."""
    age = np.interp(ctx.age, h.age_knots, h.age_values)
    return np.asarray(
        np.log(h.rate / per) + h.male * ctx.male[:, None] + h.latent * ctx.z + age, dtype=np.float64
    )


def poisson_days(
    ctx: ChunkContext,
    rng: np.random.Generator,
    log_rate: FloatArray,
    lo: IntArray,
    hi: IntArray,
    weights: tuple[float, ...],
) -> tuple[IntArray, IntArray]:
    """Draw events of a process with a monthly log-rate per unit of day weight.

    Parameters
    ----------
    ctx
        The chunk.
    rng
        The process's random stream.
    log_rate
        Log-rate per (person, month), per day of weight 1.
    lo, hi
        Each person's first and last day (inclusive) of exposure.
    weights
        Day-of-week weights (Monday first, mean 1).

    Returns
    -------
    tuple of numpy.ndarray
        ``(person, day)`` of every event, sorted by person then month.
    """
    months = ctx.window.n_months
    a = np.maximum(ctx.window.month_starts[None, :], lo[:, None])
    b = np.minimum(ctx.window.month_ends[None, :], hi[:, None])
    fa = cumulative_weight(a, weights)
    exposure = np.where(b >= a, cumulative_weight(b + 1, weights) - fa, 0.0)
    counts = rng.poisson(np.exp(log_rate) * exposure)
    flat = np.repeat(np.arange(counts.size), counts.ravel())
    t = fa.ravel()[flat] + rng.random(flat.size) * exposure.ravel()[flat]
    day = np.clip(day_at_weight(t, weights), a.ravel()[flat], b.ravel()[flat])
    return np.asarray(flat // months, dtype=np.int64), np.asarray(day, dtype=np.int64)


def school_day_events(
    ctx: ChunkContext, rng: np.random.Generator, log_rate: FloatArray
) -> tuple[IntArray, IntArray]:
    """Draw events that happen on the school days a pupil attends (log-rate per school day)."""
    window = ctx.window
    months = window.n_months
    a = np.maximum(window.month_starts[None, :], ctx.att_lo[:, None])
    b = np.minimum(window.month_ends[None, :], ctx.att_hi[:, None])
    first = window.school_day_rank(a)
    count = np.where(b >= a, window.school_day_rank(b + 1) - first, 0)
    n_events = rng.poisson(np.exp(log_rate) * count)
    flat = np.repeat(np.arange(n_events.size), n_events.ravel())
    k = first.ravel()[flat] + np.floor(rng.random(flat.size) * count.ravel()[flat]).astype(np.int64)
    return np.asarray(flat // months, dtype=np.int64), np.asarray(
        window.school_days[k], dtype=np.int64
    )


def month_index(ctx: ChunkContext, day: IntArray) -> IntArray:
    """The month of each day, counted from the window's first month."""
    return np.asarray(month_of_day(day) - ctx.window.first_month, dtype=np.int64)


def police_known_day(ctx: ChunkContext, rng: np.random.Generator, day: IntArray) -> IntArray:
    """The day police record each contact: a short delay, or for a share a long one."""
    short = rng.integers(POLICE_LAG[0], POLICE_LAG[1] + 1, day.size)
    long = rng.integers(POLICE_LONG_LAG[0], POLICE_LONG_LAG[1] + 1, day.size)
    late = rng.random(day.size) < ctx.config.police_long_lag_share
    return np.asarray(day + np.where(late, long, short), dtype=np.int64)


def police_outcomes(
    rng: np.random.Generator, probs: tuple[float, ...], day: IntArray, delay: bool
) -> tuple[IntArray, IntArray]:
    """Each contact's outcome (mix ``probs``) and the day it is decided (later when ``delay``)."""
    codes = np.array(
        [POLICE_OUTCOME.index(o) for o in ("nfa", "community_resolution", "caution", "charge")]
    )
    outcome = codes[rng.choice(4, size=day.size, p=np.array(probs) / sum(probs))]
    lag = rng.integers(OUTCOME_DELAY_DAYS[0], OUTCOME_DELAY_DAYS[1] + 1, day.size) if delay else 0
    return np.asarray(outcome, dtype=np.int64), np.asarray(day + lag, dtype=np.int64)


def arrival_seconds(rng: np.random.Generator, reasons: IntArray) -> IntArray:
    """Seconds after midnight of arrival, by reason's hour profile."""
    seconds = np.zeros(reasons.size, dtype=np.int64)
    for code, name in enumerate(AE_REASON):
        sel = np.flatnonzero(reasons == code)
        p = np.array(AE_HOURS[name], dtype=np.float64)
        hour = rng.choice(24, size=sel.size, p=p / p.sum())
        seconds[sel] = hour * 3600 + rng.integers(0, 3600, sel.size)
    return seconds


def visit_hospital(ctx: ChunkContext, rng: np.random.Generator, person: IntArray) -> IntArray:
    """The hospital of each visit: mostly the person's usual one, else any."""
    usual = ctx.person_int("hospital")[person]
    other = rng.integers(0, len(HOSPITALS), person.size)
    return np.asarray(
        np.where(rng.random(person.size) < USUAL_HOSPITAL, usual, other), dtype=np.int64
    )
