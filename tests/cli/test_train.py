"""``vru train`` end to end: gates, tripwire, registry, and the refusals."""

from __future__ import annotations

import json
import os
import socket
from pathlib import Path

import mlflow
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from tests.conftest import RunVru
from tests.counties import EVENT_MARKED
from tests.trained import small_experiment
from vru_risk.features.table_metadata import SPEC_HASH_KEY
from vru_risk.models.registry import Registry, tracking
from vru_risk.models.tags import (
    ALLOCATION_RULE,
    BLOCKED,
    CANDIDATE,
    HINDSIGHT_ONLY,
    REJECTED,
    TRAINING_ALLOCATION_TAG,
)
from vru_risk.training.allocation import NOT_REPLAYED


def registry(home: Path) -> Registry:
    return Registry(f"sqlite:///{home / 'mlflow.db'}")


def test_training_registers_a_candidate_with_its_runs_and_artifacts(
    vru: RunVru, vru_home: Path, county: Path
) -> None:
    result = vru("train", "--data", county / "data", "--truth", county / "truth")
    assert result.code == 0, result.output
    cached = list((vru_home / "features").glob("*.parquet"))
    assert len(cached) == 1
    spec_hash = pq.read_metadata(cached[0]).metadata[SPEC_HASH_KEY].decode()
    assert cached[0].name.startswith(spec_hash[:16] + "-")
    out = result.stdout
    for name in ("lightgbm", "logistic_regression", "pol_suspect_365d", "oracle"):
        assert name in out
    assert "performance gate: pass" in out
    assert "leakage tripwire: clear" in out
    assert "registered vru-risk version 1: candidate (candidate)" in out
    said = " ".join(out.split())
    assert "precision at capacity: the places the service would have offered (policy per" in said
    assert "hindsight bound: the monthly top-k list" in said
    assert "the service cannot reach it" in said
    version = registry(vru_home).version(1)
    assert version.tags[TRAINING_ALLOCATION_TAG] == ALLOCATION_RULE
    assert version.aliases == ("candidate",)
    tags = version.tags
    for key in (
        "vru.experiment_hash",
        "vru.spec_hash",
        "vru.data_fingerprint",
        "vru.train_end",
        "vru.label_timespan",
        "vru.gate.performance",
    ):
        assert tags[key], key
    assert tags["vru.gate.performance"] == "pass" and tags["vru.label_timespan"] == "365d"
    # one run per model per fold, a pooled run, the final run, under one parent
    client = registry(vru_home).client
    runs = client.search_runs([client.get_experiment_by_name("default").experiment_id])
    names = {r.info.run_name for r in runs}
    assert {"pooled/lightgbm", "pooled/oracle", "final/lightgbm", "fold1/lightgbm"} <= names
    assert {"fold3/oracle", "fold2/excl_suspensions_365d>=2"} <= names
    # the MLflow UI a data scientist opens: classical ML, runs named for what ran on which
    # data, models comparable metric by metric, the data logged as a dataset without rows
    experiment = client.get_experiment_by_name("default")
    assert experiment.tags["mlflow.experimentKind"] == "custom_model_development"
    parent = next(r for r in runs if "mlflow.parentRunId" not in r.data.tags)
    assert parent.info.run_name.startswith("train default on the extract of ")
    assert parent.info.run_name.endswith(", allocation replayed")
    pooled = {
        r.info.run_name: r.data.metrics for r in runs if r.info.run_name.startswith("pooled/")
    }
    assert len(pooled) >= 4
    assert all("auc" in m and "precision_at_capacity" in m for m in pooled.values())
    low, high = (pooled["pooled/lightgbm"][f"precision_at_capacity_{e}"] for e in ("low", "high"))
    assert low < pooled["pooled/lightgbm"]["precision_at_capacity"] < high
    (logged,) = parent.inputs.dataset_inputs
    input_tags = {t.key: t.value for t in logged.tags}
    assert input_tags["mlflow.data.context"] == "training"
    assert int(input_tags["moments"]) > 1000 and int(input_tags["young_people"]) > 100
    dataset = json.loads(logged.dataset.source)
    fingerprint = version.tags["vru.data_fingerprint"]
    assert logged.dataset.digest == fingerprint[:36] and dataset["fingerprint"] == fingerprint
    assert "pol_suspect_365d" in logged.dataset.schema
    people = pd.read_parquet(county / "data" / "people.parquet", columns=["person_id"])["person_id"]
    everything = json.dumps([logged.dataset.source, logged.dataset.schema, input_tags])
    assert not [p for p in people.astype(str).head(500) if p in everything]  # no row, no id
    described = client.get_model_version("vru-risk", "1").description
    assert "Precision at capacity" in described and "95% interval" in described
    assert "Performance gate: pass" in described and "ethics panel" in described
    # each run names the process that logged it (a killed training's runs are found by it)
    assert {(r.data.tags["vru.pid"], r.data.tags["vru.host"]) for r in runs} == {
        (str(os.getpid()), socket.gethostname())
    }
    assert {r.info.status for r in runs} == {"FINISHED"}
    with tracking(registry(vru_home).uri):
        local = Path(mlflow.artifacts.download_artifacts(run_id=parent.info.run_id))
        preds = pd.read_parquet(local / "predictions.parquet")
        gates = json.loads((local / "gates.json").read_text())
        fold = next(r for r in runs if r.info.run_name == "fold1/lightgbm")
        fold_files = {a.path for a in client.list_artifacts(fold.info.run_id)}
    assert {"fold", "raw_score", "score", "label_serious_violence", "flagged"} <= set(preds)
    assert gates["state"] == CANDIDATE
    assert {
        "calibration.png",
        "precision_at_capacity_curve.png",
        "shap_summary.png",
        "shap_summary.csv",
        "feature_spec.json",
        "predictions.parquet",
    } <= fold_files
    assert fold.data.metrics["precision_at_capacity"] > 0
    listing = vru("models", "list")
    assert listing.code == 0
    assert "candidate" in listing.stdout and "pass" in listing.stdout
    assert "(hindsight)" not in listing.stdout  # its figures are the replayed offers
    assert "not audited" in listing.stdout and "not reviewed" in listing.stdout


