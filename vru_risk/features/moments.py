"""The teachable moments known on given days, with their features: the daily scoring job's input.

:func:`build_moments` builds, for the triggers known on each of ``days`` (as-of = the trigger's
*known* date), the same features the model was trained on (the build config travels with the
model), plus what programme matching needs: each trigger's kind, source, date and detail (the
hospital of an A&E visit), each young person's age in completed years and school, the
programmes already supporting them on each day (``interventions``, treatment, never a feature)
and the date each source was last refreshed (the data manifest).
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pandas as pd

from vru_risk.data.contract import EVENT_TABLES
from vru_risk.data.engine import DuckDBEngine, Engine
from vru_risk.data.load import DataFolder
from vru_risk.features.build import ID_COLUMNS, build_connection, build_relation
from vru_risk.features.catalog import FeatureSpec
from vru_risk.features.config import FeatureBuildConfig
from vru_risk.features.triggers import completed_years, triggers_sql

MOMENT_COLUMNS = (*ID_COLUMNS, "age_completed", "school_id")


class MomentsError(ValueError):
    """A day that cannot be scored (after the extract, or before any data)."""


@dataclass(frozen=True)
class Moments:
    """Everything the flag builder needs about some days' teachable moments."""

    days: tuple[date, ...]
    extract_date: date
    #: one row per moment: the id columns, ``age_completed``, ``school_id``, then the features
    frame: pd.DataFrame
    #: person_id, as_of, trigger_kind, trigger_date, source, detail
    triggers: pd.DataFrame
    #: person_id, day, programme: support under way on ``day`` (known by then)
    supported: pd.DataFrame
    #: per feature source: the date the manifest says it was last refreshed (None: not stated)
    refreshed: dict[str, date | None]
    sources_unavailable: tuple[str, ...]

    def features(self, spec: FeatureSpec) -> pd.DataFrame:
        """The model inputs in the spec's order, as float64."""
        return self.frame[list(spec.names)].astype("float64")


def build_moments(
    folder: DataFolder,
    spec: FeatureSpec,
    config: FeatureBuildConfig,
    days: Sequence[date],
    *,
    threads: int = 2,
    memory_limit: str = "2GB",
    scratch_dir: Path | None = None,
    engine: Engine | None = None,
) -> Moments:
    """The moments known on ``days`` with their features (see the module docstring).

    ``engine`` runs the queries (a :class:`~vru_risk.data.engine.SparkEngine`; the caller
    closes it); by default a DuckDB connection held to ``threads`` and ``memory_limit``.
    """
    wanted = tuple(sorted(set(days)))
    if not wanted:
        raise MomentsError("no day to score was given")
    late = [d for d in wanted if d > folder.extract_date]
    if late:
        raise MomentsError(
            f"{late[0]} is after the data's extract date {folder.extract_date}: nothing can be "
            "known then; score days on or before the extract date"
        )
    own = engine is None
    con = engine or DuckDBEngine(build_connection(threads, memory_limit, scratch_dir))
    try:
        table, unavailable, _ = build_relation(
            con, folder, spec, config, use_triggers=True, as_of_dates=wanted
        )
        age = completed_years("p.birth_date", "f.as_of")
        school = "p.school_id" if "school_id" in folder.columns.get("people", ()) else "NULL"
        features = ", ".join(f'f."{n}"' for n in spec.names)
        ids = ", ".join(f"f.{c}" for c in ID_COLUMNS)
        frame = con.to_pandas(
            f"SELECT {ids}, CAST({age} AS INTEGER) AS age_completed, "
            f"CAST({school} AS VARCHAR) AS school_id, {features} "
            f"FROM {table} f JOIN src_people p ON p.person_id = f.person_id "
            "ORDER BY f.as_of, f.person_id",
            "the moments",
        )
        available = {name: folder.columns[name] for name in folder.files}
        trig = triggers_sql(available, config.cohort, config.attendance_trigger, details=True)
        if trig is None:
            triggers = pd.DataFrame(
                columns=["person_id", "as_of", "trigger_kind", "trigger_date", "source", "detail"]
            )
        else:
            triggers = con.to_pandas(
                "SELECT t.person_id, t.as_of, t.trigger_kind, t.trigger_date, t.source, t.detail "
                f"FROM ({trig}) t SEMI JOIN {table} f "
                "ON f.person_id = t.person_id AND f.as_of = t.as_of "
                "ORDER BY t.person_id, t.trigger_date, t.trigger_kind",
                "the moments' triggers",
            )
        if "interventions" in folder.files:
            listed = ", ".join(f"(DATE '{d.isoformat()}')" for d in wanted)
            supported = con.to_pandas(
                "SELECT DISTINCT i.person_id, d.day, CAST(i.programme AS VARCHAR) AS programme "
                f"FROM src_interventions i JOIN (VALUES {listed}) d(day) "
                "ON i.start_date <= d.day AND i.known_date <= d.day "
                "AND (i.end_date IS NULL OR i.end_date >= d.day) "
                f"WHERE i.person_id IN (SELECT person_id FROM {table}) ORDER BY 1, 2, 3",
                "the support under way",
            )
            supported["day"] = pd.to_datetime(supported["day"]).dt.date
        else:
            supported = pd.DataFrame(columns=["person_id", "day", "programme"])
    finally:
        if own:
            assert isinstance(con, DuckDBEngine)
            con.con.close()
    frame["as_of"] = pd.to_datetime(frame["as_of"]).dt.date
    triggers["as_of"] = pd.to_datetime(triggers["as_of"]).dt.date
    triggers["trigger_date"] = pd.to_datetime(triggers["trigger_date"]).dt.date
    refreshed: dict[str, date | None] = {
        t: folder.refreshed.get(t) for t in EVENT_TABLES if t != "interventions"
    }
    return Moments(
        days=wanted,
        extract_date=folder.extract_date,
        frame=frame,
        triggers=triggers,
        supported=supported,
        refreshed=refreshed,
        sources_unavailable=unavailable,
    )


