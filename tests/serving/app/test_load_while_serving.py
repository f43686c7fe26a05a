"""A large ``vru flags load`` while the service runs: practitioners' decisions are recorded
meanwhile, and a second load at the same time is refused with exit 2 (never exit 1, "database
is locked"); on SQLite and PostgreSQL."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import func, select

from tests.conftest import RunVru
from tests.serving.app.conftest import AUDIT_KEY, TODAY, Served, make_flag, make_settings, serve
from tests.store.conftest import empty_postgres
from vru_risk.store import engine as db_engine
from vru_risk.store.models import FlagLoad, FlagRow

LOAD = 20_000  # the old single transaction held SQLite's write lock for about 7 s here
DECISION = {"decision": "no_action", "reason_code": "moved_away", "text": ""}


@pytest.fixture(params=["sqlite", "postgresql"])
def served_impatient(
    request: pytest.FixtureRequest, vru_home: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Served]:
    """The app, and every command run in this process, waiting at most 2 s for SQLite's write
    lock instead of 30 s: what waits longer fails (the review saw a decision fail after 30 s),
    so the test needs no clock."""
    monkeypatch.setattr(db_engine, "BUSY_TIMEOUT_MS", 2000)
    if request.param == "sqlite":
        settings = make_settings(vru_home)
    else:
        url = str(request.getfixturevalue("postgres_database"))
        empty_postgres(url)
        settings = make_settings(vru_home, database_url=url)
    monkeypatch.setenv("VRU_DATABASE_URL", settings.app_database_url)
    monkeypatch.setenv("VRU_AUDIT_KEY", AUDIT_KEY)
    with serve(settings) as running:
        yield running


def staging(served: Served) -> bool:
    """Whether a load has begun and not yet published (it holds the load lock)."""
    with served.state.sessions() as s:
        unpublished = select(func.count()).select_from(FlagLoad)
        return bool(s.scalar(unpublished.where(FlagLoad.published_at.is_(None))))


def test_decisions_are_recorded_and_a_second_load_refused_while_a_large_load_runs(
    served_impatient: Served, vru: RunVru, tmp_path: Path
) -> None:
    served = served_impatient
    big = tmp_path / "big.jsonl"
    big.write_text(
        "".join(
            make_flag(
                f"PL-{i:06d}", TODAY, (("early_intervention", i + 3, "offered"),)
            ).model_dump_json()
            + "\n"
            for i in range(LOAD)
        )
    )
    small = tmp_path / "small.jsonl"
    small.write_text(make_flag("PS-0001", TODAY, (("jump_start", 2, "offered"),)).model_dump_json())
    a = served.flags["A"].flag_id
    started = time.monotonic()
    loading = subprocess.Popen(
        [sys.executable, "-m", "vru_risk.cli", "flags", "load", str(big)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=dict(os.environ),
    )
    decided: list[int] = []
    second: list[tuple[int, str]] = []
    try:
        # the large load first holds the load lock (its staging row is written under it): a
        # second load started before it would take the lock itself and the large one be refused
        deadline = time.monotonic() + 120
        while loading.poll() is None and not staging(served) and time.monotonic() < deadline:
            time.sleep(0.05)
        while loading.poll() is None:
            posted = served.api("pat").post(f"/api/v1/flags/{a}/decisions", json=DECISION)
            decided.append(posted.status_code)
            assert posted.status_code == 201, posted.text
            other = vru("flags", "load", small)
            second.append((other.code, " ".join(other.stderr.split())))
            assert other.code in (0, 2), other.output
            time.sleep(0.05)
        out, err = loading.communicate(timeout=120)
    finally:
        if loading.poll() is None:
            loading.kill()
            loading.communicate(timeout=60)
    assert loading.returncode == 0, err
    print(f"load took {time.monotonic() - started:.1f} s; {len(decided)} decisions")
    assert f"{LOAD} flag(s) inserted, 0 already present" in " ".join(out.split())
    assert len(decided) >= 3
    busy = [m for code, m in second if code == 2]
    assert busy, second
    assert all("another `vru flags load` is running on this database" in m for m in busy)
    with served.state.sessions() as s:
        assert s.scalar(select(func.count()).select_from(FlagRow)) == LOAD + 4 + 1
    last = make_flag(f"PL-{LOAD - 1:06d}", TODAY, (("early_intervention", LOAD + 2, "offered"),))
    shown = served.api("ed").get(f"/api/v1/flags/{last.flag_id}")
    assert shown.status_code == 200 and shown.json()["person_id"] == last.person_id
