"""Benchmark cohort scoring on both engines, and explaining, at 100k and 1M synthetic moments.

Side by side in one run, on the same model and the same rows:

- **duckdb**: the DuckDB path's scoring, ``score_moments`` on the moments frame in this process
  (LightGBM on 2 threads);
- **spark**: ``score_moments_spark`` on Spark ``local[2]``: the moments read from Parquet in 8
  partitions, each scored by ``mapInPandas`` (one LightGBM thread per task, the model shipped as
  text), the scored rows collected to the driver and put in order. ``spark read`` is the
  Parquet read alone (written to Spark's ``noop`` sink), to show what of Spark's time is input;
- **explain**: ``pred_contrib`` (bare) and ``explain_rows`` (reasons, what the model cannot see,
  what could change it, validated flags) for the moments one programme takes (2%, at most
  2,000), on the driver: both engines explain the flags there.

Every figure is the median of ``--repeats`` runs, alternating engines, after one warm-up Spark
scoring (the Python workers start and import LightGBM once per session). The Spark scores are
checked to equal the DuckDB path's bit for bit. The model is the default grid's largest (300
trees, 31 leaves) fitted on 20,000 synthetic rows with the packaged spec's features; the rows
scored are drawn the same way (counts, rates in their ranges, a tenth with no attendance).

Measured 2026-12-05 on the project's 2-core machine while four other jobs ran (load 6-11, so
absolute rates are a fraction of an idle machine's; the ratios are side by side in one run):
spark/duckdb scoring 0.39x at 100k rows (16,785 against 6,502 rows/s) and 0.57x at 1M (21,768
against 12,444 rows/s); explaining 135-151 flags/s (``pred_contrib`` alone 166-169 rows/s), so
scoring a moment costs about 1/110 to 1/160 of explaining one. On one machine Spark only adds
work (Arrow both ways, the collect, the sort); it pays when the moments outgrow one machine.

Usage: python benchmarks/scale_scoring.py [--rows 100000,1000000] [--repeats 2]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
import warnings
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import TypeVar

import numpy as np
import pandas as pd
from pyspark.sql import SparkSession
from scoring import largest_params, one_programme

from vru_risk.data.spark_session import SparkOptions, spark_session
from vru_risk.features.catalog import FeatureSpec
from vru_risk.features.moments import Moments
from vru_risk.flags.allocate import allocate
from vru_risk.flags.explain import explain_rows
from vru_risk.flags.flag import ModelRef
from vru_risk.flags.score import score_moments
from vru_risk.flags.spark_score import score_moments_spark
from vru_risk.models.calibration import SigmoidCalibration
from vru_risk.models.risk_model import RiskModel, feature_medians, reference_quantiles
from vru_risk.training.config import load_experiment
from vru_risk.training.fit import fit_lightgbm

T = TypeVar("T")
THREADS = 2
DAY = date(2026, 3, 10)
PARTITIONS = 8
EXPLAIN_SHARE, EXPLAIN_MAX = 0.02, 2_000
KINDS = ("ae_visit", "exclusion", "police_contact", "attendance_drop")
SOURCE = {
    "ae_visit": "ae_visits",
    "exclusion": "exclusions",
    "police_contact": "police_contacts",
    "attendance_drop": "attendance",
}


def features(spec: FeatureSpec, n: int, seed: int) -> tuple[pd.DataFrame, np.ndarray]:
    """``n`` rows of the spec's features with a known signal, and their labels."""
    rng = np.random.default_rng(seed)
    names = list(spec.names)
    x = pd.DataFrame(rng.poisson(0.4, size=(n, len(names))).astype("float64"), columns=names)
    for f in spec.features:
        if f.aggregate == "rate":
            low, high = (0.5, 1.0) if f.family == "attendance_presence" else (0.0, 0.3)
            x[f.name] = rng.uniform(low, high, n)
        elif f.aggregate == "change":
            x[f.name] = rng.uniform(-0.3, 0.1, n)
        elif f.aggregate == "age":
            x[f.name] = rng.uniform(8.0, 18.9, n)
    x.loc[rng.random(n) < 0.1, [f.name for f in spec.features if f.source == "attendance"]] = np.nan
    logit = -3 + 1.5 * x["pol_suspect_365d"] - 3 * (x["att_rate_365d"].fillna(0.9) - 0.9)
    y = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype("float64")
    return x, y


