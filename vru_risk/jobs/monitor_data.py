"""What the monitoring job reads: a version's stored reference, the sources' weekly rows known by
a date, the audit-only attributes of people, and the flags offered from the application database.

The reference is a separate artifact of the version (never inside the RiskModel): a local copy
``VRU_HOME/monitoring/references/vru-risk-v{N}/reference.json``, the same file in the version's
MLflow run (``monitoring_reference/reference.json``) and its hash on the version
(:data:`~vru_risk.models.tags.MONITORING_REFERENCE_TAG`). A file whose hash is not the tag's is
refused.
"""

from __future__ import annotations

import tempfile
from collections.abc import Mapping, Sequence
from datetime import date, timedelta
from pathlib import Path
from typing import Final

import duckdb
import pandas as pd
from mlflow.exceptions import MlflowException
from pydantic import ValidationError
from sqlalchemy import Engine
from sqlalchemy.exc import OperationalError

from vru_risk.data.contract import AUDIT_ONLY_COLUMNS, EVENT_TABLES
from vru_risk.data.load import DataFolder, InvalidDataError, open_folder, register_sources
from vru_risk.data.sql import quote_ident, quote_literal
from vru_risk.data.validate import FolderNotFoundError
from vru_risk.features.build import build_connection
from vru_risk.features.cache import FeatureCacheError, build_table, find_table
from vru_risk.features.catalog import CatalogError, FeatureSpec
from vru_risk.features.config import FeatureBuildConfig
from vru_risk.flags.programmes import ProgrammeConfigError, Programmes, load_programmes
from vru_risk.jobs.common import JobError, engine_options
from vru_risk.models.gate_config import FairnessGateConfig
from vru_risk.models.registry import CHAMPION, Registry, RegistryError, VersionInfo
from vru_risk.models.review_log import ReviewLog, ReviewLogError
from vru_risk.models.risk_model import RiskModel
from vru_risk.models.tags import MONITORING_REFERENCE_TAG, PARENT_RUN_TAG, TRAIN_END_TAG
from vru_risk.monitoring.coding import COUNT_COLUMNS, categorical_columns
from vru_risk.monitoring.criteria import MonitoringCriteria
from vru_risk.monitoring.governance import GovernanceError, criteria_for, load_governance
from vru_risk.monitoring.reference import MonitoringReference, ReferenceError
from vru_risk.monitoring.sources import WEEK_COLUMNS, week_key
from vru_risk.settings import Settings
from vru_risk.store import open_database, session_factory
from vru_risk.store.engine import DatabaseError
from vru_risk.store.service_rows import offers_of_version
from vru_risk.training.config import ExperimentConfigError, TemporalConfig, load_experiment

REFERENCE_ARTIFACT: Final = "monitoring_reference"
REFERENCE_FILE: Final = "reference.json"


def reference_command(version: int | str = "N") -> str:
    return f"`vru monitor reference --version {version} --data DIR`"


def reference_dir(settings: Settings, version: int) -> Path:
    return settings.home / "monitoring" / "references" / f"vru-risk-v{version}"


def version_monitoring_dir(settings: Settings, version: int) -> Path:
    """Where a version's monitoring runs are written, one folder per as-of date."""
    return settings.home / "monitoring" / f"vru-risk-v{version}"


def monitoring_dir(settings: Settings, version: int, as_of: date) -> Path:
    return version_monitoring_dir(settings, version) / as_of.isoformat()


def save_reference(
    settings: Settings, registry: Registry, info: VersionInfo, ref: MonitoringReference
) -> Path:
    """Write the reference locally, upload it to the version's run, tag the version."""
    folder = reference_dir(settings, info.version)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / REFERENCE_FILE
    path.write_text(ref.to_json() + "\n", encoding="utf-8")
    registry.upload(info.run_id, folder, REFERENCE_ARTIFACT)
    registry.set_tag(info.version, MONITORING_REFERENCE_TAG, ref.hash)
    return path


