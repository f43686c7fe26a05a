"""What the server and the commands check before they use the audit log, and what they say.

A key that is not the log's (a trailing newline, a stale copy, the retired key after a
rotation), an anchor that is missing, or one that records rows or key segments the database no
longer has, or a log without rows or key segments in a database holding what is only ever made
beside an audit row (:func:`unrecorded_acts`: its rows, head and anchor were all deleted): each
refuses every view of an individual (server: 503 and ``/health``; commands: exit 2), with the
message made here.

Example
-------
>>> from vru_risk.serving.access_log.records import Segment
>>> key_mismatch("a" * 64, [Segment(1, 1, "b" * 64)]).split(".")[0]
'audit key does not match the audit log: check VRU_AUDIT_KEY (a trailing newline?)'
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Final

from sqlalchemy import Connection, Engine, func, select
from sqlalchemy.exc import SQLAlchemyError

from vru_risk.serving.access_log.files import Anchor
from vru_risk.serving.access_log.records import Segment, short
from vru_risk.serving.access_log.report import WRONG_KEY_HINT
from vru_risk.store.models import (
    ApiToken,
    AuditKeySegment,
    Base,
    DecisionRow,
    FlagLoad,
    FlagRow,
    FlagView,
    User,
)

KEY_MISMATCH: Final = f"audit key does not match the audit log: {WRONG_KEY_HINT}"


def read_segments(conn: Connection) -> tuple[Segment, ...]:
    """The key segments recorded in the database, oldest first."""
    found = conn.execute(
        select(
            AuditKeySegment.segment, AuditKeySegment.first_seq, AuditKeySegment.fingerprint
        ).order_by(AuditKeySegment.segment)
    )
    return tuple(Segment(int(s), int(f), str(fp)) for s, f, fp in found)


def current_key_problem(engine: Engine, fingerprint: str) -> str | None:
    """For a running server (``/health``): why its key, whose fingerprint this is, can no
    longer write the log (the key was rotated since it started, or the database cannot be
    read), or None. One query of the small segment table."""
    try:
        with engine.connect() as conn:
            segments = read_segments(conn)
    except SQLAlchemyError as exc:
        reason = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]
        return f"the audit log cannot be read: {reason}"
    if not segments or segments[-1].fingerprint == fingerprint:
        return None
    return key_mismatch(fingerprint, segments)


def key_mismatch(fingerprint: str, segments: Sequence[Segment]) -> str:
    """What to say when the key of ``fingerprint`` is not the newest segment's."""
    newest = segments[-1]
    retired = next((s for s in segments if s.fingerprint == fingerprint), None)
    if retired is not None:
        return (
            f"{KEY_MISMATCH}: it is the retired key of key segment {retired.segment}; the key "
            f"was rotated at row {newest.first_seq}: set VRU_AUDIT_KEY to the new key everywhere "
            "and restart"
        )
    return (
        f"{KEY_MISMATCH}. Its fingerprint {short(fingerprint)} is not that of the log's key "
        f"segment {newest.segment} ({short(newest.fingerprint)}, from row {newest.first_seq})"
    )


#: What is only ever made beside an audit row (`vru users add`, `vru users token`, `vru flags
#: load`, a decision recorded through the service), with how it is counted in a message.
RECORDED_ACTS: Final[tuple[tuple[type[Base], str], ...]] = (
    (User, "user(s)"),
    (ApiToken, "API token(s)"),
    (FlagLoad, "flag load(s)"),
    (FlagRow, "flag(s)"),
    (DecisionRow, "decision(s)"),
    (FlagView, "flag view(s)"),
)


def unrecorded_acts(conn: Connection) -> str | None:
    """For an audit log with no rows and no key segments: what the database holds that only
    ever comes with audit rows, as the finding that the log was emptied (or None)."""
    found = []
    for table, label in RECORDED_ACTS:
        count = conn.execute(select(func.count()).select_from(table)).scalar_one()
        if count:
            found.append(f"{count} {label}")
    if not found:
        return None
    return (
        f"the audit log has no rows and no key segments, but the database holds "
        f"{', '.join(found)}, each only ever made beside an audit row: the audit rows were "
        "deleted (with head.json and the anchor, or the anchor never recorded them). Restore "
        "the tables audit_log and audit_key_segments, head.json and the anchor from backup; "
        "nothing is shown until then"
    )


def legacy_mismatch() -> str:
    return (
        f"{KEY_MISMATCH}: it did not write the newest row of this audit log (written before "
        "key fingerprints were recorded)"
    )


def missing_anchor(path: Path) -> str:
    return (
        f"the audit anchor {path} (VRU_AUDIT_ANCHOR_PATH) is missing although the audit log "
        "has key segments: the record kept outside the data folder was lost, or "
        "VRU_AUDIT_ANCHOR_PATH changed. Restore it from its backup (or point "
        "VRU_AUDIT_ANCHOR_PATH back at it), then run `vru audit-log verify`"
    )


def unwritable_anchor_folder(path: Path) -> str:
    return (
        f"the audit anchor's folder {path.parent} does not exist or cannot be written "
        "(VRU_AUDIT_ANCHOR_PATH): mount or create it, writable by this user"
    )


def anchor_disagreement(
    path: Path,
    anchor: Anchor,
    segments: Sequence[Segment],
    last_seq: int,
    mac_at_head: str | None,
) -> str | None:
    """What the anchor records that the database contradicts, or None.

    ``last_seq`` is the table's newest row number and ``mac_at_head`` the MAC of the table's
    row with the number the anchor's head names (None if there is no such row).
    """
    found: list[str] = []
    if anchor.head is not None:
        seq, mac = anchor.head
        if seq > last_seq:
            table = f"ends at row {last_seq}" if last_seq else "has no rows"
            found.append(
                f"it records rows up to {seq}, the table {table}: audit rows were deleted (or "
                "the database was restored from an older backup, or VRU_AUDIT_ANCHOR_PATH "
                "names another log's anchor)"
            )
        elif mac_at_head is not None and mac_at_head != mac:
            found.append(f"it names row {seq} with a MAC the table's row does not carry")
    found.extend(segment_disagreements(anchor, segments))
    if not found:
        return None
    return (
        f"the audit anchor {path} disagrees with the database: {'; '.join(found)}. Run `vru "
        "audit-log verify`; nothing is shown until this is resolved"
    )


def segment_disagreements(anchor: Anchor, segments: Sequence[Segment]) -> list[str]:
    """The key segments the anchor and the database do not agree on, one sentence each."""
    found = []
    for recorded in anchor.segments:
        stored = segments[recorded.segment - 1] if recorded.segment <= len(segments) else None
        if stored != recorded:
            state = "does not have" if stored is None else "records differently"
            found.append(
                f"it records key segment {recorded.segment} (from row {recorded.first_seq}, "
                f"fingerprint {short(recorded.fingerprint)}), which the database {state}"
            )
    extra = [str(s.segment) for s in segments[len(anchor.segments) :]]
    if extra:
        found.append(f"it lacks key segment(s) {', '.join(extra)} that the database has")
    return found
