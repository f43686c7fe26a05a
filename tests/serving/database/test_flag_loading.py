"""Large loads staged in batches and published together, one load at a time; a load stopped
or killed half-way publishes nothing; on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
import os
import secrets
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, func, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from tests.conftest import RunVru
from tests.store.conftest import empty_postgres, make_flag, practitioner
from tests.store.test_engine import drop_role
from vru_risk.flags.flag import Flag
from vru_risk.flags.programmes import load_programmes
from vru_risk.serving import flag_staging
from vru_risk.serving.access_log.log import AuditLog, AuditLogError
from vru_risk.serving.flag_staging import BATCH, LoadBusyError, load_flags_staged
from vru_risk.serving.withdrawal import withdraw_flag
from vru_risk.store import grant_app_role, make_engine, session_factory
from vru_risk.store.decisions import record_decision
from vru_risk.store.flag_loader import flag_rows, insert_rows
from vru_risk.store.flag_store import (
    FlagStoreError,
    aggregates,
    flags_for_programme,
    get_flag,
    latest_as_of,
)
from vru_risk.store.models import FlagLoad, FlagProgramme, FlagRow

KEY = "an-audit-key-of-some-length"
DAY = dt.date.today() - dt.timedelta(days=2)


@pytest.fixture
def app_db(db_url: str, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("VRU_DATABASE_URL", db_url)
    monkeypatch.setenv("VRU_AUDIT_KEY", KEY)
    return db_url


def flat(output: str) -> str:
    return " ".join(output.split())


@pytest.fixture
def small_batches(monkeypatch: pytest.MonkeyPatch) -> None:
    """Batches of 2 flags and no pause: a few flags make a multi-batch load."""
    monkeypatch.setattr(flag_staging, "BATCH", 2)
    monkeypatch.setattr(flag_staging, "SQLITE_PAUSE", 0.0)


def shown_now(sessions: sessionmaker[Session], flags: list[Flag]) -> dict[str, Any]:
    """What the service would show of ``flags`` now (another session, as a request would)."""
    with sessions() as s:
        return {
            "get": [f.flag_id for f in flags if get_flag(s, f.flag_id) is not None],
            "list": flags_for_programme(s, "jump_start", today=DAY, visible_days=90),
            "today": latest_as_of(s),
            "total": aggregates(s, today=DAY).total_flags,
        }


@pytest.mark.usefixtures("small_batches")
def test_a_staged_load_is_shown_only_once_published(
    engine: Engine, sessions: sessionmaker[Session]
) -> None:
    flags = [make_flag(f"P{i}", DAY, offers=(("jump_start", i, "offered"),)) for i in range(7)]
    pat = practitioner(sessions)
    seen: list[dict[str, Any]] = []

    def during(done: int, total: int) -> None:
        seen.append(shown_now(sessions, flags))
        with pytest.raises(FlagStoreError, match="no flag"), sessions.begin() as s:
            record_decision(
                s, flag_id=flags[0].flag_id, user=pat, programme_id="jump_start",
                decision="no_action", reason_code="moved_away", text="",
                known_programmes=load_programmes(),
            )  # fmt: skip

    result = load_flags_staged(engine, flags, source="f.jsonl", operator="ops", progress=during)
    assert (result.inserted, result.already_present, result.discarded) == (7, 0, 0)
    assert len(seen) == 4  # batches of 2
    assert all(s == {"get": [], "list": [], "today": None, "total": 0} for s in seen)
    after = shown_now(sessions, flags)
    assert after["get"] == [f.flag_id for f in flags] and after["total"] == 7
    assert [f.person_id for f in after["list"]] == [f"P{i}" for i in range(7)]
    with sessions() as s:
        load = s.scalars(select(FlagLoad)).one()
        assert (load.source, load.operator, load.staged) == ("f.jsonl", "ops", 7)
        assert load.published_at is not None
    again = load_flags_staged(engine, flags, source="f.jsonl", operator="ops")
    assert (again.inserted, again.already_present, again.load_id) == (0, 7, None)


@pytest.mark.usefixtures("small_batches")
def test_a_second_load_is_refused_while_one_runs(
    engine: Engine, sessions: sessionmaker[Session]
) -> None:
    first = [make_flag(f"A{i}", DAY) for i in range(5)]
    refusals: list[str] = []

    def during(done: int, total: int) -> None:
        with pytest.raises(LoadBusyError) as info:
            load_flags_staged(engine, [make_flag("B1", DAY)], source="b.jsonl", operator="bo")
        refusals.append(str(info.value))

    load_flags_staged(engine, first, source="a.jsonl", operator="al", progress=during)
    assert len(refusals) == 3
    assert "another `vru flags load` is running" in refusals[0]
    assert "a.jsonl" in refusals[0] and "by al" in refusals[0]
    assert "run this command again" in refusals[0]
    # once it finished, the second runs
    assert load_flags_staged(engine, [make_flag("B1", DAY)], source="b", operator="bo").inserted


@pytest.mark.usefixtures("small_batches")
def test_a_load_stopped_half_way_publishes_nothing_and_leaves_nothing(
    engine: Engine, sessions: sessionmaker[Session]
) -> None:
    flags = [make_flag(f"P{i}", DAY) for i in range(6)]

    def interrupted(done: int, total: int) -> None:
        if done == 4:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        load_flags_staged(engine, flags, source="f", operator="o", progress=interrupted)
    with sessions() as s:
        assert s.scalar(select(func.count()).select_from(FlagRow)) == 0
        assert s.scalar(select(func.count()).select_from(FlagProgramme)) == 0
        assert s.scalar(select(func.count()).select_from(FlagLoad)) == 0


def test_an_abandoned_load_is_never_shown_and_the_next_load_discards_it(
    engine: Engine, sessions: sessionmaker[Session]
) -> None:
    """What a killed load leaves (a load row never published, some staged flags) is invisible,
    and the next load removes it before staging its own."""
    staged = [make_flag(f"K{i}", DAY) for i in range(3)]
    with sessions.begin() as s:
        load = FlagLoad(source="killed.jsonl", operator="ops", staged=10)
        s.add(load)
        s.flush()
        insert_rows(s, *flag_rows(staged, load_id=load.id))
    assert shown_now(sessions, staged) == {"get": [], "list": [], "today": None, "total": 0}
    result = load_flags_staged(engine, [staged[0], make_flag("N1", DAY)], source="n", operator="o")
    assert (result.inserted, result.already_present, result.discarded) == (2, 0, 3)
    with sessions() as s:
        assert sorted(s.scalars(select(FlagRow.person_id))) == ["K0", "N1"]
        assert s.scalar(select(func.count()).select_from(FlagLoad)) == 1


def big_file(path: Path, n: int, prefix: str) -> list[Flag]:
    flags = [make_flag(f"{prefix}{i:06d}", DAY) for i in range(n)]
    path.write_text("".join(f.model_dump_json() + "\n" for f in flags), encoding="utf-8")
    return flags


def vru_process(*args: str | Path) -> subprocess.Popen[str]:
    """``vru ARGS`` in a process of its own (the environment: the test's settings)."""
    return subprocess.Popen(
        [sys.executable, "-m", "vru_risk.cli", *map(str, args)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=dict(os.environ),
    )


def test_a_load_killed_half_way_publishes_nothing(vru: RunVru, app_db: str, tmp_path: Path) -> None:
    flags = big_file(tmp_path / "big.jsonl", 6 * BATCH, "K")
    loading = vru_process("flags", "load", tmp_path / "big.jsonl")
    engine = make_engine(app_db)
    try:
        staged = 0
        deadline = time.monotonic() + 120
        while staged < BATCH and time.monotonic() < deadline and loading.poll() is None:
            time.sleep(0.02)
            with session_factory(engine)() as s:
                staged = int(s.scalar(select(func.count()).select_from(FlagRow)) or 0)
        assert staged >= BATCH, loading.communicate()
        loading.send_signal(signal.SIGKILL)
        loading.communicate(timeout=60)
        assert loading.returncode == -signal.SIGKILL
        with session_factory(engine)() as s:
            load = s.scalars(select(FlagLoad)).one()
            assert load.published_at is None
            left = int(s.scalar(select(func.count()).select_from(FlagRow)) or 0)
            assert BATCH <= left < len(flags)
            assert all(get_flag(s, f.flag_id) is None for f in flags[:: BATCH // 4])
            assert flags_for_programme(s, "jump_start", today=DAY, visible_days=90) == []
        again = vru("flags", "load", tmp_path / "big.jsonl")
        assert again.code == 0, again.output
        text = flat(again.stdout)
        assert f"discarded {left} flag(s) that an earlier, unfinished load had staged" in text
        assert f"{len(flags)} flag(s) inserted, 0 already present" in text
        with session_factory(engine)() as s:
            assert s.scalar(select(func.count()).select_from(FlagRow)) == len(flags)
            assert s.scalars(select(FlagLoad.published_at)).one() is not None
            assert get_flag(s, flags[-1].flag_id) == flags[-1]
    finally:
        if loading.poll() is None:
            loading.kill()
            loading.communicate(timeout=60)
        engine.dispose()


def test_the_restricted_role_loads_withdraws_and_is_checked_for_the_audit_right(
    postgres_database: str, tmp_path: Path
) -> None:
    """PostgreSQL's application role can stage, publish and withdraw; an audit log it may not
    insert into is found before anything changes (AuditLog.check_ready)."""
    empty_postgres(postgres_database)
    owner = make_engine(postgres_database)
    role = f"vru_app_{secrets.token_hex(3)}"
    grant_app_role(owner, role)
    url = make_url(postgres_database).set(username=role, password=None)
    app = make_engine(url.render_as_string(hide_password=False))
    try:
        audit = AuditLog(app, b"a-key-of-sixteen-bytes", tmp_path / "head.json")
        audit.check_ready()  # as `vru flags load` does before it loads
        flags = [make_flag(f"R{i}", DAY) for i in range(3)]
        assert load_flags_staged(app, flags, source="r", operator="ops").inserted == 3
        with session_factory(app, write=True).begin() as s:
            withdraw_flag(s, flags[0].flag_id, reason="test", by="ops")
        with session_factory(app)() as s:
            assert get_flag(s, flags[0].flag_id) is None and get_flag(s, flags[1].flag_id)
        audit.check_ready()
        with owner.begin() as conn:
            conn.execute(text(f'REVOKE INSERT ON TABLE audit_log FROM "{role}"'))
        with pytest.raises(AuditLogError, match="may not INSERT into audit_log"):
            audit.check_ready()
    finally:
        app.dispose()
        drop_role(owner, role)
