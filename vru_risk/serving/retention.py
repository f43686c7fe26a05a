"""Retention: delete flags, their decisions and views and person-level files past the retention
period, audit-logged.

Two periods (settings): a flag is *listed* for ``flag_visible_days`` (90 by default) after its
as_of day (:func:`~vru_risk.store.flag_store.flags_for_programme`), and *kept* for
``retention_months`` (12 by default). A run counts back from a day that is never later than
the real date; :func:`plan_retention` says what it would delete (``vru retention apply
--dry-run`` prints it) and :func:`apply_retention` deletes it: every flag whose as_of is before
the cut-off with its programme rows, decisions and views (``flag_views``), and the files of
:mod:`~vru_risk.serving.retention_files`; then it appends one audit-log row with the counts
(purpose ``retention``). Every precondition (the audit log can record the run, each file can be
read and deleted) is checked before anything is deleted. The audit log itself is never pruned.

A run that looks like a mistake is refused unless forced (``--force``, noted in its audit row):
a cut-off inside the display period of the newest shown flag (flags practitioners still see
would go: a wrong clock, a months setting typed as 1 for 12, an extract lagging the clock), or
one that deletes decisions recorded in the last :data:`RECENT_DECISION_DAYS` days.

Example
-------
>>> months_before(dt.date(2026, 3, 31), 1)
datetime.date(2026, 2, 28)
"""

from __future__ import annotations

import calendar
import datetime as dt
from dataclasses import dataclass
from typing import Final

from sqlalchemy import Engine, delete, func, select
from sqlalchemy.orm import Session

from vru_risk.serving.access_log.log import AuditEvent, AuditLog, AuditLogError
from vru_risk.serving.retention_files import (
    FileCounts,
    FilePlan,
    RetentionError,
    RetentionFolders,
    delete_files,
    plan_files,
)
from vru_risk.store.engine import session_factory
from vru_risk.store.flag_store import latest_as_of
from vru_risk.store.models import DecisionRow, FlagProgramme, FlagRow, FlagView, utcnow

__all__ = ["RetentionError", "RetentionFolders", "apply_retention", "plan_retention"]

#: Decisions recorded this recently are never deleted without ``--force``: a flag past the
#: retention period no longer takes decisions, so a recent one means the cut-off is wrong.
RECENT_DECISION_DAYS: Final = 30


@dataclass(frozen=True)
class RetentionPlan:
    """What a run would delete: flags, their decisions and views with as_of before ``cutoff``,
    and files."""

    today: dt.date
    months: int
    cutoff: dt.date
    flags: int
    decisions: int
    files: FilePlan
    #: why the run looks like a mistake (refused unless forced); empty when it does not
    hazards: tuple[str, ...] = ()
    views: int = 0

    def summary(self) -> str:
        return (
            f"{self.flags} flag(s), {self.decisions} decision(s), {self.views} flag view(s), "
            f"{FileCounts.of(self.files).summary()}"
        )


@dataclass(frozen=True)
class RetentionResult:
    """What a retention run removed, and the audit-log row that records it."""

    cutoff: dt.date
    flags_deleted: int
    decisions_deleted: int
    files: FileCounts
    audit_seq: int
    views_deleted: int = 0


def months_before(day: dt.date, months: int) -> dt.date:
    """The same day ``months`` calendar months earlier (clamped to the month's last day)."""
    index = day.year * 12 + (day.month - 1) - months
    year, month = divmod(index, 12)
    last = calendar.monthrange(year, month + 1)[1]
    return dt.date(year, month + 1, min(day.day, last))