def make_model() -> RiskModel:
    spec = load_experiment().feature_spec()
    x, y = features(spec, 20_000, 0)
    booster = fit_lightgbm(x.to_numpy(), y, largest_params(), seed=0, names=list(spec.names))
    raw = np.asarray(booster.predict(x.to_numpy(), raw_score=True))
    calibrator = SigmoidCalibration().fit(raw, y)
    return RiskModel(
        spec=spec,
        booster=booster,
        calibrator=calibrator,
        reference_scores=reference_quantiles(calibrator.transform(raw)),
        source_patterns={"": 18_000, "attendance": 2_000},
        feature_medians=feature_medians(x),
        threads=THREADS,
        content_hash="benchmark",
    )


def cohort(model: RiskModel, rows: int) -> Moments:
    x, _ = features(model.spec, rows, 1)
    rng = np.random.default_rng(2)
    kinds = rng.choice(list(KINDS), rows)
    people = [f"B{i:07d}" for i in range(rows)]
    ids = pd.DataFrame(
        {
            "person_id": people,
            "as_of": [DAY] * rows,
            "trigger_kinds": kinds,
            "n_triggers": 1,
            "sources_unavailable": "",
            "age_completed": np.clip(x["age_years"].to_numpy(), 8, 18).astype(int),
            "school_id": "SEC-0001",
        }
    )
    triggers = pd.DataFrame(
        {
            "person_id": people,
            "as_of": [DAY] * rows,
            "trigger_kind": kinds,
            "trigger_date": [DAY] * rows,
            "source": [SOURCE[k] for k in kinds],
            "detail": ["Musgrove Park" if k == "ae_visit" else None for k in kinds],
        }
    )
    return Moments(
        days=(DAY,),
        extract_date=DAY,
        frame=pd.concat([ids, x], axis=1),
        triggers=triggers,
        supported=pd.DataFrame(columns=["person_id", "day", "programme"]),
        refreshed=dict.fromkeys(SOURCE.values(), DAY),
        sources_unavailable=(),
    )


def timed(fn: Callable[..., T], *args: object) -> tuple[float, T]:
    start = time.perf_counter()
    out = fn(*args)
    return time.perf_counter() - start, out


