"""Event processes driven by the latent state: who is involved in what, when, and what is recorded.

Each process is a Poisson process per person with a log-rate that is piecewise constant per
month: ``log(rate / 365.25) + male × coefficient + latent × coefficient + age curve + extras``.
Events are placed within a month by a day-of-week weighting (night-time-economy events fall
more at weekends). An *incident* is what happened; a *record* is what an agency wrote down
about it (a police contact, an A&E visit, an exclusion). Recording of offences, street
encounters and school incidents depends on group (measurement bias).

This module draws *candidate* incidents and records for a chunk of people, ignoring support
programmes; :mod:`~vru_risk.data.synthetic.support` then thins the incidents that support
prevents, month by month.

Example
-------
>>> from vru_risk.data.synthetic import SyntheticConfig
>>> from vru_risk.data.synthetic.calendar import make_window
>>> from vru_risk.data.synthetic.population import build_population
>>> from vru_risk.data.synthetic.context import make_context
>>> from vru_risk.data.synthetic.processes import draw_candidates
>>> config = SyntheticConfig(people=300, years=2)
>>> window = make_window(config.end_date, config.years)
>>> ctx = make_context(config, window, build_population(config, window), 0, 300, 0)
>>> incidents, records = draw_candidates(ctx)
>>> set(records["source"].tolist()) <= {0, 1, 2}
True
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from vru_risk.data.contract import (
    AE_REASON,
    EXCLUSION_KIND,
    EXCLUSION_REASON,
    POLICE_OFFENCE,
    POLICE_OUTCOME,
    POLICE_ROLE,
    SEN,
)
from vru_risk.data.synthetic.calendar import SCHOOL_DAYS_PER_YEAR
from vru_risk.data.synthetic.context import ChunkContext
from vru_risk.data.synthetic.model import (
    DAYS_PER_YEAR,
    SV_AE_PROBABILITY,
    SV_IS_PERPETRATOR,
    SV_KIND_PROBABILITIES,
    SV_KINDS,
    SV_POLICE_VICTIM_RECORDING,
    UNIFORM_WEIGHTS,
    WEEKEND_WEIGHTS,
    FloatArray,
    IntArray,
    cumulative_weight,
    day_at_weight,
    month_of_day,
    month_start,
    sv_log_hazard,
)
from vru_risk.data.synthetic.population import HOSPITALS
from vru_risk.data.synthetic.rng import stream

Cols = dict[str, npt.NDArray[Any]]

# sources of records
POLICE, AE, EXCLUSION = 0, 1, 2
# thinning classes: what support reduces
THIN_NONE, THIN_SV, THIN_INCIDENT = 0, 1, 2
# processes
(
    PROC_SV,
    PROC_OFFENDING,
    PROC_STOP,
    PROC_SCHOOL,
    PROC_VICTIM,
    PROC_WITNESS,
    PROC_MISSING,
    PROC_POLICE_OTHER,
    PROC_AE,
) = range(9)


@dataclass(frozen=True)
class Hazard:
    """A process's yearly rate at the reference (girl, latent 0, age effect 0) and its slopes."""

    rate: float
    latent: float
    male: float
    age_knots: tuple[float, ...]
    age_values: tuple[float, ...]
    weights: tuple[float, ...] = UNIFORM_WEIGHTS


