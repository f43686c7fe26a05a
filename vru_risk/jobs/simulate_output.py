"""What the simulated service leaves behind (:mod:`vru_risk.jobs.simulate`): the new extract's
tables (its support in ``interventions``, the label events it prevented removed) with the
service's counts, and the record of what it did, person by person, beside the extract; for a
lottery, each participant's potential outcomes (``lottery_outcomes.parquet``), so the true
intention-to-treat effect of the realised draw is known.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa

from vru_risk.data.load import DataFolder
from vru_risk.data.synthetic.rewrite import contract_table, read_table
from vru_risk.data.synthetic.writer import atomic_folders, write_json
from vru_risk.features.config import LabelConfig
from vru_risk.flags.ledger import write_flags
from vru_risk.flags.lottery import draws_frame
from vru_risk.flags.programmes import Programmes
from vru_risk.simulation.config import ServiceConfig
from vru_risk.simulation.consequence import interventions_with, prevented_by, without_prevented
from vru_risk.simulation.lottery_truth import LOTTERY_OUTCOMES_FILE, lottery_outcomes
from vru_risk.simulation.service import ServiceRun, intervention_name, moments_after_prevented

#: the service's flags in its record folder (``vru flags generate --issued`` continues from them)
FLAGS_FILE = "flags.jsonl"


def consequence(
    data_dir: Path,
    run: ServiceRun,
    potential: pd.DataFrame,
    effect: float,
    folder: DataFolder,
    *,
    multipliers: Mapping[str, float] | None = None,
) -> tuple[dict[str, Any], dict[str, pa.Table], pd.DataFrame]:
    """The new tables, the prevented involvements and the service's counts (each programme's
    support preventing by its true multiplier in ``multipliers``, else ``1 - effect``)."""
    gone = prevented_by(potential, run.support, effect=effect, multipliers=multipliers)
    police, ae, police_removed, ae_removed = without_prevented(
        read_table(data_dir, "police_contacts"), read_table(data_dir, "ae_visits"), potential, gone
    )
    existing = read_table(data_dir, "interventions")
    merged = interventions_with(existing, run.support, extract_date=folder.extract_date)
    tables = {
        "interventions": contract_table("interventions", merged),
        "police_contacts": contract_table("police_contacts", police),
        "ae_visits": contract_table("ae_visits", ae),
    }
    prevented = potential[gone].reset_index(drop=True)
    decisions = run.decisions
    kinds = (
        decisions["decision"].fillna("undecided") if len(decisions) else pd.Series([], dtype=str)
    )
    summary: dict[str, Any] = {
        "months": list(run.months),
        "moments": run.moments,
        "flags": len(run.flags),
        "offers": len(decisions),
        "decisions": {k: int(v) for k, v in kinds.value_counts().sort_index().items()},
        "taken_up": int(decisions["took_up"].sum()) if len(decisions) else 0,
        "already_in_programme": int(decisions["already_in_programme"].sum())
        if len(decisions)
        else 0,
        "support_started": len(run.support),
        "interventions_added": len(merged) - len(existing),
        "prevented_involvements": len(prevented),
        "police_contacts_removed": police_removed,
        "ae_visits_removed": ae_removed,
        "offers_after_a_prevented_record": moments_after_prevented(
            decisions[["person_id", "as_of"]] if len(decisions) else decisions, prevented
        ),
    }
    return summary, tables, prevented


def lottery_truth(
    run: ServiceRun,
    potential: pd.DataFrame,
    programmes: Programmes,
    config: ServiceConfig,
    label: LabelConfig,
    *,
    multipliers: Mapping[str, float],
    effect: float,
) -> pd.DataFrame | None:
    """Each lottery participant's potential outcomes (:mod:`vru_risk.simulation.lottery_truth`),
    or None when no programme drew."""
    if not run.draws:
        return None
    return lottery_outcomes(
        draws_frame(run.draws),
        run.support,
        potential,
        names={p.id: intervention_name(p) for p in programmes.programmes},
        durations={p.id: config.duration_of(p) for p in programmes.programmes},
        multipliers=multipliers,
        default=1.0 - effect,
        gap_days=label.gap_days,
        horizon_days=label.horizon_days,
    )


def write_record(
    record: Path,
    run: ServiceRun,
    prevented: pd.DataFrame,
    summary: dict[str, Any],
    *,
    lottery_outcomes: pd.DataFrame | None = None,
) -> None:
    """The record folder: decisions, support, prevented involvements, flags, summary, and the
    programmes' lottery draws (``lottery.parquet``, winners and losers) when any drew, with
    each participant's potential outcomes (``lottery_outcomes.parquet``: ``y0``, ``y1``)."""
    with atomic_folders(record) as (tmp,):
        times: list[str | None] = [
            None if pd.isna(v) else pd.Timestamp(v).isoformat()
            for v in run.decisions.get("decided_at", pd.Series([], dtype=object))
        ]
        decisions = run.decisions.assign(decided_at=pd.Series(times, dtype=object))
        decisions.to_parquet(tmp / "decisions.parquet", index=False)
        run.support.to_parquet(tmp / "support.parquet", index=False)
        write_flags(run.flags, tmp / FLAGS_FILE)
        prevented.to_parquet(tmp / "prevented.parquet", index=False)
        write_json(tmp / "summary.json", summary)
        if run.draws:
            draws_frame(run.draws).to_parquet(tmp / "lottery.parquet", index=False)
        if lottery_outcomes is not None:
            lottery_outcomes.to_parquet(tmp / LOTTERY_OUTCOMES_FILE, index=False)
