"""Rotating the audit key and pruning old audit rows (security review finding 20), on SQLite
and PostgreSQL: the chain stays verifiable across both, and neither can be forged."""

from __future__ import annotations

import datetime as dt
import json
import secrets
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, select
from sqlalchemy.engine import make_url

from tests.serving.access_log.test_log import KEY, event, execute, rows
from vru_risk.serving.access_log import log as audit_log_module
from vru_risk.serving.access_log.log import AuditLog, AuditLogError
from vru_risk.serving.access_log.maintenance import prune, rotate_key
from vru_risk.store import grant_app_role, make_engine
from vru_risk.store.models import AuditKeySegment

NEW = b"the-new-key-after-rotation-0123"
LONG_AGO = dt.datetime(2019, 6, 1, 12, tzinfo=dt.UTC)


class _Clock(dt.datetime):
    """``datetime`` whose ``now`` is a settable moment (rows written years ago)."""

    moment = LONG_AGO

    @classmethod
    def now(cls, tz: dt.tzinfo | None = None) -> _Clock:
        return cls.fromtimestamp(cls.moment.timestamp(), tz)


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> type[_Clock]:
    monkeypatch.setattr(audit_log_module, "datetime", _Clock)
    _Clock.moment = LONG_AGO
    return _Clock


@pytest.fixture
def aged(engine: Engine, tmp_path: Path, clock: type[_Clock]) -> AuditLog:
    """Rows 1-6 written in 2019, rows 7-10 in 2025."""
    audit = AuditLog(engine, KEY, tmp_path / "audit" / "head.json")
    audit.append([event(i) for i in range(1, 7)])
    clock.moment = dt.datetime(2025, 1, 1, tzinfo=dt.UTC)
    audit.append([event(i) for i in range(7, 11)])
    return audit


def segments(engine: Engine) -> list[tuple[int, int]]:
    with engine.connect() as conn:
        found = conn.execute(select(AuditKeySegment.segment, AuditKeySegment.first_seq))
        return [(int(s), int(f)) for s, f in found]


def test_rotation_starts_a_segment_vouched_for_by_both_keys(engine: Engine, tmp_path: Path) -> None:
    head = tmp_path / "audit" / "head.json"
    old = AuditLog(engine, KEY, head)
    old.append([event(i) for i in range(1, 4)])
    server = AuditLog(engine, KEY, head)  # another process still holding the old key
    rotated = rotate_key(AuditLog(engine, KEY, head), NEW, operator="ops")
    assert (rotated.segment.segment, rotated.segment.first_seq) == (2, 4)
    assert segments(engine) == [(1, 1), (2, 4)]
    stored = rows(engine)
    assert stored[3]["prev_mac"] == stored[2]["mac"]  # chained from the old segment's last
    assert stored[3]["purpose"] == "audit: key rotated" and stored[3]["username"] == "ops"
    anchor = json.loads(old.anchor_path.read_text())
    assert [s["first_seq"] for s in anchor["segments"]] == [1, 4]
    with pytest.raises(AuditLogError, match="retired key of key segment 1"):
        server.append([event(5)])  # the old key never writes into the new segment
    new = AuditLog(engine, NEW, head, previous_keys=[KEY])
    assert new.append([event(5)]) == [5]
    report = new.verify()
    assert report.ok, report.lines()
    without_old = AuditLog(engine, NEW, head).verify()
    assert not without_old.ok and without_old.unchecked == [range(1, 4)]
    assert "VRU_AUDIT_PREVIOUS_KEYS" in "\n".join(without_old.lines())
    with pytest.raises(AuditLogError, match="key of key segment 1 already"):
        rotate_key(new, KEY, operator="ops")


def test_a_rotation_without_the_old_keys_endorsement_is_caught(
    engine: Engine, tmp_path: Path
) -> None:
    """Someone with database access and a key of their own writes a rotation row and a
    segment: its endorsement does not verify under the old key."""
    head = tmp_path / "audit" / "head.json"
    AuditLog(engine, KEY, head).append([event(1), event(2)])
    rotate_key(AuditLog(engine, KEY, head), NEW, operator="ops")
    stored = rows(engine)
    forged_route = str(stored[2]["route"]).rsplit(" ", 1)[0] + " " + "e" * 64
    execute(engine, "UPDATE audit_log SET route = :r WHERE seq = 3", r=forged_route)
    report = AuditLog(engine, NEW, head, previous_keys=[KEY]).verify()
    assert not report.ok and 3 in report.edited
    assert "was not endorsed by the key of segment 1" in "\n".join(report.lines())