OFFENDING = Hazard(
    0.06, 1.0, 0.6, (8, 11, 14, 16, 19), (-2.5, -1.2, -0.2, 0, -0.2), WEEKEND_WEIGHTS
)
STREET = Hazard(0.05, 0.9, 0.9, (8, 12, 15, 17, 19), (-4, -1.5, -0.2, 0, 0), WEEKEND_WEIGHTS)
STREET_DEPRIVATION = 0.35
VICTIM = Hazard(0.03, 0.5, 0.2, (8, 12, 15, 19), (-1.5, -0.5, 0, 0))
WITNESS = Hazard(0.012, 0.2, 0.0, (8, 12, 15, 19), (-1.5, -0.5, 0, 0))
MISSING = Hazard(0.01, 0.6, -0.2, (8, 12, 15, 17, 18.5), (-2, -0.5, 0, 0, -1))
MISSING_LOOKED_AFTER = 2.2
MISSING_ADVERSITY = 0.5
POLICE_OTHER = Hazard(0.004, 0.3, 0.3, (8, 19), (0, 0))
#: A&E visits other than assault (serious violence brings the assault visits).
AE_HAZARDS: dict[str, Hazard] = {
    "accident": Hazard(0.10, 0.1, 0.2, (8, 12, 16, 19), (0, -0.1, -0.2, -0.2), WEEKEND_WEIGHTS),
    "sports_injury": Hazard(
        0.035, 0.0, 0.6, (8, 10, 14, 17, 19), (-1, -0.3, 0, 0, -0.3), WEEKEND_WEIGHTS
    ),
    "self_harm": Hazard(0.004, 0.7, -1.2, (8, 12, 15, 17, 19), (-3, -1, 0, 0, -0.2)),
    "alcohol_drugs": Hazard(
        0.006, 0.9, 0.3, (8, 13, 15, 17, 19), (-4, -1.5, -0.3, 0, 0), WEEKEND_WEIGHTS
    ),
    "other": Hazard(0.04, 0.2, 0.0, (8, 19), (0, 0)),
}
SELF_HARM_ADVERSITY = 0.4
AE_ADMITTED = {
    "assault": 0.15,
    "accident": 0.08,
    "sports_injury": 0.05,
    "self_harm": 0.35,
    "alcohol_drugs": 0.25,
    "other": 0.10,
}
#: Share of visits to the person's usual hospital (else any of the four).
USUAL_HOSPITAL = 0.9
#: Arrival hour profiles (relative weights of hours 0-23).
DAY_HOURS = (0.2, 0.1, 0.1, 0.1, 0.1, 0.2, 0.4, 0.8, 1.2, 1.4, 1.5, 1.5,
             1.5, 1.5, 1.6, 1.8, 2.0, 2.0, 1.9, 1.6, 1.2, 0.9, 0.6, 0.4)  # fmt: skip
NIGHT_HOURS = (1.6, 1.3, 1.0, 0.7, 0.4, 0.2, 0.1, 0.1, 0.2, 0.3, 0.4, 0.5,
               0.6, 0.6, 0.7, 0.8, 0.9, 1.1, 1.3, 1.5, 1.8, 2.0, 2.0, 1.9)  # fmt: skip
AE_HOURS = {
    "assault": NIGHT_HOURS,
    "alcohol_drugs": NIGHT_HOURS,
    "self_harm": tuple((a + b) / 2 for a, b in zip(DAY_HOURS, NIGHT_HOURS, strict=True)),
    "accident": DAY_HOURS,
    "sports_injury": DAY_HOURS,
    "other": DAY_HOURS,
}

#: School behaviour incidents: rate per secondary pupil-year at the reference; per school day.
SCHOOL_LATENT = 0.9
SCHOOL_MALE = 0.6
SCHOOL_PRIMARY = -1.3
SCHOOL_SEN = {"none": 0.0, "sen_support": 0.6, "ehcp": 0.5}
SCHOOL_FSM = 0.3
#: Probability that an exclusion is permanent: logistic(base + slope × latent).
PERMANENT_LOGIT = -5.9
PERMANENT_LATENT = 0.6

