"""The fixed part of the generative model: time arithmetic, the latent state and its coefficients.

Days are integers counted from 1970-01-01 (the same numbers as Arrow's ``date32``); months are
integers counted from January 1970 (``numpy.datetime64[M]``). Everything here is a pure,
vectorised function of arrays, shared by the generator and by the oracle, so that both use one
definition of the latent mean and of the serious-violence hazard.

Example
-------
>>> from datetime import date
>>> import numpy as np
>>> from vru_risk.data.synthetic.model import day_number, month_of_day, school_year
>>> march_2021 = month_of_day(np.array([day_number(date(2021, 3, 1))]))
>>> int(school_year(march_2021)[0])
2020
"""

from __future__ import annotations

from datetime import date

import numpy as np
import numpy.typing as npt

from vru_risk.data.contract import SEX

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]

_EPOCH = date(1970, 1, 1)
DAYS_PER_YEAR = 365.25

# --- the latent state -------------------------------------------------------------------------
#: Monthly autocorrelation of the latent deviation (an AR(1) process).
LATENT_RHO = 0.9
#: Stationary standard deviation of the latent deviation.
LATENT_SD = 0.7
#: Standard deviation of one month's innovation.
LATENT_INNOVATION_SD = LATENT_SD * float(np.sqrt(1.0 - LATENT_RHO**2))
#: Age curve of the latent mean (ages in years, piecewise linear, flat outside).
LATENT_AGE_KNOTS = (8.0, 12.0, 15.0, 17.0, 19.0)
LATENT_AGE_VALUES = (-0.5, -0.1, 0.35, 0.35, 0.1)

# --- serious violence ------------------------------------------------------------------------
#: Log-hazard slope of true serious-violence involvement on the latent state.
SV_LATENT_COEF = 2.0
#: Extra log-hazard of boys (and half of it for sex unknown).
SV_MALE_LOG = 0.5
#: Age curve of the serious-violence log-hazard (0 at 16–18).
SV_AGE_KNOTS = (8.0, 11.0, 14.0, 16.0, 18.0, 19.0)
SV_AGE_VALUES = (-3.0, -1.8, -0.4, 0.0, 0.0, -0.1)
#: Relative day-of-week weights (Monday first) of night-time-economy events; mean 1.
WEEKEND_WEIGHTS = (0.85, 0.85, 0.85, 0.85, 1.2, 1.35, 1.05)
UNIFORM_WEIGHTS = (1.0,) * 7

#: The (role, offence) outcomes of one serious-violence involvement.
SV_KINDS = (
    ("perpetrator", "violence_with_injury"),
    ("perpetrator", "robbery"),
    ("perpetrator", "weapon_possession"),
    ("perpetrator", "sexual_offence"),
    ("victim", "violence_with_injury"),
    ("victim", "robbery"),
    ("victim", "sexual_offence"),
)
SV_IS_PERPETRATOR = np.array([k == "perpetrator" for k, _ in SV_KINDS])
_PERP_OFFENCE = np.array([0.55, 0.15, 0.25, 0.05])
_VICTIM_OFFENCE_MALE = np.array([0.70, 0.22, 0.08])
_VICTIM_OFFENCE_FEMALE = np.array([0.55, 0.10, 0.35])
_PERP_SHARE = {"female": 0.35, "male": 0.55, "unknown": 0.45}


def _sv_kind_probabilities() -> FloatArray:
    rows = []
    for sex in SEX:
        perp = _PERP_SHARE[sex]
        victim = _VICTIM_OFFENCE_FEMALE if sex == "female" else _VICTIM_OFFENCE_MALE
        rows.append(np.concatenate([perp * _PERP_OFFENCE, (1.0 - perp) * victim]))
    return np.array(rows, dtype=np.float64)


#: Probability of each of ``SV_KINDS`` given sex (rows in the contract's ``SEX`` order).
SV_KIND_PROBABILITIES = _sv_kind_probabilities()
#: Probability that the police record a victim of serious violence (no group differences).
SV_POLICE_VICTIM_RECORDING = 0.55
#: Probability of an A&E visit for assault, per kind of involvement.
SV_AE_PROBABILITY = np.array([0.08, 0.03, 0.03, 0.0, 0.35, 0.12, 0.15])


def sv_record_probability(sex: IntArray, police_suspect: FloatArray) -> FloatArray:
    """Probability that one serious-violence involvement of a person is recorded as a label.

    A label is recorded when the police record it (as suspect: ``police_suspect``, the
    person's suspect recording probability; as victim: :data:`SV_POLICE_VICTIM_RECORDING`)
    or when it brings the young person to A&E (:data:`SV_AE_PROBABILITY`), independently.

    Parameters
    ----------
    sex
        Index into the contract's ``SEX`` per person.
    police_suspect
        The person's probability of being recorded as suspect of an offence.

    Returns
    -------
    numpy.ndarray
        One probability per person.
    """
    kinds = SV_KIND_PROBABILITIES[sex]  # (n, 7)
    police = np.where(
        SV_IS_PERPETRATOR[None, :], police_suspect[:, None], SV_POLICE_VICTIM_RECORDING
    )
    recorded = 1.0 - (1.0 - police) * (1.0 - SV_AE_PROBABILITY[None, :])
    return np.asarray((kinds * recorded).sum(axis=1), dtype=np.float64)


