"""What programme matching needs of the teachable moments in a date range, without features:
each moment's age in completed years and school, its triggers (with the hospital of an A&E
visit) and the support under way on its day.

The daily job gets the same from :func:`~vru_risk.features.moments.build_moments` for the days it
scores; training and the fairness audit read it for their test and audit windows, so that
replaying the allocation (:mod:`vru_risk.flags.allocate`) judges the places the service would
really have offered. The SQL is the daily job's (:func:`~vru_risk.features.triggers.triggers_sql`
with details, the same ``interventions`` rule).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pandas as pd

from vru_risk.data.load import DataFolder, register_sources
from vru_risk.data.portable import execute_portable
from vru_risk.features.build import build_connection
from vru_risk.features.catalog import FeatureSpec
from vru_risk.features.config import FeatureBuildConfig
from vru_risk.features.triggers import completed_years, triggers_sql

TRIGGER_COLUMNS = ["person_id", "as_of", "trigger_kind", "trigger_date", "source", "detail"]


@dataclass(frozen=True)
class MomentContext:
    """``frame``: person_id, as_of, age_completed, school_id (one row per moment);
    ``triggers``: person_id, as_of, trigger_kind, trigger_date, source, detail; ``supported``:
    person_id, day, programme."""

    frame: pd.DataFrame
    triggers: pd.DataFrame
    supported: pd.DataFrame

    def between(self, first: date, last: date) -> MomentContext:
        """The context of the moments in ``[first, last]``: what :func:`moment_context` gives
        for that range, taken from this wider one (every row belongs to one moment's day)."""

        def within(frame: pd.DataFrame, column: str) -> pd.DataFrame:
            days = frame[column]
            return frame.loc[(days >= first) & (days <= last)].reset_index(drop=True)

        return MomentContext(
            within(self.frame, "as_of"),
            within(self.triggers, "as_of"),
            within(self.supported, "day"),
        )


def moment_context(
    folder: DataFolder,
    spec: FeatureSpec,
    config: FeatureBuildConfig,
    start: date,
    end: date,
    *,
    threads: int = 2,
    memory_limit: str = "2GB",
    scratch_dir: Path | None = None,
) -> MomentContext:
    """The context of every moment known in ``[start, end]`` (see the module docstring)."""
    con = build_connection(threads, memory_limit, scratch_dir)
    try:
        available = register_sources(con, folder, spec.reporting_lag_days, knowledge_dates="known")
        trig = triggers_sql(available, config.cohort, config.attendance_trigger, details=True)
        if trig is None:
            return MomentContext(
                pd.DataFrame(columns=["person_id", "as_of", "age_completed", "school_id"]),
                pd.DataFrame(columns=TRIGGER_COLUMNS),
                pd.DataFrame(columns=["person_id", "day", "programme"]),
            )
        execute_portable(
            con,
            "CREATE OR REPLACE TEMP TABLE ctx_triggers AS SELECT * FROM "
            f"({trig}) t WHERE t.as_of BETWEEN DATE '{start.isoformat()}' "
            f"AND DATE '{end.isoformat()}'",
            "the triggers",
        )
        age = completed_years("p.birth_date", "m.as_of")
        school = "p.school_id" if "school_id" in available.get("people", ()) else "NULL"
        frame = execute_portable(
            con,
            f"SELECT m.person_id, m.as_of, CAST({age} AS INTEGER) AS age_completed, "
            f"CAST({school} AS VARCHAR) AS school_id "
            "FROM (SELECT DISTINCT person_id, as_of FROM ctx_triggers) m "
            "JOIN src_people p ON p.person_id = m.person_id ORDER BY m.as_of, m.person_id",
            "the moments",
        ).df()
        triggers = execute_portable(
            con,
            f"SELECT {', '.join(TRIGGER_COLUMNS)} FROM ctx_triggers "
            "ORDER BY person_id, trigger_date, trigger_kind",
            "the moments' triggers",
        ).df()
        if "interventions" in available:
            supported = execute_portable(
                con,
                "SELECT DISTINCT i.person_id, m.as_of AS day, "
                "CAST(i.programme AS VARCHAR) AS programme FROM src_interventions i "
                "JOIN (SELECT DISTINCT person_id, as_of FROM ctx_triggers) m "
                "ON i.person_id = m.person_id AND i.start_date <= m.as_of "
                "AND i.known_date <= m.as_of AND (i.end_date IS NULL OR i.end_date >= m.as_of) "
                "ORDER BY 1, 2, 3",
                "the support under way",
            ).df()
        else:
            supported = pd.DataFrame(columns=["person_id", "day", "programme"])
    finally:
        con.close()
    frame["as_of"] = pd.to_datetime(frame["as_of"]).dt.date
    triggers["as_of"] = pd.to_datetime(triggers["as_of"]).dt.date
    triggers["trigger_date"] = pd.to_datetime(triggers["trigger_date"]).dt.date
    supported["day"] = pd.to_datetime(supported["day"]).dt.date
    return MomentContext(frame, triggers, supported)
