"""``vru demo`` run again in the same home ends in a healthy service every time (issue 17: the
second run trained and registered again, and stopped at its flags with "already stored with
different content"). A run after one that reached its end reuses it; a run after one that
stopped before its end (no completion record), or with other options, replaces it, with a new
audit log and its anchor; a run stopped by Ctrl-C leaves no record. Each says which."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from tests.conftest import RunVru
from tests.serving.app.conftest import Browser
from tests.trained import THREADS, one_thread
from vru_risk.cli.common import state
from vru_risk.cli.demo import DEMO_PASSWORD
from vru_risk.cli.demo_home import DEMO_FOLDER_MARKER, DEMO_HOME_MARKER
from vru_risk.cli.demo_state import DEMO_DONE, DemoRun, read_record, reusable, write_record
from vru_risk.serving.app import create_app

#: A county about the smallest with which every step of the demo runs (with 750 young people
#: training's fold plan is rejected: too few positives in a slice).
PEOPLE = "1000"


@pytest.fixture
def demo_env(monkeypatch: pytest.MonkeyPatch) -> None:
    one_thread(monkeypatch)
    for name, value in THREADS.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("OMP_WAIT_POLICY", "PASSIVE")  # the demo's default, kept to this test


def as_a_new_process() -> None:
    """Forget the MLflow stores this process opened, as a new `vru demo` process starts without
    them (MLflow keeps a store and its engine per URI for the life of a process; the demo
    itself never opens its store before replacing it)."""
    from mlflow.store.model_registry.sqlalchemy_store import SqlAlchemyStore as RegistryStore
    from mlflow.store.tracking.sqlalchemy_store import SqlAlchemyStore as TrackingStore
    from mlflow.tracking._model_registry.utils import _get_store_registry
    from mlflow.tracking._tracking_service.utils import _tracking_store_registry

    for store in (TrackingStore, RegistryStore):
        for engine in store._engine_map.values():
            engine.dispose()
        store._engine_map.clear()
    _tracking_store_registry._get_store_with_resolved_uri.cache_clear()
    _get_store_registry()._get_store_with_resolved_uri.cache_clear()  # type: ignore[no-untyped-call]
    state.settings = None


def healthy_service(folder: Path) -> None:
    """The demo home's service: /health ok, and a practitioner sees their programme's flags."""
    offered: dict[str, set[str]] = {}
    for line in (folder / "flags.jsonl").read_text(encoding="utf-8").splitlines():
        flag = json.loads(line)
        for p in flag["programmes"]:
            if p["status"] == "offered":
                offered.setdefault(p["programme"], set()).add(flag["flag_id"])
    assert offered, "the demo's daily job offered nothing"
    app = create_app(state.get_settings())  # with the demo's keys, as the demo set them
    with TestClient(app, follow_redirects=False) as client:
        health = client.get("/health").json()
        assert health["status"] == "ok", health
        assert (health["scoring"], health["audit_log"]) == ("available", "ready")
        listed: set[str] = set()
        for programme, ids in offered.items():
            browser = Browser(TestClient(app, follow_redirects=False))
            user = f"demo-{programme.replace('_', '-')}"
            assert browser.login(user, DEMO_PASSWORD).status_code == 303
            page = browser.get("/flags")
            assert page.status_code == 200, page.text[:500]
            listed |= ids & set(re.findall(r"/flags/([0-9a-f]+)", page.text))
        assert listed, "no practitioner sees a flag the demo offered"


def stage_times(output: str) -> list[str]:
    return re.findall(r"^([1-9]/9 .+): [0-9.]+ s$", output, flags=re.MULTILINE)


@pytest.mark.usefixtures("demo_env")
def test_the_demo_run_again_ends_in_a_healthy_service_each_time(
    vru: RunVru, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    home, folder = tmp_path / "vru-home", tmp_path / "vru-home" / "demo"
    from vru_risk.jobs import flags as flags_job

    daily_job = flags_job.run

    def ctrl_c(*_: object, **__: object) -> None:
        raise KeyboardInterrupt

    # stopped at its recent flags: trained, registered, audited, decided, the service simulated
    # (its flags and the audit log in the database, the anchor beside the home)
    monkeypatch.setattr(flags_job, "run", ctrl_c)
    stopped = vru("demo", "--no-serve", "--people", PEOPLE)
    assert stopped.code == 130, stopped.output
    assert f"a new demo in {home}" in stopped.stdout and read_record(home) is None
    assert (home / "app.db").exists() and (tmp_path / "vru-home.audit-anchor.json").exists()
    monkeypatch.setattr(flags_job, "run", daily_job)

    as_a_new_process()
    first = vru("demo", "--no-serve", "--people", PEOPLE)
    assert first.code == 0, first.output
    said = " ".join(first.stdout.split())
    assert f"replacing the earlier demo in {home} (no earlier run of the demo reached" in said
    for made in ("app.db", "mlflow.db", "review_log.jsonl", "vru-home.audit-anchor.json"):
        assert made in said
    assert "registered vru-risk version 1" in said  # a new registry, not version 2
    assert len(stage_times(first.stdout)) == 9 and "time per stage" in first.stdout
    healthy_service(folder)

    as_a_new_process()
    again = vru("demo", "--no-serve", "--people", PEOPLE)
    assert again.code == 0, again.output
    made_on = read_record(home)
    assert made_on is not None and made_on.version == 1
    said = " ".join(again.stdout.split())
    assert f"reusing the demo made on {made_on.finished} (version 1); `vru demo --fresh`" in said
    assert stage_times(again.stdout) == []  # nothing trained, registered or loaded again
    healthy_service(folder)


def test_a_run_stopped_by_ctrl_c_leaves_no_record(
    vru: RunVru, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    home = tmp_path / "vru-home"
    # a demo home holding a demo that reached its end with --seed 0, and a file of the user's
    folder = home / "demo"
    folder.mkdir(parents=True)
    (home / DEMO_HOME_MARKER).write_text("made by `vru demo`\n")
    (folder / DEMO_FOLDER_MARKER).write_text("made by vru demo\n")
    (home / "app.db").write_text("")
    (home / "notes.txt").write_text("mine\n")
    write_record(home, DemoRun(int(PEOPLE), 0, folder), version=1, state="candidate", summary="")

    def interrupted(**_: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr("vru_risk.jobs.data.generate_county", interrupted)
    stopped = vru("demo", "--no-serve", "--people", PEOPLE, "--seed", "1")
    assert stopped.code == 130, stopped.output
    said = " ".join(stopped.stdout.split())
    assert "replacing the earlier demo" in said and "(it was made with --seed 0 (now 1))" in said
    assert "left in" in said and "(not made by the demo): notes.txt" in said
    assert not (home / DEMO_DONE).exists() and not (home / "app.db").exists()
    assert (home / "notes.txt").read_text() == "mine\n"
    assert (folder / DEMO_FOLDER_MARKER).exists()  # made again by the stopped run
    run = DemoRun(int(PEOPLE), 1, folder)
    assert reusable(state.get_settings(), run, fresh=False) == (
        None,
        "no earlier run of the demo reached its end here (stopped or interrupted?)",
    )
