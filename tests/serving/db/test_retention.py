"""Retention deletes old flags with their decisions and says so in the audit log."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session, sessionmaker

from tests.serving.db.conftest import make_flag, practitioner
from vru_risk.flags.programmes import load_programmes
from vru_risk.serving.access_log.log import AuditLog
from vru_risk.serving.db.models import AuditRow, DecisionRow, FlagProgramme, FlagRow
from vru_risk.serving.decisions import decisions_for, record_decision
from vru_risk.serving.flag_store import get_flag, load_flags
from vru_risk.serving.retention import apply_retention, months_before

TODAY = dt.date(2026, 3, 31)


@pytest.mark.parametrize(
    ("day", "months", "expected"),
    [
        (dt.date(2026, 3, 31), 1, dt.date(2026, 2, 28)),
        (dt.date(2024, 3, 31), 1, dt.date(2024, 2, 29)),
        (dt.date(2026, 3, 15), 12, dt.date(2025, 3, 15)),
        (dt.date(2026, 1, 10), 13, dt.date(2024, 12, 10)),
    ],
)
def test_months_before(day: dt.date, months: int, expected: dt.date) -> None:
    assert months_before(day, months) == expected


def test_retention_deletes_old_flags_and_decisions_and_audits_it(
    engine: Engine, sessions: sessionmaker[Session], tmp_path: Path
) -> None:
    old = make_flag("OLD", dt.date(2025, 3, 30))
    edge = make_flag("EDGE", dt.date(2025, 3, 31))
    new = make_flag("NEW", dt.date(2026, 3, 1))
    with sessions.begin() as s:
        load_flags(s, [old, edge, new])
    pat = practitioner(sessions)
    with sessions.begin() as s:
        for flag in (old, new):
            first = record_decision(
                s, flag_id=flag.flag_id, user=pat, programme_id="jump_start",
                decision="no_action", reason_code="moved_away", text="",
                known_programmes=load_programmes(),
            )  # fmt: skip
            record_decision(
                s, flag_id=flag.flag_id, user=pat, programme_id="jump_start",
                decision="no_action", reason_code="support_declined", text="", corrects=first.id,
                known_programmes=load_programmes(),
            )  # fmt: skip
    audit = AuditLog(engine, b"retention-test-key-123", tmp_path / "head.json")
    result = apply_retention(engine, audit, today=TODAY, months=12, username="root")
    assert (result.cutoff, result.flags_deleted, result.decisions_deleted) == (
        dt.date(2025, 3, 31),
        1,
        2,
    )
    with sessions.begin() as s:
        assert get_flag(s, old.flag_id) is None
        assert get_flag(s, edge.flag_id) == edge
        assert len(decisions_for(s, new.flag_id)) == 2
        assert s.scalar(select(func.count()).select_from(FlagRow)) == 2
        assert s.scalar(select(func.count()).select_from(FlagProgramme)) == 2
        assert s.scalar(select(func.count()).select_from(DecisionRow)) == 2
        row = s.scalars(select(AuditRow)).one()
    assert row.seq == result.audit_seq == 1
    assert (row.username, row.purpose, row.person_id) == ("root", "retention", None)
    assert "as_of before 2025-03-31: deleted 1 flag(s), 2 decision(s)" in row.route
    again = apply_retention(engine, audit, today=TODAY, months=12)
    assert (again.flags_deleted, again.decisions_deleted, again.audit_seq) == (0, 0, 2)
    assert audit.verify().ok
    with pytest.raises(ValueError, match="at least one month"):
        apply_retention(engine, audit, today=TODAY, months=0)
