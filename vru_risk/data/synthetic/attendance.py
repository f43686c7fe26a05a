"""Registration sessions (am/pm) of pupils in Years 3–11, drawn from the latent state.

Each school day a pupil misses the day with probability
``logistic(base + secondary + latent + FSM + SEN + person + school + season + weekday)``;
some absences are half days; an absence is unauthorised with a probability that rises with the
latent state; present pupils are sometimes late. Sessions during a suspension are
``excluded`` (as are the first six days after a permanent exclusion, after which the pupil is
in alternative provision with higher absence), and Year 11 is ``not_required`` after its exams
(from 20 June). Sixth-form (Years 12–13) registers are not in the extract.

Example
-------
>>> from vru_risk.data.synthetic.attendance import STATUS
>>> STATUS["excluded"]
4
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from vru_risk.data.contract import ATTENDANCE_STATUS, SEN, SESSIONS
from vru_risk.data.synthetic.calendar import next_monday
from vru_risk.data.synthetic.context import ChunkContext
from vru_risk.data.synthetic.model import BoolArray, FloatArray, IntArray, weekday
from vru_risk.data.synthetic.rng import stream

STATUS = {name: i for i, name in enumerate(ATTENDANCE_STATUS)}
ABSENCE_BASE = -3.29
ABSENCE_SECONDARY = 0.25
ABSENCE_LATENT = 0.35
ABSENCE_FSM = 0.25
ABSENCE_SEN = {"none": 0.0, "sen_support": 0.35, "ehcp": 0.45}
ABSENCE_ALTERNATIVE_PROVISION = 0.8
#: Calendar-month effect on the odds of absence (winter illness), January first.
ABSENCE_MONTH = (0.15, 0.05, 0.0, -0.05, -0.1, -0.05, 0.1, 0.0, -0.25, 0.0, 0.05, 0.2)
#: Weekday effect, Monday first.
ABSENCE_WEEKDAY = (0.05, -0.05, -0.05, 0.0, 0.1, 0.0, 0.0)
HALF_DAY_SHARE = 0.12
UNAUTHORISED_BASE = -1.2
UNAUTHORISED_LATENT = 0.6
UNAUTHORISED_FSM = 0.4
LATE_BASE = -3.6
LATE_LATENT = 0.5
#: Sessions marked excluded after a permanent exclusion (the sixth-day rule).
PERMANENT_EXCLUDED_SESSIONS = 12
#: A pupil-year counts towards persistent absence when it has this many possible sessions.
PERSISTENT_MIN_SESSIONS = 190
PERSISTENT_THRESHOLD = 0.10

ATTENDANCE_SCHEMA = pa.schema(
    [
        ("person_id", pa.dictionary(pa.int32(), pa.string())),
        ("date", pa.date32()),
        ("session", pa.dictionary(pa.int8(), pa.string())),
        ("status", pa.dictionary(pa.int8(), pa.string())),
        ("known_date", pa.date32()),
    ]
)


@dataclass(frozen=True)
class AttendanceStats:
    """Counts for the headline absence figures (sessions and pupil-years)."""

    possible: int
    absent: int
    unauthorised: int
    on_roll: int
    pupil_years: int
    persistent: int

    def __add__(self, other: AttendanceStats) -> AttendanceStats:
        return AttendanceStats(
            self.possible + other.possible,
            self.absent + other.absent,
            self.unauthorised + other.unauthorised,
            self.on_roll + other.on_roll,
            self.pupil_years + other.pupil_years,
            self.persistent + other.persistent,
        )


def _sigmoid(x: FloatArray) -> FloatArray:
    return np.asarray(1.0 / (1.0 + np.exp(-x)), dtype=np.float64)


def simulate_attendance(
    ctx: ChunkContext,
    excl_person: IntArray,
    excl_day: IntArray,
    excl_days: FloatArray,
    excl_permanent: BoolArray,
) -> tuple[pa.Table, AttendanceStats]:
    """Draw the registers of a chunk's pupils and return them as an Arrow table.

    Parameters
    ----------
    ctx
        The chunk.
    excl_person, excl_day, excl_days, excl_permanent
        The chunk's exclusions (person index, start day, length in days, permanent or not).

    Returns
    -------
    tuple
        ``(table, stats)``: the rows known by the extract date, sorted by person, date and
        session (schema :data:`ATTENDANCE_SCHEMA`), and the counts behind the headline rates.
    """
    w = ctx.window
    rng = stream(ctx.config.seed, "attendance", ctx.chunk)
    sd = w.school_days
    n, d = ctx.n, sd.size
    attending = (sd[None, :] >= ctx.att_lo[:, None]) & (sd[None, :] <= ctx.att_hi[:, None])
    ncy = w.school_day_year[None, :] - ctx.person_int("academic_birth_year")[:, None] - 5
    secondary = ncy >= 7
    z = ctx.z[:, w.school_day_month]
    moy = (w.school_day_month + w.first_month) % 12
    perm = excl_permanent.astype(np.bool_)
    pex_day = np.full(n, np.iinfo(np.int64).max, dtype=np.int64)
    np.minimum.at(pex_day, excl_person[perm], excl_day[perm])
    person_effect = (
        np.log(ctx.config.absence_odds)
        + ABSENCE_FSM * ctx.person("fsm")
        + np.array([ABSENCE_SEN[s] for s in SEN])[ctx.person_int("sen")]
        + ctx.person("absence_effect")
    )
    logit = (
        ABSENCE_BASE
        + person_effect[:, None]
        + np.where(
            secondary,
            ABSENCE_SECONDARY + ctx.person("attendance_secondary")[:, None],
            ctx.person("attendance_primary")[:, None],
        )
        + ABSENCE_LATENT * z
        + np.array(ABSENCE_MONTH)[moy][None, :]
        + np.array(ABSENCE_WEEKDAY)[weekday(sd)][None, :]
        + np.where(sd[None, :] > pex_day[:, None], ABSENCE_ALTERNATIVE_PROVISION, 0.0)
    )
    absent = rng.random((n, d)) < _sigmoid(logit)
    u_half = rng.random((n, d))
    half = u_half < HALF_DAY_SHARE
    am_only = u_half < HALF_DAY_SHARE / 2
    unauth = rng.random((n, d)) < _sigmoid(
        UNAUTHORISED_BASE + UNAUTHORISED_LATENT * z + UNAUTHORISED_FSM * ctx.person("fsm")[:, None]
    )
    p_late = _sigmoid(LATE_BASE + LATE_LATENT * z)
    u_late = rng.random((n, d))
    absence_code = np.where(unauth, STATUS["unauthorised_absence"], STATUS["authorised_absence"])
    present, late = STATUS["present"], STATUS["late"]
    codes = np.empty((n, d, 2), dtype=np.int8)
    codes[:, :, 0] = np.where(
        absent & (~half | am_only), absence_code, np.where(u_late < p_late, late, present)
    )
    codes[:, :, 1] = np.where(
        absent & (~half | ~am_only), absence_code, np.where(u_late > 1 - p_late / 3, late, present)
    )
    flat = codes.reshape(n, 2 * d)
    # exclusions: suspensions of x.5 days start with the afternoon session
    if excl_person.size:
        k0 = w.school_day_rank(excl_day)
        half_start = (np.round(excl_days * 2) % 2 == 1) & ~perm
        count = np.where(perm, PERMANENT_EXCLUDED_SESSIONS, np.round(np.nan_to_num(excl_days) * 2))
        count = count.astype(np.int64)
        first = 2 * k0 + half_start
        rows = np.repeat(np.arange(excl_person.size), count)
        offset = np.arange(rows.size) - np.repeat(np.cumsum(count) - count, count)
        session = first[rows] + offset
        ok = session < 2 * d
        flat[excl_person[rows][ok], session[ok]] = STATUS["excluded"]
    y11_leave = (ncy == 11) & w.school_day_y11_leave[None, :]
    codes[y11_leave] = STATUS["not_required"]

    daily = np.where(
        secondary,
        ctx.pop.daily_returns_secondary[ctx.lo : ctx.hi, None],
        ctx.pop.daily_returns_primary[ctx.lo : ctx.hi, None],
    )
    known = np.where(daily, sd[None, :] + 1, next_monday(sd)[None, :])
    in_extract = attending & (known <= w.end_day)
    stats = _stats(ctx, codes, in_extract)
    cells = np.flatnonzero(np.repeat(in_extract.ravel(), 2))
    p = cells // (2 * d)
    k = (cells // 2) % d
    s = cells % 2
    ids = pa.array(ctx.pop.person_ids[ctx.lo : ctx.hi], type=pa.string())
    table = pa.Table.from_arrays(
        [
            pa.DictionaryArray.from_arrays(pa.array(p.astype(np.int32)), ids),
            pa.array(sd[k].astype(np.int32)).view(pa.date32()),
            pa.DictionaryArray.from_arrays(pa.array(s.astype(np.int8)), pa.array(list(SESSIONS))),
            pa.DictionaryArray.from_arrays(
                pa.array(codes.ravel()[cells]), pa.array(list(ATTENDANCE_STATUS))
            ),
            pa.array(known[p, k].astype(np.int32)).view(pa.date32()),
        ],
        schema=ATTENDANCE_SCHEMA,
    )
    return table, stats


def _stats(ctx: ChunkContext, codes: np.ndarray, in_extract: BoolArray) -> AttendanceStats:
    not_required = codes == STATUS["not_required"]
    absent_codes = (
        (codes == STATUS["authorised_absence"])
        | (codes == STATUS["unauthorised_absence"])
        | (codes == STATUS["excluded"])
    )
    mask = in_extract[:, :, None]
    possible_day = ((~not_required) & mask).sum(axis=2)
    absent_day = (absent_codes & mask).sum(axis=2)
    unauth = int(((codes == STATUS["unauthorised_absence"]) & mask).sum())
    years = ctx.window.school_day_year
    bounds = np.flatnonzero(np.r_[True, years[1:] != years[:-1]])
    possible_year = np.add.reduceat(possible_day, bounds, axis=1)
    absent_year = np.add.reduceat(absent_day, bounds, axis=1)
    counted = possible_year >= PERSISTENT_MIN_SESSIONS
    persistent = counted & (absent_year >= PERSISTENT_THRESHOLD * possible_year)
    return AttendanceStats(
        possible=int(possible_day.sum()),
        absent=int(absent_day.sum()),
        unauthorised=unauth,
        on_roll=int(2 * in_extract.sum()),
        pupil_years=int(counted.sum()),
        persistent=int(persistent.sum()),
    )
