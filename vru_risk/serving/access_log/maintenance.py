"""Rotating the audit log's key and pruning rows past their retention period.

**Rotation** (:func:`rotate_key`) appends one row that begins a new key segment: it chains from
the last MAC of the old segment and is MAC'd with the *new* key, and its route carries the new
key's fingerprint and an *endorsement*, the old key's HMAC over (previous MAC, row number, new
fingerprint). So the change of key is vouched for by both keys: without the old key nobody can
start a segment (a forger's own key would not be endorsed), without the new key nobody can
write its first row. The segment is recorded in ``audit_key_segments`` in the same transaction
and in the anchor after it. ``verify`` then needs every segment's key that still has rows
(``VRU_AUDIT_PREVIOUS_KEYS``).

**Pruning** (:func:`prune`) deletes the oldest rows written before a cut-off day (the longest
run from the start: rows are numbered in time order) and, in the same transaction, appends a
*checkpoint* row naming the last deleted row and its MAC: ``verify`` starts the chain there.
The checkpoint is MAC'd like any row, so it cannot be forged; it is also the audit record of
the pruning. It refuses to run on a log that does not verify (pruning would destroy evidence).
On PostgreSQL the service's restricted role may not delete audit rows: prune as the owner.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import delete, func, insert, select
from sqlalchemy.exc import SQLAlchemyError

from vru_risk.serving.access_log.log import AuditLog, now_text
from vru_risk.serving.access_log.records import (
    PRUNE_PURPOSE,
    ROTATION_PURPOSE,
    AuditEvent,
    AuditLogError,
    Segment,
    checkpoint_route,
    endorsement,
    key_fingerprint,
    rotation_route,
)
from vru_risk.store.models import AuditKeySegment, AuditRow

OPERATOR_ROLE = "operator"


@dataclass(frozen=True)
class Rotation:
    """A key rotation done: the new segment and the one it retired."""

    segment: Segment
    retired: Segment


@dataclass(frozen=True)
class Pruned:
    """What :func:`prune` deleted (or, on a dry run, would delete)."""

    cutoff: dt.date
    through: int  # rows up to this number are gone after the run (0: none ever pruned)
    deleted: int  # rows this run deletes
    checkpoint_seq: int | None  # the checkpoint row written (None on a dry run)


def rotate_key(log: AuditLog, new_key: bytes, *, operator: str) -> Rotation:
    """Start a new key segment keyed by ``new_key`` (see the module docstring). From then on
    ``log`` writes with the new key; every other writer still holding the old key is refused
    (it must be restarted with the new VRU_AUDIT_KEY)."""
    if len(new_key) < 16:
        raise AuditLogError("the new audit key is shorter than 16 bytes")
    new_fp = key_fingerprint(new_key)
    at = now_text()
    with log.chain() as conn:
        seq, prev = log.last_row(conn)
        log.own_segment(conn, seq, at)
        segments = log.segments(conn)
        reused = next((s for s in segments if s.fingerprint == new_fp), None)
        if reused is not None:
            raise AuditLogError(
                f"the new key is the key of key segment {reused.segment} already: choose a new "
                "random key (`python -c 'import secrets; print(secrets.token_urlsafe(32))'`)"
            )
        retired = segments[-1]
        first = seq + 1
        segment = Segment(retired.segment + 1, first, new_fp)
        route = rotation_route(
            segment.segment, first, new_fp, endorsement(log.key, prev, first, new_fp)
        )
        event = AuditEvent(operator, OPERATOR_ROLE, None, None, ROTATION_PURPOSE, route)
        row = log.make_row(first, at, prev, event, key=new_key)
        conn.execute(insert(AuditRow), [row])
        conn.execute(
            insert(AuditKeySegment).values(
                segment=segment.segment, first_seq=first, fingerprint=new_fp, at=at
            )
        )
    log.key, log.fingerprint = new_key, new_fp
    log.after_commit((*segments, segment), first, str(row["mac"]))
    return Rotation(segment, retired)


def prune(log: AuditLog, *, cutoff: dt.date, operator: str, dry_run: bool = False) -> Pruned:
    """Delete the rows written before ``cutoff`` (see the module docstring); a dry run only
    counts them. Raises :class:`AuditLogError` if the log does not verify, or the database
    refuses (the restricted PostgreSQL role); nothing is deleted then."""
    if not dry_run:
        report = log.verify()
        if not report.ok:
            finding = next(line for line in report.lines()[1:] if not line.startswith("note"))
            raise AuditLogError(
                f"`vru audit-log verify` finds a problem ({finding}); pruning would delete "
                "evidence: investigate and resolve it first. Nothing was deleted"
            )
    boundary = dt.datetime.combine(cutoff, dt.time(), dt.UTC)
    at = now_text()
    with log.chain() as conn:
        seq, prev = log.last_row(conn)
        created = log.own_segment(conn, seq, at)
        first = conn.execute(select(func.min(AuditRow.seq))).scalar() or 1
        through, through_mac = first - 1, ""
        scan = conn.execute(
            select(AuditRow.seq, AuditRow.at, AuditRow.mac).order_by(AuditRow.seq),
            execution_options={"yield_per": 2000},
        )
        for row_seq, row_at, row_mac in scan:  # stops at the first row to keep
            if dt.datetime.fromisoformat(row_at) >= boundary:
                break
            through, through_mac = int(row_seq), str(row_mac)
        scan.close()
        deleted = through - (first - 1)
        checkpoint: int | None = None
        if not dry_run:
            if deleted:
                try:
                    conn.execute(delete(AuditRow).where(AuditRow.seq <= through))
                except SQLAlchemyError as exc:
                    raise AuditLogError(_refused(exc)) from exc
                route = checkpoint_route(through, cutoff.isoformat(), through_mac)
            else:
                route = f"vru audit-log prune: no rows written before {cutoff.isoformat()}"
            event = AuditEvent(operator, OPERATOR_ROLE, None, None, PRUNE_PURPOSE, route)
            checkpoint = seq + 1
            row = log.make_row(checkpoint, at, prev, event)
            conn.execute(insert(AuditRow), [row])
            prev = str(row["mac"])
    log.after_commit(created, checkpoint or 0, prev)
    return Pruned(cutoff, through, deleted, checkpoint)


def _refused(exc: SQLAlchemyError) -> str:
    reason = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]
    if getattr(getattr(exc, "orig", None), "sqlstate", None) == "42501":
        return (
            f"PostgreSQL refused to delete audit rows ({reason}): the service's restricted role "
            "may only read and add them. Run `vru audit-log prune` with VRU_DATABASE_URL naming "
            "the tables' owner (the account that runs `vru db upgrade`). Nothing was deleted"
        )
    return f"the database refused to delete audit rows ({reason}); nothing was deleted"
