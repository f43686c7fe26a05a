"""A county's rows shaped as the tables of the data contract.

The people table comes from the population; the event tables from a chunk's records that the
VRU knows of by the extract date, sorted by their key, with repeated keys dropped (one police
contact per person, day, role and offence; one A&E arrival per person and second).

Example
-------
>>> from vru_risk.data.synthetic import SyntheticConfig
>>> from vru_risk.data.synthetic.context import county_context
>>> ctx = county_context(SyntheticConfig(people=100, years=1))
>>> people_table(ctx.pop, ctx.window, np.zeros(ctx.n, dtype=np.bool_)).num_rows
100
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from vru_risk.data.contract import (
    AE_REASON,
    ETHNICITY,
    EXCLUSION_KIND,
    EXCLUSION_REASON,
    POLICE_OFFENCE,
    POLICE_OUTCOME,
    POLICE_ROLE,
    SEN,
    SEX,
)
from vru_risk.data.synthetic.arrays import (
    bool_array,
    date_array,
    first_of_runs,
    person_ids,
    rank,
    sort_order,
    string_array,
)
from vru_risk.data.synthetic.calendar import Window, ae_refreshed_on
from vru_risk.data.synthetic.context import ChunkContext
from vru_risk.data.synthetic.model import (
    BoolArray,
    day_number,
    month_number,
    national_curriculum_year,
    school_year,
)
from vru_risk.data.synthetic.population import HOSPITALS, Population
from vru_risk.data.synthetic.store import AE, EXCLUSION, POLICE, Cols, take
from vru_risk.data.synthetic.support import PROGRAMMES
from vru_risk.data.synthetic.writer import contract_schema


def _school_ids(pop: Population, window: Window, alternative: BoolArray) -> pa.Array:
    """Each person's school at the extract date (null after Year 11 or after leaving)."""
    year = school_year(np.array([month_number(window.end)]))[0]
    ncy = national_curriculum_year(pop.academic_birth_year, year)
    secondary = np.where(alternative, pop.ap_school, pop.secondary_school)
    school = np.where(ncy <= 6, pop.primary_school, secondary)
    none = (ncy < 3) | (ncy > 11) | (pop.left_day <= window.end_day)
    ids = pa.array(pop.school_ids, type=pa.string())
    return ids.take(pa.array(np.where(none, 0, school), mask=none))


def people_table(pop: Population, window: Window, alternative: BoolArray) -> pa.Table:
    left = pop.left_day <= window.end_day
    return pa.Table.from_arrays(
        [
            pa.array(pop.person_ids, type=pa.string()),
            date_array(pop.birth_day),
            pa.array([SEX[i] for i in pop.sex], type=pa.string()),
            pa.array([ETHNICITY[i] for i in pop.ethnicity], type=pa.string()),
            pa.array([SEN[i] for i in pop.sen], type=pa.string()),
            bool_array(pop.fsm, pop.fsm_missing),
            bool_array(pop.looked_after, pop.looked_after_missing),
            pa.array(pop.imd_decile.astype(np.int32), type=pa.int32(), mask=pop.imd_missing),
            _school_ids(pop, window, alternative),
            date_array(pop.left_day, ~left),
        ],
        schema=contract_schema("people"),
    )


def _table(name: str, arrays: list[pa.Array]) -> pa.Table:
    return pa.Table.from_arrays(arrays, schema=contract_schema(name))


def exclusions_table(ctx: ChunkContext, rec: Cols) -> pa.Table:
    e = take(rec, (rec["source"] == EXCLUSION) & (rec["known"] <= ctx.window.end_day))
    e = take(e, sort_order([e["person"], e["day"]]))
    days = e["ex_days"]
    return _table(
        "exclusions",
        [
            person_ids(ctx, e["person"]),
            date_array(e["day"]),
            string_array(EXCLUSION_KIND, e["ex_kind"]),
            pa.array(days, type=pa.float64(), mask=np.isnan(days)),
            string_array(EXCLUSION_REASON, e["ex_reason"]),
            date_array(e["known"]),
        ],
    )


def police_table(ctx: ChunkContext, rec: Cols) -> tuple[pa.Table, Cols]:
    end = ctx.window.end_day
    p = take(rec, (rec["source"] == POLICE) & (rec["known"] <= end))
    keys = [
        p["person"],
        p["day"],
        rank(POLICE_ROLE)[p["role"]],
        rank(POLICE_OFFENCE)[p["offence"]],
    ]
    order = sort_order(keys)
    p = take(p, order)
    p = take(p, first_of_runs([k[order] for k in keys]))
    has_outcome = p["outcome"] >= 0
    outcome_known = np.maximum(p["outcome_day"], p["known"])
    decided = has_outcome & (outcome_known <= end)
    outcome = np.where(has_outcome & ~decided, POLICE_OUTCOME.index("unknown"), p["outcome"])
    table = _table(
        "police_contacts",
        [
            person_ids(ctx, p["person"]),
            date_array(p["day"]),
            string_array(POLICE_ROLE, p["role"]),
            string_array(POLICE_OFFENCE, p["offence"]),
            string_array(POLICE_OUTCOME, outcome),
            date_array(p["known"]),
            date_array(outcome_known, missing=~decided),
        ],
    )
    return table, p


def ae_visits_table(ctx: ChunkContext, rec: Cols) -> tuple[pa.Table, Cols]:
    a = take(
        rec,
        (rec["source"] == AE)
        & (rec["known"] <= day_number(ae_refreshed_on(ctx.window.end, ctx.config.ae_refresh_day))),
    )
    seconds = a["day"] * 86_400 + a["arrival"]
    keys = [a["person"], seconds]
    order = sort_order(keys)
    a = take(a, order)
    a = take(a, first_of_runs([k[order] for k in keys]))
    micros = (a["day"] * 86_400 + a["arrival"]) * 1_000_000
    table = _table(
        "ae_visits",
        [
            person_ids(ctx, a["person"]),
            pa.array(micros, type=pa.int64()).view(pa.timestamp("us")),
            string_array(HOSPITALS, a["hospital"]),
            string_array(AE_REASON, a["ae_reason"]),
            pa.array(a["admitted"], type=pa.bool_()),
            date_array(a["known"]),
        ],
    )
    return table, a


def interventions_table(ctx: ChunkContext, iv: Cols) -> pa.Table:
    end = ctx.window.end_day
    v = take(iv, iv["known"] <= end)
    names = tuple(p.name for p in PROGRAMMES)
    v = take(v, sort_order([v["person"], rank(names)[v["programme"]], v["start"]]))
    ongoing = v["end"] > end
    # support ends as planned (completed) unless the young person left the area first: the
    # end was then cut to the day before leaving; empty while ongoing
    completed = v["end"] < ctx.left_day[v["person"]] - 1
    return _table(
        "interventions",
        [
            person_ids(ctx, v["person"]),
            string_array(names, v["programme"]),
            date_array(v["start"]),
            date_array(v["end"], missing=ongoing),
            bool_array(completed, missing=ongoing),
            date_array(v["known"]),
        ],
    )
