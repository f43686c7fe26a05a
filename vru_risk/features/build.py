"""Build the as-of feature table: examples, features, labels, in one DuckDB session.

One row per (person_id, as_of) example (:mod:`vru_risk.features.triggers`). Every source's
features come from its compiled query (:mod:`vru_risk.features.compile`); a missing source gives
NULL (NaN) features and is listed in ``sources_unavailable``, never zeros. Labels come from
:mod:`vru_risk.features.labels` and are kept in separate ``label_*`` columns. The table is
written to Parquet atomically with the spec hash, the data fingerprint and the rest of its
provenance in its metadata (the keys: :mod:`vru_risk.features.table_metadata`), or returned as a
DataFrame for small builds.

Example
-------
>>> ID_COLUMNS[:2], LABEL_PREFIX
(('person_id', 'as_of'), 'label_serious_violence')
"""

from __future__ import annotations

import time
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Literal

import duckdb
import pandas as pd

from vru_risk.data.contract import EVENT_TABLES
from vru_risk.data.engine import DuckDBEngine, Engine, as_engine
from vru_risk.data.load import DataFolder, register_sources
from vru_risk.data.sql import connect, quote_ident, quote_literal
from vru_risk.features import table_metadata
from vru_risk.features.catalog import CatalogError, FeatureSpec
from vru_risk.features.compile import compile_features
from vru_risk.features.config import FeatureBuildConfig
from vru_risk.features.labels import (
    censoring_sql,
    label_event_filters,
    label_sources_unavailable,
    labels_sql,
    recorded_events_sql,
)
from vru_risk.features.proxies import guardrail_problems
from vru_risk.features.triggers import examples_sql

Progress = Callable[[str, int, int], None]

ID_COLUMNS = ("person_id", "as_of", "trigger_kinds", "n_triggers", "sources_unavailable")
LABEL_PREFIX = "label_serious_violence"


@dataclass(frozen=True)
class BuildSummary:
    """What a build produced."""

    out: Path | None
    rows: int
    columns: int
    people: int
    positives: int
    censored: int
    label_rate: float
    spec_hash: str
    data_fingerprint: str
    sources_unavailable: tuple[str, ...]
    label_sources_unavailable: tuple[str, ...]
    label_lag_days: int
    seconds: float


def check_spec_against_data(spec: FeatureSpec, available: Mapping[str, Collection[str]]) -> None:
    """Refuse a spec that uses a field the data cannot date (e.g. outcome without its date)."""
    present = {t: list(c) for t, c in available.items()}
    problems = guardrail_problems(
        (f.definition for f in spec.features if f.source in available),
        spec.proxies,
        available_columns=present,
    )
    if problems:
        raise CatalogError(problems, origin="feature spec for this data")


def build_connection(
    threads: int, memory_limit: str, scratch_dir: Path | None
) -> duckdb.DuckDBPyConnection:
    """The DuckDB connection of a feature build (rows in any order; spills to ``scratch_dir``)."""
    return connect(
        threads=threads,
        memory_limit=memory_limit,
        temp_directory=scratch_dir,
        preserve_insertion_order=False,
    )


def label_lag_days(
    con: duckdb.DuckDBPyConnection | Engine,
    available: Mapping[str, Collection[str]],
    config: FeatureBuildConfig,
) -> int:
    """The longest reporting lag of the label sources: configured, or observed if longer.

    Where the data carries ``known_date``, the longest lag actually seen among label events
    is used when it exceeds the configured one, so that a window is never treated as complete
    while its events could still be arriving.
    """
    lag = config.label_lag_days
    engine = as_engine(con)
    for source, where in label_event_filters(config.label).items():
        if source in available and "known_date" in available[source]:
            rows = engine.rows(
                f"SELECT max(date_diff('day', event_date, known_date)) FROM src_{source} "
                f"WHERE {where}",
                f"the reporting lag of {source}",
            )
            if rows and rows[0][0] is not None:
                lag = max(lag, int(rows[0][0]))
    return lag