# --- time arithmetic -------------------------------------------------------------------------
def day_number(d: date) -> int:
    """Return the day number of a date (days since 1970-01-01)."""
    return (d - _EPOCH).days


def day_to_date(day: int) -> date:
    """Return the date of a day number."""
    return date.fromordinal(_EPOCH.toordinal() + int(day))


def weekday(day: IntArray) -> IntArray:
    """Return the weekday of day numbers, Monday = 0 (1970-01-01 was a Thursday)."""
    return np.asarray((day + 3) % 7, dtype=np.int64)


def month_of_day(day: IntArray) -> IntArray:
    """Return the month number (months since January 1970) of day numbers."""
    d = np.asarray(day, dtype=np.int64).astype("datetime64[D]")
    return d.astype("datetime64[M]").astype(np.int64)


def month_start(month: IntArray) -> IntArray:
    """Return the day number of the first day of month numbers."""
    m = np.asarray(month, dtype=np.int64).astype("datetime64[M]")
    return m.astype("datetime64[D]").astype(np.int64)


def month_number(d: date) -> int:
    """Return the month number of a date."""
    return (d.year - 1970) * 12 + d.month - 1


def school_year(month: IntArray) -> IntArray:
    """Return the calendar year in which the school year of a month started (September)."""
    return np.asarray(1970 + (np.asarray(month, dtype=np.int64) - 8) // 12, dtype=np.int64)


def national_curriculum_year(academic_birth_year: IntArray, year: IntArray) -> IntArray:
    """Return the National Curriculum year (Reception = 0) in the school year starting ``year``.

    ``academic_birth_year`` is the school year of the birth month (born September 2009 to
    August 2010: 2009); Reception starts in the September after the fourth birthday.
    """
    return np.asarray(year - academic_birth_year - 5, dtype=np.int64)


def _prefix(weights: tuple[float, ...]) -> FloatArray:
    # cumulative weight of the first j days of an epoch-aligned week (day 0 is a Thursday)
    w = np.array([weights[(x + 3) % 7] for x in range(7)], dtype=np.float64)
    return np.concatenate([[0.0], np.cumsum(w)])


def cumulative_weight(day: IntArray, weights: tuple[float, ...]) -> FloatArray:
    """Return the total day-of-week weight of all days before ``day`` since the epoch.

    The weights sum to 7 over a week, so the weight of ``[a, b)`` is
    ``cumulative_weight(b) - cumulative_weight(a)``.
    """
    prefix = _prefix(weights)
    d = np.asarray(day, dtype=np.int64)
    return np.asarray(7.0 * (d // 7) + prefix[d % 7], dtype=np.float64)


def day_at_weight(total: FloatArray, weights: tuple[float, ...]) -> IntArray:
    """Invert :func:`cumulative_weight`: the day whose weight interval contains ``total``."""
    prefix = _prefix(weights)
    week = np.floor(total / 7.0)
    rest = total - 7.0 * week
    j = np.searchsorted(prefix, rest, side="right") - 1
    return np.asarray(7 * week.astype(np.int64) + np.clip(j, 0, 6), dtype=np.int64)


# --- the latent mean and the serious-violence hazard -----------------------------------------
def age_at(day: IntArray, birth_day: IntArray) -> FloatArray:
    """Return ages in years."""
    return np.asarray((day - birth_day) / DAYS_PER_YEAR, dtype=np.float64)


def latent_age_effect(age: FloatArray) -> FloatArray:
    """Return the age part of the latent mean."""
    return np.asarray(np.interp(age, LATENT_AGE_KNOTS, LATENT_AGE_VALUES), dtype=np.float64)


def sv_age_effect(age: FloatArray) -> FloatArray:
    """Return the age part of the serious-violence log-hazard."""
    return np.asarray(np.interp(age, SV_AGE_KNOTS, SV_AGE_VALUES), dtype=np.float64)


def latent_mean(
    month: IntArray,
    *,
    static: FloatArray,
    primary_effect: FloatArray,
    secondary_effect: FloatArray,
    birth_day: IntArray,
    academic_birth_year: IntArray,
) -> FloatArray:
    """Return the mean of the latent state of people in months (arrays broadcast together).

    The mean is the person's static drivers plus an age curve plus the effect of the school
    the person attends that month (primary up to Year 6, secondary from Year 7 on).
    """
    age = age_at(month_start(month), birth_day)
    ncy = national_curriculum_year(academic_birth_year, school_year(month))
    school = np.where(ncy >= 7, secondary_effect, primary_effect)
    return np.asarray(static + latent_age_effect(age) + school, dtype=np.float64)


def sv_log_hazard(
    month: IntArray, latent: FloatArray, *, sv_log_rate: FloatArray, birth_day: IntArray
) -> FloatArray:
    """Return the log of the daily serious-violence hazard (per unit of weekend weight)."""
    age = age_at(month_start(month), birth_day)
    return np.asarray(sv_log_rate + sv_age_effect(age) + SV_LATENT_COEF * latent, dtype=np.float64)