def cutoff_for(today: dt.date, months: int, *, real_today: dt.date) -> dt.date:
    """The cut-off of a run counting back from ``today``; refuses (RetentionError) a day after
    the real date (a typing slip would delete everything) or one the cut-off cannot be
    computed from."""
    if months < 1:
        raise RetentionError(
            f"retention of {months} months: keep flags for at least one month "
            "(VRU_RETENTION_MONTHS)"
        )
    if today > real_today:
        raise RetentionError(
            f"the day to count back from, {today.isoformat()}, is after today's date "
            f"({real_today.isoformat()}); --today may only go back in time, never forward. "
            "Nothing was deleted"
        )
    try:
        return months_before(today, months)
    except (ValueError, OverflowError):
        raise RetentionError(
            f"no cut-off date exists {months} months before {today.isoformat()}; give "
            "--today as a real recent date (YYYY-MM-DD). Nothing was deleted"
        ) from None


def hazards_of(
    cutoff: dt.date,
    *,
    newest: dt.date | None,
    visible_days: int,
    recent_decisions: int,
    months: int,
) -> tuple[str, ...]:
    """Why a run with ``cutoff`` looks like a mistake: ``newest`` is the service's "today" (the
    newest shown flag's as_of, never after the real date), ``recent_decisions`` the decisions
    it would delete that were recorded in the last :data:`RECENT_DECISION_DAYS` days.

    >>> hazards_of(dt.date(2026, 1, 1), newest=dt.date(2026, 3, 1), visible_days=90,
    ...            recent_decisions=0, months=1)[0][:60]
    'the cut-off 2026-01-01 falls inside the display period of th'
    >>> hazards_of(dt.date(2025, 1, 1), newest=dt.date(2026, 3, 1), visible_days=90,
    ...            recent_decisions=0, months=12)
    ()
    """
    found = []
    if newest is not None and cutoff > newest - dt.timedelta(days=visible_days):
        found.append(
            f"the cut-off {cutoff.isoformat()} falls inside the display period of the newest "
            f"flag (as_of {newest.isoformat()}, listed for VRU_FLAG_VISIBLE_DAYS={visible_days} "
            f"days, so from {(newest - dt.timedelta(days=visible_days)).isoformat()}): flags "
            "practitioners are still shown would be deleted"
        )
    if recent_decisions:
        found.append(
            f"{recent_decisions} decision(s) recorded in the last {RECENT_DECISION_DAYS} days "
            "would be deleted"
        )
    if not found:
        return ()
    found.append(
        f"check this machine's date, VRU_RETENTION_MONTHS ({months}) and --today (count back "
        "from the day of the newest extract); to delete them all the same, run again with "
        "--force (recorded in the audit log)"
    )
    return tuple(found)


def plan_retention(
    engine: Engine,
    *,
    today: dt.date,
    months: int,
    visible_days: int,
    folders: RetentionFolders | None = None,
    real_today: dt.date | None = None,
) -> RetentionPlan:
    """What a run counting back from ``today`` would delete (nothing is changed), and its
    hazards (flags still within ``visible_days`` of the newest flag, recent decisions)."""
    real = real_today or dt.date.today()
    cutoff = cutoff_for(today, months, real_today=real)
    old = select(FlagRow.flag_id).where(FlagRow.as_of < cutoff)
    recent = utcnow() - dt.timedelta(days=RECENT_DECISION_DAYS)
    with session_factory(engine)() as session:
        flags = session.scalar(
            select(func.count()).select_from(FlagRow).where(FlagRow.as_of < cutoff)
        )
        decisions = session.scalar(
            select(func.count()).select_from(DecisionRow).where(DecisionRow.flag_id.in_(old))
        )
        views = session.scalar(
            select(func.count()).select_from(FlagView).where(FlagView.flag_id.in_(old))
        )
        fresh = session.scalar(
            select(func.count())
            .select_from(DecisionRow)
            .where(DecisionRow.flag_id.in_(old), DecisionRow.created_at >= recent)
        )
        newest = latest_as_of(session)
    hazards = hazards_of(
        cutoff,
        newest=None if newest is None else min(newest, real),
        visible_days=visible_days,
        recent_decisions=int(fresh or 0),
        months=months,
    )
    files = FilePlan() if folders is None else plan_files(folders, cutoff)
    return RetentionPlan(
        today, months, cutoff, int(flags or 0), int(decisions or 0), files, hazards, int(views or 0)
    )