def build_relation(
    con: duckdb.DuckDBPyConnection | Engine,
    folder: DataFolder,
    spec: FeatureSpec,
    config: FeatureBuildConfig,
    *,
    use_triggers: bool = True,
    snapshot_dates: Collection[date] = (),
    truth_events: str | None = None,
    progress: Progress | None = None,
    knowledge_dates: Literal["known", "event"] = "known",
    as_of_dates: Collection[date] = (),
) -> tuple[str, tuple[str, ...], int]:
    """Create the table ``features_out`` in ``con`` (a DuckDB connection or an engine).

    Returns its name, the missing sources and the label lag used for censoring.

    ``truth_events`` is an optional SQL relation (person_id, event_date, harm) of *true*
    involvement events; when given, ``label_true_involvement`` columns are added.
    """
    if dict(spec.reporting_lag_days) != dict(sorted(config.reporting_lag_days.items())):
        raise ValueError(
            f"the feature spec was made with reporting lags {spec.reporting_lag_days} but the "
            f"build config has {config.reporting_lag_days}; make the spec with "
            "catalog.spec(config.reporting_lag_days)"
        )
    step = _stepper(progress, "building features", 4 + len(EVENT_TABLES))
    compiled = compile_features(spec)
    con = as_engine(con)
    available = register_sources(
        con, folder, spec.reporting_lag_days, knowledge_dates=knowledge_dates
    )
    check_spec_against_data(spec, available)
    unavailable = tuple(t for t in EVENT_TABLES if t not in available and t != "interventions")
    con.execute(
        "CREATE OR REPLACE TEMP TABLE examples AS "
        + examples_sql(
            available,
            config.cohort,
            config.attendance_trigger,
            use_triggers=use_triggers,
            snapshot_dates=tuple(snapshot_dates) or config.snapshot_dates,
            extract_date=folder.extract_date,
            as_of_dates=as_of_dates,
        ),
        "the examples",
    )
    step()
    parts: list[tuple[str, list[str]]] = []
    for source in spec.sources:
        names = [f.name for f in spec.features if f.source == source]
        if source == "people" or source in available:
            con.execute(
                f"CREATE OR REPLACE TEMP TABLE feat_{source} AS {compiled[source]}",
                f"the features of {source}",
            )
            parts.append((f"feat_{source}", names))
        step()
    lag = label_lag_days(con, available, config)
    censoring = censoring_sql(
        "examples",
        available,
        config.label,
        config.cohort,
        extract_date=folder.extract_date,
        label_lag_days=lag,
        sources_refreshed=min(
            (
                folder.refreshed[t]
                for t in ("police_contacts", "ae_visits")
                if t in folder.refreshed
            ),
            default=None,
        ),
    )
    con.execute(
        "CREATE OR REPLACE TEMP TABLE label_recorded AS "
        + labels_sql(
            "examples",
            recorded_events_sql(available, config.label),
            config.label,
            prefix=LABEL_PREFIX,
            censoring=censoring,
        ),
        "the recorded labels",
    )
    con.execute(f"CREATE OR REPLACE TEMP TABLE label_censoring AS {censoring}", "the censoring")
    step()
    truth_join = ""
    truth_cols = ""
    if truth_events is not None:
        con.execute(
            "CREATE OR REPLACE TEMP TABLE label_truth AS "
            + labels_sql(
                "examples",
                truth_events,
                config.label,
                prefix="label_true_involvement",
                censoring=censoring,
            ),
            "the true-involvement labels",
        )
        truth_join = "LEFT JOIN label_truth lt ON lt.person_id = x.person_id AND lt.as_of = x.as_of"
        truth_cols = ", lt.* EXCLUDE (person_id, as_of)"
    step()
    # support received between the as-of date and the end of the label window: evaluation
    # splits by it (treated / untreated), it is never a feature
    if "interventions" in available:
        treated_join = (
            "LEFT JOIN (SELECT c.person_id, c.as_of, "
            "max(CASE WHEN i.person_id IS NULL THEN 0.0 ELSE 1.0 END) AS label_window_treated "
            "FROM label_censoring c LEFT JOIN src_interventions i ON i.person_id = c.person_id "
            "AND i.start_date <= c.label_window_end "
            "AND (i.end_date IS NULL OR i.end_date >= c.as_of) GROUP BY c.person_id, c.as_of) tr "
            "ON tr.person_id = x.person_id AND tr.as_of = x.as_of"
        )
        treated_col = "tr.label_window_treated"
    else:
        treated_join, treated_col = "", "CAST(NULL AS DOUBLE) AS label_window_treated"
    tables = {name: table for table, names in parts for name in names}
    feature_cols = []
    for f in spec.features:
        table = tables.get(f.name)
        if table is None:
            feature_cols.append(f"CAST(NULL AS DOUBLE) AS {quote_ident(f.name)}")
        elif f.definition.impute == "zero":
            feature_cols.append(
                f"coalesce({table}.{quote_ident(f.name)}, 0.0) AS {quote_ident(f.name)}"
            )
        else:
            feature_cols.append(f"{table}.{quote_ident(f.name)}")
    joins = "\n".join(
        f"LEFT JOIN {t} ON {t}.person_id = x.person_id AND {t}.as_of = x.as_of" for t, _ in parts
    )
    con.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE features_out AS
        SELECT x.person_id, x.as_of, x.trigger_kinds, x.n_triggers,
               {quote_literal(",".join(unavailable))} AS sources_unavailable,
               {", ".join(feature_cols)},
               lr.* EXCLUDE (person_id, as_of),
               lc.label_censored_reason, lc.label_window_start, lc.label_window_end,
               {treated_col}
               {truth_cols}
        FROM examples x
        {joins}
        LEFT JOIN label_recorded lr ON lr.person_id = x.person_id AND lr.as_of = x.as_of
        LEFT JOIN label_censoring lc ON lc.person_id = x.person_id AND lc.as_of = x.as_of
        {treated_join}
        {truth_join}
        ORDER BY x.person_id, x.as_of
        """,
        "the feature table",
    )
    step()
    return "features_out", unavailable, lag


def _stepper(progress: Progress | None, stage: str, total: int) -> Callable[[], None]:
    done = [0]

    def step() -> None:
        done[0] += 1
        if progress is not None:
            progress(stage, min(done[0], total), total)

    if progress is not None:
        progress(stage, 0, total)
    return step


def build_features(
    folder: DataFolder,
    spec: FeatureSpec,
    config: FeatureBuildConfig,
    *,
    out: Path | None = None,
    use_triggers: bool = True,
    snapshot_dates: Collection[date] = (),
    truth_events_path: Path | None = None,
    threads: int = 2,
    memory_limit: str = "2GB",
    scratch_dir: Path | None = None,
    progress: Progress | None = None,
    knowledge_dates: Literal["known", "event"] = "known",
    engine: Engine | None = None,
) -> tuple[BuildSummary, pd.DataFrame | None]:
    """Build the feature table; write it to ``out`` (Parquet, atomically) or return it.

    ``engine`` runs the build (a :class:`~vru_risk.data.engine.SparkEngine`; the caller
    closes it); by default a DuckDB connection held to ``threads`` and ``memory_limit``.

    Returns the summary and, when ``out`` is None, the table as a DataFrame (for small builds
    and tests; large builds should write to a file).
    """
    start = time.perf_counter()
    own = engine is None
    con = engine or DuckDBEngine(build_connection(threads, memory_limit, scratch_dir))
    try:
        truth = None
        if truth_events_path is not None:
            truth_file = con.source(truth_events_path)
            truth = (
                "SELECT person_id, CAST(date AS DATE) AS event_date, kind = 'victim' AS harm "
                f"FROM {truth_file}"
            )
        table, unavailable, lag = build_relation(
            con,
            folder,
            spec,
            config,
            use_triggers=use_triggers,
            snapshot_dates=snapshot_dates,
            truth_events=truth,
            progress=progress,
            knowledge_dates=knowledge_dates,
        )
        stats = con.rows(
            f"SELECT count(*), count(DISTINCT person_id), "
            f"coalesce(sum({LABEL_PREFIX}), 0), count(*) FILTER (WHERE {LABEL_PREFIX} IS NULL), "
            f"avg({LABEL_PREFIX}) FROM {table}",
            "the summary of the feature table",
        )[0]
        frame: pd.DataFrame | None = None
        if out is None:
            frame = con.to_pandas(f"SELECT * FROM {table}", "the feature table")
        else:
            metadata = {
                table_metadata.SPEC_HASH_KEY: spec.hash,
                table_metadata.DATA_FINGERPRINT_KEY: folder.fingerprint,
                table_metadata.DATA_FINGERPRINT_KIND_KEY: folder.fingerprint_kind,
                table_metadata.EXTRACT_DATE_KEY: folder.extract_date.isoformat(),
                table_metadata.BUILD_CONFIG_KEY: config.model_dump_json(),
                table_metadata.SOURCES_UNAVAILABLE_KEY: ",".join(unavailable),
                table_metadata.LABEL_LAG_DAYS_KEY: str(lag),
                table_metadata.KNOWLEDGE_DATES_KEY: knowledge_dates,
            }
            con.write_parquet(table, out, metadata)
        available = dict.fromkeys(folder.files, ())
        summary = BuildSummary(
            out=out,
            rows=int(stats[0]),
            columns=len(con.columns(table)),
            people=int(stats[1]),
            positives=int(stats[2]),
            censored=int(stats[3]),
            label_rate=float(stats[4]) if stats[4] is not None else float("nan"),
            spec_hash=spec.hash,
            data_fingerprint=folder.fingerprint,
            sources_unavailable=unavailable,
            label_sources_unavailable=label_sources_unavailable(available),
            label_lag_days=lag,
            seconds=time.perf_counter() - start,
        )
        return summary, frame
    finally:
        if own:
            assert isinstance(con, DuckDBEngine)
            con.con.close()
