"""The young people of the county, their neighbourhoods, schools, peer groups and static drivers.

Generated once for the whole county (vectorised over people) from its own random stream, so
that the per-chunk simulation can read any person's attributes.

Example
-------
>>> from vru_risk.data.synthetic import SyntheticConfig
>>> from vru_risk.data.synthetic.calendar import make_window
>>> from vru_risk.data.synthetic.population import build_population
>>> config = SyntheticConfig(people=200, years=2)
>>> pop = build_population(config, make_window(config.end_date, config.years))
>>> pop.n, pop.person_ids[0]
(200, 'P0000001')
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from vru_risk.data.contract import ETHNICITY, SEN, SEX
from vru_risk.data.synthetic.calendar import Window
from vru_risk.data.synthetic.config import RecordingMultipliers, SyntheticConfig
from vru_risk.data.synthetic.model import (
    DAYS_PER_YEAR,
    SV_MALE_LOG,
    BoolArray,
    FloatArray,
    IntArray,
    month_number,
    month_start,
    school_year,
    sv_record_probability,
)
from vru_risk.data.synthetic.rng import stream

#: Hospitals with an emergency department, and where they are on the unit square of the county.
HOSPITALS = ("Musgrove Park", "Yeovil District", "Weston General", "Royal United Bath")
HOSPITAL_XY = np.array([[0.35, 0.45], [0.70, 0.20], [0.35, 0.85], [0.80, 0.85]])
#: Hospitals whose weekend A&E hosts the Admit A&E programme.
ADMIT_AE_HOSPITALS = (0, 1)

#: England's under-18 ethnicity mix (contract order: asian, black, mixed, white, other, unknown).
ETHNICITY_SHARES = (0.11, 0.05, 0.07, 0.73, 0.02, 0.02)
SEX_SHARES = (0.49, 0.505, 0.005)
SEN_SUPPORT_SHARE = 0.13
EHCP_SHARE = 0.048
FSM_SHARE = 0.24
LOOKED_AFTER_SHARE = 0.007
#: Shares of ``people`` rows whose recorded value is missing (the truth still has it).
FSM_MISSING = 0.01
LOOKED_AFTER_MISSING = 0.005
IMD_MISSING = 0.005
#: Schools per 70,000 young people (at least 2 secondary and 3 primary schools).
SECONDARY_PER_70K = 20
PRIMARY_PER_70K = 100
PEER_GROUP_SIZE = 8
#: Coefficients of the static part of the latent mean.
STATIC_DEPRIVATION = 0.30
STATIC_ADVERSITY = 0.45
STATIC_MALE = 0.15
STATIC_SEN = 0.25
STATIC_LOOKED_AFTER = 0.40
STATIC_FSM = 0.15
STATIC_NOISE_SD = 0.35
PEER_EFFECT_SD = 0.35
PRIMARY_EFFECT_SD = 0.15
SECONDARY_EFFECT_SD = 0.25
ATTENDANCE_SCHOOL_SD = 0.15
ABSENCE_PERSON_SD = 0.8
#: The IMD deciles counted as "deprived" by the recording multipliers.
DEPRIVED_DECILES = 3


@dataclass(frozen=True)
class Population:
    """Every person's true attributes and static drivers (index i is ``person_ids[i]``).

    Category columns are indices into the contract's tuples (``SEX``, ``ETHNICITY``, ``SEN``);
    schools are indices into ``school_ids``; hospitals into :data:`HOSPITALS`.
    """

    n: int
    person_ids: list[str]
    birth_month: IntArray
    birth_day: IntArray
    academic_birth_year: IntArray
    sex: IntArray
    ethnicity: IntArray
    sen: IntArray
    fsm: BoolArray
    looked_after: BoolArray
    imd_decile: IntArray
    fsm_missing: BoolArray
    looked_after_missing: BoolArray
    imd_missing: BoolArray
    neighbourhood: IntArray
    deprivation: FloatArray
    adversity: FloatArray
    peer_group: IntArray
    peer_effect: FloatArray
    primary_school: IntArray
    secondary_school: IntArray
    primary_effect: FloatArray
    secondary_effect: FloatArray
    attendance_primary: FloatArray
    attendance_secondary: FloatArray
    daily_returns_primary: BoolArray
    daily_returns_secondary: BoolArray
    absence_effect: FloatArray
    hospital: IntArray
    latent_static: FloatArray
    sv_log_rate: FloatArray
    police_suspect_prob: FloatArray
    stop_search_prob: FloatArray
    exclusion_prob: FloatArray
    sv_record_prob: FloatArray
    left_day: IntArray
    school_ids: list[str]
    ap_school: int

    @property
    def male(self) -> FloatArray:
        """1 for boys, 0.5 for sex unknown, 0 for girls."""
        return male_score(self.sex)

    @property
    def deprived(self) -> BoolArray:
        """Living in one of the most deprived IMD deciles."""
        return np.asarray(self.imd_decile <= DEPRIVED_DECILES, dtype=np.bool_)


def male_score(sex: IntArray) -> FloatArray:
    """1 for boys, 0.5 for sex unknown, 0 for girls (the "male" covariate of every hazard)."""
    male = np.where(sex == SEX.index("male"), 1.0, 0.0)
    return np.asarray(male + np.where(sex == SEX.index("unknown"), 0.5, 0.0), dtype=np.float64)


def _choose(rng: np.random.Generator, probs: FloatArray) -> IntArray:
    """Draw one category per row of a (n, k) probability matrix."""
    cum = np.cumsum(probs, axis=1)
    u = rng.random(probs.shape[0]) * cum[:, -1]
    return np.asarray((u[:, None] >= cum).sum(axis=1), dtype=np.int64)


def _top_share(score: FloatArray, share: float) -> BoolArray:
    """Flag the ``share`` of people with the highest score (ties broken by position)."""
    k = round(share * len(score))
    flag = np.zeros(len(score), dtype=np.bool_)
    if k > 0:
        flag[np.argsort(-score, kind="stable")[:k]] = True
    return flag


def recording_probability(
    base: float,
    mult: RecordingMultipliers,
    *,
    ethnicity: IntArray,
    deprived: BoolArray,
    sen: IntArray,
    fsm: BoolArray,
) -> FloatArray:
    """Return each person's recording probability: ``base`` times the person's multipliers.

    Parameters
    ----------
    base
        The reference group's recording probability.
    mult
        The multipliers of this source (all 1 when measurement bias is off).
    ethnicity, deprived, sen, fsm
        The person's true groups (indices into ``ETHNICITY`` and ``SEN``).

    Returns
    -------
    numpy.ndarray
        One probability per person.
    """
    eth = np.array([mult.ethnicity.get(e, 1.0) for e in ETHNICITY])[ethnicity]
    level = np.array([mult.sen.get(s, 1.0) for s in SEN])[sen]
    p = base * eth * level * np.where(deprived, mult.deprived, 1.0) * np.where(fsm, mult.fsm, 1.0)
    return np.asarray(p, dtype=np.float64)


def build_population(config: SyntheticConfig, window: Window) -> Population:
    """Draw the county's people, places and static drivers.

    Parameters
    ----------
    config
        The generator options.
    window
        The simulated period.

    Returns
    -------
    Population
        Every person's attributes, in person-id order.
    """
    rng = stream(config.seed, "population")
    n = config.people
    # neighbourhoods: deprivation clusters around a few towns; deciles are ranks (1 = most)
    n_nb = max(10, n // 150)
    nb_xy = rng.random((n_nb, 2))
    towns = rng.random((5, 2))
    town_weight = rng.uniform(0.5, 1.5, 5)
    d2 = ((nb_xy[:, None, :] - towns[None, :, :]) ** 2).sum(axis=2)
    raw = (town_weight * np.exp(-d2 / (2 * 0.12**2))).sum(axis=1) + rng.normal(0, 0.35, n_nb)
    rank = np.argsort(np.argsort(-raw, kind="stable"), kind="stable")
    nb_decile = 1 + (rank * 10) // n_nb
    nb_size = rng.lognormal(0.0, 0.4, n_nb)

    # schools at neighbourhood locations; catchment = nearest
    n_sec = max(2, round(SECONDARY_PER_70K * n / 70_000))
    n_pri = max(3, round(PRIMARY_PER_70K * n / 70_000))
    sec_xy = nb_xy[rng.choice(n_nb, size=n_sec, replace=n_sec > n_nb)]
    pri_xy = nb_xy[rng.choice(n_nb, size=n_pri, replace=n_pri > n_nb)]
    sec_dist = ((nb_xy[:, None, :] - sec_xy[None]) ** 2).sum(axis=2)
    pri_order = np.argsort(((nb_xy[:, None, :] - pri_xy[None]) ** 2).sum(axis=2), axis=1)
    hosp_dist = ((nb_xy[:, None, :] - HOSPITAL_XY[None]) ** 2).sum(axis=2)
    school_ids = (
        [f"PRI-{i + 1:04d}" for i in range(n_pri)]
        + [f"SEC-{i + 1:04d}" for i in range(n_sec)]
        + ["AP-0001"]
    )
    school_latent = np.concatenate(
        [rng.normal(0, PRIMARY_EFFECT_SD, n_pri), rng.normal(0, SECONDARY_EFFECT_SD, n_sec), [0.3]]
    )
    school_attendance = rng.normal(0, ATTENDANCE_SCHOOL_SD, n_pri + n_sec + 1)
    school_daily = rng.random(n_pri + n_sec + 1) < 0.5

    # people
    nb = rng.choice(n_nb, size=n, p=nb_size / nb_size.sum())
    second = np.minimum(1, n_pri - 1)
    primary = np.where(rng.random(n) < 0.8, pri_order[nb, 0], pri_order[nb, second])
    secondary = (
        np.where(rng.random(n) < 0.85, np.argmin(sec_dist[nb], axis=1), rng.integers(0, n_sec, n))
        + n_pri
    )
    hospital = np.where(
        rng.random(n) < 0.85, np.argmin(hosp_dist[nb], axis=1), rng.integers(0, len(HOSPITALS), n)
    )
    # school effects are deviations: centre them over the pupils (small counties stay on target)
    for effects in (school_latent, school_attendance):
        effects[:n_pri] -= effects[primary].mean()
        effects[n_pri : n_pri + n_sec] -= effects[secondary].mean()
    first_birth = window.first_month - 19 * 12 + 1
    last_birth = month_number(window.end) - 8 * 12
    birth_month = rng.integers(first_birth, last_birth + 1, n)
    birth_day = month_start(birth_month)
    sex = _choose(rng, np.tile(np.array(SEX_SHARES), (n, 1)))
    decile = nb_decile[nb]
    deprivation = np.asarray((5.5 - decile) / 2.872, dtype=np.float64)
    adversity = 0.3 * deprivation + np.sqrt(1 - 0.09) * rng.normal(size=n)
    minority = np.array([e not in ("white", "unknown") for e in ETHNICITY])
    tilt = np.where(minority[None, :], np.exp(0.1 * deprivation)[:, None], 1.0)
    ethnicity = _choose(rng, np.array(ETHNICITY_SHARES)[None, :] * tilt)
    male = np.where(sex == SEX.index("male"), 1.0, 0.0)
    need = 0.6 * male + 0.35 * adversity + rng.normal(size=n)
    ehcp = _top_share(need, EHCP_SHARE)
    support = _top_share(np.where(ehcp, -np.inf, need), SEN_SUPPORT_SHARE)
    sen = np.where(ehcp, SEN.index("ehcp"), np.where(support, SEN.index("sen_support"), 0))
    fsm = _top_share(0.9 * deprivation + 0.7 * adversity + rng.normal(0, 0.8, n), FSM_SHARE)
    looked_after = _top_share(1.6 * adversity + rng.normal(size=n), LOOKED_AFTER_SHARE)
    fsm_missing = rng.random(n) < FSM_MISSING
    lac_missing = rng.random(n) < LOOKED_AFTER_MISSING
    imd_missing = rng.random(n) < IMD_MISSING

    # peer groups of about eight within (secondary school, school cohort)
    aby = school_year(birth_month)
    order = np.lexsort((rng.random(n), aby, secondary))
    cell = secondary[order] * 10_000 + aby[order]
    starts = np.flatnonzero(np.r_[True, cell[1:] != cell[:-1]])
    cell_start = np.repeat(starts, np.diff(np.r_[starts, n]))
    group_sorted = cell * 1_000 + (np.arange(n) - cell_start) // PEER_GROUP_SIZE
    group = np.empty(n, dtype=np.int64)
    group[order] = group_sorted
    _, peer_group = np.unique(group, return_inverse=True)
    peer_values = rng.normal(0, PEER_EFFECT_SD, int(peer_group.max()) + 1)
    peer_effect = peer_values[peer_group]

    sen_any = (sen != 0).astype(np.float64)
    static = (
        STATIC_DEPRIVATION * deprivation
        + STATIC_ADVERSITY * adversity
        + peer_effect
        + STATIC_MALE * male
        + STATIC_SEN * sen_any
        + STATIC_LOOKED_AFTER * looked_after
        + STATIC_FSM * fsm
        + rng.normal(0, STATIC_NOISE_SD, n)
    )
    absence_effect = rng.normal(0, ABSENCE_PERSON_SD, n)
    leave_after = rng.exponential(1.0, n) / max(-np.log(1 - config.leave_rate_per_year), 1e-12)
    leave_day = window.start_day + np.floor(leave_after * DAYS_PER_YEAR).astype(np.int64)
    left_day = np.where(
        leave_day <= window.end_day,
        np.maximum(leave_day, window.start_day + 1),
        np.iinfo(np.int32).max,
    )

    base_rate = np.log(config.serious_violence_rate / DAYS_PER_YEAR)
    sv_log_rate = base_rate + SV_MALE_LOG * male_score(sex)
    groups = {
        "ethnicity": ethnicity,
        "deprived": decile <= DEPRIVED_DECILES,
        "sen": sen,
        "fsm": fsm,
    }
    police = recording_probability(
        config.police_suspect_recording, config.multipliers("police_suspect"), **groups
    )
    stop = recording_probability(
        config.stop_search_recording, config.multipliers("stop_search"), **groups
    )
    exclusion = recording_probability(
        config.exclusion_recording, config.multipliers("exclusion"), **groups
    )
    return Population(
        n=n,
        person_ids=[f"P{i + 1:07d}" for i in range(n)],
        birth_month=birth_month,
        birth_day=birth_day,
        academic_birth_year=aby,
        sex=sex,
        ethnicity=ethnicity,
        sen=np.asarray(sen, dtype=np.int64),
        fsm=fsm,
        looked_after=looked_after,
        imd_decile=np.asarray(decile, dtype=np.int64),
        fsm_missing=fsm_missing,
        looked_after_missing=lac_missing,
        imd_missing=imd_missing,
        neighbourhood=np.asarray(nb, dtype=np.int64),
        deprivation=deprivation,
        adversity=adversity,
        peer_group=np.asarray(peer_group, dtype=np.int64),
        peer_effect=peer_effect,
        primary_school=np.asarray(primary, dtype=np.int64),
        secondary_school=np.asarray(secondary, dtype=np.int64),
        primary_effect=school_latent[primary],
        secondary_effect=school_latent[secondary],
        attendance_primary=school_attendance[primary],
        attendance_secondary=school_attendance[secondary],
        daily_returns_primary=school_daily[primary],
        daily_returns_secondary=school_daily[secondary],
        absence_effect=absence_effect,
        hospital=np.asarray(hospital, dtype=np.int64),
        latent_static=static,
        sv_log_rate=sv_log_rate,
        police_suspect_prob=police,
        stop_search_prob=stop,
        exclusion_prob=exclusion,
        sv_record_prob=sv_record_probability(sex, police),
        left_day=np.asarray(left_day, dtype=np.int64),
        school_ids=school_ids,
        ap_school=n_pri + n_sec,
    )
