"""Feature jobs: the catalog's spec; the as-of feature table of a data folder."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from vru_risk.data.engine import EngineName, spark_engine
from vru_risk.data.fingerprint import FingerprintKind
from vru_risk.data.load import InvalidDataError, open_folder
from vru_risk.data.spark_session import SparkOptions, SparkUnavailableError
from vru_risk.features.build import BuildSummary, build_features
from vru_risk.features.catalog import CatalogError, FeatureSpec, load_catalog
from vru_risk.features.config import FeatureBuildConfig
from vru_risk.jobs.common import JobError, Progress, engine_options
from vru_risk.settings import Settings


def feature_spec(
    catalog: Path | None, proxies: Path | None, config: FeatureBuildConfig
) -> FeatureSpec:
    """The spec of a catalog (default: packaged) and its declared proxies."""
    try:
        return load_catalog(catalog, proxies_path=proxies).spec(config.reporting_lag_days)
    except CatalogError as exc:
        raise JobError(str(exc)) from None


def check_output(out: Path, protected: list[tuple[str, Path]]) -> None:
    """Refuse an output path that would overwrite inputs or cannot be a Parquet file."""
    if out.suffix.lower() != ".parquet":
        raise JobError(f"--out {out} must end in .parquet")
    if out.is_dir():
        raise JobError(f"--out {out} is a folder; give a file name ending in .parquet")
    target = out.resolve()
    for what, folder in protected:
        if target.is_relative_to(folder.resolve()):
            raise JobError(
                f"--out {out} is inside the {what} {folder}; write the feature table elsewhere "
                "(the inputs are never overwritten)"
            )
    if set(str(out)) & set("*?[]{}"):
        raise JobError(f"--out {out}: use a path without * ? [ ] {{ }}")


def build_table(
    settings: Settings,
    data_dir: Path,
    out: Path,
    *,
    as_of: list[date],
    triggers: bool,
    catalog: Path | None = None,
    proxies: Path | None = None,
    truth: Path | None = None,
    extract_date: date | None = None,
    config: FeatureBuildConfig | None = None,
    progress: Progress | None = None,
    engine: EngineName | None = None,
    fingerprint: FingerprintKind = "content",
) -> BuildSummary:
    """Build one row per (person_id, as_of) example of ``data_dir`` into ``out``: at every
    teachable moment (``triggers``) and on each ``as_of`` date, with the label columns (and
    the true-involvement labels of a synthetic ``truth`` folder).

    ``engine`` (default: VRU_ENGINE) runs the build: DuckDB, or Spark on VRU_SPARK_MASTER; the
    table written is the same (tests/features/test_spark_equality.py). ``fingerprint`` is how
    the data folder is identified (its bytes or its files' metadata), recorded in the table."""
    config = config or FeatureBuildConfig()
    spec = feature_spec(catalog, proxies, config)
    check_output(out, [("data folder", data_dir)] + ([("truth folder", truth)] if truth else []))
    if not triggers and not as_of:
        raise JobError(
            "no examples requested: --no-triggers needs at least one --as-of date (or leave "
            "--no-triggers out to build examples at teachable moments)"
        )
    truth_events = None
    if truth is not None:
        truth_events = truth / "outcomes.parquet"
        if not truth_events.exists():
            raise JobError(f"{truth_events} not found: --truth must be a generator truth folder")
    limits = engine_options(settings)
    spark = None
    try:
        if (engine or settings.engine) == "spark":
            spark = spark_engine(
                SparkOptions(master=settings.spark_master, scratch_dir=str(limits["scratch_dir"]))
            )
        try:
            folder = open_folder(
                data_dir,
                extract_date=extract_date,
                today=date.today(),
                fingerprint=fingerprint,
                engine=spark,  # validated where it is built
                **limits,
            )
        except InvalidDataError as exc:
            raise JobError(str(exc)) from None
        except ValueError as exc:  # folder missing
            raise JobError(str(exc)) from None
        late = [d for d in as_of if d > folder.extract_date]
        if late:
            raise JobError(
                f"--as-of {', '.join(map(str, late))} is after the data's extract date "
                f"{folder.extract_date}: nothing is known about it yet"
            )
        summary, _ = build_features(
            folder,
            spec,
            config,
            out=out,
            use_triggers=triggers,
            snapshot_dates=as_of,
            truth_events_path=truth_events,
            progress=progress,
            engine=spark,
            **limits,
        )
    except CatalogError as exc:
        raise JobError(str(exc)) from None
    except SparkUnavailableError as exc:
        raise JobError(str(exc)) from None
    finally:
        if spark is not None:
            spark.close()
    return summary