def load_reference(
    settings: Settings, registry: Registry, info: VersionInfo
) -> MonitoringReference:
    """The version's reference: the local copy, else the run's (then kept locally); refused
    when the version records none or a different hash."""
    v = info.version
    recorded = info.tags.get(MONITORING_REFERENCE_TAG, "")
    if not recorded:
        raise JobError(
            f"version {v} has no monitoring reference: run {reference_command(v)} with the "
            "data folder it was trained on"
        )
    path = reference_dir(settings, v) / REFERENCE_FILE
    try:
        if path.is_file():
            ref = MonitoringReference.from_json(path.read_text(encoding="utf-8"))
        else:
            with tempfile.TemporaryDirectory(prefix="vru-reference-") as tmp:
                got = registry.download(
                    info.run_id, f"{REFERENCE_ARTIFACT}/{REFERENCE_FILE}", Path(tmp)
                )
                text = got.read_text(encoding="utf-8")
            ref = MonitoringReference.from_json(text)
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
    except ReferenceError as exc:
        raise JobError(f"version {v}'s monitoring reference: {exc}") from None
    except (MlflowException, OSError) as exc:
        raise JobError(
            f"version {v}'s monitoring reference cannot be read from its run ({str(exc)[:160]}); "
            f"recreate it with {reference_command(v)}"
        ) from None
    if ref.hash != recorded:
        raise JobError(
            f"the monitoring reference at {path} (hash {ref.hash[:12]}) is not the one recorded "
            f"on version {v} ({recorded[:12]}): remove the file to use the recorded one, or "
            f"recreate it with {reference_command(v)}"
        )
    return ref


# --- the data folder --------------------------------------------------------------------------


def event_sources(folder: DataFolder, sources: Sequence[str]) -> tuple[str, ...]:
    """The feature sources that are event tables the folder has."""
    return tuple(s for s in sources if s in EVENT_TABLES and s in folder.files)


