"""Retention: delete flags and their decisions past the retention period, audit-logged.

Two periods (settings): a flag is *listed* for ``flag_visible_days`` (90 by default) after its
as_of day (:func:`~vru_risk.serving.flag_store.flags_for_programme`), and *kept* for
``retention_months`` (12 by default). :func:`apply_retention` deletes every flag whose as_of is
before ``today`` minus ``retention_months`` with its programme rows and decisions, and appends
one audit-log row saying how many it deleted (purpose ``retention``). The audit log itself is
never pruned.

Example
-------
>>> months_before(dt.date(2026, 3, 31), 1)
datetime.date(2026, 2, 28)
"""

from __future__ import annotations

import calendar
import datetime as dt
from dataclasses import dataclass

from sqlalchemy import Engine

from vru_risk.serving.audit_log import AuditEvent, AuditLog
from vru_risk.serving.db.engine import session_factory
from vru_risk.serving.flag_store import delete_flags_before


@dataclass(frozen=True)
class RetentionResult:
    """What a retention run removed, and the audit-log row that records it."""

    cutoff: dt.date
    flags_deleted: int
    decisions_deleted: int
    audit_seq: int


def months_before(day: dt.date, months: int) -> dt.date:
    """The same day ``months`` calendar months earlier (clamped to the month's last day)."""
    index = day.year * 12 + (day.month - 1) - months
    year, month = divmod(index, 12)
    last = calendar.monthrange(year, month + 1)[1]
    return dt.date(year, month + 1, min(day.day, last))


def apply_retention(
    engine: Engine,
    audit: AuditLog,
    *,
    today: dt.date,
    months: int,
    username: str = "system",
    role: str = "admin",
) -> RetentionResult:
    """Delete flags with as_of before ``today`` minus ``months`` (and their decisions), then
    record the counts in the audit log (purpose ``retention``, route ``vru retention apply``).

    The deletion commits before the audit row is appended; a run whose audit append failed is
    reported by the exception, and running again records the (then zero) deletion.
    """
    if months < 1:
        raise ValueError(f"retention of {months} months: keep flags for at least one month")
    cutoff = months_before(today, months)
    with session_factory(engine, write=True).begin() as session:
        flags, decisions = delete_flags_before(session, cutoff)
    [seq] = audit.append(
        [
            AuditEvent(
                username=username,
                role=role,
                person_id=None,
                model_version=None,
                purpose="retention",
                route=(
                    f"vru retention apply: deleted {flags} flag(s) and {decisions} decision(s) "
                    f"with as_of before {cutoff.isoformat()}"
                ),
            )
        ]
    )
    return RetentionResult(
        cutoff=cutoff, flags_deleted=flags, decisions_deleted=decisions, audit_seq=seq
    )