def delete_flags_before(session: Session, cutoff: dt.date) -> tuple[int, int, int]:
    """Delete flags with as_of before ``cutoff`` with their programme rows, decisions and
    views; return (flags, decisions, views) deleted."""
    old = select(FlagRow.flag_id).where(FlagRow.as_of < cutoff)
    views = session.execute(delete(FlagView).where(FlagView.flag_id.in_(old)))
    # corrections first (they reference earlier decisions of the same flag)
    decisions = 0
    while True:
        corrected = select(DecisionRow.corrects).where(DecisionRow.corrects.is_not(None))
        leaves = session.execute(
            delete(DecisionRow).where(
                DecisionRow.flag_id.in_(old), DecisionRow.id.not_in(corrected)
            )
        )
        removed = int(getattr(leaves, "rowcount", 0) or 0)
        decisions += removed
        if removed == 0:
            break
    session.execute(delete(FlagProgramme).where(FlagProgramme.flag_id.in_(old)))
    flags = session.execute(delete(FlagRow).where(FlagRow.as_of < cutoff))
    session.flush()
    return (
        int(getattr(flags, "rowcount", 0) or 0),
        decisions,
        int(getattr(views, "rowcount", 0) or 0),
    )


def apply_retention(
    engine: Engine,
    audit: AuditLog,
    *,
    today: dt.date,
    months: int,
    visible_days: int,
    folders: RetentionFolders | None = None,
    real_today: dt.date | None = None,
    username: str = "system",
    role: str = "admin",
    force: bool = False,
) -> RetentionResult:
    """Delete what :func:`plan_retention` finds, then record the counts in the audit log
    (purpose ``retention``, route ``vru retention apply: ...``).

    Refused before anything is deleted (RetentionError): a day after the real date, a cut-off
    that cannot be computed, a run with hazards (:func:`hazards_of`) unless ``force``, an
    audit log that cannot record the run (unreadable head, head folder not writable, no INSERT
    right), a file that cannot be read or deleted. Should a deletion still fail half-way, what
    was deleted is recorded before the error is raised.
    """
    plan = plan_retention(
        engine,
        today=today,
        months=months,
        visible_days=visible_days,
        folders=folders,
        real_today=real_today,
    )
    if plan.hazards and not force:
        raise RetentionError(f"retention refused: {'; '.join(plan.hazards)}. Nothing was deleted")
    try:
        audit.check_ready()
    except AuditLogError as exc:
        raise RetentionError(
            f"the audit log cannot record a retention run ({exc}); nothing was deleted"
        ) from None
    with session_factory(engine, write=True).begin() as session:
        flags, decisions, views = delete_flags_before(session, plan.cutoff)
    done = FileCounts()
    stopped: OSError | None = None
    try:
        delete_files(plan.files, done)
    except OSError as exc:
        stopped = exc
    note = "" if stopped is None else f"; STOPPED: {stopped.strerror} on {stopped.filename}"
    forced = " (--force past its hazards)" if plan.hazards else ""
    [seq] = audit.append(
        [
            AuditEvent(
                username=username,
                role=role,
                person_id=None,
                model_version=None,
                purpose="retention",
                route=(
                    f"vru retention apply{forced}: as_of before {plan.cutoff.isoformat()}: "
                    f"deleted {flags} flag(s), {decisions} decision(s), {views} flag view(s), "
                    f"{done.summary()}{note}"
                )[:255],
            )
        ]
    )
    if stopped is not None:
        raise RetentionError(
            f"retention stopped at {stopped.filename} ({stopped.strerror}) after deleting "
            f"{flags} flag(s), {decisions} decision(s), {views} flag view(s), {done.summary()}; "
            f"recorded as audit-log row {seq}. Fix the file's permissions and run retention again"
        )
    return RetentionResult(plan.cutoff, flags, decisions, done, seq, views)