def people_attributes(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """person_id and the audit-only attributes the people table has."""
    cols = [r[0] for r in con.execute("DESCRIBE src_people").fetchall()]
    wanted = ["person_id", *(c for c in AUDIT_ONLY_COLUMNS if c in cols)]
    frame = con.execute(f"SELECT {', '.join(wanted)} FROM src_people").df()
    frame["person_id"] = frame["person_id"].astype(str)
    return frame


def weekly_rows(
    con: duckdb.DuckDBPyConnection, sources: Sequence[str], start: date, known_by: date
) -> pd.DataFrame:
    """:data:`~vru_risk.monitoring.sources.WEEK_COLUMNS` of each source's rows with an event
    from ``start`` and known by ``known_by`` (in SQL: attendance has a row per session)."""
    parts = []
    for s in sources:
        parts.append(
            f"SELECT {quote_literal(s)} AS source, CAST(date_trunc('week', event_date) AS DATE) "
            "AS week_start, count(*) AS rows, count(DISTINCT person_id) AS people, "
            "median(date_diff('day', event_date, known_date)) AS lag_median, "
            "quantile_cont(date_diff('day', event_date, known_date), 0.9) AS lag_p90, "
            f"max(known_date) AS last_known FROM src_{s} "
            f"WHERE event_date >= DATE {quote_literal(start.isoformat())} "
            f"AND known_date <= DATE {quote_literal(known_by.isoformat())} GROUP BY 1, 2"
        )
    if not parts:
        return pd.DataFrame(columns=list(WEEK_COLUMNS))
    out = con.execute(" UNION ALL ".join(parts) + " ORDER BY 1, 2").df()
    if out.empty:
        return pd.DataFrame(columns=list(WEEK_COLUMNS))
    out["week_start"] = pd.to_datetime(out["week_start"]).dt.date
    out["last_known"] = pd.to_datetime(out["last_known"]).dt.date
    out["iso_week"] = [week_key(d) for d in out["week_start"]]
    out["month"] = [f"{(d + timedelta(days=3)).month:02d}" for d in out["week_start"]]
    out["rows"] = out["rows"].astype("int64")
    out["people"] = out["people"].astype("int64")
    return out[list(WEEK_COLUMNS)]


def category_counts(
    con: duckdb.DuckDBPyConnection, sources: Sequence[str], start: date, end: date, known_by: date
) -> pd.DataFrame:
    """:data:`~vru_risk.monitoring.coding.COUNT_COLUMNS`: the rows of each categorical column of
    ``sources`` with an event from ``start`` to ``end``, known by ``known_by``, per calendar
    month of the event and value (in SQL: attendance has a row per session)."""
    parts = []
    for source, columns in categorical_columns(sources).items():
        present = {str(r[0]) for r in con.execute(f"DESCRIBE src_{source}").fetchall()}
        for column in (c for c in columns if c in present):
            parts.append(
                f"SELECT {quote_literal(source)} AS source, {quote_literal(column)} AS column, "
                "strftime(event_date, '%m') AS month, "
                f"CAST({quote_ident(column)} AS VARCHAR) AS value, count(*) AS rows "
                f"FROM src_{source} WHERE event_date BETWEEN DATE "
                f"{quote_literal(start.isoformat())} AND DATE {quote_literal(end.isoformat())} "
                f"AND known_date <= DATE {quote_literal(known_by.isoformat())} GROUP BY 1, 2, 3, 4"
            )
    if not parts:
        return pd.DataFrame(columns=list(COUNT_COLUMNS))
    out = con.execute(" UNION ALL ".join(parts)).df()
    out["rows"] = out["rows"].astype("int64")
    return out[list(COUNT_COLUMNS)]


def known_days(con: duckdb.DuckDBPyConnection, source: str, start: date, end: date) -> list[date]:
    """The days on which rows of ``source`` became known, from ``start`` to ``end``."""
    rows = con.execute(
        f"SELECT DISTINCT known_date FROM src_{source} WHERE known_date BETWEEN "
        f"DATE {quote_literal(start.isoformat())} AND DATE {quote_literal(end.isoformat())}"
    ).fetchall()
    return sorted(pd.Timestamp(r[0]).date() for r in rows if r[0] is not None)


def last_known(con: duckdb.DuckDBPyConnection, source: str, as_of: date) -> date | None:
    value = con.execute(
        f"SELECT max(known_date) FROM src_{source} "
        f"WHERE known_date <= DATE {quote_literal(as_of.isoformat())}"
    ).fetchone()
    return None if value is None or value[0] is None else pd.Timestamp(value[0]).date()


# --- the application database -----------------------------------------------------------------


#: what a section read from the application database says when there is none
NO_DATABASE: Final = (
    "Not checked: there is no application database yet (no flags were loaded with "
    "`vru flags load`)."
)


def app_engine(settings: Settings) -> Engine | None:
    """The application database (migrated), or None when there is none yet (no URL set and no
    ``VRU_HOME/app.db``); the caller disposes of it."""
    if settings.database_url is None and not (settings.home / "app.db").is_file():
        return None
    try:
        return open_database(settings.app_database_url)
    except (DatabaseError, OperationalError) as exc:
        raise JobError(
            f"cannot open the application database ({str(exc)[:160]}); check VRU_DATABASE_URL"
        ) from None


def offers_from_store(
    settings: Settings, version: int, start: date, end: date
) -> tuple[dict[str, list[date]] | None, str]:
    """The published offers of ``version``'s flags dated ``start`` to ``end`` (withdrawn ones
    too: their places were spent), by programme, or None (and why) when there is no
    application database or no flag of the version in it."""
    engine = app_engine(settings)
    if engine is None:
        return None, NO_DATABASE
    try:
        with session_factory(engine)() as session:
            found = offers_of_version(session, version, start, end, withdrawn=True)
    finally:
        engine.dispose()
    if not found:
        return None, (
            f"Not checked: the application database holds no published flag of version "
            f"{version} dated {start} to {end}."
        )
    offers: dict[str, list[date]] = {}
    for offer in found:
        offers.setdefault(offer.programme_id, []).append(offer.as_of)
    n = sum(len(v) for v in offers.values())
    return offers, f"{n} published offers of version {version} in the application database."


def connection_with_sources(
    folder: DataFolder, lags: Mapping[str, int], settings: Settings
) -> duckdb.DuckDBPyConnection:
    """A DuckDB connection (the settings' limits) with the folder's typed views."""
    engine = engine_options(settings)
    con = build_connection(engine["threads"], engine["memory_limit"], engine["scratch_dir"])
    register_sources(con, folder, lags)
    return con


def governance_path(settings: Settings) -> Path | None:
    path = settings.home / "governance.yaml"
    return path if path.is_file() else None


def open_data(settings: Settings, data_dir: Path) -> DataFolder:
    try:
        return open_folder(data_dir, today=date.today(), **engine_options(settings))
    except (InvalidDataError, FolderNotFoundError) as exc:
        raise JobError(str(exc)) from None


def load_version(
    registry: Registry, version: int | None, threads: int
) -> tuple[RiskModel, VersionInfo]:
    try:
        if version is None:
            found = registry.alias(CHAMPION)
            if found is None:
                raise JobError(
                    "no version is the champion: give the version to monitor with --version N"
                )
            version = found.version
        return registry.load(version, threads=threads)
    except RegistryError as exc:
        raise JobError(str(exc)) from None


def build_config(model: RiskModel, version: int) -> FeatureBuildConfig:
    try:
        return FeatureBuildConfig.model_validate_json(model.info["build_config"])
    except (KeyError, ValidationError):
        raise JobError(
            f"version {version} does not record the feature build settings it was trained "
            "with; retrain it with this version of vru-risk"
        ) from None


def programmes_of(settings: Settings) -> Programmes:
    try:
        return load_programmes(settings.programmes_path)
    except ProgrammeConfigError as exc:
        raise JobError(str(exc)) from None


def calibration_window(model: RiskModel, info: VersionInfo) -> tuple[date, date, str]:
    """``[start, end)`` of the version's calibration window and how it was found."""
    recorded = model.info.get("calibration_start"), model.info.get("calibration_end")
    if recorded[0] and recorded[1]:
        start, end = date.fromisoformat(recorded[0]), date.fromisoformat(recorded[1])
        return start, end, f"the calibration window recorded by training ({start} to {end})"
    train_end = info.tags.get(TRAIN_END_TAG) or model.info.get("train_end")
    if not train_end:
        raise JobError(
            f"version {info.version} records neither its calibration window nor its training "
            "end: its reference cannot be placed in time; retrain it with this vru-risk"
        )
    end = date.fromisoformat(train_end)
    days = TemporalConfig().calibration_days
    return (
        end - timedelta(days=days),
        end,
        f"not recorded by training: the last {days} days before the training end {end} were used",
    )


def criteria_of(settings: Settings, registry: Registry, info: VersionInfo) -> MonitoringCriteria:
    """The criteria (the VRU's governance file, else the packaged ones), the group bounds from
    the fairness gate of the version's experiment (the defaults when it cannot be read)."""
    try:
        criteria = criteria_for(governance_path(settings))
    except GovernanceError as exc:
        raise JobError(str(exc)) from None
    parent = info.tags.get(PARENT_RUN_TAG)
    experiment = None
    if parent:
        with tempfile.TemporaryDirectory(prefix="vru-monitor-") as tmp:
            try:
                experiment = load_experiment(
                    registry.download(parent, "experiment.yaml", Path(tmp))
                )
            except (MlflowException, OSError, ExperimentConfigError):
                experiment = None
    return criteria.resolved(experiment.fairness_gate if experiment else FairnessGateConfig())


def approved_hashes(settings: Settings, version: int) -> dict[str, str | None]:
    """The monitoring reference and criteria hashes the panel's newest approval or override of
    ``version`` recorded (None: not recorded, or never approved)."""
    try:
        entries = ReviewLog(settings.review_log_path).for_version(version)
    except ReviewLogError as exc:
        raise JobError(str(exc)) from None
    putting = [e for e in entries if e.action in ("approve", "override")]
    last = putting[-1] if putting else None
    return {
        "reference": last.reference_hash if last else None,
        "criteria": last.criteria_hash if last else None,
    }


def approval_criteria_hash(settings: Settings, version: int) -> str:
    """The hash of the monitoring criteria a version would be watched against if approved now
    (recorded with the panel's approval or override)."""
    registry = Registry(settings.tracking_uri)
    try:
        info = registry.version(version)
    except RegistryError as exc:
        raise JobError(str(exc)) from None
    return criteria_of(settings, registry, info).hash


def notify_of(settings: Settings) -> tuple[tuple[str, ...], str | None]:
    path = governance_path(settings)
    try:
        people = tuple(r.label for r in load_governance(path).notify)
    except GovernanceError as exc:
        raise JobError(str(exc)) from None
    if people:
        return people, None
    return (), (
        "No one is configured to be told: set `notify:` (the role, name and contact of each "
        f"person) in {settings.home / 'governance.yaml'} (copy vru_risk/monitoring/"
        "governance.yaml, which documents the keys)."
    )


def model_feature_table(
    settings: Settings, folder: DataFolder, spec: FeatureSpec, config: FeatureBuildConfig
) -> Path:
    """The feature table of ``folder`` under the model's ``spec`` (no truth labels), built into
    ``VRU_HOME/features/`` unless a reusable one is there: what monitoring and the simulated
    service score."""
    entry = find_table(settings.features_dir, folder, spec, config, with_truth=False)
    if not entry.reusable:
        try:
            build_table(entry, folder, spec, config, **engine_options(settings))
        except (FeatureCacheError, CatalogError) as exc:
            raise JobError(str(exc)) from None
    return entry.path
