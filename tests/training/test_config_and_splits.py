"""The experiment config and the rolling-origin fold plan."""

from __future__ import annotations

import itertools
from datetime import date, timedelta
from pathlib import Path

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from tests.conftest import RunVru
from vru_risk.models.gate_config import FairnessGateConfig
from vru_risk.training.config import ExperimentConfigError, TemporalConfig, load_experiment
from vru_risk.training.splits import FoldPlanError, fold_plan, label_closes_by

DEFAULT = Path(__file__).resolve().parents[2] / "vru_risk" / "training" / "experiments"


def write(tmp_path: Path, **changes: object) -> Path:
    doc = yaml.safe_load((DEFAULT / "default.yaml").read_text())
    for dotted, value in changes.items():
        node = doc
        *parents, leaf = dotted.split("__")
        for p in parents:
            node = node[p]
        node[leaf] = value
    path = tmp_path / "exp.yaml"
    path.write_text(yaml.safe_dump(doc))
    return path


def test_default_experiment_is_valid_and_hashed() -> None:
    config = load_experiment()
    assert config.config_version == 1
    assert config.temporal.test_folds >= 3
    assert load_experiment(DEFAULT / "default.yaml").hash == config.hash
    assert len(config.hash) == 64


def test_hash_changes_with_any_setting(tmp_path: Path) -> None:
    assert load_experiment(write(tmp_path, seed=1)).hash != load_experiment().hash


def test_the_fairness_gate_bands_are_a_section_of_the_experiment(tmp_path: Path) -> None:
    default = load_experiment()
    assert default.fairness_gate == FairnessGateConfig()  # the bands the gate always had
    stricter = load_experiment(write(tmp_path, fairness_gate__max_fnr_difference=0.05))
    assert stricter.fairness_gate.max_fnr_difference == 0.05
    assert stricter.hash != default.hash
    with pytest.raises(ExperimentConfigError, match=r"fairness_gate\.recall_ratio_low"):
        load_experiment(write(tmp_path, fairness_gate__recall_ratio_low=1.5))
    # the experiment file of a version trained before the section existed: the same bands
    doc = yaml.safe_load((DEFAULT / "default.yaml").read_text())
    del doc["fairness_gate"]
    (tmp_path / "older.yaml").write_text(yaml.safe_dump(doc))
    assert load_experiment(tmp_path / "older.yaml").fairness_gate == FairnessGateConfig()


def test_every_problem_is_listed_at_once(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        temporal__test_folds=2,
        capacity__per_month=0,
        models__lightgbm__num_leaves=[7, 63],
        gates__implausible_auc=2,
    )
    with pytest.raises(ExperimentConfigError) as info:
        load_experiment(path)
    text = str(info.value)
    assert len(info.value.problems) >= 4
    for where in ("temporal.test_folds", "capacity.per_month", "num_leaves", "implausible_auc"):
        assert where in text


def test_label_timespan_must_match_the_label_horizon(tmp_path: Path) -> None:
    with pytest.raises(ExperimentConfigError, match="must equal"):
        load_experiment(write(tmp_path, temporal__label_timespan_days=180))


def test_an_experiment_whose_catalog_uses_a_protected_attribute_is_refused(
    tmp_path: Path,
) -> None:
    catalog = yaml.safe_load(
        (Path(__file__).resolve().parents[2] / "vru_risk/features/catalog.yaml").read_text()
    )
    catalog["features"].append(
        {
            "name": "age_if_black",
            "source": "people",
            "family": "age",
            "aggregate": "age",
            "where": {"ethnicity": ["black"]},
            "window": "all",
            "impute": "none",
            "phrase": "aged {years}",
        }
    )
    (tmp_path / "cat.yaml").write_text(yaml.safe_dump(catalog))
    with pytest.raises(ExperimentConfigError, match=r"audit-only attribute.*ethnicity"):
        load_experiment(write(tmp_path, catalog="cat.yaml"))


@given(
    extract=st.dates(min_value=date(2026, 1, 1), max_value=date(2030, 12, 31)),
    lag=st.integers(min_value=0, max_value=120),
    months=st.integers(min_value=1, max_value=12),
    folds=st.integers(min_value=3, max_value=5),
    calibration=st.integers(min_value=28, max_value=365),
)
def test_no_training_or_calibration_label_closes_after_its_test_starts(
    extract: date, lag: int, months: int, folds: int, calibration: int
) -> None:
    temporal = TemporalConfig(
        feature_start_time=date(2015, 1, 1),
        model_update_frequency_months=months,
        test_folds=folds,
        calibration_days=calibration,
    )
    plan = fold_plan(temporal, extract_date=extract, label_lag_days=lag)
    assert len(plan) == folds
    for fold in plan:
        last_train = fold.train_end - timedelta(days=1)
        last_calibration = fold.calibration_end - timedelta(days=1)
        assert label_closes_by(last_train, temporal, lag) <= fold.test_start
        assert label_closes_by(last_calibration, temporal, lag) <= fold.test_start
        assert fold.train_end == fold.calibration_start < fold.calibration_end
        assert fold.test_start.day == 1
        assert fold.test_end.day == 1
        # every test example's own label is complete by the extract date
        assert label_closes_by(fold.test_end - timedelta(days=1), temporal, lag) <= extract
    for earlier, later in itertools.pairwise(plan):
        assert earlier.test_end == later.test_start  # rolling origin, contiguous tests


def test_too_little_history_is_rejected_with_the_reason() -> None:
    with pytest.raises(FoldPlanError, match="fewer than min_training_days"):
        fold_plan(
            TemporalConfig(feature_start_time=date(2024, 1, 1)),
            extract_date=date(2026, 8, 31),
            label_lag_days=31,
        )


def test_cli_check_without_data_prints_the_plan(vru: RunVru) -> None:
    result = vru("train", "--check", "--extract-date", "2026-08-31")
    assert result.code == 0, result.output
    assert "valid; hash" in result.stdout
    assert "2024-01-01" in result.stdout
    assert "plan accepted" in result.stdout


def test_cli_reports_config_problems_and_short_data(vru: RunVru, tmp_path: Path) -> None:
    result = vru("train", "--check", "--config", write(tmp_path, temporal__test_folds=1))
    assert result.code == 2
    assert "temporal.test_folds" in result.stderr
    result = vru("train", "--check", "--extract-date", "2023-01-01")
    assert result.code == 2
    assert "fewer than min_training_days" in result.stderr


def test_cli_train_refuses_extract_date_without_check(vru: RunVru, tmp_path: Path) -> None:
    result = vru("train", "--features", tmp_path / "f.parquet", "--extract-date", "2024-01-01")
    assert result.code == 2
    assert "--extract-date only applies to --check" in result.stderr
