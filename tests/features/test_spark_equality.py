"""The same feature build on Spark and on DuckDB gives the same table (issue 19).

Three generated counties of 300 young people (two school years): Parquet with every source,
the same without A&E, and CSV with every source, each built once on each engine (the Spark
builds share the test session). Every feature value, label, censoring flag and trigger of the
Spark table equals DuckDB's (counts, sums, maxima and ratios of counts exactly; other floats
within a relative 1e-12), NULL and NaN counted by each engine on its own table before anything
reaches pandas; the written files carry the same columns, types and metadata. The CSV
folder's Spark build is ``vru features build --engine spark``'s (which validates it on Spark
first). The moments of two days are the same on both engines, and Spark analyses every
statement the build sends.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from tests.conftest import RunVru
from vru_risk.cli import main
from vru_risk.cli.common import state
from vru_risk.data.engine import DuckDBEngine, Engine, SparkEngine, spark_engine
from vru_risk.data.load import DataFolder, open_folder
from vru_risk.data.sql import quote_ident
from vru_risk.data.synthetic import SyntheticConfig, generate_county
from vru_risk.features.build import build_features
from vru_risk.features.catalog import FeatureSpec
from vru_risk.features.config import FeatureBuildConfig
from vru_risk.features.moments import build_moments
from vru_risk.jobs import features as features_job
from vru_risk.training.config import load_experiment

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

    from vru_risk.data.spark_session import SparkOptions

pytestmark = pytest.mark.spark

#: aggregates whose values are counts, sums of whole numbers, maxima or ratios of two counts:
#: equal to the last bit on both engines (IEEE division of the same two integers)
EXACT_AGGREGATES = frozenset({"count", "sum", "max", "distinct", "rate", "days_since_last"})
FOLDERS = ("parquet", "no_ae", "csv")


class RecordingDuckDB(DuckDBEngine):
    """DuckDB keeping the name of every statement it runs (to match Spark's record)."""

    def __init__(self, con: duckdb.DuckDBPyConnection) -> None:
        super().__init__(con)
        self.names: list[str] = []

    def execute(self, sql: str, what: str) -> None:
        self.names.append(what)
        super().execute(sql, what)

    def rows(self, sql: str, what: str) -> list[tuple[object, ...]]:
        self.names.append(what)
        return super().rows(sql, what)


@dataclass
class Built:
    """One folder built on both engines: the files, and what each engine said of its own table
    right after its build (Spark's temporary views are the session's: the next build replaces
    them)."""

    folder: DataFolder
    duck_file: Path
    spark_file: Path
    #: per engine: rows, then per column its non-NULL values (and NaNs of a float column)
    counts: dict[str, list[tuple[object, ...]]]
    #: per engine: the columns of its table, as DuckDB names their types
    columns: dict[str, dict[str, str]]
    #: the names of the statements DuckDB ran
    duck_statements: list[str]
    #: (name, Spark's plan) of every statement Spark ran
    spark_plans: list[tuple[str, str]]


def _without_ae(src: Path, dst: Path) -> Path:
    shutil.copytree(src, dst)
    (dst / "ae_visits.parquet").unlink()
    manifest = json.loads((dst / "manifest.json").read_text())
    del manifest["tables"]["ae_visits"]
    (dst / "manifest.json").write_text(json.dumps(manifest))
    return dst


@pytest.fixture(scope="module")
def spec_and_config() -> tuple[FeatureSpec, FeatureBuildConfig]:
    experiment = load_experiment()
    return experiment.feature_spec(), experiment.features


def _plans(spark: SparkSession, engine: SparkEngine) -> list[tuple[str, str]]:
    """(name, Spark's plan) of every statement ``engine`` ran (before it drops its views)."""
    return [
        (what, str(spark.sql(f"EXPLAIN {sql}").collect()[0][0])) for what, sql in engine.statements
    ]


def _cli_build_on_spark(folder: DataFolder, target: Path, spark: SparkSession, home: Path) -> Built:
    """``vru features build --engine spark`` (the CLI validates the folder on Spark, then builds
    on it), keeping what the engine said of its table and every statement it ran before the
    job closes it."""
    seen: dict[str, Any] = {}
    real_close = SparkEngine.close

    def close(self: SparkEngine) -> None:
        if "features_out" in self._views:  # the build's close (not the validation's)
            seen["columns"] = self.columns("features_out")
            seen["counts"] = _null_and_nan_counts(self, seen["columns"])
            seen["plans"] = _plans(spark, self)
        real_close(self)

    def recording(options: SparkOptions) -> SparkEngine:
        return spark_engine(options, record=True)

    partitions = spark.conf.get("spark.sql.shuffle.partitions")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("VRU_HOME", str(home))
        patch.setattr(SparkEngine, "close", close)
        patch.setattr(features_job, "spark_engine", recording)
        state.settings = None
        code: object = 0
        try:
            main(["features", "build", str(folder.path), "--out", str(target), "--engine", "spark"])
        except SystemExit as exc:
            code = exc.code
        finally:
            state.settings = None
            spark.conf.set("spark.sql.shuffle.partitions", str(partitions))
    assert code in (0, None), f"vru features build --engine spark exited {code}"
    assert "features_out" not in [t.name for t in spark.catalog.listTables()]  # closed after
    return Built(
        folder,
        target,
        target,
        {"spark": seen["counts"]},
        {"spark": seen["columns"]},
        [],
        seen["plans"],
    )


@pytest.fixture(scope="module")
def built(
    spark: SparkSession,
    tmp_path_factory: pytest.TempPathFactory,
    spec_and_config: tuple[FeatureSpec, FeatureBuildConfig],
) -> dict[str, Built]:
    """The three folders built on both engines; the CSV folder's Spark build is the CLI's."""
    root = tmp_path_factory.mktemp("spark-equality")
    county = SyntheticConfig(people=300, years=2, seed=7)
    for fmt in ("parquet", "csv"):
        generate_county(county, out_dir=root / fmt, truth_dir=root / f"{fmt}-truth", fmt=fmt)
    _without_ae(root / "parquet", root / "no_ae")
    spec, config = spec_and_config
    out: dict[str, Built] = {}
    for name in FOLDERS:
        folder = open_folder(root / name, today=date(2030, 1, 1))
        duck = RecordingDuckDB(duckdb.connect())
        duck_file = root / f"{name}-duckdb.parquet"
        build_features(folder, spec, config, out=duck_file, engine=duck)
        duck_columns = duck.columns("features_out")
        duck_counts = _null_and_nan_counts(duck, duck_columns)
        duck.con.close()
        spark_file = root / f"{name}-spark.parquet"
        if name == "csv":
            b = _cli_build_on_spark(folder, spark_file, spark, root / "cli-home")
        else:
            on_spark = SparkEngine(spark, record=True)
            build_features(folder, spec, config, out=spark_file, engine=on_spark)
            columns = on_spark.columns("features_out")
            counts = _null_and_nan_counts(on_spark, columns)
            plans = _plans(spark, on_spark)
            on_spark.close()
            b = Built(
                folder, spark_file, spark_file, {"spark": counts}, {"spark": columns}, [], plans
            )
        b.duck_file = duck_file
        b.counts["duckdb"] = duck_counts
        b.columns["duckdb"] = duck_columns
        b.duck_statements = duck.names
        out[name] = b
    return out


def _null_and_nan_counts(engine: Engine, columns: dict[str, str]) -> list[tuple[object, ...]]:
    """Per column, counted by ``engine`` on its own table: rows, non-NULL values, NaNs."""
    parts = ["count(*)"]
    for name, kind in columns.items():
        c = quote_ident(name)
        parts.append(f"count({c})")
        if kind in ("DOUBLE", "FLOAT"):
            parts.append(f"count(*) FILTER (WHERE isnan({c}))")
    return engine.rows(f"SELECT {', '.join(parts)} FROM features_out", "NULL and NaN counts")


@pytest.mark.parametrize("name", FOLDERS)
def test_null_and_nan_are_the_same_on_each_engine_before_pandas(
    built: dict[str, Built], name: str
) -> None:
    b = built[name]
    assert b.columns["spark"] == b.columns["duckdb"]
    assert b.counts["spark"] == b.counts["duckdb"]
    assert b.counts["duckdb"][0][0] == pq.read_metadata(b.duck_file).num_rows > 100


def _sorted(path: Path) -> pa.Table:
    return pq.read_table(path).sort_by([("person_id", "ascending"), ("as_of", "ascending")])


@pytest.mark.parametrize("name", FOLDERS)
def test_every_value_of_the_spark_table_equals_duckdbs(
    built: dict[str, Built], name: str, spec_and_config: tuple[FeatureSpec, FeatureBuildConfig]
) -> None:
    b = built[name]
    duck, spark = _sorted(b.duck_file), _sorted(b.spark_file)
    assert duck.schema.metadata == spark.schema.metadata
    assert (
        pq.ParquetFile(b.spark_file).metadata.metadata
        == pq.ParquetFile(b.duck_file).metadata.metadata
    )
    assert [(f.name, f.type) for f in spark.schema] == [(f.name, f.type) for f in duck.schema]
    assert spark.num_rows == duck.num_rows
    spec, _ = spec_and_config
    aggregate = {f.name: f.aggregate for f in spec.features}
    tolerant = []
    for column in duck.column_names:
        x, y = duck[column].combine_chunks(), spark[column].combine_chunks()
        if not pa.types.is_floating(x.type):
            assert x.equals(y), column  # ids, dates, triggers, labels, censoring reasons
            continue
        assert x.is_null().equals(y.is_null()), column
        a = x.to_numpy(zero_copy_only=False)
        c = y.to_numpy(zero_copy_only=False)
        assert np.array_equal(np.isnan(a), np.isnan(c)), column
        if aggregate.get(column) in EXACT_AGGREGATES:
            assert np.array_equal(a, c, equal_nan=True), column
        else:
            tolerant.append(column)
            np.testing.assert_allclose(c, a, rtol=1e-12, atol=0, equal_nan=True, err_msg=column)
    assert "age_years" in tolerant  # the fractional age is compared with the tolerance
    # the comparison saw what it should: features, labels, censoring and triggers
    names = set(duck.column_names)
    assert {"label_serious_violence", "label_censored_reason", "trigger_kinds"} <= names
    assert set(spec.names) <= names


def test_a_missing_source_is_missing_on_spark_too(built: dict[str, Built]) -> None:
    spark = _sorted(built["no_ae"].spark_file)
    assert set(spark["sources_unavailable"].to_pylist()) == {"ae_visits"}
    assert spark.schema.metadata[b"vru.sources_unavailable"] == b"ae_visits"
    ae = [c for c in spark.column_names if c.startswith("ae_")]
    assert ae and all(spark[c].null_count == spark.num_rows for c in ae)
    kinds = set(_sorted(built["parquet"].spark_file)["trigger_kinds"].to_pylist())
    assert any("ae_visit" in k for k in kinds)
    assert not any("ae_visit" in k for k in spark["trigger_kinds"].to_pylist())


def test_the_moments_are_the_same_on_both_engines(
    built: dict[str, Built],
    spark: SparkSession,
    spec_and_config: tuple[FeatureSpec, FeatureBuildConfig],
) -> None:
    b = built["parquet"]
    spec, config = spec_and_config
    extract = b.folder.extract_date
    days = [date(extract.year, 3, 2), date(extract.year, 6, 1)]
    duck = build_moments(b.folder, spec, config, days)
    engine = SparkEngine(spark)
    try:
        on_spark = build_moments(b.folder, spec, config, days, engine=engine)
    finally:
        engine.close()
    assert len(duck.frame) > 0 and len(duck.triggers) > 0
    pd.testing.assert_frame_equal(on_spark.frame, duck.frame, rtol=1e-12, atol=0)
    pd.testing.assert_frame_equal(on_spark.triggers, duck.triggers)
    pd.testing.assert_frame_equal(on_spark.supported, duck.supported)
    assert on_spark.sources_unavailable == duck.sources_unavailable


def test_spark_analyses_every_statement_the_build_sends(built: dict[str, Built]) -> None:
    for name, b in built.items():
        # the statements of the build, recorded by Spark, are DuckDB's one for one (the CSV
        # folder's by the CLI's engine)
        assert [what for what, _ in b.spark_plans] == b.duck_statements, name
        for what, plan in b.spark_plans:
            assert "== Physical Plan ==" in plan and "Error" not in plan, (what, plan[:500])
    kinds = {what.split(" of ")[0] for b in built.values() for what, _ in b.spark_plans}
    assert {"the typed view", "the examples", "the features", "the feature table"} <= kinds


def test_the_cli_refuses_an_unknown_engine(
    vru: RunVru, built: dict[str, Built], tmp_path: Path
) -> None:
    bad = vru(
        "features",
        "build",
        built["csv"].folder.path,
        "--out",
        tmp_path / "f.parquet",
        "--engine",
        "postgres",
    )
    assert bad.code == 2
    assert "--engine 'postgres': choose one of duckdb, spark" in bad.stderr
    assert not (tmp_path / "f.parquet").exists()
