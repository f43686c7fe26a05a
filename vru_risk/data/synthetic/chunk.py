"""Simulate one chunk of people end to end: its contract tables, its truth and its counts.

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

from vru_risk.data.contract import EXCLUSION_KIND
from vru_risk.data.synthetic.attendance import AttendanceStats, simulate_attendance
from vru_risk.data.synthetic.calendar import Window, ae_refreshed_on
from vru_risk.data.synthetic.config import SyntheticConfig
from vru_risk.data.synthetic.context import make_context
from vru_risk.data.synthetic.model import BoolArray, day_number
from vru_risk.data.synthetic.population import Population
from vru_risk.data.synthetic.potential import potential_table
from vru_risk.data.synthetic.processes import draw_candidates
from vru_risk.data.synthetic.store import EXCLUSION, take
from vru_risk.data.synthetic.support import run_support
from vru_risk.data.synthetic.tables import (
    ae_visits_table,
    exclusions_table,
    interventions_table,
    police_table,
)
from vru_risk.data.synthetic.truth import (
    LabelStats,
    label_events,
    risk_table,
    truth_incidents,
    truth_latent,
    truth_outcomes,
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
    exclusions = exclusions_table(ctx, rec)
    police, police_rows = police_table(ctx, rec)
    ae, ae_rows = ae_visits_table(ctx, rec)
    interventions = interventions_table(ctx, support.interventions)
    known_excl = take(excl, excl["known"] <= window.end_day)
    trig_person = np.concatenate([known_excl["person"], police_rows["person"], ae_rows["person"]])
    trig_day = np.concatenate([known_excl["known"], police_rows["known"], ae_rows["known"]])
    risk, labels = risk_table(ctx, trig_person, trig_day, label_events(police_rows, ae_rows))
    alternative = np.zeros(ctx.n, dtype=np.bool_)
    alternative[excl["person"][permanent]] = True
    truth = {
        "latent": truth_latent(ctx),
        "risk": risk,
        "outcomes": truth_outcomes(
            ctx, incidents, support.accepted, support.supported, rec, [police_rows, ae_rows]
        ),
        "incidents": truth_incidents(ctx, incidents, support.accepted, rec),
        "potential_outcomes": potential_table(
            ctx,
            incidents,
            support.accepted,
            support.supported,
            rec,
            day_number(ae_refreshed_on(window.end, config.ae_refresh_day)),
        ),
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