#: Offence mixes (probabilities over the contract's offence groups).
OFFENDING_OFFENCES = {
    "violence_without_injury": 0.25,
    "theft": 0.20,
    "criminal_damage": 0.12,
    "public_order": 0.10,
    "anti_social_behaviour": 0.15,
    "drugs": 0.13,
    "other": 0.05,
}
VICTIM_OFFENCES = {
    "violence_without_injury": 0.45,
    "theft": 0.35,
    "criminal_damage": 0.05,
    "other": 0.15,
}
WITNESS_OFFENCES = {
    "violence_with_injury": 0.2,
    "violence_without_injury": 0.3,
    "robbery": 0.1,
    "theft": 0.15,
    "criminal_damage": 0.1,
    "anti_social_behaviour": 0.15,
}
STOP_OFFENCES = {"drugs": 0.6, "weapon_possession": 0.15, "none": 0.25}
#: Outcome mixes (nfa, community_resolution, caution, charge) and decision delays (days).
OUTCOME_SERIOUS = (0.40, 0.10, 0.10, 0.40)
OUTCOME_OTHER = (0.55, 0.22, 0.10, 0.13)
OUTCOME_STOP = (0.78, 0.12, 0.04, 0.06)
OUTCOME_DELAY_DAYS = (14, 180)
#: Suspension and permanent-exclusion reason mixes (DfE reason groups, autumn 2023/24 shape).
SUSPENSION_REASONS = {
    "persistent_disruption": 0.50,
    "physical_assault": 0.20,
    "verbal_abuse": 0.17,
    "drugs_alcohol": 0.03,
    "discriminatory_abuse": 0.02,
    "damage": 0.02,
    "other": 0.02,
    "bullying": 0.015,
    "sexual_misconduct": 0.01,
    "weapon": 0.01,
    "theft": 0.005,
}
PERMANENT_REASONS = {
    "persistent_disruption": 0.36,
    "physical_assault": 0.25,
    "drugs_alcohol": 0.10,
    "weapon": 0.09,
    "verbal_abuse": 0.08,
    "other": 0.05,
    "damage": 0.02,
    "sexual_misconduct": 0.02,
    "bullying": 0.01,
    "discriminatory_abuse": 0.01,
    "theft": 0.01,
}
SUSPENSION_DAYS = (0.5, 1.0, 1.5, 2.0, 3.0, 4.0, 5.0, 7.0, 10.0, 15.0)
SUSPENSION_DAYS_P = (0.07, 0.42, 0.03, 0.20, 0.12, 0.06, 0.05, 0.03, 0.015, 0.005)
#: Police reporting delays: most within 0–3 days, the late share 7–60 days.
POLICE_LAG = (0, 3)
POLICE_LONG_LAG = (7, 60)

RECORD_DEFAULTS: dict[str, tuple[type, float]] = {
    "incident": (np.int64, -1),
    "person": (np.int64, -1),
    "day": (np.int64, -1),
    "source": (np.int64, -1),
    "known": (np.int64, -1),
    "role": (np.int64, -1),
    "offence": (np.int64, -1),
    "outcome": (np.int64, -1),
    "outcome_day": (np.int64, -1),
    "hospital": (np.int64, -1),
    "arrival": (np.int64, -1),
    "ae_reason": (np.int64, -1),
    "admitted": (np.bool_, 0),
    "ex_kind": (np.int64, -1),
    "ex_reason": (np.int64, -1),
    "ex_days": (np.float64, np.nan),
}
INCIDENT_DEFAULTS: dict[str, tuple[type, float]] = {
    "person": (np.int64, -1),
    "day": (np.int64, -1),
    "process": (np.int64, -1),
    "thin": (np.int64, THIN_NONE),
    "u_thin": (np.float64, 0.0),
    "kind": (np.int64, -1),
    "serious": (np.bool_, 0),
    "record_prob": (np.float64, np.nan),
}


def make_cols(defaults: dict[str, tuple[type, float]], n: int, **values: Any) -> Cols:
    """Build a column store of ``n`` rows: given ``values``, defaults for the rest."""
    out: Cols = {}
    for name, (dtype, default) in defaults.items():
        if name in values:
            out[name] = np.asarray(values[name], dtype=dtype)
        else:
            out[name] = np.full(n, default, dtype=dtype)
    unknown = set(values) - set(defaults)
    if unknown:
        raise KeyError(f"unknown columns {sorted(unknown)}")
    return out


def take(cols: Cols, index: npt.NDArray[Any]) -> Cols:
    """Select rows (an index or a boolean mask) of every column."""
    return {k: v[index] for k, v in cols.items()}


