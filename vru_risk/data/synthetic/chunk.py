"""Simulate one chunk of people end to end and shape its rows as contract and truth tables.

Example
-------
>>> from vru_risk.data.synthetic import SyntheticConfig
>>> from vru_risk.data.synthetic.calendar import make_window
>>> from vru_risk.data.synthetic.population import build_population
>>> from vru_risk.data.synthetic.chunk import simulate_chunk
>>> config = SyntheticConfig(people=200, years=2)
>>> window = make_window(config.end_date, config.years)
>>> out = simulate_chunk(config, window, build_population(config, window), 0, 0, 200)
>>> out.tables["exclusions"].schema.names[:3]
['person_id', 'start_date', 'kind']
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from vru_risk.data.contract import (
    AE_REASON,
    EXCLUSION_KIND,
    EXCLUSION_REASON,
    POLICE_OFFENCE,
    POLICE_OUTCOME,
    POLICE_ROLE,
    SERIOUS_VIOLENCE_OFFENCES,
)
from vru_risk.data.synthetic.attendance import AttendanceStats, simulate_attendance
from vru_risk.data.synthetic.calendar import Window, ae_refreshed_on
from vru_risk.data.synthetic.config import SyntheticConfig
from vru_risk.data.synthetic.context import MAX_AGE_YEARS, ChunkContext, make_context
from vru_risk.data.synthetic.model import (
    SV_KINDS,
    BoolArray,
    IntArray,
    day_number,
    month_of_day,
    month_start,
)
from vru_risk.data.synthetic.oracle import oracle_arrays
from vru_risk.data.synthetic.population import HOSPITALS, Population
from vru_risk.data.synthetic.processes import (
    AE,
    EXCLUSION,
    POLICE,
    PROC_OFFENDING,
    PROC_SCHOOL,
    PROC_STOP,
    PROC_SV,
    Cols,
    draw_candidates,
    take,
)
from vru_risk.data.synthetic.support import PROGRAMMES, run_support
from vru_risk.data.synthetic.writer import contract_schema

_BIG = 1 << 22
#: The label window and the longest reporting lag of the label sources (police: 60 days).
LABEL_GAP_DAYS = 7
LABEL_HORIZON_DAYS = 365
LONGEST_LABEL_LAG_DAYS = 60
SOURCES_OF_INCIDENTS = {PROC_OFFENDING: "police_suspect", PROC_SV: "police_suspect",
                        PROC_STOP: "stop_search", PROC_SCHOOL: "exclusion"}  # fmt: skip

LATENT_SCHEMA = pa.schema(
    [("person_id", pa.string()), ("month", pa.date32()), ("latent", pa.float64()),
     ("latent_mean", pa.float64())]
)  # fmt: skip
RISK_SCHEMA = pa.schema(
    [("person_id", pa.string()), ("as_of", pa.date32()), ("p_label_recorded", pa.float64()),
     ("p_involvement", pa.float64()), ("is_month_start", pa.bool_()), ("is_trigger", pa.bool_())]
)  # fmt: skip


def _rank(names: tuple[str, ...]) -> IntArray:
    return np.asarray(np.argsort(np.argsort(np.array(names))), dtype=np.int64)


@dataclass(frozen=True)
class LabelStats:
    """Realised recorded-label counts over uncensored examples (for the summary)."""

    all_examples: int = 0
    all_positive: int = 0
    triggered_examples: int = 0
    triggered_positive: int = 0
    triggered_oracle: float = 0.0

    def __add__(self, other: LabelStats) -> LabelStats:
        return LabelStats(
            self.all_examples + other.all_examples,
            self.all_positive + other.all_positive,
            self.triggered_examples + other.triggered_examples,
            self.triggered_positive + other.triggered_positive,
            self.triggered_oracle + other.triggered_oracle,
        )


@dataclass(frozen=True)
class ChunkOutput:
    """Everything one chunk contributes to the output folders."""

    attendance: pa.Table
    tables: dict[str, pa.Table]
    truth: dict[str, pa.Table]
    alternative_provision: BoolArray
    attendance_stats: AttendanceStats
    labels: LabelStats


def _ids(ctx: ChunkContext, person: IntArray) -> pa.Array:
    ids = pa.array(ctx.pop.person_ids[ctx.lo : ctx.hi], type=pa.string())
    return ids.take(pa.array(person.astype(np.int64)))


def _strings(values: tuple[str, ...], codes: IntArray) -> pa.Array:
    mask = codes < 0
    index = pa.array(np.where(mask, 0, codes).astype(np.int64), mask=mask)
    return pa.array(list(values), type=pa.string()).take(index)


def _dates(days: IntArray, mask: BoolArray | None = None) -> pa.Array:
    return pa.array(days.astype(np.int32), mask=mask).view(pa.date32())


def _table(name: str, arrays: list[pa.Array]) -> pa.Table:
    return pa.Table.from_arrays(arrays, schema=contract_schema(name))


def _sorted(keys: list[IntArray]) -> IntArray:
    """Row order by the given keys, first key most significant."""
    return np.asarray(np.lexsort(tuple(reversed(keys))), dtype=np.int64)


def _dedupe(keys: list[IntArray]) -> BoolArray:
    """For rows already sorted by ``keys``, flag the first of each run of equal keys."""
    if keys[0].size == 0:
        return np.zeros(0, dtype=np.bool_)
    same = np.ones(keys[0].size - 1, dtype=np.bool_)
    for k in keys:
        same &= k[1:] == k[:-1]
    return np.asarray(np.r_[True, ~same], dtype=np.bool_)


def _exclusions(ctx: ChunkContext, rec: Cols) -> pa.Table:
    e = take(rec, (rec["source"] == EXCLUSION) & (rec["known"] <= ctx.window.end_day))
    e = take(e, _sorted([e["person"], e["day"]]))
    days = e["ex_days"]
    return _table(
        "exclusions",
        [
            _ids(ctx, e["person"]),
            _dates(e["day"]),
            _strings(EXCLUSION_KIND, e["ex_kind"]),
            pa.array(days, type=pa.float64(), mask=np.isnan(days)),
            _strings(EXCLUSION_REASON, e["ex_reason"]),
            _dates(e["known"]),
        ],
    )


def _police(ctx: ChunkContext, rec: Cols) -> tuple[pa.Table, Cols]:
    end = ctx.window.end_day
    p = take(rec, (rec["source"] == POLICE) & (rec["known"] <= end))
    keys = [
        p["person"],
        p["day"],
        _rank(POLICE_ROLE)[p["role"]],
        _rank(POLICE_OFFENCE)[p["offence"]],
    ]
    order = _sorted(keys)
    p = take(p, order)
    p = take(p, _dedupe([k[order] for k in keys]))
    has_outcome = p["outcome"] >= 0
    outcome_known = np.maximum(p["outcome_day"], p["known"])
    decided = has_outcome & (outcome_known <= end)
    outcome = np.where(has_outcome & ~decided, POLICE_OUTCOME.index("unknown"), p["outcome"])
    table = _table(
        "police_contacts",
        [
            _ids(ctx, p["person"]),
            _dates(p["day"]),
            _strings(POLICE_ROLE, p["role"]),
            _strings(POLICE_OFFENCE, p["offence"]),
            _strings(POLICE_OUTCOME, outcome),
            _dates(p["known"]),
            _dates(np.where(decided, outcome_known, 0), mask=~decided),
        ],
    )
    return table, p


def _ae(ctx: ChunkContext, rec: Cols) -> tuple[pa.Table, Cols]:
    a = take(
        rec,
        (rec["source"] == AE)
        & (rec["known"] <= day_number(ae_refreshed_on(ctx.window.end, ctx.config.ae_refresh_day))),
    )
    seconds = a["day"] * 86_400 + a["arrival"]
    keys = [a["person"], seconds]
    order = _sorted(keys)
    a = take(a, order)
    a = take(a, _dedupe([k[order] for k in keys]))
    micros = (a["day"] * 86_400 + a["arrival"]) * 1_000_000
    table = _table(
        "ae_visits",
        [
            _ids(ctx, a["person"]),
            pa.array(micros, type=pa.int64()).view(pa.timestamp("us")),
            _strings(HOSPITALS, a["hospital"]),
            _strings(AE_REASON, a["ae_reason"]),
            pa.array(a["admitted"], type=pa.bool_()),
            _dates(a["known"]),
        ],
    )
    return table, a


def _interventions(ctx: ChunkContext, iv: Cols) -> pa.Table:
    end = ctx.window.end_day
    v = take(iv, iv["known"] <= end)
    names = tuple(p.name for p in PROGRAMMES)
    v = take(v, _sorted([v["person"], _rank(names)[v["programme"]], v["start"]]))
    ongoing = v["end"] > end
    return _table(
        "interventions",
        [
            _ids(ctx, v["person"]),
            _strings(names, v["programme"]),
            _dates(v["start"]),
            _dates(np.where(ongoing, 0, v["end"]), mask=ongoing),
            _dates(v["known"]),
        ],
    )


def _truth_latent(ctx: ChunkContext) -> pa.Table:
    n, months = ctx.z.shape
    person = np.repeat(np.arange(n), months)
    month = np.tile(ctx.window.month_starts, n)
    return pa.Table.from_arrays(
        [_ids(ctx, person), _dates(month), pa.array(ctx.z.ravel()), pa.array(ctx.mean.ravel())],
        schema=LATENT_SCHEMA,
    )


def _truth_outcomes(
    ctx: ChunkContext,
    inc: Cols,
    accepted: BoolArray,
    supported: BoolArray,
    rec: Cols,
    extract_rows: list[Cols],
) -> pa.Table:
    index = np.flatnonzero(accepted & (inc["process"] == PROC_SV))
    flags = {}
    for name, source in (("recorded_police", POLICE), ("recorded_ae", AE)):
        flag = np.zeros(accepted.size, dtype=np.bool_)
        flag[rec["incident"][rec["source"] == source]] = True
        flags[name] = flag[index]
    in_extract = np.zeros(accepted.size, dtype=np.bool_)
    for rows in extract_rows:
        in_extract[rows["incident"]] = True
    person, day, kind = inc["person"][index], inc["day"][index], inc["kind"][index]
    order = _sorted([person, day, kind])
    roles = np.array([k for k, _ in SV_KINDS])
    offences = np.array([o for _, o in SV_KINDS])
    return pa.Table.from_pydict(
        {
            "person_id": _ids(ctx, person[order]),
            "date": _dates(day[order]),
            "kind": pa.array(roles[kind[order]].tolist(), type=pa.string()),
            "offence": pa.array(offences[kind[order]].tolist(), type=pa.string()),
            "supported": pa.array(supported[index][order]),
            "in_area": pa.array((day < ctx.left_day[person])[order]),
            "recorded_police": pa.array(flags["recorded_police"][order]),
            "recorded_ae": pa.array(flags["recorded_ae"][order]),
            "recorded": pa.array((flags["recorded_police"] | flags["recorded_ae"])[order]),
            "in_extract": pa.array(in_extract[index][order]),
        }
    )


def _truth_incidents(ctx: ChunkContext, inc: Cols, accepted: BoolArray, rec: Cols) -> pa.Table:
    perp = np.array([k == "perpetrator" for k, _ in SV_KINDS])
    proc = inc["process"]
    sv_kind = np.where(proc == PROC_SV, inc["kind"], 0)
    is_perp_sv = (proc == PROC_SV) & perp[sv_kind]
    wanted = np.isin(proc, [PROC_OFFENDING, PROC_STOP, PROC_SCHOOL]) | is_perp_sv
    in_area = inc["day"] < ctx.left_day[inc["person"]]
    index = np.flatnonzero(wanted & accepted & in_area)
    recorded = np.zeros(accepted.size, dtype=np.bool_)
    police_or_excl = (rec["source"] == POLICE) | (rec["source"] == EXCLUSION)
    suspect_or_other = ~((rec["source"] == POLICE) & (rec["role"] == POLICE_ROLE.index("victim")))
    recorded[rec["incident"][police_or_excl & suspect_or_other]] = True
    names = np.array(
        [SOURCES_OF_INCIDENTS.get(p, "") for p in range(max(SOURCES_OF_INCIDENTS) + 1)]
    )
    person, day = inc["person"][index], inc["day"][index]
    source = names[proc[index]]
    order = _sorted([person, day, proc[index]])
    return pa.Table.from_pydict(
        {
            "person_id": _ids(ctx, person[order]),
            "date": _dates(day[order]),
            "source": pa.array(source[order].tolist(), type=pa.string()),
            "serious": pa.array(inc["serious"][index][order]),
            "recording_probability": pa.array(inc["record_prob"][index][order]),
            "recorded": pa.array(recorded[index][order]),
        }
    )


def _label_events(police: Cols, ae: Cols) -> tuple[IntArray, IntArray]:
    sv = np.isin(police["offence"], [POLICE_OFFENCE.index(o) for o in SERIOUS_VIOLENCE_OFFENCES])
    role = np.isin(police["role"], [POLICE_ROLE.index("suspect"), POLICE_ROLE.index("victim")])
    assault = ae["ae_reason"] == AE_REASON.index("assault")
    person = np.concatenate([police["person"][sv & role], ae["person"][assault]])
    day = np.concatenate([police["day"][sv & role], ae["day"][assault]])
    return person, day


def _risk(
    ctx: ChunkContext,
    trigger_person: IntArray,
    trigger_day: IntArray,
    labels: tuple[IntArray, IntArray],
) -> tuple[pa.Table, LabelStats]:
    w = ctx.window
    starts = w.month_starts
    n = ctx.n
    mp = np.repeat(np.arange(n), starts.size)
    md = np.tile(starts, n)
    monthly = (md >= ctx.age_lo[mp]) & (md <= ctx.age_hi[mp]) & (md < ctx.left_day[mp])
    person = np.concatenate([mp[monthly], trigger_person])
    day = np.concatenate([md[monthly], trigger_day])
    is_month = np.r_[
        np.ones(int(monthly.sum()), dtype=np.bool_), np.zeros(trigger_day.size, dtype=np.bool_)
    ]
    key = person * _BIG + (day - w.start_day)
    uniq, inverse = np.unique(key, return_inverse=True)
    month_flag = np.zeros(uniq.size, dtype=np.bool_)
    trig_flag = np.zeros(uniq.size, dtype=np.bool_)
    month_flag[inverse[is_month]] = True
    trig_flag[inverse[~is_month]] = True
    person = uniq // _BIG
    day = uniq % _BIG + w.start_day
    month_index = month_of_day(day) - w.first_month
    sl = slice(ctx.lo, ctx.hi)
    pop = ctx.pop
    p_rec, p_inv = oracle_arrays(
        day,
        ctx.z[person, month_index],
        birth_day=pop.birth_day[sl][person],
        latent_static=pop.latent_static[sl][person],
        primary_effect=pop.primary_effect[sl][person],
        secondary_effect=pop.secondary_effect[sl][person],
        sv_log_rate=pop.sv_log_rate[sl][person],
        record_prob=pop.sv_record_prob[sl][person],
        gap_days=LABEL_GAP_DAYS,
        horizon_days=LABEL_HORIZON_DAYS,
    )
    table = pa.Table.from_arrays(
        [_ids(ctx, person), _dates(day), pa.array(p_rec), pa.array(p_inv), pa.array(month_flag),
         pa.array(trig_flag)],
        schema=RISK_SCHEMA,
    )  # fmt: skip
    # realised recorded labels over uncensored examples
    lp, ld = labels
    label_keys = np.sort(lp * _BIG + (ld - w.start_day))
    lo = np.searchsorted(label_keys, uniq + LABEL_GAP_DAYS, side="right")
    hi = np.searchsorted(label_keys, uniq + LABEL_HORIZON_DAYS, side="right")
    positive = hi > lo
    window_end = day + LABEL_HORIZON_DAYS
    birth19 = month_start(pop.birth_month[sl][person] + 12 * MAX_AGE_YEARS)
    uncensored = (
        (window_end + LONGEST_LABEL_LAG_DAYS <= w.end_day)
        & (ctx.left_day[person] > window_end)
        & (birth19 > window_end)
    )
    a = uncensored & month_flag
    t = uncensored & trig_flag
    stats = LabelStats(
        all_examples=int(a.sum()),
        all_positive=int((positive & a).sum()),
        triggered_examples=int(t.sum()),
        triggered_positive=int((positive & t).sum()),
        triggered_oracle=float(p_rec[t].sum()),
    )
    return table, stats


def simulate_chunk(
    config: SyntheticConfig, window: Window, pop: Population, chunk: int, lo: int, hi: int
) -> ChunkOutput:
    """Simulate people ``lo..hi-1`` and return their rows for every output file.

    Parameters
    ----------
    config, window, pop
        The options, the window and the county's people.
    chunk
        The chunk's index (selects its random streams).
    lo, hi
        The chunk's person index range.

    Returns
    -------
    ChunkOutput
        Contract tables (sorted by key), truth tables and counts for the summary.
    """
    ctx = make_context(config, window, pop, lo, hi, chunk)
    incidents, records = draw_candidates(ctx)
    support = run_support(ctx, incidents, records)
    rec = take(records, support.record_ok)
    excl = take(rec, rec["source"] == EXCLUSION)
    permanent = excl["ex_kind"] == EXCLUSION_KIND.index("permanent")
    attendance, att_stats = simulate_attendance(
        ctx, excl["person"], excl["day"], excl["ex_days"], permanent
    )
    exclusions = _exclusions(ctx, rec)
    police, police_rows = _police(ctx, rec)
    ae, ae_rows = _ae(ctx, rec)
    interventions = _interventions(ctx, support.interventions)
    known_excl = take(excl, excl["known"] <= window.end_day)
    trig_person = np.concatenate([known_excl["person"], police_rows["person"], ae_rows["person"]])
    trig_day = np.concatenate([known_excl["known"], police_rows["known"], ae_rows["known"]])
    risk, labels = _risk(ctx, trig_person, trig_day, _label_events(police_rows, ae_rows))
    alternative = np.zeros(ctx.n, dtype=np.bool_)
    alternative[excl["person"][permanent]] = True
    truth = {
        "latent": _truth_latent(ctx),
        "risk": risk,
        "outcomes": _truth_outcomes(
            ctx, incidents, support.accepted, support.supported, rec, [police_rows, ae_rows]
        ),
        "incidents": _truth_incidents(ctx, incidents, support.accepted, rec),
    }
    return ChunkOutput(
        attendance=attendance,
        tables={
            "exclusions": exclusions,
            "police_contacts": police,
            "ae_visits": ae,
            "interventions": interventions,
        },
        truth=truth,
        alternative_provision=alternative,
        attendance_stats=att_stats,
        labels=labels,
    )
