"""Retention deletes old flags with their decisions and says so in the audit log."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select, update
from sqlalchemy.orm import Session, sessionmaker

from tests.store.conftest import make_flag, practitioner
from vru_risk.flags.programmes import load_programmes
from vru_risk.serving.access_log.log import AuditLog
from vru_risk.serving.retention import (
    RetentionError,
    apply_retention,
    months_before,
    plan_retention,
)
from vru_risk.store.decisions import decisions_for, record_decision
from vru_risk.store.flag_store import get_flag, load_flags
from vru_risk.store.flag_views import record_view, views_of
from vru_risk.store.models import AuditRow, DecisionRow, FlagProgramme, FlagRow

TODAY = dt.date(2026, 3, 31)


def ready_audit_log(engine: Engine, tmp_path: Path) -> AuditLog:
    """The audit log as the server and the commands open it before anything is stored (an
    empty log beside flags or decisions is a deleted one)."""
    audit = AuditLog(engine, b"retention-test-key-123", tmp_path / "head.json")
    audit.check_ready()
    return audit


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
    audit = ready_audit_log(engine, tmp_path)
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
    backdate_decisions(sessions, old.flag_id, dt.datetime(2025, 4, 1, tzinfo=dt.UTC))
    result = apply_retention(
        engine, audit, today=TODAY, months=12, visible_days=90, username="root"
    )
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
    again = apply_retention(engine, audit, today=TODAY, months=12, visible_days=90)
    assert (again.flags_deleted, again.decisions_deleted, again.audit_seq) == (0, 0, 2)
    assert audit.verify().ok
    with pytest.raises(ValueError, match="at least one month"):
        apply_retention(engine, audit, today=TODAY, months=0, visible_days=90)


def test_views_of_a_flag_go_with_it_and_the_views_of_kept_flags_stay(
    engine: Engine, sessions: sessionmaker[Session], tmp_path: Path
) -> None:
    audit = ready_audit_log(engine, tmp_path)
    old, new = make_flag("OLD", dt.date(2025, 3, 30)), make_flag("NEW", dt.date(2026, 3, 1))
    with sessions.begin() as s:
        load_flags(s, [old, new])
    pat = practitioner(sessions)
    with sessions.begin() as s:
        for flag in (old, old, new):
            record_view(s, flag_id=flag.flag_id, programme_id="jump_start", user_id=pat.id)
    plan = plan_retention(engine, today=TODAY, months=12, visible_days=90)
    assert (plan.flags, plan.views) == (1, 2) and "2 flag view(s)" in plan.summary()
    result = apply_retention(engine, audit, today=TODAY, months=12, visible_days=90)
    assert (result.flags_deleted, result.decisions_deleted, result.views_deleted) == (1, 0, 2)
    with sessions.begin() as s:
        assert views_of(s, [old.flag_id]) == []
        assert [v.flag_id for v in views_of(s, [new.flag_id])] == [new.flag_id]
        row = s.scalars(select(AuditRow)).one()
    assert "deleted 1 flag(s), 0 decision(s), 2 flag view(s)" in row.route


def backdate_decisions(sessions: sessionmaker[Session], flag_id: str, when: dt.datetime) -> None:
    """Decisions on a flag recorded at ``when`` (as they were, while it was shown)."""
    with sessions.begin() as s:
        s.execute(update(DecisionRow).where(DecisionRow.flag_id == flag_id).values(created_at=when))


def counts(sessions: sessionmaker[Session]) -> tuple[int, int, int]:
    with sessions.begin() as s:
        return (
            int(s.scalar(select(func.count()).select_from(FlagRow)) or 0),
            int(s.scalar(select(func.count()).select_from(DecisionRow)) or 0),
            int(s.scalar(select(func.count()).select_from(AuditRow)) or 0),
        )


def test_a_cut_off_inside_the_newest_flags_display_period_is_refused_unless_forced(
    engine: Engine, sessions: sessionmaker[Session], tmp_path: Path
) -> None:
    """Security re-review F1: counting back from a day far past the newest flag (a wrong clock,
    an extract lagging the clock) deleted every flag the service was listing, exit 0."""
    audit = ready_audit_log(engine, tmp_path)
    flags = [make_flag("OLDER", dt.date(2024, 11, 2)), make_flag("NEWEST", dt.date(2025, 1, 10))]
    with sessions.begin() as s:
        load_flags(s, flags)
    with pytest.raises(RetentionError) as info:
        apply_retention(engine, audit, today=TODAY, months=12, visible_days=90)
    message = " ".join(str(info.value).split())
    assert "the cut-off 2025-03-31 falls inside the display period of the newest flag" in message
    assert "(as_of 2025-01-10, listed for VRU_FLAG_VISIBLE_DAYS=90 days" in message
    assert "--force" in message and "Nothing was deleted" in message
    assert counts(sessions) == (2, 0, 0)
    forced = apply_retention(engine, audit, today=TODAY, months=12, visible_days=90, force=True)
    assert (forced.flags_deleted, counts(sessions)) == (2, (0, 0, 1))
    with sessions.begin() as s:
        route = s.scalars(select(AuditRow.route)).one()
    assert route.startswith("vru retention apply (--force past its hazards): as_of before")


def test_decisions_recorded_recently_are_not_deleted_without_force(
    engine: Engine, sessions: sessionmaker[Session], tmp_path: Path
) -> None:
    """Security re-review F1: a decision recorded minutes ago was deleted with its flag."""
    audit = ready_audit_log(engine, tmp_path)
    old, new = make_flag("OLD", dt.date(2025, 3, 1)), make_flag("NEW", dt.date(2026, 3, 20))
    with sessions.begin() as s:
        load_flags(s, [old, new])
    pat = practitioner(sessions)
    with sessions.begin() as s:
        record_decision(
            s, flag_id=old.flag_id, user=pat, programme_id="jump_start", decision="no_action",
            reason_code="moved_away", text="", known_programmes=load_programmes(),
        )  # fmt: skip
    with pytest.raises(RetentionError, match=r"1 decision\(s\) recorded in the last 30 days"):
        apply_retention(engine, audit, today=TODAY, months=12, visible_days=90)
    assert counts(sessions) == (2, 1, 0)
    backdate_decisions(sessions, old.flag_id, dt.datetime(2025, 3, 20, tzinfo=dt.UTC))
    done = apply_retention(engine, audit, today=TODAY, months=12, visible_days=90)
    assert (done.flags_deleted, done.decisions_deleted, counts(sessions)) == (1, 1, (1, 0, 1))