def concat(parts: list[Cols], defaults: dict[str, tuple[type, float]]) -> Cols:
    """Concatenate column stores with the same columns."""
    if not parts:
        return make_cols(defaults, 0)
    return {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}


def _probs(mapping: dict[str, float], categories: tuple[str, ...]) -> tuple[IntArray, FloatArray]:
    codes = np.array([categories.index(k) for k in mapping], dtype=np.int64)
    p = np.array(list(mapping.values()), dtype=np.float64)
    return codes, p / p.sum()


def _pick(
    rng: np.random.Generator, mapping: dict[str, float], categories: tuple[str, ...], n: int
) -> IntArray:
    codes, p = _probs(mapping, categories)
    return np.asarray(codes[rng.choice(len(p), size=n, p=p)], dtype=np.int64)


def _log_rate(ctx: ChunkContext, h: Hazard, per: float = DAYS_PER_YEAR) -> FloatArray:
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


def _month_index(ctx: ChunkContext, day: IntArray) -> IntArray:
    return np.asarray(month_of_day(day) - ctx.window.first_month, dtype=np.int64)


def _police_known(ctx: ChunkContext, rng: np.random.Generator, day: IntArray) -> IntArray:
    short = rng.integers(POLICE_LAG[0], POLICE_LAG[1] + 1, day.size)
    long = rng.integers(POLICE_LONG_LAG[0], POLICE_LONG_LAG[1] + 1, day.size)
    late = rng.random(day.size) < ctx.config.police_long_lag_share
    return np.asarray(day + np.where(late, long, short), dtype=np.int64)


def _outcomes(
    rng: np.random.Generator, probs: tuple[float, ...], day: IntArray, delay: bool
) -> tuple[IntArray, IntArray]:
    codes = np.array(
        [POLICE_OUTCOME.index(o) for o in ("nfa", "community_resolution", "caution", "charge")]
    )
    outcome = codes[rng.choice(4, size=day.size, p=np.array(probs) / sum(probs))]
    lag = rng.integers(OUTCOME_DELAY_DAYS[0], OUTCOME_DELAY_DAYS[1] + 1, day.size) if delay else 0
    return np.asarray(outcome, dtype=np.int64), np.asarray(day + lag, dtype=np.int64)


def _arrival(rng: np.random.Generator, reasons: IntArray) -> IntArray:
    """Seconds after midnight of arrival, by reason's hour profile."""
    seconds = np.zeros(reasons.size, dtype=np.int64)
    for code, name in enumerate(AE_REASON):
        sel = np.flatnonzero(reasons == code)
        p = np.array(AE_HOURS[name], dtype=np.float64)
        hour = rng.choice(24, size=sel.size, p=p / p.sum())
        seconds[sel] = hour * 3600 + rng.integers(0, 3600, sel.size)
    return seconds


def _hospital(ctx: ChunkContext, rng: np.random.Generator, person: IntArray) -> IntArray:
    usual = ctx.person_int("hospital")[person]
    other = rng.integers(0, len(HOSPITALS), person.size)
    return np.asarray(
        np.where(rng.random(person.size) < USUAL_HOSPITAL, usual, other), dtype=np.int64
    )


def _ae_records(
    ctx: ChunkContext,
    rng: np.random.Generator,
    incident: IntArray,
    person: IntArray,
    day: IntArray,
    reason: IntArray,
) -> Cols:
    admitted_p = np.array([AE_ADMITTED[r] for r in AE_REASON])[reason]
    month = month_of_day(day)
    known = month_start(month + 1) + ctx.config.ae_refresh_day - 1
    return make_cols(
        RECORD_DEFAULTS,
        incident.size,
        incident=incident,
        person=person,
        day=day,
        source=np.full(incident.size, AE),
        known=known,
        hospital=_hospital(ctx, rng, person),
        arrival=_arrival(rng, reason),
        ae_reason=reason,
        admitted=rng.random(incident.size) < admitted_p,
    )


