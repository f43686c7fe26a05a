"""``vru audit-log verify | rotate-key | prune`` through the real entry point, on SQLite and
PostgreSQL (security review findings 13, 19 and 20)."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest

from tests.conftest import RunVru
from tests.serving.database.test_admin_cli import KEY, PASSWORD, audit_rows, flat, stdin
from vru_risk.settings import Settings
from vru_risk.store import make_engine

NEW_KEY = "the-rotated-audit-key-0123456789"


@pytest.fixture
def app_db(db_url: str, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("VRU_DATABASE_URL", db_url)
    monkeypatch.setenv("VRU_AUDIT_KEY", KEY)
    return db_url


def add_users(vru: RunVru, monkeypatch: pytest.MonkeyPatch, *names: str) -> None:
    for name in names:
        stdin(monkeypatch, PASSWORD)
        assert vru("users", "add", name, "--role", "admin", "--password-stdin").code == 0


def delete_all_rows(url: str) -> None:
    engine = make_engine(url)
    try:
        with engine.begin() as conn:
            conn.exec_driver_sql("DELETE FROM audit_log")
    finally:
        engine.dispose()


def test_verify_tells_an_empty_log_from_a_deleted_one(
    vru: RunVru, app_db: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """Finding 19: a fresh home is "empty: OK"; the same after rows were written and then
    every row and head.json deleted is tampering, caught by the anchor beside VRU_HOME."""
    fresh = vru("audit-log", "verify")
    assert fresh.code == 0 and "empty, no record of any rows: OK" in fresh.stdout
    add_users(vru, monkeypatch, "ann", "bob", "cat")
    anchor = Settings().audit_anchor
    assert anchor == tmp_path / "vru-home.audit-anchor.json"  # outside VRU_HOME
    assert json.loads(anchor.read_text())["head"]["seq"] == 3
    delete_all_rows(app_db)
    (tmp_path / "vru-home" / "audit" / "head.json").unlink()
    wiped = vru("audit-log", "verify")
    assert wiped.code == 2, wiped.output
    assert "the anchor claims 3 rows, the table has 0" in flat(wiped.stdout)
    assert "FAILED: the audit log was altered" in wiped.stdout
    refused = vru("users", "disable", "ann")  # nothing more is added to a wiped log
    assert refused.code == 2 and "records rows up to 3, the table has no rows" in flat(
        refused.stderr
    )


def test_verify_reports_a_huge_head_as_missing_rows(
    vru: RunVru, app_db: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """Finding 13 through the command: one line, no row-by-row list."""
    assert vru("retention", "apply").code == 0  # one audit row
    head = tmp_path / "vru-home" / "audit" / "head.json"
    head.write_text(json.dumps({"seq": 10**12, "mac": "a" * 64}))
    result = vru("audit-log", "verify")
    assert result.code == 2
    assert (
        f"head.json claims {10**12} rows, the table has 1: {10**12 - 1} rows missing at the end"
    ) in flat(result.stdout)


def test_rotate_key_then_verify_with_the_previous_key(
    vru: RunVru, app_db: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Finding 20: the new key comes from standard input; afterwards the old key is retired
    (refused for new rows) and verification needs it among VRU_AUDIT_PREVIOUS_KEYS."""
    add_users(vru, monkeypatch, "ann", "bob")
    for bad, why in (
        (NEW_KEY + " ", "leading or trailing whitespace"),
        ("short", "at least 16 characters"),
        (KEY, "key of key segment 1 already"),
    ):
        stdin(monkeypatch, bad)
        refused = vru("audit-log", "rotate-key")
        assert refused.code == 2 and why in flat(refused.stderr), refused.output
    stdin(monkeypatch)
    assert "no key line" in vru("audit-log", "rotate-key").stderr
    on_line = vru("audit-log", "rotate-key", NEW_KEY)
    assert on_line.code == 2  # there is no argument: never on the command line
    stdin(monkeypatch, NEW_KEY)
    rotated = vru("audit-log", "rotate-key")
    assert rotated.code == 0, rotated.output
    out = flat(rotated.stdout)
    assert "key segment 2" in out and "begins at row 3" in out
    assert "replace VRU_AUDIT_KEY" in out and "VRU_AUDIT_PREVIOUS_KEYS" in out
    assert NEW_KEY not in rotated.output and KEY not in rotated.output
    assert audit_rows(app_db)[-1]["purpose"] == "audit: key rotated"

    old = vru("users", "disable", "ann")  # the old key is retired
    assert old.code == 2 and "retired key of key segment 1" in flat(old.stderr)
    monkeypatch.setenv("VRU_AUDIT_KEY", NEW_KEY)
    assert vru("users", "disable", "ann").code == 0
    unchecked = vru("audit-log", "verify")
    assert unchecked.code == 2 and "UNCHECKED: row(s) 1-2" in flat(unchecked.stdout)
    monkeypatch.setenv("VRU_AUDIT_PREVIOUS_KEYS", KEY)
    verified = vru("audit-log", "verify")
    assert verified.code == 0 and "OK: the chain is intact" in verified.stdout, verified.output


def test_prune_counts_back_from_today_at_the_latest(
    vru: RunVru, app_db: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    add_users(vru, monkeypatch, "ann")
    tomorrow = (dt.date.today() + dt.timedelta(days=1)).isoformat()
    future = vru("audit-log", "prune", "--today", tomorrow)
    assert future.code == 2 and "is later than today" in future.stderr
    bad = vru("audit-log", "prune", "--today", "31/12/2020")
    assert bad.code == 2 and "YYYY-MM-DD" in bad.stderr
    dry = vru("audit-log", "prune", "--dry-run")
    assert dry.code == 0 and "0 row(s) would be deleted (dry run)" in dry.stdout
    assert "retention 72 months" in dry.stdout
    assert len(audit_rows(app_db)) == 1
    done = vru("audit-log", "prune")
    assert done.code == 0 and "deleted 0 row(s); recorded as audit-log row 2" in flat(done.stdout)
    assert audit_rows(app_db)[-1]["purpose"] == "audit: rows pruned"
    assert vru("audit-log", "verify").code == 0


def test_a_log_emptied_with_its_head_and_anchor_is_tampering_when_acts_remain(
    vru: RunVru, app_db: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """Security re-review F4: deleting the rows, the key segments, head.json and the anchor
    beside VRU_HOME verified "empty: OK", and a new chain began, although the database still
    held the users whose addition those rows recorded."""
    add_users(vru, monkeypatch, "ann", "bob")
    assert vru("users", "token", "ann").code == 0
    engine = make_engine(app_db)
    try:
        with engine.begin() as conn:
            conn.exec_driver_sql("DELETE FROM audit_log")
            conn.exec_driver_sql("DELETE FROM audit_key_segments")
    finally:
        engine.dispose()
    (tmp_path / "vru-home" / "audit" / "head.json").unlink()
    Settings().audit_anchor.unlink()
    wiped = vru("audit-log", "verify")
    assert wiped.code == 2, wiped.output
    text = flat(wiped.stdout)
    assert (
        "EMPTIED: the audit log has no rows and no key segments, but the database holds 2 "
        "user(s), 1 API token(s), each only ever made beside an audit row" in text
    )
    assert "FAILED: the audit log was altered" in text and "OK" not in text
    refused = vru("users", "disable", "bob")  # no new chain is started over the deletion
    assert refused.code == 2 and "the audit rows were deleted" in flat(refused.stderr)
    assert audit_rows(app_db) == []
