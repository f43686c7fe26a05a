"""Benchmark batch scoring: a million teachable moments scored, the top 2% explained as flags.

Side by side in one run, on the same model and the same rows:

- **bare**: LightGBM ``predict`` on every row, then ``pred_contrib`` on the rows that become flags;
- **vru**: ``score_moments`` (spec check, calibrated ``predict``, percentile in the reference
  distribution, pattern of available sources) + ``allocate`` (programme eligibility and
  capacity) for every row, then ``explain_rows`` (one batched ``pred_contrib``, reasons phrased
  by family, what the model cannot see, what could change it, validated ``Flag`` objects) for
  the flagged rows, and writing them as JSONL.

The model is the default grid's largest (300 trees, 31 leaves, learning rate 0.05, 50 examples
per leaf), fitted on the feature table of a generated 10,000-person county; the million rows are
drawn with replacement from that table's teachable moments, so values and missingness are real.
One programme takes the top 2% (every age and trigger, no percentile threshold). Each side is
timed three times, alternating, and the median is reported. LightGBM uses 2 threads.

Targets: vru at least 0.7x the bare throughput for scoring and for explaining; the whole job
(score, match, explain, write) in at most 45 s on 2 cores.

Usage: python benchmarks/scoring.py [--rows 1000000] [--share 0.02] [--repeats 3]
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from datetime import date
from pathlib import Path
from typing import Any

import lightgbm as lgb
import numpy as np
import pandas as pd
from common import OUT, county

from vru_risk.data.load import open_folder
from vru_risk.features.build import build_features
from vru_risk.features.config import FeatureBuildConfig
from vru_risk.features.moments import Moments
from vru_risk.flags.allocate import allocate
from vru_risk.flags.explain import explain_rows
from vru_risk.flags.flag import ModelRef
from vru_risk.flags.programmes import Programmes
from vru_risk.flags.score import score_moments
from vru_risk.models.calibration import SigmoidCalibration
from vru_risk.models.risk_model import RiskModel, feature_medians, reference_quantiles
from vru_risk.models.source_patterns import availability_patterns, source_columns
from vru_risk.training.config import load_experiment
from vru_risk.training.fit import BoosterParams, fit_lightgbm, grid

TARGET_RATIO = 0.7
TARGET_SECONDS = 45.0
THREADS = 2
DAY = date(2026, 3, 10)


def feature_table(people: int) -> tuple[pd.DataFrame, FeatureBuildConfig]:
    data = county(people)
    cached = OUT / f"features-{people}.parquet"
    config = FeatureBuildConfig()
    if not cached.exists():
        folder = open_folder(data, today=date.today())
        spec = load_experiment().feature_spec()
        build_features(folder, spec, config, out=cached)
    return pd.read_parquet(cached), config


def largest_params() -> BoosterParams:
    params = grid(load_experiment().models.lightgbm)
    return max(params, key=lambda p: (p.n_estimators * p.num_leaves, p.n_estimators))


def tree_leaves(booster: lgb.Booster) -> list[int]:
    return [int(t["num_leaves"]) for t in booster.dump_model()["tree_info"]]


def tree_depths(booster: lgb.Booster) -> list[int]:
    def depth(node: dict[str, Any]) -> int:
        if "leaf_index" in node:
            return 0
        return 1 + max(depth(node["left_child"]), depth(node["right_child"]))

    return [depth(t["tree_structure"]) for t in booster.dump_model()["tree_info"]]


def make_model(table: pd.DataFrame) -> tuple[RiskModel, BoosterParams]:
    spec = load_experiment().feature_spec()
    label = "label_serious_violence"
    rows = table[table[label].notna()]
    x = rows[list(spec.names)].astype("float64")
    y = rows[label].to_numpy(dtype="float64")
    params = largest_params()
    booster = fit_lightgbm(x.to_numpy(), y, params, seed=0, names=list(spec.names))
    raw = np.asarray(booster.predict(x.to_numpy(), raw_score=True))
    calibrator = SigmoidCalibration().fit(raw, y)
    patterns = availability_patterns(x, source_columns(spec), "")
    model = RiskModel(
        spec=spec,
        booster=booster,
        calibrator=calibrator,
        reference_scores=reference_quantiles(calibrator.transform(raw)),
        source_patterns={str(k): int(v) for k, v in patterns.value_counts().items()},
        feature_medians=feature_medians(x),
        threads=THREADS,
    )
    model.content_hash = "benchmark"
    return model, params


def million(table: pd.DataFrame, model: RiskModel, rows: int) -> Moments:
    rng = np.random.default_rng(0)
    pick = rng.integers(0, len(table), rows)
    feats = table[list(model.spec.names)].astype("float64").iloc[pick].reset_index(drop=True)
    kinds = rng.choice(["ae_visit", "exclusion", "police_contact", "attendance_drop"], rows)
    people = pd.Series([f"B{i:07d}" for i in range(rows)])
    ages = np.clip(np.nan_to_num(feats["age_years"].to_numpy(), nan=14.0), 8, 18).astype(int)
    frame = pd.concat(
        [
            pd.DataFrame(
                {
                    "person_id": people,
                    "as_of": [DAY] * rows,
                    "trigger_kinds": kinds,
                    "n_triggers": 1,
                    "sources_unavailable": "",
                    "age_completed": ages,
                    "school_id": "SEC-0001",
                }
            ),
            feats,
        ],
        axis=1,
    )
    source = {
        "ae_visit": "ae_visits",
        "exclusion": "exclusions",
        "police_contact": "police_contacts",
        "attendance_drop": "attendance",
    }
    triggers = pd.DataFrame(
        {
            "person_id": people,
            "as_of": [DAY] * rows,
            "trigger_kind": kinds,
            "trigger_date": [DAY] * rows,
            "source": [source[k] for k in kinds],
            "detail": np.where(kinds == "ae_visit", "Musgrove Park", None),
        }
    )
    return Moments(
        days=(DAY,),
        extract_date=DAY,
        frame=frame,
        triggers=triggers,
        supported=pd.DataFrame(columns=["person_id", "day", "programme"]),
        refreshed={"attendance": DAY, "exclusions": DAY, "police_contacts": DAY, "ae_visits": DAY},
        sources_unavailable=(),
    )


def one_programme(capacity: int) -> Programmes:
    return Programmes.model_validate(
        {
            "programmes_version": 1,
            "programmes": [
                {
                    "id": "everyone",
                    "name": "Benchmark programme",
                    "min_age": 0,
                    "max_age": 25,
                    "trigger_kinds": ["ae_visit", "exclusion", "police_contact", "attendance_drop"],
                    "capacity": capacity,
                    "period": "month",
                    "min_percentile": 0,
                    "shared_sources": ["attendance", "exclusions", "police_contacts", "ae_visits"],
                }
            ],
        }
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--share", type=float, default=0.02)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--people", type=int, default=10_000)
    args = parser.parse_args()

    table, _ = feature_table(args.people)
    t0 = time.perf_counter()
    model, params = make_model(table)
    fit_seconds = time.perf_counter() - t0
    moments = million(table, model, args.rows)
    capacity = round(args.rows * args.share)
    programmes = one_programme(capacity)
    ref = ModelRef(name="benchmark", version=1, content_hash="benchmark")
    x = moments.features(model.spec).to_numpy()
    depths = tree_depths(model.booster)
    leaves = tree_leaves(model.booster)
    print(
        f"model: {model.booster.num_trees()} trees, {params.num_leaves} leaves allowed "
        f"(mean {statistics.mean(leaves):.1f}, max {max(leaves)} used), depth "
        f"mean {statistics.mean(depths):.1f} max {max(depths)} ({fit_seconds:.1f} s to fit on "
        f"{table['label_serious_violence'].notna().sum():,} labelled moments)"
    )
    print(f"rows scored: {args.rows:,}; flags explained: {capacity:,} (top {args.share:.0%})")

    times: dict[str, list[float]] = {
        k: [] for k in ("bare_score", "bare_explain", "vru_score", "vru_explain", "vru_write")
    }
    top_bare = None
    for _ in range(args.repeats):
        start = time.perf_counter()
        p = model.booster.predict(x, num_threads=THREADS)
        times["bare_score"].append(time.perf_counter() - start)
        top_bare = np.argsort(-np.asarray(p), kind="stable")[:capacity]

        start = time.perf_counter()
        scored = score_moments(model, moments)
        offers = allocate(scored, moments, programmes)
        times["vru_score"].append(time.perf_counter() - start)
        positions = list(offers)

        start = time.perf_counter()
        model.booster.predict(x[top_bare], pred_contrib=True, num_threads=THREADS)
        times["bare_explain"].append(time.perf_counter() - start)

        start = time.perf_counter()
        flags = explain_rows(model, moments, scored, positions, offers=offers, model_ref=ref)
        times["vru_explain"].append(time.perf_counter() - start)

        start = time.perf_counter()
        with (
            tempfile.TemporaryDirectory() as tmp,
            (Path(tmp) / "flags.jsonl").open("w", encoding="utf-8") as fh,
        ):
            for flag in flags:
                fh.write(flag.model_dump_json() + "\n")
        times["vru_write"].append(time.perf_counter() - start)
    assert len(flags) == capacity, (len(flags), capacity)
    # both sides explain the same rows (calibration is monotone: the same top 2%)
    overlap = len(set(top_bare.tolist()) & set(positions)) / capacity
    assert overlap > 0.999, overlap
    for flag in flags[:200]:
        assert abs(flag.shown_total - flag.raw_score) < 1e-9

    med = {k: statistics.median(v) for k, v in times.items()}
    rate = {
        "bare_score": args.rows / med["bare_score"],
        "vru_score": args.rows / med["vru_score"],
        "bare_explain": capacity / med["bare_explain"],
        "vru_explain": capacity / med["vru_explain"],
    }
    score_ratio = rate["vru_score"] / rate["bare_score"]
    explain_ratio = rate["vru_explain"] / rate["bare_explain"]
    whole = med["vru_score"] + med["vru_explain"] + med["vru_write"]
    print(f"{'':28}{'seconds':>10}{'rows/s':>12}")
    for key, n in (
        ("bare_score", args.rows),
        ("vru_score", args.rows),
        ("bare_explain", capacity),
        ("vru_explain", capacity),
    ):
        print(f"{key:28}{med[key]:>10.2f}{n / med[key]:>12,.0f}")
    print(f"{'vru_write (JSONL)':28}{med['vru_write']:>10.2f}")
    print(f"scoring throughput vru/bare: {score_ratio:.2f}x (target >= {TARGET_RATIO}x)")
    print(f"explaining throughput vru/bare: {explain_ratio:.2f}x (target >= {TARGET_RATIO}x)")
    print(f"whole job (score, match, explain, write): {whole:.1f} s (target <= {TARGET_SECONDS} s)")
    print(
        json.dumps(
            {
                "rows": args.rows,
                "flags": capacity,
                "trees": model.booster.num_trees(),
                "leaves": params.num_leaves,
                "leaves_mean": statistics.mean(leaves),
                "depth_mean": statistics.mean(depths),
                "depth_max": max(depths),
                "seconds": med,
                "rows_per_second": rate,
                "score_ratio": score_ratio,
                "explain_ratio": explain_ratio,
                "whole_job_seconds": whole,
                "targets_met": score_ratio >= TARGET_RATIO
                and explain_ratio >= TARGET_RATIO
                and whole <= TARGET_SECONDS,
            }
        )
    )


if __name__ == "__main__":
    main()
