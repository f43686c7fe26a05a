"""Event processes driven by the latent state: who is involved in what, when, and what is recorded.

Each process is a Poisson process per person with a log-rate that is piecewise constant per
month: ``log(rate / 365.25) + male × coefficient + latent × coefficient + age curve + extras``.
Events are placed within a month by a day-of-week weighting (night-time-economy events fall
more at weekends). An *incident* is what happened; a *record* is what an agency wrote down
about it (a police contact, an A&E visit, an exclusion). Recording of offences, street
encounters and school incidents depends on group (measurement bias).

This module draws *candidate* incidents and records for a chunk of people, ignoring support
programmes (the parameters are in :mod:`~vru_risk.data.synthetic.hazards`, the shared draws in
:mod:`~vru_risk.data.synthetic.draws`); :mod:`~vru_risk.data.synthetic.support` then thins the
incidents that support prevents, month by month. When a programme is harmful (a
multiplier above 1) the candidates of the extra incidents it may cause (serious violence;
offending, street encounters and school incidents) are drawn too, from their own streams,
after everything else
(:mod:`~vru_risk.data.synthetic.effects`).

Example
-------
>>> from vru_risk.data.synthetic import SyntheticConfig
>>> from vru_risk.data.synthetic.context import county_context
>>> incidents, records = draw_candidates(county_context(SyntheticConfig(people=300, years=2)))
>>> set(records["source"].tolist()) <= {0, 1, 2}
True
"""

from __future__ import annotations

import numpy as np

