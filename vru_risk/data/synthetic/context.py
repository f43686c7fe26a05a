"""One chunk of people: their slice of the population, latent path and coverage intervals.

Example
-------
>>> from vru_risk.data.synthetic import SyntheticConfig
>>> ctx = county_context(SyntheticConfig(people=200, years=2))
>>> ctx.z.shape
(200, 24)
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from vru_risk.data.synthetic.calendar import Window, make_window
from vru_risk.data.synthetic.config import SyntheticConfig
from vru_risk.data.synthetic.model import (
    LATENT_INNOVATION_SD,
    LATENT_RHO,
    LATENT_SD,
    FloatArray,
    IntArray,
    age_at,
    latent_mean,
    month_start,
    national_curriculum_year,
    school_year,
)
from vru_risk.data.synthetic.population import Population, build_population
from vru_risk.data.synthetic.rng import stream

#: Ages (years) between which police, A&E and programme records are kept: 8 to the 19th birthday.
MIN_AGE_YEARS = 8
MAX_AGE_YEARS = 19
#: National Curriculum years whose registers are in the attendance table (ages 7–16).
FIRST_ATTENDANCE_YEAR = 3
LAST_ATTENDANCE_YEAR = 11


@dataclass(frozen=True)
class ChunkContext:
    """The people ``lo..hi-1`` of the county, ready for the event processes.

    Attributes
    ----------
    z, mean
        Latent state and its mean, shape (people, months of the window).
    age, ncy
        Age in years and National Curriculum year at the start of each month.
    age_lo, age_hi
        First and last day (inclusive) on which the person is 8–18 and in the window.
    area_hi
        Last day of records: ``age_hi`` or the day before leaving the area.
    att_lo, att_hi
        First and last day (inclusive) of the school years 3–11 in the window, in the area.
    """

    config: SyntheticConfig
    window: Window
    pop: Population
    chunk: int
    lo: int
    hi: int
    z: FloatArray
    mean: FloatArray
    age: FloatArray
    ncy: IntArray
    age_lo: IntArray
    age_hi: IntArray
    area_hi: IntArray
    att_lo: IntArray
    att_hi: IntArray

    @property
    def n(self) -> int:
        """People in the chunk."""
        return self.hi - self.lo

    def person(self, name: str) -> FloatArray:
        """Return the chunk's slice of a population array, as float."""
        value = getattr(self.pop, name)
        return np.asarray(value[self.lo : self.hi], dtype=np.float64)

    def person_int(self, name: str) -> IntArray:
        """Return the chunk's slice of a population array, as int."""
        value = getattr(self.pop, name)
        return np.asarray(value[self.lo : self.hi], dtype=np.int64)

    @property
    def male(self) -> FloatArray:
        """1 for boys, 0.5 for sex unknown, 0 for girls."""
        return np.asarray(self.pop.male[self.lo : self.hi], dtype=np.float64)

    @property
    def left_day(self) -> IntArray:
        """Day the person left the area (a large number when they did not)."""
        return self.person_int("left_day")


def simulate_latent(
    window: Window, pop: Population, lo: int, hi: int, seed: int, chunk: int
) -> tuple[FloatArray, FloatArray]:
    """Simulate the monthly latent state of people ``lo..hi-1``.

    The state is ``mean + u`` where ``u`` is a stationary AR(1) process (monthly
    autocorrelation ``LATENT_RHO``, stationary sd ``LATENT_SD``) and the mean comes from
    :func:`~vru_risk.data.synthetic.model.latent_mean`.

    Returns
    -------
    tuple of numpy.ndarray
        ``(z, mean)``, each of shape (people, months).
    """
    rng = stream(seed, "latent", chunk)
    months = window.months[None, :]
    sl = slice(lo, hi)
    mean = latent_mean(
        months,
        static=pop.latent_static[sl, None],
        primary_effect=pop.primary_effect[sl, None],
        secondary_effect=pop.secondary_effect[sl, None],
        birth_day=pop.birth_day[sl, None],
        academic_birth_year=pop.academic_birth_year[sl, None],
    )
    n = hi - lo
    eps = rng.normal(0.0, LATENT_INNOVATION_SD, (n, window.n_months))
    u = np.empty((n, window.n_months), dtype=np.float64)
    u[:, 0] = rng.normal(0.0, LATENT_SD, n)
    for m in range(1, window.n_months):
        u[:, m] = LATENT_RHO * u[:, m - 1] + eps[:, m]
    return mean + u, mean


def make_context(
    config: SyntheticConfig, window: Window, pop: Population, lo: int, hi: int, chunk: int
) -> ChunkContext:
    """Build the context of one chunk of people (latent path and coverage).

    Parameters
    ----------
    config, window, pop
        The options, the window and the whole county's people.
    lo, hi
        The chunk's first and one-past-last person index.
    chunk
        The chunk's index (selects its random streams).

    Returns
    -------
    ChunkContext
        Everything the event processes need.
    """
    z, mean = simulate_latent(window, pop, lo, hi, config.seed, chunk)
    sl = slice(lo, hi)
    months = window.months[None, :]
    birth_month = pop.birth_month[sl]
    aby = pop.academic_birth_year[sl]
    age = age_at(month_start(months), pop.birth_day[sl, None])
    ncy = national_curriculum_year(aby[:, None], school_year(months))
    age_lo = np.maximum(window.start_day, month_start(birth_month + 12 * MIN_AGE_YEARS))
    age_hi = np.minimum(window.end_day, month_start(birth_month + 12 * MAX_AGE_YEARS) - 1)
    left = pop.left_day[sl]
    area_hi = np.minimum(age_hi, left - 1)
    # Year N starts in September of (academic birth year + 5 + N)
    sept = (aby + 5 + FIRST_ATTENDANCE_YEAR - 1970) * 12 + 8
    school_years = LAST_ATTENDANCE_YEAR - FIRST_ATTENDANCE_YEAR + 1
    att_lo = np.maximum(window.start_day, month_start(sept))
    att_end = month_start(sept + 12 * school_years) - 1
    att_hi = np.minimum(np.minimum(window.end_day, att_end), left - 1)
    return ChunkContext(
        config=config,
        window=window,
        pop=pop,
        chunk=chunk,
        lo=lo,
        hi=hi,
        z=z,
        mean=mean,
        age=age,
        ncy=ncy,
        age_lo=np.asarray(age_lo, dtype=np.int64),
        age_hi=np.asarray(age_hi, dtype=np.int64),
        area_hi=np.asarray(area_hi, dtype=np.int64),
        att_lo=np.asarray(att_lo, dtype=np.int64),
        att_hi=np.asarray(att_hi, dtype=np.int64),
    )


def county_context(config: SyntheticConfig) -> ChunkContext:
    """The context of the whole county as one chunk (chunk 0): for examples and small checks."""
    window = make_window(config.end_date, config.years)
    return make_context(config, window, build_population(config, window), 0, config.people, 0)
