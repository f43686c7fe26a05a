"""Finding 16 (part): a killed ``vru train`` left its MLflow runs RUNNING forever. They are
marked FAILED at the next start of ``vru train``: exactly when the run names a process of this
host that is gone, by age otherwise; runs of other experiments, and live ones, are left alone.
No model is trained: the runs are made with the MLflow client in the test's store."""

from __future__ import annotations

import datetime as dt
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from mlflow.tracking import MlflowClient

from vru_risk.cli.train import close_abandoned_runs
from vru_risk.models.tags import ABANDONED_TAG, HOST_TAG, PID_STARTED_TAG, PID_TAG
from vru_risk.training.abandoned_runs import fail_abandoned_runs, process_tags

EXPERIMENT = "vru-risk-default"
HOUR_MS = 3_600_000


def a_dead_pid() -> int:
    """The pid of a process that has exited (and was reaped)."""
    done = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], check=True,
                          capture_output=True, text=True)  # fmt: skip
    return int(done.stdout)


def running(
    client: MlflowClient, experiment: str, tags: dict[str, str], *, hours_ago: float = 0.0
) -> str:
    ids = client.get_experiment_by_name(experiment)
    experiment_id = ids.experiment_id if ids else client.create_experiment(experiment)
    now_ms = int(dt.datetime.now(dt.UTC).timestamp() * 1000)
    run = client.create_run(
        experiment_id, start_time=now_ms - int(hours_ago * HOUR_MS), tags=tags, run_name="train"
    )
    return str(run.info.run_id)


def status(client: MlflowClient, run_id: str) -> str:
    return str(client.get_run(run_id).info.status)


@pytest.fixture
def store(vru_home: Path) -> str:
    return f"sqlite:///{vru_home / 'mlflow.db'}"


def test_runs_left_running_by_a_killed_train_are_marked_failed(store: str) -> None:
    client = MlflowClient(tracking_uri=store)
    here = socket.gethostname()
    dead = a_dead_pid()
    killed = running(client, EXPERIMENT, {HOST_TAG: here, PID_TAG: str(dead)})
    nested = running(client, EXPERIMENT, {HOST_TAG: here, PID_TAG: str(dead), "x": "fold1"})
    alive = running(client, EXPERIMENT, process_tags())  # this very process: still training
    reused = running(  # the pid now belongs to another process (another start time)
        client, EXPERIMENT, {**process_tags(), PID_STARTED_TAG: "1"}
    )
    elsewhere_recent = running(client, EXPERIMENT, {HOST_TAG: "gpu-2", PID_TAG: "1"}, hours_ago=1)
    elsewhere_old = running(client, EXPERIMENT, {HOST_TAG: "gpu-2", PID_TAG: "1"}, hours_ago=7)
    untagged_old = running(client, EXPERIMENT, {}, hours_ago=30)
    untagged_recent = running(client, EXPERIMENT, {})
    other_experiment = running(client, "someone-else", {HOST_TAG: here, PID_TAG: str(dead)})

    closed = fail_abandoned_runs(store, EXPERIMENT)

    failed = {killed, nested, reused, elsewhere_old, untagged_old}
    assert {run.run_id for run in closed} == failed
    for run_id in failed:
        assert status(client, run_id) == "FAILED"
        assert client.get_run(run_id).info.end_time is not None
    for run_id in (alive, elsewhere_recent, untagged_recent, other_experiment):
        assert status(client, run_id) == "RUNNING", run_id
    why = {run.run_id: run.why for run in closed}
    assert why[killed] == f"its process {dead} on {here} is gone"
    assert "on gpu-2, over 6:00:00 ago" in why[elsewhere_old]
    assert "by a process it does not name" in why[untagged_old]
    assert client.get_run(killed).data.tags[ABANDONED_TAG] == why[killed]
    assert fail_abandoned_runs(store, EXPERIMENT) == []  # once only
    assert fail_abandoned_runs(store, "no-such-experiment") == []


def test_vru_train_says_which_runs_it_marked_failed(
    store: str, capsys: pytest.CaptureFixture[str]
) -> None:
    client = MlflowClient(tracking_uri=store)
    killed = running(
        client, EXPERIMENT, {HOST_TAG: socket.gethostname(), PID_TAG: str(a_dead_pid())}
    )
    close_abandoned_runs(store, EXPERIMENT)
    said = " ".join(capsys.readouterr().out.split())
    assert f"MLflow run {killed} (train) was left RUNNING" in said and "marked FAILED" in said


def test_every_run_of_a_training_names_its_process() -> None:
    tags = process_tags()
    assert tags[HOST_TAG] == socket.gethostname() and tags[PID_TAG].isdigit()
    if sys.platform.startswith("linux"):
        assert tags[PID_STARTED_TAG].isdigit()
