"""The experiment on the demo county: side by side, judged on the places the service would have
offered (its allocation replayed from the test moments' context), reproducible."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path
from typing import get_args

import numpy as np
import pandas as pd
import pytest

from vru_risk.data.load import open_folder
from vru_risk.features.context import moment_context
from vru_risk.features.table_metadata import SPEC_HASH_KEY
from vru_risk.flags.flag import TriggerKind
from vru_risk.flags.programmes import load_programmes
from vru_risk.models.tags import ALLOCATION_RULE
from vru_risk.training.allocation import ServiceAllocation
from vru_risk.training.config import ExperimentConfig, load_experiment
from vru_risk.training.data import (
    FeatureTableError,
    TrainingData,
    load_feature_table,
    with_oracle,
)
from vru_risk.training.evaluate import CapacityMetrics, evaluate, precision_difference
from vru_risk.training.pipeline import run_experiment
from vru_risk.training.results import LIGHTGBM, LOGISTIC, ORACLE, ExperimentResult
from vru_risk.training.splits import fold_plan


@pytest.fixture(scope="module")
def config() -> ExperimentConfig:
    return load_experiment()


@pytest.fixture(scope="module")
def data(config: ExperimentConfig, county: Path, county_features: Path) -> TrainingData:
    table = load_feature_table(county_features, config.feature_spec())
    return with_oracle(table, county / "truth", config.features.label)


@pytest.fixture(scope="module")
def allocation(config: ExperimentConfig, county: Path, data: TrainingData) -> ServiceAllocation:
    """The packaged programmes and the context of every test moment, as ``vru train --data``
    reads them (one query over the whole test span)."""
    plan = fold_plan(
        config.temporal, extract_date=data.extract_date, label_lag_days=data.label_lag_days
    )
    context = moment_context(
        open_folder(county / "data", today=date.today()),
        data.spec,
        config.features,
        min(f.test_start for f in plan),
        max(f.test_end for f in plan) - timedelta(days=1),
    )
    return ServiceAllocation(load_programmes(), "sha256-of-the-file", context)


@pytest.fixture(scope="module")
def result(
    config: ExperimentConfig, data: TrainingData, allocation: ServiceAllocation
) -> ExperimentResult:
    return run_experiment(config, data, allocation=allocation)


def test_lightgbm_beats_every_baseline_on_every_fold(result: ExperimentResult) -> None:
    baselines = result.config.models.baselines
    assert len(result.folds) >= 3
    for fold in result.folds:
        ours = fold.evaluations[LIGHTGBM].metrics["precision_at_capacity"]
        best = max(fold.evaluations[b].metrics["precision_at_capacity"] for b in baselines)
        assert ours > best, fold.fold
    assert result.performance_gate.passed, result.performance_gate.reasons
    for name in baselines:
        assert result.differences[f"{LIGHTGBM} - {name}"].low > 0


def test_lightgbm_is_close_to_the_oracle_and_far_above_chance(result: ExperimentResult) -> None:
    ours, oracle = result.pooled[LIGHTGBM].metrics, result.pooled[ORACLE].metrics
    # measured on this county: AUC 0.899 against the oracle's 0.933 (the features cannot see
    # the latent state the oracle knows); precision at capacity (the places offered) 0.39
    # against 0.45, and on the hindsight lists 0.43 against 0.48
    assert oracle["auc"] - ours["auc"] < 0.04
    assert ours["precision_at_capacity"] >= 0.85 * oracle["precision_at_capacity"]
    assert ours["lift_at_capacity"] > 4
    h = "hindsight_precision_at_capacity"
    assert ours[h] >= 0.85 * oracle[h]
    assert ours["hindsight_lift_at_capacity"] > 4
    assert ours["ece"] < 0.03  # calibrated on a later slice than the booster


def test_the_replayed_allocation_has_person_level_intervals(result: ExperimentResult) -> None:
    """Precision and recall at capacity come with 95% intervals that resample young people;
    they hold the point figure and are not degenerate."""
    for name in (LIGHTGBM, ORACLE):
        m = result.pooled[name].metrics
        for key in ("precision_at_capacity", "recall_at_capacity"):
            low, high = m[f"{key}_low"], m[f"{key}_high"]
            assert 0 < low < m[key] < high < 1, (name, key, low, m[key], high)
            assert high - low < 0.25  # thousands of test moments: not a uselessly wide range


def test_the_registered_model_uses_the_settings_the_folds_chose(
    result: ExperimentResult,
) -> None:
    chosen = [f.params for f in result.folds]
    assert result.final_params in chosen
    assert result.final_params == max(set(chosen), key=chosen.count)


def test_the_same_config_data_and_seed_give_the_same_metrics(
    config: ExperimentConfig,
    data: TrainingData,
    allocation: ServiceAllocation,
    result: ExperimentResult,
) -> None:
    again = run_experiment(config, data, allocation=allocation)
    pd.testing.assert_frame_equal(again.summary, result.summary)
    pd.testing.assert_frame_equal(again.predictions, result.predictions)
    assert again.final.booster.model_to_string() == result.final.booster.model_to_string()


def test_every_model_is_reported_on_every_fold_with_every_view(result: ExperimentResult) -> None:
    names = {LIGHTGBM, LOGISTIC, ORACLE, *result.config.models.baselines}
    assert set(result.pooled) == names
    assert set(result.summary["model"]) == names
    metrics = result.pooled[LIGHTGBM].metrics
    for key in (
        "precision_at_capacity",
        "recall_at_capacity",
        "lift_at_capacity",
        "places_used_share",
        "days_with_place_share",
        "hindsight_precision_at_capacity",
        "hindsight_recall_at_capacity",
        "hindsight_lift_at_capacity",
        "auc",
        "average_precision",
        "brier",
        "ece",
        "gap0_precision_at_capacity",
        "gap30_precision_at_capacity",
        "harm_precision_at_capacity",
        "true_involvement_precision_at_capacity",
        "treated_precision_at_capacity",
        "untreated_precision_at_capacity",
        *(f"hindsight_precision_at_{c}" for c in result.config.capacity.curve),
    ):
        assert np.isfinite(metrics[key]), key
    # each month's hindsight list holds at most `capacity` young people, one flag per person
    for fold in result.folds:
        for month, m in fold.evaluations[LIGHTGBM].hindsight_by_month.items():
            assert m.flagged == min(result.config.capacity.per_month, m.eligible), month
    assert result.pooled[LIGHTGBM].calibration is not None
    # pooled lists and offers are the folds' own added up; every model was replayed
    for name, pooled in result.pooled.items():
        assert pooled.replayed and all(f.evaluations[name].replayed for f in result.folds), name
        for key in ("hindsight_flagged_positive", "offered", "offered_positive"):
            per_fold = [f.evaluations[name].metrics[key] for f in result.folds]
            assert pooled.metrics[key] == sum(per_fold), (name, key)
        m = pooled.metrics
        assert m["precision_at_capacity"] == m["offered_positive"] / m["offered"]
        assert m["lift_at_capacity"] == pytest.approx(m["precision_at_capacity"] / m["base_rate"])
        # the service, deciding day by day, does not reach the hindsight lists
        if name in (LIGHTGBM, ORACLE):
            assert m["precision_at_capacity"] < m["hindsight_precision_at_capacity"], name
    lr = result.differences[f"{LIGHTGBM} - {LOGISTIC}"]
    assert lr.low <= lr.estimate <= lr.high


def test_predictions_are_the_audit_window_after_calibration(result: ExperimentResult) -> None:
    preds = result.predictions
    for col in (
        "person_id",
        "as_of",
        "fold",
        "raw_score",
        "score",
        "flagged",
        "offered",
        f"offered_{LOGISTIC}",
        "oracle_p_label_recorded",
    ):
        assert col in preds.columns
    assert "label_serious_violence" in preds and "label_true_involvement" in preds
    assert not {"sex", "ethnicity", "sen", "fsm", "imd_decile"} & set(preds.columns)
    for fold in result.folds:
        rows = preds[preds["fold"] == fold.fold.index]
        as_of = pd.to_datetime(rows["as_of"])
        assert as_of.min() >= pd.Timestamp(fold.fold.test_start)
        assert as_of.max() < pd.Timestamp(fold.fold.test_end)
        assert fold.fold.calibration_end <= fold.fold.test_start
        # raw score and calibrated score agree with the fold's calibrator
        calibrated = fold.booster_model.calibrator.transform(rows["raw_score"].to_numpy())
        assert np.allclose(calibrated, rows["score"].to_numpy())
    months = pd.to_datetime(preds["as_of"]).dt.strftime("%Y-%m")
    per_month = preds.assign(month=months).groupby("month")["flagged"].sum()
    assert per_month.max() <= result.config.capacity.per_month
    # the offers: each programme at most its capacity per period, so the month's offers at most
    # what all programmes hold in a month (a weekly one: five weeks touch a month)
    programmes = load_programmes().programmes
    most = sum(p.capacity * (5 if p.period == "week" else 1) for p in programmes)
    assert 0 < preds.assign(month=months).groupby("month")["offered"].sum().max() <= most


def test_the_summary_says_which_allocation_its_figures_describe(
    result: ExperimentResult, data: TrainingData, config: ExperimentConfig
) -> None:
    text = result.allocation_text()
    assert result.replayed and result.allocation_rule == ALLOCATION_RULE
    assert "precision at capacity: the places the service would have offered (policy per " in text
    assert f"jump_start {load_programmes().by_id('jump_start').policy}" in text
    assert "hindsight bound: the monthly top-k list" in text
    assert "the service cannot reach it" in text
    assert set(result.summary["allocation"]) == {ALLOCATION_RULE}
    # the same fold judged without the moments' context: the hindsight lists alone, named so
    fold = result.folds[0]
    preds = fold.predictions[fold.predictions[data.label].notna()].copy()
    preds["as_of"] = pd.to_datetime(preds["as_of"])
    score = preds["score"].to_numpy(dtype="float64")
    args = {"config": config, "model": LIGHTGBM, "kind": "lightgbm", "fold": 1}
    alone = evaluate(preds, score, score, label=data.label, **args)
    replayed = fold.evaluations[LIGHTGBM]
    assert not alone.replayed
    assert not {k for k in alone.metrics if k.endswith("_at_capacity")} - {
        k for k in alone.metrics if k.startswith("hindsight_")
    }
    assert "precision_at_capacity" not in alone.metrics
    h = "hindsight_precision_at_capacity"
    assert alone.metrics[h] == replayed.metrics[h]
    assert alone.at_capacity("precision") == replayed.metrics[h]
    assert replayed.offers is not None
    assert replayed.at_capacity("precision") == replayed.offers.metrics.precision


def test_the_registered_model_is_fitted_on_the_most_recent_complete_labels(
    result: ExperimentResult,
) -> None:
    final = result.final
    assert final.info["calibration_end"] == str(result.plan[-1].test_end)
    assert final.info["train_end"] == final.info["calibration_start"]
    assert final.info["spec_hash"] == result.data.spec.hash
    # the outcome's rate per trigger kind in the calibration window frames each flag's estimate
    start, end = (
        date.fromisoformat(final.info[k]) for k in ("calibration_start", "calibration_end")
    )
    cal = result.data.labelled(start, end)
    assert float(final.info["base_rate:all"]) == pytest.approx(
        cal[result.data.label].mean(), abs=1e-6
    )
    kinds = {k.removeprefix("base_rate:") for k in final.info if k.startswith("base_rate:")}
    assert kinds - {"all"} and kinds - {"all"} <= set(get_args(TriggerKind))
    assert np.all(np.diff(final.reference_scores) >= 0)
    assert "" in final.source_patterns  # most examples see every source


def test_a_feature_table_built_with_another_spec_is_refused(
    config: ExperimentConfig, county_features: Path, tmp_path: Path
) -> None:
    import pyarrow.parquet as pq

    table = pq.read_table(county_features)
    meta = dict(table.schema.metadata or {})
    meta[SPEC_HASH_KEY] = b"0" * 64
    pq.write_table(table.replace_schema_metadata(meta), tmp_path / "other.parquet")
    with pytest.raises(FeatureTableError, match="rebuild the table"):
        load_feature_table(tmp_path / "other.parquet", config.feature_spec())
    with pytest.raises(FeatureTableError, match="does not exist"):
        load_feature_table(tmp_path / "missing.parquet", config.feature_spec())


def test_the_difference_interval_resamples_whole_months() -> None:
    a = {f"2024-{m:02d}": CapacityMetrics(10, 5, 100, 10) for m in range(1, 13)}
    b = {f"2024-{m:02d}": CapacityMetrics(10, 2 + m % 2, 100, 10) for m in range(1, 13)}
    interval = precision_difference(a, b, seed=0)
    assert interval.estimate == pytest.approx(0.5 - 0.25)
    assert 0.2 <= interval.low <= interval.estimate <= interval.high <= 0.3
    same = precision_difference(a, a, seed=0)
    assert same.estimate == same.low == same.high == 0
