"""Shared fixtures: a CLI runner that uses the real entry point, and valid folders; and the keys
of a fairness report's groups, checked on a model's audit and on a synthetic one."""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from hypothesis import settings as hypothesis_settings

from tests.counties import (  # noqa: F401  (session fixtures shared by every package's tests)
    county,
    county_features,
    late_county,
    late_features,
    null_features,
)
from tests.factories import risk_model, spec  # noqa: F401  (fixtures shared by every package's tests)
from tests.monitoring.reports import month_reports  # noqa: F401  (one session's reports, shared)
from tests.once import LoadFileOneSpark, costliest_files_first, xdist_worker
from tests.spark import (
    check_spark_files,
    spark,  # noqa: F401  (the session-scoped Spark session)
)
from tests.trained import (
    one_thread,
    trained_home,  # noqa: F401  (the shared trained version)
)
from vru_risk.cli import main

# CI profile: no deadlines (shared 2-core machines are noisy), reproducible examples.
hypothesis_settings.register_profile("ci", deadline=None, derandomize=True, max_examples=60)
hypothesis_settings.load_profile("ci")


@dataclass(frozen=True)
class CliResult:
    code: int
    stdout: str
    stderr: str

    @property
    def output(self) -> str:
        return self.stdout + self.stderr


RunVru = Callable[..., CliResult]

#: The keys every group of a fairness report's report.json carries (at least): the ones
#: tests/cli/test_audit.py checks on a model's audit and tests/fairness_reports/test_report.py on
#: a synthetic one (which also has its bootstrap intervals).
REPORT_GROUP_KEYS = frozenset(
    {"attribute", "group", "count", "positives", "flagged", "suppressed"}
    | {"base_rate", "selection_rate", "tpr", "fnr", "fpr", "ppv", "auc"}
)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """With pytest-xdist workers, the files that use the costliest session fixtures first."""
    check_spark_files(items)
    if xdist_worker() is not None:
        costliest_files_first(items)


def pytest_xdist_make_scheduler(config: pytest.Config, log: object) -> LoadFileOneSpark | None:
    """``--dist loadfile`` (the Makefile's) with the Spark test files in one unit of work."""
    if config.getoption("dist") != "loadfile":
        return None
    return LoadFileOneSpark(config, log)  # type: ignore[arg-type]  # xdist's Producer


@pytest.fixture(scope="session", autouse=True)
def _one_thread_per_worker() -> Iterator[None]:
    """With pytest-xdist workers (one per core), LightGBM and DuckDB run on one thread in each:
    training fits on two threads, and two workers each spinning two OpenMP threads on two cores
    wait on each other (the same fit takes 20 to 60 times as long). Without workers, as set."""
    if xdist_worker() is None:
        yield
        return
    with pytest.MonkeyPatch.context() as patch:
        one_thread(patch)
        patch.setenv("VRU_LIGHTGBM_THREADS", "1")
        patch.setenv("VRU_DUCKDB_THREADS", "1")
        yield


@pytest.fixture(scope="session", autouse=True)
def _no_full_collection_per_app() -> Iterator[None]:
    """In-process apps start without the server's full garbage collection and freeze
    (:func:`vru_risk.serving.app.freeze_startup_heap`). A server runs it once; a test process
    starts hundreds of apps, and each collection walked the heap of everything the run had
    imported and made: measured, 0.3 s a test, a quarter of the serving tests' time. The browser
    tests' servers (subprocesses) still run it, and tests/serving/test_startup_heap.py checks it."""
    from vru_risk.serving import app as app_module

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(app_module, "freeze_startup_heap", lambda: None)
        yield


@pytest.fixture
def vru(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> RunVru:
    """Run ``vru ARGS...`` in-process through the real entry point; return code and output."""

    def run(*args: str | os.PathLike[str]) -> CliResult:
        capsys.readouterr()
        umask = os.umask(0o022)  # `vru` makes its process's files private: not pytest's
        os.umask(umask)
        try:
            main([str(a) for a in args])
            code = 0
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
        finally:
            os.umask(umask)
        out = capsys.readouterr()
        return CliResult(code, out.out, out.err)

    return run


@pytest.fixture(autouse=True)
def _isolated_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every test gets its own VRU_HOME so no test reads or writes the developer's ./.vru."""
    monkeypatch.setenv("VRU_HOME", str(tmp_path / "vru-home"))
    monkeypatch.setenv("MLFLOW_DISABLE_TELEMETRY", "true")
    from vru_risk.cli.common import state

    state.settings = None


@pytest.fixture(scope="session")
def mlflow_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An empty, migrated MLflow SQLite store (migrations take seconds: made once, copied)."""
    from mlflow.tracking import MlflowClient

    path = tmp_path_factory.mktemp("mlflow") / "mlflow.db"
    MlflowClient(tracking_uri=f"sqlite:///{path}").search_experiments()
    return path


@pytest.fixture
def vru_home(tmp_path: Path, mlflow_template: Path) -> Path:
    """This test's VRU_HOME (set by the autouse fixture) holding a copy of the empty store."""
    home = tmp_path / "vru-home"
    home.mkdir(parents=True, exist_ok=True)
    shutil.copy(mlflow_template, home / "mlflow.db")
    return home