def _serious_violence(ctx: ChunkContext) -> tuple[Cols, Cols]:
    rng = stream(ctx.config.seed, "serious_violence", ctx.chunk)
    months = ctx.window.months[None, :]
    log_rate = sv_log_hazard(
        months,
        ctx.z,
        sv_log_rate=ctx.person("sv_log_rate")[:, None],
        birth_day=ctx.person_int("birth_day")[:, None],
    )
    # the world goes on after someone leaves the area: truth covers ages 8-18 in the window
    person, day = poisson_days(ctx, rng, log_rate, ctx.age_lo, ctx.age_hi, WEEKEND_WEIGHTS)
    n = person.size
    probs = SV_KIND_PROBABILITIES[ctx.person_int("sex")[person]]
    cum = np.cumsum(probs, axis=1)
    kind = np.minimum((rng.random(n)[:, None] * cum[:, -1:] >= cum).sum(axis=1), len(SV_KINDS) - 1)
    perp = SV_IS_PERPETRATOR[kind]
    police_p = np.where(perp, ctx.person("police_suspect_prob")[person], SV_POLICE_VICTIM_RECORDING)
    u_police, u_ae, u_thin = rng.random(n), rng.random(n), rng.random(n)
    incidents = make_cols(
        INCIDENT_DEFAULTS,
        n,
        person=person,
        day=day,
        process=np.full(n, PROC_SV),
        thin=np.full(n, THIN_SV),
        u_thin=u_thin,
        kind=kind,
        serious=np.ones(n, dtype=np.bool_),
        record_prob=np.where(perp, police_p, np.nan),
    )
    in_area = day < ctx.left_day[person]
    idx = np.arange(n)
    pol = np.flatnonzero((u_police < police_p) & in_area)
    offence = np.array([POLICE_OFFENCE.index(o) for _, o in SV_KINDS])[kind[pol]]
    role = np.where(perp[pol], POLICE_ROLE.index("suspect"), POLICE_ROLE.index("victim"))
    outcome, decided = _outcomes(rng, OUTCOME_SERIOUS, day[pol], delay=True)
    police = make_cols(
        RECORD_DEFAULTS,
        pol.size,
        incident=idx[pol],
        person=person[pol],
        day=day[pol],
        source=np.full(pol.size, POLICE),
        known=_police_known(ctx, rng, day[pol]),
        role=role,
        offence=offence,
        outcome=np.where(perp[pol], outcome, -1),
        outcome_day=np.where(perp[pol], decided, -1),
    )
    ae = np.flatnonzero((u_ae < SV_AE_PROBABILITY[kind]) & in_area)
    visits = _ae_records(
        ctx, rng, idx[ae], person[ae], day[ae], np.full(ae.size, AE_REASON.index("assault"))
    )
    return incidents, concat([police, visits], RECORD_DEFAULTS)


def _police_process(
    ctx: ChunkContext,
    rng: np.random.Generator,
    log_rate: FloatArray,
    weights: tuple[float, ...],
    *,
    prob: str,
    offences: dict[str, float],
    process: int,
    outcomes: tuple[float, ...],
    delay: bool,
    role: str,
) -> tuple[Cols, Cols]:
    """Incidents of one police-recorded process and the records police make of some of them."""
    person, day = poisson_days(ctx, rng, log_rate, ctx.age_lo, ctx.area_hi, weights)
    n = person.size
    p = ctx.person(prob)[person]
    recorded = rng.random(n) < p
    offence = _pick(rng, offences, POLICE_OFFENCE, n)
    incidents = make_cols(
        INCIDENT_DEFAULTS,
        n,
        person=person,
        day=day,
        process=np.full(n, process),
        thin=np.full(n, THIN_INCIDENT),
        u_thin=rng.random(n),
        kind=offence,
        record_prob=p,
    )
    rec = np.flatnonzero(recorded)
    outcome, decided = _outcomes(rng, outcomes, day[rec], delay=delay)
    records = make_cols(
        RECORD_DEFAULTS,
        rec.size,
        incident=rec,
        person=person[rec],
        day=day[rec],
        source=np.full(rec.size, POLICE),
        known=_police_known(ctx, rng, day[rec]),
        role=np.full(rec.size, POLICE_ROLE.index(role)),
        offence=offence[rec],
        outcome=outcome,
        outcome_day=decided,
    )
    return incidents, records


