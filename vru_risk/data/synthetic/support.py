"""Support programmes: referral after a trigger, and the hazard reduction while supported.

The county is simulated month by month (vectorised over the chunk's people). In month ``m``:

1. incidents of the month that support can prevent (serious violence, offending, street
   encounters, school incidents) are kept with probability ``1 - effect`` when the person is
   supported on that day (thinning of a Poisson process: the hazard is multiplied by
   ``1 - effect``);
2. the kept incidents' records become triggers; exclusion rules apply (one exclusion a day,
   at most one permanent exclusion, at most 45 suspension days a school year);
3. each trigger may open a referral to each programme it is eligible for; a programme panel
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
from vru_risk.data.synthetic.rng import stream
from vru_risk.data.synthetic.store import (
    AE,
    EXCLUSION,
    POLICE,
    THIN_NONE,
    THIN_SV,
    Cols,
)


@dataclass(frozen=True)
class Programme:
    """A programme: who it takes (ages in years, inclusive-exclusive) and for how long."""

    name: str
    min_age: float
    max_age: float
    probability: float
    duration_days: tuple[int, int]


PROGRAMMES = (
    Programme("Jump Start Mentoring", 8, 19, 0.012, (120, 240)),
    Programme("Early Intervention Team", 10, 18, 0.03, (60, 180)),
    Programme("School Inclusion Project", 0, 99, 0.01, (60, 120)),
    Programme("Admit A&E", 8, 19, 0.5, (28, 56)),
)
JUMP_START, EARLY_INTERVENTION, SCHOOL_INCLUSION, ADMIT_AE = range(4)
#: Pupils with special educational needs are referred to School Inclusion this much more.
SCHOOL_INCLUSION_SEN_FACTOR = 2.5
#: Support starts 0–27 days after the first of the month following the trigger's known date.
START_SPREAD_DAYS = 28
#: The VRU learns of a start 0–14 days after it.
KNOWN_LAG_DAYS = 14
_BIG = 1 << 22

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
    for g, programme in enumerate(PROGRAMMES):
        eligible[:, g] = by_trigger[g] & (age >= programme.min_age) & (age < programme.max_age)
        p = programme.probability * ctx.config.referral_scale
        factor = np.where(sen, SCHOOL_INCLUSION_SEN_FACTOR, 1.0) if g == SCHOOL_INCLUSION else 1.0
        prob[:, g] = np.minimum(1.0, p * factor)
    return eligible, prob


def covered(
    iv_person: IntArray, iv_start: IntArray, iv_end: IntArray, person: IntArray, day: IntArray
) -> BoolArray:
    """Return whether each (person, day) falls inside one of the person's support intervals."""
    if iv_person.size == 0 or person.size == 0:
        return np.zeros(person.size, dtype=np.bool_)
    order = np.lexsort((iv_start, iv_person))
    p_sorted = iv_person[order]
    keys = p_sorted * _BIG + iv_start[order]
    reach = np.maximum.accumulate(p_sorted * _BIG + iv_end[order])
    pos = np.searchsorted(keys, person * _BIG + day, side="right") - 1
    found = pos >= 0
    pos = np.maximum(pos, 0)
    return np.asarray(found & (p_sorted[pos] == person) & (reach[pos] - person * _BIG >= day))


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
    accepted = np.ones(n_inc, dtype=np.bool_)
    supported = np.zeros(n_inc, dtype=np.bool_)
    record_ok = np.zeros(n_rec, dtype=np.bool_)
    last_end = np.full((ctx.n, len(PROGRAMMES)), -1, dtype=np.int64)
    pex_done = np.zeros(ctx.n, dtype=np.bool_)
    used = np.zeros((ctx.n, len(ctx.window.school_years)), dtype=np.float64)
    left = ctx.left_day
    parts: list[tuple[IntArray, IntArray, IntArray, IntArray, IntArray]] = []
    iv_p = iv_s = iv_e = np.zeros(0, dtype=np.int64)
    keep_sv = 1.0 - config.support_effect_serious_violence
    keep_inc = 1.0 - config.support_effect_incidents

    for m in range(months):
        ii = inc_order[ib[m] : ib[m + 1]]
        th = ii[incidents["thin"][ii] != THIN_NONE]
        if iv_p.size and th.size:
            cov = covered(iv_p, iv_s, iv_e, incidents["person"][th], incidents["day"][th])
            supported[th] = cov
            keep = np.where(incidents["thin"][th] == THIN_SV, keep_sv, keep_inc)
            accepted[th] = ~cov | (incidents["u_thin"][th] < keep)
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
