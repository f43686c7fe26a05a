"""One small trained version of the session's county, shared by the tests that need one.

``trained_home`` trains it once per test run (:func:`tests.once.made_once`: once even with
several pytest-xdist workers), as a data scientist would from the data folder: the default
experiment with a single small booster (100 trees, 7 leaves) instead of the four-point grid,
LightGBM on one thread (with two, OpenMP spin-waits whenever another process holds a core, and
the same fit takes 20 to 60 times as long), the county's truth folder for the oracle and the
true labels, and the session's feature table seeded into the home's feature cache (so the
training and every later audit of the same data folder reuse it instead of building it).

Its home is version 1, a candidate, not audited and without a monitoring reference. It is never
written after it is made: a test that changes it (an audit, a review, a reference) works on its
own copy (:func:`copy_home`), whose MLflow store is rebased onto the copy, so that the copy's
artifacts are its own (MLflow records them by absolute path).
"""

from __future__ import annotations

import pickle
import shutil
import sqlite3
from contextlib import closing
from dataclasses import dataclass
from datetime import date
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING

import pyarrow.parquet as pq
import pytest
import yaml

from tests.once import made_once

if TYPE_CHECKING:
    from vru_risk.jobs.train import TrainResult
    from vru_risk.settings import Settings

DEFAULT_EXPERIMENT = (
    Path(__file__).resolve().parents[1] / "vru_risk" / "training" / "experiments" / "default.yaml"
)

#: the trained_by of the shared version
TRAINED_BY = "shared-tests"

#: the environment of a ``vru`` run on one thread (LightGBM and DuckDB)
THREADS = {"VRU_LIGHTGBM_THREADS": "1", "VRU_DUCKDB_THREADS": "1"}


def one_thread(monkeypatch: pytest.MonkeyPatch) -> None:
    """LightGBM on one thread (the results do not depend on it; the time on a busy machine does)."""
    from vru_risk.fairness_reports import proxy as proxy_module
    from vru_risk.training.fit import BoosterParams

    monkeypatch.setitem(proxy_module.PARAMS, "num_threads", 1)
    lgb_params = BoosterParams.lgb_params

    def single(self: BoosterParams, seed: int) -> dict[str, object]:
        return {**lgb_params(self, seed), "num_threads": 1}

    monkeypatch.setattr(BoosterParams, "lgb_params", single)


def small_experiment(tmp_path: Path) -> Path:
    """The default experiment with one small booster; keys kept in the packaged order, so the
    features section matches the session's table as the feature cache compares it."""
    doc = yaml.safe_load(DEFAULT_EXPERIMENT.read_text(encoding="utf-8"))
    doc["name"] = "audit-test"
    doc["models"]["lightgbm"]["n_estimators"] = [100]
    doc["models"]["lightgbm"]["num_leaves"] = [7]
    path = tmp_path / "experiment.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")
    return path


def seed_feature_cache(home: Path, data: Path, table: Path) -> None:
    """Put the session's feature table where ``vru audit`` looks for the features of ``data``
    (``VRU_HOME/features/<spec hash>-<data fingerprint>.parquet``), so the audit reuses it
    instead of rebuilding the table (the proxy test needs the model's features)."""
    from vru_risk.data.load import open_folder
    from vru_risk.features.table_metadata import DATA_FINGERPRINT_KEY
    from vru_risk.training.config import load_experiment

    spec = load_experiment().feature_spec()
    fingerprint = open_folder(data, today=date.today()).fingerprint
    recorded = pq.read_metadata(table).metadata or {}
    assert recorded[DATA_FINGERPRINT_KEY].decode() == fingerprint
    cache = home / "features" / f"{spec.hash[:16]}-{fingerprint[:16]}.parquet"
    cache.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy(table, cache)


def one_thread_settings(home: Path) -> Settings:
    from vru_risk.settings import Settings

    return Settings(home=home, lightgbm_threads=1, duckdb_threads=1)


