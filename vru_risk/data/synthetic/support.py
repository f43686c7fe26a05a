"""Support programmes: referral after a trigger, and the hazard reduction while supported.

The county is simulated month by month (vectorised over the chunk's people). In month ``m``:

1. incidents of the month that support can change (serious violence, offending, street
   encounters, school incidents) happen or not by the multiplier of the support covering their
   day (:mod:`~vru_risk.data.synthetic.effects`: each programme's own multiplier, the smallest
   when several cover a day; by default every programme's is ``1 - support_effect_*``, an
   incident kept with that probability; extra involvements of a harmful programme happen only
   on its supported days);
2. the kept incidents' records become triggers; exclusion rules apply (one exclusion a day,
   at most one permanent exclusion, at most 45 suspension days a school year);
3. each trigger may open a referral to each programme it is eligible for (with
   ``referral_latent_risk`` > 0 more likely the higher the young person's latent state in the
   month the trigger became known: confounding by indication); a programme panel
   meets monthly, so support starts in the month after the trigger became known, never in the
   month being simulated. A person already referred to a programme is not referred again to it
   until that support has ended.

Example
-------
>>> from vru_risk.data.synthetic.support import PROGRAMMES
>>> [p.name for p in PROGRAMMES][:2]
['Jump Start Mentoring', 'Early Intervention Team']
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from vru_risk.data.contract import AE_REASON, EXCLUSION_KIND, MAX_SUSPENSION_DAYS, POLICE_ROLE
from vru_risk.data.synthetic.context import ChunkContext
from vru_risk.data.synthetic.effects import (
    EXTRA_CLASSES,
    covered,
    day_multipliers,
    extra_incident_rate,
    extra_serious_violence_rate,
    happens_with,
    support_threshold,
)
from vru_risk.data.synthetic.model import (
    DAYS_PER_YEAR,
    BoolArray,
    FloatArray,
    IntArray,
    month_of_day,
    month_start,
    national_curriculum_year,
    school_year,
    weekday,
)
from vru_risk.data.synthetic.population import ADMIT_AE_HOSPITALS
from vru_risk.data.synthetic.programmes import (
    ADMIT_AE,
    EARLY_INTERVENTION,
    JUMP_START,
    PROGRAMMES,
    SCHOOL_INCLUSION,
    Programme,
)
from vru_risk.data.synthetic.rng import stream
from vru_risk.data.synthetic.store import (
    AE,
    EXCLUSION,
    POLICE,
    THIN_NONE,
    THIN_SV,
    THIN_SV_EXTRA,
    Cols,
)

__all__ = [
    "ADMIT_AE",
    "EARLY_INTERVENTION",
    "JUMP_START",
    "PROGRAMMES",
    "SCHOOL_INCLUSION",
    "Programme",
    "SupportResult",
    "covered",
    "eligibility",
    "run_support",
]


#: Pupils with special educational needs are referred to School Inclusion this much more.
SCHOOL_INCLUSION_SEN_FACTOR = 2.5
#: Support starts 0–27 days after the first of the month following the trigger's known date.
START_SPREAD_DAYS = 28
#: The VRU learns of a start 0–14 days after it.
KNOWN_LAG_DAYS = 14

INTERVENTION_DEFAULTS: dict[str, tuple[type, float]] = {
    "person": (np.int64, -1),
    "programme": (np.int64, -1),
    "start": (np.int64, -1),
    "end": (np.int64, -1),
    "known": (np.int64, -1),
}


@dataclass(frozen=True)
class SupportResult:
    """What happened after support thinned the candidates.

    Attributes
    ----------
    accepted
        Per incident: it happened (was not prevented by support).
    supported
        Per incident: the person was supported on that day.
    record_ok
        Per record: it exists (its incident happened and the exclusion rules keep it).
    interventions
        Columns ``person, programme, start, end, known`` (end is the planned last day).
    """

    accepted: BoolArray
    supported: BoolArray
    record_ok: BoolArray
    interventions: Cols


def eligibility(ctx: ChunkContext, records: Cols) -> tuple[BoolArray, FloatArray]:
    """Return which programmes each record may refer to, and the referral probabilities.

    Parameters
    ----------
    ctx
        The chunk.
    records
        Candidate records.

    Returns
    -------
    tuple of numpy.ndarray
        ``(eligible, probability)``, each of shape (records, programmes).
    """
    person = records["person"]
    known = records["known"]
    source = records["source"]
    age = (known - ctx.person_int("birth_day")[person]) / DAYS_PER_YEAR
    ncy = national_curriculum_year(
        ctx.person_int("academic_birth_year")[person], school_year(month_of_day(known))
    )
    roles = [POLICE_ROLE.index(r) for r in ("suspect", "victim", "missing_person", "stop_search")]
    police_role = (source == POLICE) & np.isin(records["role"], roles)
    wd = weekday(records["day"])
    weekend = (wd >= 5) | ((wd == 4) & (records["arrival"] >= 18 * 3600))
    ae_reasons = [AE_REASON.index(r) for r in ("alcohol_drugs", "assault", "self_harm")]
    admit = (
        (source == AE)
        & np.isin(records["hospital"], ADMIT_AE_HOSPITALS)
        & weekend
        & np.isin(records["ae_reason"], ae_reasons)
    )
    by_trigger = [
        np.ones(person.size, dtype=np.bool_),
        police_role | (source == EXCLUSION),
        (source == EXCLUSION) & (ncy >= 7) & (ncy <= 11),
        admit,
    ]
    eligible = np.zeros((person.size, len(PROGRAMMES)), dtype=np.bool_)
    prob = np.zeros((person.size, len(PROGRAMMES)), dtype=np.float64)
    sen = ctx.person_int("sen")[person] != 0
    indication = referral_indication(ctx, person, known)
    for g, programme in enumerate(PROGRAMMES):
        eligible[:, g] = by_trigger[g] & (age >= programme.min_age) & (age < programme.max_age)
        p = programme.probability * ctx.config.referral_scale
        factor = np.where(sen, SCHOOL_INCLUSION_SEN_FACTOR, 1.0) if g == SCHOOL_INCLUSION else 1.0
        prob[:, g] = np.minimum(1.0, p * factor * indication)
    return eligible, prob


def referral_indication(ctx: ChunkContext, person: IntArray, known: IntArray) -> FloatArray:
    """Per trigger: ``exp(referral_latent_risk × z)``, ``z`` the person's latent state in the
    month the trigger became known (the window's last month for one known after it); exactly 1
    when ``referral_latent_risk`` is 0, so the default county is unchanged."""
    beta = ctx.config.referral_latent_risk
    if beta == 0:
        return np.ones(person.size, dtype=np.float64)
    month = np.clip(month_of_day(known) - ctx.window.first_month, 0, ctx.window.n_months - 1)
    return np.asarray(np.exp(beta * ctx.z[person, month]), dtype=np.float64)


def _first_of_runs(values: IntArray) -> BoolArray:
    """Flag the first element of each run of equal values."""
    flag = np.ones(values.size, dtype=np.bool_)
    flag[1:] = values[1:] != values[:-1]
    return flag


def _exclusion_drops(
    ctx: ChunkContext, records: Cols, ex: IntArray, pex_done: BoolArray, used: FloatArray
) -> IntArray:
    """Apply the exclusion rules to one month's exclusion records; return the dropped ones."""
    if ex.size == 0:
        return ex
    person = records["person"][ex]
    day = records["day"][ex]
    order = np.lexsort((day, person))
    ex, person, day = ex[order], person[order], day[order]
    same_day = np.zeros(ex.size, dtype=np.bool_)
    same_day[1:] = (person[1:] == person[:-1]) & (day[1:] == day[:-1])
    permanent = records["ex_kind"][ex] == EXCLUSION_KIND.index("permanent")
    drop = same_day.copy()
    # at most one permanent exclusion per person, ever
    perm_idx = np.flatnonzero(permanent & ~drop)
    first = _first_of_runs(person[perm_idx])
    bad = perm_idx[~first | pex_done[person[perm_idx]]]
    drop[bad] = True
    pex_done[person[perm_idx[first]]] = True
    # suspensions beyond 45 days in a school year are not given
    susp = np.flatnonzero(~permanent & ~drop)
    if susp.size:
        year = school_year(month_of_day(day[susp])) - ctx.window.school_years[0]
        days = records["ex_days"][ex[susp]]
        p = person[susp]
        group = p * 64 + year
        starts = _first_of_runs(group)
        csum = np.cumsum(days)
        base = np.maximum.accumulate(np.where(starts, csum - days, 0.0))
        total = used[p, year] + csum - base
        over = total > MAX_SUSPENSION_DAYS
        drop[susp[over]] = True
        np.add.at(used, (p[~over], year[~over]), days[~over])
    return ex[drop]


def run_support(ctx: ChunkContext, incidents: Cols, records: Cols) -> SupportResult:
    """Simulate referrals and support month by month, thinning the prevented incidents.

    Parameters
    ----------
    ctx
        The chunk.
    incidents, records
        The candidates from :func:`~vru_risk.data.synthetic.processes.draw_candidates`.

    Returns
    -------
    SupportResult
        Which incidents happened, which records exist, and the interventions.
    """
    config = ctx.config
    rng = stream(config.seed, "support", ctx.chunk)
    n_rec = records["person"].size
    eligible, prob = eligibility(ctx, records)
    u_refer = rng.random((n_rec, len(PROGRAMMES)))
    start_offset = rng.integers(0, START_SPREAD_DAYS, n_rec)
    duration = np.stack(
        [rng.integers(p.duration_days[0], p.duration_days[1] + 1, n_rec) for p in PROGRAMMES],
        axis=1,
    ).reshape(n_rec, len(PROGRAMMES))
    known_lag = rng.integers(0, KNOWN_LAG_DAYS + 1, n_rec)

    months = ctx.window.n_months
    inc_month = month_of_day(incidents["day"]) - ctx.window.first_month
    rec_month = inc_month[records["incident"]]
    inc_order = np.argsort(inc_month, kind="stable")
    rec_order = np.argsort(rec_month, kind="stable")
    ib = np.searchsorted(inc_month[inc_order], np.arange(months + 1))
    rb = np.searchsorted(rec_month[rec_order], np.arange(months + 1))

    n_inc = incidents["person"].size
    accepted = ~np.isin(incidents["thin"], EXTRA_CLASSES)
    supported = np.zeros(n_inc, dtype=np.bool_)
    record_ok = np.zeros(n_rec, dtype=np.bool_)
    last_end = np.full((ctx.n, len(PROGRAMMES)), -1, dtype=np.int64)
    pex_done = np.zeros(ctx.n, dtype=np.bool_)
    used = np.zeros((ctx.n, len(ctx.window.school_years)), dtype=np.float64)
    left = ctx.left_day
    parts: list[tuple[IntArray, IntArray, IntArray, IntArray, IntArray]] = []
    iv_p = iv_g = iv_s = iv_e = np.zeros(0, dtype=np.int64)
    mult = np.array(config.effect_multipliers(), dtype=np.float64).reshape(len(PROGRAMMES), 2)
    threshold = support_threshold(
        incidents["thin"],
        incidents["u_thin"],
        top=1.0 + extra_serious_violence_rate(config),
        top_incidents=1.0 + extra_incident_rate(config),
    )

    for m in range(months):
        ii = inc_order[ib[m] : ib[m + 1]]
        th = ii[incidents["thin"][ii] != THIN_NONE]
        if iv_p.size and th.size:
            intervals = (iv_p, iv_g, iv_s, iv_e)
            person, day, thin = incidents["person"][th], incidents["day"][th], incidents["thin"][th]
            sv = np.isin(thin, (THIN_SV, THIN_SV_EXTRA))
            factor = np.where(
                sv,
                day_multipliers(intervals, mult[:, 0], person, day),
                day_multipliers(intervals, mult[:, 1], person, day),
            )
            supported[th] = np.isfinite(factor)
            accepted[th] = happens_with(thin, threshold[th], factor)
        rr = rec_order[rb[m] : rb[m + 1]]
        ok = accepted[records["incident"][rr]]
        record_ok[rr] = ok
        ex = rr[ok & (records["source"][rr] == EXCLUSION)]
        record_ok[_exclusion_drops(ctx, records, ex, pex_done, used)] = False
        trig = rr[record_ok[rr]]
        new = False
        for g in range(len(PROGRAMMES)):
            c = trig[eligible[trig, g] & (u_refer[trig, g] < prob[trig, g])]
            if c.size == 0:
                continue
            p, k = records["person"][c], records["known"][c]
            order = np.lexsort((k, p))
            c, p, k = c[order], p[order], k[order]
            first = _first_of_runs(p) & (last_end[p, g] < k)
            c, p, k = c[first], p[first], k[first]
            start = month_start(month_of_day(k) + 1) + start_offset[c]
            end = np.minimum(start + duration[c, g] - 1, left[p] - 1)
            live = start < left[p]
            c, p, start, end = c[live], p[live], start[live], end[live]
            last_end[p, g] = end
            parts.append((p, np.full(p.size, g), start, end, start + known_lag[c]))
            new = new or p.size > 0
        if new:
            iv_p = np.concatenate([x[0] for x in parts])
            iv_g = np.concatenate([x[1] for x in parts])
            iv_s = np.concatenate([x[2] for x in parts])
            iv_e = np.concatenate([x[3] for x in parts])

    if parts:
        cols = [np.concatenate([x[i] for x in parts]) for i in range(5)]
    else:
        cols = [np.zeros(0, dtype=np.int64) for _ in range(5)]
    interventions: Cols = dict(
        zip(("person", "programme", "start", "end", "known"), cols, strict=True)
    )
    return SupportResult(accepted, supported, record_ok, interventions)