def _offending(ctx: ChunkContext) -> tuple[Cols, Cols]:
    rng = stream(ctx.config.seed, "offending", ctx.chunk)
    return _police_process(
        ctx,
        rng,
        _log_rate(ctx, OFFENDING),
        OFFENDING.weights,
        prob="police_suspect_prob",
        offences=OFFENDING_OFFENCES,
        process=PROC_OFFENDING,
        outcomes=OUTCOME_OTHER,
        delay=True,
        role="suspect",
    )


def _street(ctx: ChunkContext) -> tuple[Cols, Cols]:
    rng = stream(ctx.config.seed, "stop_search", ctx.chunk)
    log_rate = _log_rate(ctx, STREET) + STREET_DEPRIVATION * ctx.person("deprivation")[:, None]
    return _police_process(
        ctx,
        rng,
        log_rate,
        STREET.weights,
        prob="stop_search_prob",
        offences=STOP_OFFENCES,
        process=PROC_STOP,
        outcomes=OUTCOME_STOP,
        delay=False,
        role="stop_search",
    )


def _school(ctx: ChunkContext) -> tuple[Cols, Cols]:
    rng = stream(ctx.config.seed, "school", ctx.chunk)
    sen = ctx.person_int("sen")
    extra = (np.array([SCHOOL_SEN[s] for s in SEN])[sen] + SCHOOL_FSM * ctx.person("fsm"))[
        :, None
    ] + np.where(ctx.ncy >= 7, 0.0, SCHOOL_PRIMARY)
    log_rate = (
        np.log(ctx.config.school_incident_rate / SCHOOL_DAYS_PER_YEAR)
        + SCHOOL_MALE * ctx.male[:, None]
        + SCHOOL_LATENT * ctx.z
        + extra
    )
    person, day = school_day_events(ctx, rng, log_rate)
    # Year 11 is on leave after its exams: no incidents then
    rank = ctx.window.school_day_rank(day)
    ncy = ctx.ncy[person, _month_index(ctx, day)]
    keep = ~((ncy == 11) & ctx.window.school_day_y11_leave[rank])
    person, day = person[keep], day[keep]
    n = person.size
    p = ctx.person("exclusion_prob")[person]
    recorded = rng.random(n) < p
    z = ctx.z[person, _month_index(ctx, day)]
    permanent = rng.random(n) < 1.0 / (1.0 + np.exp(-(PERMANENT_LOGIT + PERMANENT_LATENT * z)))
    reason = np.where(
        permanent,
        _pick(rng, PERMANENT_REASONS, EXCLUSION_REASON, n),
        _pick(rng, SUSPENSION_REASONS, EXCLUSION_REASON, n),
    )
    days_p = np.array(SUSPENSION_DAYS_P)
    length = np.array(SUSPENSION_DAYS)[rng.choice(len(days_p), size=n, p=days_p / days_p.sum())]
    lag = rng.integers(1, ctx.config.exclusion_lag_days + 1, n)
    incidents = make_cols(
        INCIDENT_DEFAULTS,
        n,
        person=person,
        day=day,
        process=np.full(n, PROC_SCHOOL),
        thin=np.full(n, THIN_INCIDENT),
        u_thin=rng.random(n),
        kind=permanent.astype(np.int64),
        record_prob=p,
    )
    rec = np.flatnonzero(recorded)
    kind = np.where(
        permanent[rec], EXCLUSION_KIND.index("permanent"), EXCLUSION_KIND.index("suspension")
    )
    records = make_cols(
        RECORD_DEFAULTS,
        rec.size,
        incident=rec,
        person=person[rec],
        day=day[rec],
        source=np.full(rec.size, EXCLUSION),
        known=day[rec] + lag[rec],
        ex_kind=kind,
        ex_reason=reason[rec],
        ex_days=np.where(permanent[rec], np.nan, length[rec]),
    )
    return incidents, records