def test_a_deleted_key_segment_is_caught(engine: Engine, tmp_path: Path) -> None:
    head = tmp_path / "audit" / "head.json"
    AuditLog(engine, KEY, head).append([event(1)])
    rotate_key(AuditLog(engine, KEY, head), NEW, operator="ops")
    execute(engine, "DELETE FROM audit_key_segments WHERE segment = 2")
    new = AuditLog(engine, NEW, head, previous_keys=[KEY])
    lines = "\n".join(new.verify().lines())
    assert "records key segment 2 (from row 2" in lines and "database does not have" in lines
    assert "row 2 records key segment 2, which the segment table does not list" in lines
    with pytest.raises(AuditLogError, match="does not match the audit log"):
        new.check_ready()


def test_prune_deletes_old_rows_and_leaves_a_verifiable_checkpoint(
    aged: AuditLog, engine: Engine, clock: type[_Clock]
) -> None:
    clock.moment = dt.datetime(2026, 3, 1, tzinfo=dt.UTC)
    dry = prune(aged, cutoff=dt.date(2020, 1, 1), operator="ops", dry_run=True)
    assert (dry.deleted, dry.through, dry.checkpoint_seq) == (6, 6, None)
    assert len(rows(engine)) == 10
    done = prune(aged, cutoff=dt.date(2020, 1, 1), operator="ops")
    assert (done.deleted, done.through, done.checkpoint_seq) == (6, 6, 11)
    stored = rows(engine)
    assert [r["seq"] for r in stored] == [7, 8, 9, 10, 11]
    assert stored[-1]["purpose"] == "audit: rows pruned" and stored[-1]["username"] == "ops"
    report = aged.verify()
    assert report.ok, report.lines()
    assert report.pruned_through == 6 and "rows 1-6 were pruned" in "\n".join(report.lines())
    again = prune(aged, cutoff=dt.date(2020, 1, 1), operator="ops")
    assert (again.deleted, again.through) == (0, 6)  # nothing more: audited all the same
    clock.moment = dt.datetime(2026, 7, 1, tzinfo=dt.UTC)
    later = prune(aged, cutoff=dt.date(2026, 6, 1), operator="ops")
    assert (later.deleted, later.through) == (6, 12)  # 7-10, the first checkpoint and 12
    assert [r["seq"] for r in rows(engine)] == [13]
    assert aged.verify().ok
    execute(engine, "DELETE FROM audit_log")
    assert not aged.verify().ok  # the anchor still says 13


def test_rows_deleted_after_a_prune_are_still_caught(aged: AuditLog, engine: Engine) -> None:
    prune(aged, cutoff=dt.date(2020, 1, 1), operator="ops")
    execute(engine, "DELETE FROM audit_log WHERE seq = 7")  # the first kept row
    report = aged.verify()
    assert report.deleted == [range(7, 8)] and not report.ok


def test_prune_refuses_a_log_that_does_not_verify(aged: AuditLog, engine: Engine) -> None:
    execute(engine, "UPDATE audit_log SET person_id = 'P9999' WHERE seq = 2")
    with pytest.raises(AuditLogError, match="pruning would delete evidence"):
        prune(aged, cutoff=dt.date(2020, 1, 1), operator="ops")
    assert len(rows(engine)) == 10


def test_the_restricted_postgresql_role_cannot_prune(
    postgres_database: str, tmp_path: Path, clock: type[_Clock]
) -> None:
    from tests.store.conftest import empty_postgres
    from tests.store.test_engine import drop_role

    empty_postgres(postgres_database)
    owner = make_engine(postgres_database)
    role = f"vru_app_{secrets.token_hex(3)}"
    grant_app_role(owner, role)
    app = create_engine(make_url(postgres_database).set(username=role, password=None))
    try:
        audit = AuditLog(app, KEY, tmp_path / "audit" / "head.json")
        audit.append([event(1), event(2)])  # the role appends, and records key segment 1
        with pytest.raises(AuditLogError, match="the tables' owner"):
            prune(audit, cutoff=dt.date(2020, 1, 1), operator="ops")
        assert len(rows(owner)) == 2  # nothing deleted, no checkpoint row
        pruned = prune(AuditLog(owner, KEY, audit.head_path), cutoff=dt.date(2020, 1, 1),
                       operator="ops")  # fmt: skip
        assert pruned.deleted == 2 and AuditLog(owner, KEY, audit.head_path).verify().ok
    finally:
        app.dispose()
        drop_role(owner, role)