def one_size(
    spark: SparkSession, model: RiskModel, rows: int, repeats: int, tmp: Path
) -> dict[str, float]:
    moments = cohort(model, rows)
    path = tmp / f"moments-{rows}.parquet"
    moments.frame.to_parquet(path, index=False, row_group_size=max(1, rows // (2 * PARTITIONS)))
    size = path.stat().st_size
    spark.conf.set("spark.sql.files.maxPartitionBytes", str(size // PARTITIONS + 1))
    sdf = spark.read.parquet(str(path))
    partitions = sdf.rdd.getNumPartitions()
    times: dict[str, list[float]] = {k: [] for k in ("duckdb", "spark", "spark_read")}
    for _ in range(repeats):
        seconds, expected = timed(score_moments, model, moments)
        times["duckdb"].append(seconds)
        seconds, got = timed(score_moments_spark, spark, sdf, model)
        times["spark"].append(seconds)
        seconds, _ = timed(lambda: sdf.write.format("noop").mode("overwrite").save())
        times["spark_read"].append(seconds)
    assert np.array_equal(got["probability"].to_numpy(), expected["probability"].to_numpy())
    assert got["person_id"].tolist() == expected["person_id"].tolist()

    flags = min(EXPLAIN_MAX, round(rows * EXPLAIN_SHARE))
    offers = allocate(expected, moments, one_programme(flags))
    positions = list(offers)
    x = model.inputs(moments.features(model.spec)).take(positions)
    ref = ModelRef(name="benchmark", version=1, content_hash="benchmark")
    bare: list[float] = []
    made: list[float] = []
    for _ in range(repeats):
        bare.append(timed(model.contribution_values, x)[0])
        made.append(
            timed(
                lambda: explain_rows(
                    model, moments, expected, positions, offers=offers, model_ref=ref
                )
            )[0]
        )
    med = {k: statistics.median(v) for k, v in times.items()}
    return {
        "rows": rows,
        "partitions": partitions,
        "flags": len(positions),
        "duckdb": rows / med["duckdb"],
        "spark": rows / med["spark"],
        "spark_read": rows / med["spark_read"],
        "pred_contrib": len(positions) / statistics.median(bare),
        "explain_rows": len(positions) / statistics.median(made),
    }


def prepare() -> tuple[SparkSession, RiskModel, float]:
    """A ``local[2]`` session, the benchmark's model (and seconds to fit it), Spark warmed up
    by one scoring (benchmarks/scale.py runs :func:`one_size` after this too)."""
    # pyspark runs its Python workers with PYSPARK_PYTHON (default: python3 on the PATH), not
    # spark.pyspark.python: mapInPandas needs this interpreter's pandas and LightGBM
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    # pyspark 4.3's own warnings about pandas 3 (support, and its use of pandas' copy= keyword)
    warnings.filterwarnings("ignore", "PySpark does not yet fully support pandas", FutureWarning)
    warnings.filterwarnings("ignore", "The copy keyword is deprecated", DeprecationWarning)
    spark = spark_session(SparkOptions(master="local[2]", driver_memory="4g"))
    start = time.perf_counter()
    model = make_model()
    fit = time.perf_counter() - start
    score_moments_spark(spark, spark.createDataFrame(cohort(model, 1_000).frame), model)
    return spark, model, fit


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", default="100000,1000000")
    parser.add_argument("--repeats", type=int, default=2)
    args = parser.parse_args()
    sizes = [int(r) for r in args.rows.split(",")]
    spark, model, fit = prepare()
    print(
        f"model: {model.booster.num_trees()} trees, {len(model.spec.names)} features "
        f"({fit:.1f} s to fit); Spark {spark.version} local[2]; median of {args.repeats}"
    )
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        for rows in sizes:
            results.append(one_size(spark, model, rows, args.repeats, Path(tmp)))
    spark.stop()
    head = ("rows", "partitions", "duckdb rows/s", "spark rows/s", "spark/duckdb")
    print(f"\ncohort scoring\n{head[0]:>10}{head[1]:>12}{head[2]:>15}{head[3]:>15}{head[4]:>14}")
    for r in results:
        print(
            f"{r['rows']:>10,}{r['partitions']:>12}{r['duckdb']:>15,.0f}{r['spark']:>15,.0f}"
            f"{r['spark'] / r['duckdb']:>13.2f}x"
        )
    print(
        "  (spark's Parquet read alone: "
        + ", ".join(f"{r['spark_read']:,.0f} rows/s at {r['rows']:,}" for r in results)
        + ")"
    )
    print(
        f"\nexplaining on the driver (both engines)\n{'rows':>10}{'flags':>8}"
        f"{'pred_contrib/s':>16}{'explain_rows/s':>16}{'duckdb score/explain':>22}"
    )
    for r in results:
        print(
            f"{r['rows']:>10,}{r['flags']:>8,}{r['pred_contrib']:>16,.0f}"
            f"{r['explain_rows']:>16,.0f}{r['duckdb'] / r['explain_rows']:>21.0f}x"
        )


if __name__ == "__main__":
    main()