def test_a_null_world_registers_nothing_as_a_candidate(
    vru: RunVru, vru_home: Path, null_features: Path, tmp_path: Path
) -> None:
    result = vru("train", "--features", null_features, "--config", small_experiment(tmp_path))
    assert result.code == 0, result.output
    assert "performance gate: fail" in result.stdout
    # a feature table alone: nothing replayed, and the summary and the version say so
    said = " ".join(result.stdout.split())
    assert NOT_REPLAYED in said
    assert "of each month's top-capacity list (hindsight only)" in said
    versions = registry(vru_home).versions()
    assert versions[0].tags[TRAINING_ALLOCATION_TAG] == HINDSIGHT_ONLY
    assert versions[0].metric("precision_at_capacity") is None
    assert versions[0].metric("hindsight_precision_at_capacity") is not None
    assert [v.state for v in versions] == [REJECTED]
    assert versions[0].aliases == ()
    assert versions[0].tags["vru.gate.performance"] == "fail"


def test_features_built_from_event_dates_fire_the_leakage_tripwire(
    vru: RunVru, vru_home: Path, late_features: tuple[Path, Path], tmp_path: Path
) -> None:
    known, event = late_features
    small = small_experiment(tmp_path)
    first = vru("train", "--features", known, "--config", small)
    assert first.code == 0, first.output
    assert "candidate (candidate)" in first.stdout
    leaky = vru("train", "--features", event, "--config", small)
    assert leaky.code == 0, leaky.output
    assert "leakage tripwire: fired" in leaky.stdout
    assert "over the previous version" in leaky.stdout
    reg = registry(vru_home)
    v1, v2 = reg.versions()
    assert v2.state == BLOCKED and v2.aliases == ()
    assert reg.alias("candidate").version == v1.version  # type: ignore[union-attr]
    # trained from tables: both judged on the hindsight lists alone (named so)
    h = "hindsight_precision_at_capacity"
    assert v2.metric(h) > v1.metric(h)  # type: ignore[operator]


def test_a_table_marked_as_built_on_event_dates_is_refused(
    vru: RunVru, vru_home: Path, late_features: tuple[Path, Path]
) -> None:
    marked = late_features[0].parent / EVENT_MARKED
    result = vru("train", "--features", marked)
    assert result.code == 2
    assert "event dates" in result.stderr and "rebuild it with known dates" in result.stderr
    assert registry(vru_home).versions() == []


def test_a_slice_without_positives_is_refused_before_fitting(
    vru: RunVru, vru_home: Path, county_features: Path, tmp_path: Path
) -> None:
    table = pq.read_table(county_features)
    frame = table.to_pandas()
    early = pd.to_datetime(frame["as_of"]) < pd.Timestamp("2022-06-01")
    frame.loc[early & frame["label_serious_violence"].notna(), "label_serious_violence"] = 0.0
    thin = tmp_path / "thin.parquet"
    out = pa.Table.from_pandas(frame, schema=table.schema, preserve_index=False)
    pq.write_table(out.replace_schema_metadata(table.schema.metadata), thin)
    result = vru("train", "--features", thin)
    assert result.code == 2, result.output
    assert "fold 1 train slice" in result.stderr and "0 positive(s)" in result.stderr
    assert registry(vru_home).versions() == []


def test_a_table_of_another_spec_is_refused_and_nothing_is_registered(
    vru: RunVru, vru_home: Path, county_features: Path, tmp_path: Path
) -> None:
    table = pq.read_table(county_features)
    meta = dict(table.schema.metadata or {})
    meta[SPEC_HASH_KEY] = b"f" * 64
    other = tmp_path / "other.parquet"
    pq.write_table(table.replace_schema_metadata(meta), other)
    result = vru("train", "--features", other)
    assert result.code == 2
    assert "rebuild the table" in result.stderr
    assert registry(vru_home).versions() == []


def test_train_needs_exactly_one_source_of_features(
    vru: RunVru, vru_home: Path, county: Path, county_features: Path
) -> None:
    neither = vru("train")
    assert neither.code == 2 and "--data DIR" in neither.stderr
    both = vru("train", "--data", county / "data", "--features", county_features)
    assert both.code == 2 and "not both" in both.stderr
    empty = vru("models", "list")
    assert empty.code == 0 and "no model is registered yet" in empty.stdout