@dataclass(frozen=True)
class TrainedHome:
    """The shared home (read it, never write it: :func:`copy_home`) and its trained version."""

    folder: Path

    @property
    def home(self) -> Path:
        return self.folder / "home"

    @property
    def settings(self) -> Settings:
        return one_thread_settings(self.home)

    @cached_property
    def result(self) -> TrainResult:
        """The training's result, as :func:`vru_risk.jobs.train.train` returned it (its paths
        are those of :attr:`home`)."""
        loaded: TrainResult = pickle.loads((self.folder / "train-result.pickle").read_bytes())
        return loaded

    @property
    def version(self) -> int:
        return int((self.folder / "version").read_text(encoding="utf-8"))


@pytest.fixture(scope="session")
def trained_home(
    county: Path,
    county_features: Path,
    mlflow_template: Path,
    tmp_path_factory: pytest.TempPathFactory,
) -> TrainedHome:
    """Version 1 trained from the county's data folder (with its truth) in a home of its own."""
    from vru_risk.jobs.train import TrainRequest, train
    from vru_risk.training.config import load_experiment

    def make(folder: Path) -> None:
        home = folder / "home"
        home.mkdir()
        shutil.copy(mlflow_template, home / "mlflow.db")
        seed_feature_cache(home, county / "data", county_features)
        experiment = small_experiment(folder)
        request = TrainRequest(
            load_experiment(experiment),
            experiment,
            data=county / "data",
            truth=county / "truth",
            trained_by=TRAINED_BY,
        )
        with pytest.MonkeyPatch.context() as patch:
            one_thread(patch)
            result = train(one_thread_settings(home), request)
        forget_artifact_locations()  # nothing may write into this home after this
        (folder / "train-result.pickle").write_bytes(pickle.dumps(result))
        (folder / "version").write_text(str(result.outcome.version.version), encoding="utf-8")

    return TrainedHome(made_once(tmp_path_factory, "trained-home", make))


def copy_home(trained: TrainedHome, dst: Path) -> Path:
    """A copy of the shared home at ``dst`` (absent or empty), its MLflow store rebased on it:
    every absolute path under the shared home that the store records (artifact locations, model
    sources, each logged model's ``MLmodel``) now names the same file under ``dst``."""
    src = trained.home.resolve()
    shutil.copytree(src, dst, dirs_exist_ok=True)
    old, new = f"{src}/", f"{dst.resolve()}/"
    with closing(sqlite3.connect(dst / "mlflow.db")) as con, con:
        tables = [r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
        left = 0
        for table in tables:
            for column in [r[1] for r in con.execute(f'PRAGMA table_info("{table}")')]:
                con.execute(
                    f'UPDATE "{table}" SET "{column}" = replace("{column}", ?, ?) '
                    f'WHERE typeof("{column}") = \'text\' AND instr("{column}", ?) > 0',
                    (old, new, old),
                )
                con.execute(
                    f'UPDATE "{table}" SET "{column}" = ? WHERE "{column}" = ?',
                    (str(dst.resolve()), str(src)),
                )
                left += con.execute(
                    f'SELECT count(*) FROM "{table}" '
                    f'WHERE typeof("{column}") = \'text\' AND instr("{column}", ?) > 0',
                    (src.as_posix(),),
                ).fetchone()[0]
    assert left == 0, f"the copy's MLflow store still names {src} in {left} values"
    for path in dst.rglob("*"):  # MLmodel's artifact_path, in each logged model's files
        if path.is_file() and path.suffix != ".db" and path.stat().st_size < 1_000_000:
            text = path.read_bytes()
            if b"\0" not in text and str(src).encode() in text:
                path.write_bytes(text.replace(old.encode(), new.encode()))
                assert str(src).encode() not in path.read_bytes(), f"{path} still names {src}"
    forget_artifact_locations()
    return dst


def forget_artifact_locations() -> None:
    """Empty MLflow's cache of artifact locations by run id (and logged model id).

    A copy has the same run ids as the shared home, and MLflow keeps, for the whole process, the
    artifact location it first found for each run id: without this, an audit of a copy in the
    process that trained the shared home would log its report into the shared home's artifacts.
    """
    from mlflow.tracking._tracking_service import utils as tracking_utils

    tracking_utils._artifact_repos_cache.clear()