from vru_risk.data.contract import (
    AE_REASON,
    EXCLUSION_KIND,
    EXCLUSION_REASON,
    POLICE_OFFENCE,
    POLICE_ROLE,
    SEN,
)
from vru_risk.data.synthetic.calendar import SCHOOL_DAYS_PER_YEAR
from vru_risk.data.synthetic.context import ChunkContext
from vru_risk.data.synthetic.draws import (
    arrival_seconds,
    hazard_log_rate,
    month_index,
    pick,
    poisson_days,
    police_known_day,
    police_outcomes,
    school_day_events,
    visit_hospital,
)
from vru_risk.data.synthetic.effects import extra_incident_rate, extra_serious_violence_rate
from vru_risk.data.synthetic.hazards import (
    AE_ADMITTED,
    AE_HAZARDS,
    OUTCOME_SERIOUS,
    PERMANENT_LATENT,
    PERMANENT_LOGIT,
    PERMANENT_REASONS,
    SCHOOL_FSM,
    SCHOOL_LATENT,
    SCHOOL_MALE,
    SCHOOL_PRIMARY,
    SCHOOL_SEN,
    SELF_HARM_ADVERSITY,
    SUSPENSION_DAYS,
    SUSPENSION_DAYS_P,
    SUSPENSION_REASONS,
    Hazard,
)
from vru_risk.data.synthetic.model import (
    SV_AE_PROBABILITY,
    SV_IS_PERPETRATOR,
    SV_KIND_PROBABILITIES,
    SV_KINDS,
    SV_POLICE_VICTIM_RECORDING,
    WEEKEND_WEIGHTS,
    IntArray,
    month_of_day,
    month_start,
    sv_log_hazard,
)
from vru_risk.data.synthetic.police import offending, police_other, stop_and_search
from vru_risk.data.synthetic.rng import stream
from vru_risk.data.synthetic.store import (
    AE,
    EXCLUSION,
    POLICE,
    PROC_AE,
    PROC_SCHOOL,
    PROC_SV,
    RECORD_DEFAULTS,
    THIN_INCIDENT,
    THIN_INCIDENT_EXTRA,
    THIN_SV,
    THIN_SV_EXTRA,
    Cols,
    concat,
    incidents_of,
    records_of,
    stack,
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
    return records_of(
        incident,
        person=person,
        day=day,
        source=AE,
        known=known,
        hospital=visit_hospital(ctx, rng, person),
        arrival=arrival_seconds(rng, reason),
        ae_reason=reason,
        admitted=rng.random(incident.size) < admitted_p,
    )


def _serious_violence(ctx: ChunkContext, extra_rate: float = 0.0) -> tuple[Cols, Cols]:
    """Serious-violence involvements; with ``extra_rate`` > 0 instead the candidates of the
    extra involvements harmful support causes: ``extra_rate`` × the hazard, from their own
    stream, marked ``THIN_SV_EXTRA`` (:mod:`~vru_risk.data.synthetic.effects`)."""
    name = "serious_violence_extra" if extra_rate > 0 else "serious_violence"
    rng = stream(ctx.config.seed, name, ctx.chunk)
    months = ctx.window.months[None, :]
    log_rate = sv_log_hazard(
        months,
        ctx.z,
        sv_log_rate=ctx.person("sv_log_rate")[:, None],
        birth_day=ctx.person_int("birth_day")[:, None],
    )
    if extra_rate > 0:
        log_rate = log_rate + np.log(extra_rate)
    # the world goes on after someone leaves the area: truth covers ages 8-18 in the window
    person, day = poisson_days(ctx, rng, log_rate, ctx.age_lo, ctx.age_hi, WEEKEND_WEIGHTS)
    n = person.size
    probs = SV_KIND_PROBABILITIES[ctx.person_int("sex")[person]]
    cum = np.cumsum(probs, axis=1)
    kind = np.minimum((rng.random(n)[:, None] * cum[:, -1:] >= cum).sum(axis=1), len(SV_KINDS) - 1)
    perp = SV_IS_PERPETRATOR[kind]
    police_p = np.where(perp, ctx.person("police_suspect_prob")[person], SV_POLICE_VICTIM_RECORDING)
    u_police, u_ae, u_thin = rng.random(n), rng.random(n), rng.random(n)
    incidents = incidents_of(
        PROC_SV,
        person=person,
        day=day,
        thin=np.full(n, THIN_SV_EXTRA if extra_rate > 0 else THIN_SV),
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
    outcome, decided = police_outcomes(rng, OUTCOME_SERIOUS, day[pol], delay=True)
    police = records_of(
        idx[pol],
        person=person[pol],
        day=day[pol],
        source=POLICE,
        known=police_known_day(ctx, rng, day[pol]),
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


def _school(ctx: ChunkContext, harm: float = 0.0) -> tuple[Cols, Cols]:
    rng = stream(ctx.config.seed, "school_extra" if harm > 0 else "school", ctx.chunk)
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
    if harm > 0:
        log_rate = log_rate + np.log(harm)
    person, day = school_day_events(ctx, rng, log_rate)
    # Year 11 is on leave after its exams: no incidents then
    rank = ctx.window.school_day_rank(day)
    ncy = ctx.ncy[person, month_index(ctx, day)]
    keep = ~((ncy == 11) & ctx.window.school_day_y11_leave[rank])
    person, day = person[keep], day[keep]
    n = person.size
    p = ctx.person("exclusion_prob")[person]
    recorded = rng.random(n) < p
    z = ctx.z[person, month_index(ctx, day)]
    permanent = rng.random(n) < 1.0 / (1.0 + np.exp(-(PERMANENT_LOGIT + PERMANENT_LATENT * z)))
    reason = np.where(
        permanent,
        pick(rng, PERMANENT_REASONS, EXCLUSION_REASON, n),
        pick(rng, SUSPENSION_REASONS, EXCLUSION_REASON, n),
    )
    days_p = np.array(SUSPENSION_DAYS_P)
    length = np.array(SUSPENSION_DAYS)[rng.choice(len(days_p), size=n, p=days_p / days_p.sum())]
    lag = rng.integers(1, ctx.config.exclusion_lag_days + 1, n)
    incidents = incidents_of(
        PROC_SCHOOL,
        person=person,
        day=day,
        thin=np.full(n, THIN_INCIDENT_EXTRA if harm > 0 else THIN_INCIDENT),
        u_thin=rng.random(n),
        kind=permanent.astype(np.int64),
        record_prob=p,
    )
    rec = np.flatnonzero(recorded)
    kind = np.where(
        permanent[rec], EXCLUSION_KIND.index("permanent"), EXCLUSION_KIND.index("suspension")
    )
    records = records_of(
        rec,
        person=person[rec],
        day=day[rec],
        source=EXCLUSION,
        known=day[rec] + lag[rec],
        ex_kind=kind,
        ex_reason=reason[rec],
        ex_days=np.where(permanent[rec], np.nan, length[rec]),
    )
    return incidents, records


def _ae_other(ctx: ChunkContext) -> tuple[Cols, Cols]:
    rng = stream(ctx.config.seed, "ae", ctx.chunk)

    def draw(reason: str, hazard: Hazard) -> tuple[Cols, Cols]:
        log_rate = hazard_log_rate(ctx, hazard)
        if reason == "self_harm":
            log_rate = log_rate + SELF_HARM_ADVERSITY * ctx.person("adversity")[:, None]
        person, day = poisson_days(ctx, rng, log_rate, ctx.age_lo, ctx.area_hi, hazard.weights)
        n = person.size
        code = np.full(n, AE_REASON.index(reason))
        incidents = incidents_of(PROC_AE, person=person, day=day, kind=code)
        return incidents, _ae_records(ctx, rng, np.arange(n), person, day, code)

    return stack(draw(reason, hazard) for reason, hazard in AE_HAZARDS.items())


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
    builds = (_serious_violence, offending, stop_and_search, _school, police_other, _ae_other)
    parts = [build(ctx) for build in builds]
    # the extra candidates of harmful support last, so that the other incidents keep their rows
    extra = extra_serious_violence_rate(ctx.config)
    if extra > 0:
        parts.append(_serious_violence(ctx, extra))
    harm = extra_incident_rate(ctx.config)
    if harm > 0:
        parts += [offending(ctx, harm), stop_and_search(ctx, harm), _school(ctx, harm)]
    return stack(parts)