MOMENTS_FILES = ("moments.parquet", "triggers.parquet", "supported.parquet", "moments.json")


def save_moments(moments: Moments, directory: Path) -> None:
    """Materialise the day's moments for on-demand scoring (the server reads, never rebuilds).

    Written to a temporary folder beside ``directory`` and renamed into place, so a reader never
    sees half a set.
    """
    directory.parent.mkdir(parents=True, exist_ok=True)
    tmp = directory.with_name(f".{directory.name}.tmp")
    if tmp.exists():
        shutil.rmtree(tmp)
    tmp.mkdir()
    moments.frame.to_parquet(tmp / "moments.parquet", index=False)
    moments.triggers.to_parquet(tmp / "triggers.parquet", index=False)
    moments.supported.to_parquet(tmp / "supported.parquet", index=False)
    meta = {
        "days": [d.isoformat() for d in moments.days],
        "extract_date": moments.extract_date.isoformat(),
        "refreshed": {
            k: None if v is None else v.isoformat() for k, v in moments.refreshed.items()
        },
        "sources_unavailable": list(moments.sources_unavailable),
    }
    (tmp / "moments.json").write_text(json.dumps(meta, indent=1), encoding="utf-8")
    if directory.exists():
        shutil.rmtree(directory)
    tmp.replace(directory)


def load_moments(directory: Path) -> Moments:
    """Read moments written by :func:`save_moments` (raises MomentsError naming what is wrong)."""
    missing = [name for name in MOMENTS_FILES if not (directory / name).is_file()]
    if missing:
        raise MomentsError(
            f"{directory} holds no materialised moments ({', '.join(missing)} missing); run "
            "`vru flags generate` for that day first"
        )
    meta = json.loads((directory / "moments.json").read_text(encoding="utf-8"))
    frame = pd.read_parquet(directory / "moments.parquet")
    triggers = pd.read_parquet(directory / "triggers.parquet")
    supported = pd.read_parquet(directory / "supported.parquet")
    for table, cols in ((frame, ("as_of",)), (triggers, ("as_of", "trigger_date"))):
        for col in cols:
            table[col] = pd.to_datetime(table[col]).dt.date
    supported["day"] = pd.to_datetime(supported["day"]).dt.date
    return Moments(
        days=tuple(date.fromisoformat(d) for d in meta["days"]),
        extract_date=date.fromisoformat(meta["extract_date"]),
        frame=frame,
        triggers=triggers,
        supported=supported,
        refreshed={
            k: None if v is None else date.fromisoformat(v) for k, v in meta["refreshed"].items()
        },
        sources_unavailable=tuple(meta["sources_unavailable"]),
    )
