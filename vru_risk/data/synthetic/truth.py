"""A chunk's truth, kept apart from the data: latent paths, true risk, outcomes and incidents.

* ``latent``: each person's latent state and its mean, month by month;
* ``risk``: the oracle's probabilities (:mod:`~vru_risk.data.synthetic.oracle`) at the first of
  each month and at each trigger's known date;
* ``outcomes``: every serious-violence incident, whether support prevented it and who recorded
  it; ``incidents``: the incidents behind police (suspect) and school records, with their
  recording probability; ``people`` (from the population): every latent attribute.

The realised recorded-label counts (:class:`LabelStats`) feed the summary's headline rates.

Example
-------
>>> (LabelStats(1, 1) + LabelStats(2, 0)).all_examples
3
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from vru_risk.data.contract import (
    AE_REASON,
    ETHNICITY,
    POLICE_OFFENCE,
    POLICE_ROLE,
    SEN,
    SERIOUS_VIOLENCE_OFFENCES,
    SEX,
)
from vru_risk.data.synthetic.arrays import bool_array, date_array, person_ids, sort_order
from vru_risk.data.synthetic.calendar import Window
from vru_risk.data.synthetic.context import MAX_AGE_YEARS, ChunkContext
from vru_risk.data.synthetic.model import SV_KINDS, BoolArray, IntArray, month_of_day, month_start
from vru_risk.data.synthetic.oracle import oracle_arrays
from vru_risk.data.synthetic.population import HOSPITALS, Population
from vru_risk.data.synthetic.store import (
    AE,
    EXCLUSION,
    POLICE,
    PROC_OFFENDING,
    PROC_SCHOOL,
    PROC_STOP,
    PROC_SV,
    Cols,
)

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


def truth_people(pop: Population, window: Window) -> pa.Table:
    left = pop.left_day <= window.end_day
    ids = pa.array(pop.school_ids, type=pa.string())
    return pa.table(
        {
            "person_id": pa.array(pop.person_ids, type=pa.string()),
            "birth_date": date_array(pop.birth_day),
            "sex": pa.array([SEX[i] for i in pop.sex], type=pa.string()),
            "ethnicity": pa.array([ETHNICITY[i] for i in pop.ethnicity], type=pa.string()),
            "sen": pa.array([SEN[i] for i in pop.sen], type=pa.string()),
            "fsm": bool_array(pop.fsm),
            "looked_after": bool_array(pop.looked_after),
            "imd_decile": pa.array(pop.imd_decile.astype(np.int32)),
            "fsm_recorded": bool_array(~pop.fsm_missing),
            "looked_after_recorded": bool_array(~pop.looked_after_missing),
            "imd_recorded": bool_array(~pop.imd_missing),
            "neighbourhood": pa.array(
                [f"N{i + 1:05d}" for i in pop.neighbourhood], type=pa.string()
            ),
            "deprivation": pa.array(pop.deprivation),
            "family_adversity": pa.array(pop.adversity),
            "peer_group": pa.array([f"G{i + 1:05d}" for i in pop.peer_group], type=pa.string()),
            "peer_effect": pa.array(pop.peer_effect),
            "primary_school_id": ids.take(pa.array(pop.primary_school)),
            "secondary_school_id": ids.take(pa.array(pop.secondary_school)),
            "primary_school_effect": pa.array(pop.primary_effect),
            "secondary_school_effect": pa.array(pop.secondary_effect),
            "primary_attendance_effect": pa.array(pop.attendance_primary),
            "secondary_attendance_effect": pa.array(pop.attendance_secondary),
            "absence_effect": pa.array(pop.absence_effect),
            "usual_hospital": pa.array([HOSPITALS[i] for i in pop.hospital], type=pa.string()),
            "latent_static": pa.array(pop.latent_static),
            "sv_log_rate": pa.array(pop.sv_log_rate),
            "sv_record_prob": pa.array(pop.sv_record_prob),
            "police_suspect_recording": pa.array(pop.police_suspect_prob),
            "stop_search_recording": pa.array(pop.stop_search_prob),
            "exclusion_recording": pa.array(pop.exclusion_prob),
            "left_area_date": date_array(pop.left_day, ~left),
        }
    )


def truth_latent(ctx: ChunkContext) -> pa.Table:
    n, months = ctx.z.shape
    person = np.repeat(np.arange(n), months)
    month = np.tile(ctx.window.month_starts, n)
    return pa.Table.from_arrays(
        [
            person_ids(ctx, person),
            date_array(month),
            pa.array(ctx.z.ravel()),
            pa.array(ctx.mean.ravel()),
        ],
        schema=LATENT_SCHEMA,
    )


def truth_outcomes(
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
    order = sort_order([person, day, kind])
    roles = np.array([k for k, _ in SV_KINDS])
    offences = np.array([o for _, o in SV_KINDS])
    return pa.Table.from_pydict(
        {
            "person_id": person_ids(ctx, person[order]),
            "date": date_array(day[order]),
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


def truth_incidents(ctx: ChunkContext, inc: Cols, accepted: BoolArray, rec: Cols) -> pa.Table:
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
    order = sort_order([person, day, proc[index]])
    return pa.Table.from_pydict(
        {
            "person_id": person_ids(ctx, person[order]),
            "date": date_array(day[order]),
            "source": pa.array(source[order].tolist(), type=pa.string()),
            "serious": pa.array(inc["serious"][index][order]),
            "recording_probability": pa.array(inc["record_prob"][index][order]),
            "recorded": pa.array(recorded[index][order]),
        }
    )


def label_events(police: Cols, ae: Cols) -> tuple[IntArray, IntArray]:
    sv = np.isin(police["offence"], [POLICE_OFFENCE.index(o) for o in SERIOUS_VIOLENCE_OFFENCES])
    role = np.isin(police["role"], [POLICE_ROLE.index("suspect"), POLICE_ROLE.index("victim")])
    assault = ae["ae_reason"] == AE_REASON.index("assault")
    person = np.concatenate([police["person"][sv & role], ae["person"][assault]])
    day = np.concatenate([police["day"][sv & role], ae["day"][assault]])
    return person, day


def risk_table(
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
        [
            person_ids(ctx, person),
            date_array(day),
            pa.array(p_rec),
            pa.array(p_inv),
            pa.array(month_flag),
            pa.array(trig_flag),
        ],
        schema=RISK_SCHEMA,
    )
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
