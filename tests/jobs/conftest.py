"""Fixtures shared by the monitoring job's tests: one small trained version of the session's
county with its monitoring reference (made through the CLI), in a home shared by the package's
modules (one training for tests/jobs, not one per module)."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.cli.test_audit import one_thread, seed_feature_cache, small_experiment
from vru_risk.cli import main
from vru_risk.cli.common import state
from vru_risk.jobs.train import TrainRequest, train
from vru_risk.settings import Settings
from vru_risk.training.config import load_experiment

THREADS = {"VRU_LIGHTGBM_THREADS": "1", "VRU_DUCKDB_THREADS": "1"}


@pytest.fixture(scope="package")
def monitored(
    county: Path,
    county_features: Path,
    mlflow_template: Path,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[Settings, int]]:
    """A trained version with its reference (made through the CLI), in the package's home."""
    home = tmp_path_factory.mktemp("monitor-home")
    shutil.copy(mlflow_template, home / "mlflow.db")
    settings = Settings(home=home, lightgbm_threads=1, duckdb_threads=1)
    with pytest.MonkeyPatch.context() as patch:
        one_thread(patch)
        experiment = small_experiment(tmp_path_factory.mktemp("experiment"))
        request = TrainRequest(
            load_experiment(experiment), experiment, table=county_features, trained_by="monitor"
        )
        version = train(settings, request).outcome.version.version
        seed_feature_cache(home, county / "data", county_features)
        for key, value in {"VRU_HOME": str(home), **THREADS}.items():
            patch.setenv(key, value)
        state.settings = None
        with pytest.raises(SystemExit) as done:
            main(
                ["monitor", "reference", "--version", str(version), "--data", str(county / "data")]
            )
        assert done.value.code in (0, None)
        state.settings = None
        yield settings, version


@pytest.fixture
def in_home(monitored: tuple[Settings, int], monkeypatch: pytest.MonkeyPatch) -> Settings:
    """This test's ``vru`` runs in the package's home."""
    for key, value in {"VRU_HOME": str(monitored[0].home), **THREADS}.items():
        monkeypatch.setenv(key, value)
    state.settings = None
    return monitored[0]