def _police_other(ctx: ChunkContext) -> tuple[Cols, Cols]:
    """Victims (not of serious violence), witnesses, missing episodes, other contacts."""
    rng = stream(ctx.config.seed, "police_other", ctx.chunk)
    missing_extra = (
        MISSING_LOOKED_AFTER * ctx.person("looked_after")
        + MISSING_ADVERSITY * ctx.person("adversity")
    )[:, None]
    specs: list[tuple[int, Hazard, FloatArray | float, str, dict[str, float]]] = [
        (PROC_VICTIM, VICTIM, 0.0, "victim", VICTIM_OFFENCES),
        (PROC_WITNESS, WITNESS, 0.0, "witness", WITNESS_OFFENCES),
        (PROC_MISSING, MISSING, missing_extra, "missing_person", {"none": 1.0}),
        (PROC_POLICE_OTHER, POLICE_OTHER, 0.0, "other", {"other": 1.0}),
    ]
    inc_parts: list[Cols] = []
    rec_parts: list[Cols] = []
    offset = 0
    for proc, hazard, extra, role, offences in specs:
        log_rate = _log_rate(ctx, hazard) + extra
        person, day = poisson_days(ctx, rng, log_rate, ctx.age_lo, ctx.area_hi, hazard.weights)
        n = person.size
        offence = _pick(rng, offences, POLICE_OFFENCE, n)
        inc_parts.append(
            make_cols(
                INCIDENT_DEFAULTS, n, person=person, day=day, process=np.full(n, proc), kind=offence
            )
        )
        rec_parts.append(
            make_cols(
                RECORD_DEFAULTS,
                n,
                incident=np.arange(n) + offset,
                person=person,
                day=day,
                source=np.full(n, POLICE),
                known=_police_known(ctx, rng, day),
                role=np.full(n, POLICE_ROLE.index(role)),
                offence=offence,
            )
        )
        offset += n
    return concat(inc_parts, INCIDENT_DEFAULTS), concat(rec_parts, RECORD_DEFAULTS)


def _ae_other(ctx: ChunkContext) -> tuple[Cols, Cols]:
    rng = stream(ctx.config.seed, "ae", ctx.chunk)
    inc_parts: list[Cols] = []
    rec_parts: list[Cols] = []
    offset = 0
    for reason, hazard in AE_HAZARDS.items():
        log_rate = _log_rate(ctx, hazard)
        if reason == "self_harm":
            log_rate = log_rate + SELF_HARM_ADVERSITY * ctx.person("adversity")[:, None]
        person, day = poisson_days(ctx, rng, log_rate, ctx.age_lo, ctx.area_hi, hazard.weights)
        n = person.size
        code = np.full(n, AE_REASON.index(reason))
        inc_parts.append(
            make_cols(
                INCIDENT_DEFAULTS, n, person=person, day=day, process=np.full(n, PROC_AE), kind=code
            )
        )
        rec_parts.append(_ae_records(ctx, rng, np.arange(n) + offset, person, day, code))
        offset += n
    return concat(inc_parts, INCIDENT_DEFAULTS), concat(rec_parts, RECORD_DEFAULTS)


def draw_candidates(ctx: ChunkContext) -> tuple[Cols, Cols]:
    """Draw every process's incidents and records for a chunk, before support thins them.

    Parameters
    ----------
    ctx
        The chunk.

    Returns
    -------
    tuple of dict
        ``(incidents, records)``: column stores; ``records["incident"]`` indexes
        ``incidents``. Records exist only for days in the area (before ``left_area_date``).
    """
    inc_parts: list[Cols] = []
    rec_parts: list[Cols] = []
    offset = 0
    for build in (_serious_violence, _offending, _street, _school, _police_other, _ae_other):
        incidents, records = build(ctx)
        records["incident"] = records["incident"] + offset
        offset += incidents["person"].size
        inc_parts.append(incidents)
        rec_parts.append(records)
    return concat(inc_parts, INCIDENT_DEFAULTS), concat(rec_parts, RECORD_DEFAULTS)
