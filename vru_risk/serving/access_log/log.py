"""The append-only, keyed, hash-chained audit log of every view of an individual.

Each row says who (username, role), when, which person, which model version, for what purpose
and through which route. Rows are numbered 1, 2, 3... without gaps: the number is assigned under
a lock (PostgreSQL ``pg_advisory_xact_lock``; SQLite ``BEGIN IMMEDIATE``), in the same
transaction as the insert. Each row carries

    mac = HMAC-SHA256(key, prev_mac + canonical JSON of the row, sequence number and time included)

with ``prev_mac`` the previous row's mac (64 zeros for row 1). The key (``VRU_AUDIT_KEY``) is kept
outside the database, so someone who can write to the database cannot recompute a valid chain
after editing it.

Outside the database (:mod:`~vru_risk.serving.access_log.files`): ``head.json`` in VRU_HOME mirrors
the newest (seq, mac) after each commit (by the server: from a background thread, at most every
50 ms), and the **anchor** (``VRU_AUDIT_ANCHOR_PATH``, outside the data folder) records the
keyed fingerprint of each key and the newest row. The table ``audit_key_segments`` records
which key MACs which rows (:mod:`~vru_risk.serving.access_log.records`): segment 1 from the first
row, each later one from a rotation row (:mod:`~vru_risk.serving.access_log.maintenance`).

:meth:`AuditLog.check_ready` refuses a key that is not the log's (a trailing newline...), a
missing anchor, an anchor recording rows or segments the database no longer has;
:meth:`AuditLog.verify` reports edited, deleted, inserted, reordered (or renumbered) and
truncated rows and what the key, head.json and the anchor say. On PostgreSQL the application's
role may only SELECT and INSERT this table (:func:`~vru_risk.store.engine.grant_app_role`).

Example
-------
>>> import tempfile, pathlib
>>> from vru_risk.store import open_database
>>> home = pathlib.Path(tempfile.mkdtemp())
>>> log = AuditLog(open_database("sqlite://"), b"0123456789abcdef", home / "head.json")
>>> log.append([AuditEvent("ana", "practitioner", "P1", 3, "view flag", "/flags/x")])
[1]
>>> log.verify().ok
True
"""

from __future__ import annotations

import hmac
import os
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Final, TypeVar

from sqlalchemy import Connection, Engine, insert, select, text
from sqlalchemy.exc import SQLAlchemyError

from vru_risk.serving.access_log.files import Anchor, read_anchor, read_head
from vru_risk.serving.access_log.locks import ADVISORY_LOCK_ID, process_lock, process_lock_path
from vru_risk.serving.access_log.mirror import HeadMirror
from vru_risk.serving.access_log.ready import (
    anchor_disagreement,
    key_mismatch,
    legacy_mismatch,
    missing_anchor,
    read_segments,
    unrecorded_acts,
    unwritable_anchor_folder,
)
from vru_risk.serving.access_log.records import (
    GENESIS,
    AuditEvent,
    AuditLogError,
    Segment,
    canonical,
    check_event,
    key_fingerprint,
    row_mac,
)
from vru_risk.serving.access_log.report import Outside, VerifyReport
from vru_risk.serving.access_log.verify import verify_rows
from vru_risk.store.engine import writer
from vru_risk.store.models import AuditKeySegment, AuditRow

if TYPE_CHECKING:
    from vru_risk.settings import Settings

__all__ = [
    "GENESIS",
    "AuditEvent",
    "AuditLog",
    "AuditLogError",
    "VerifyReport",
    "open_audit_log",
]

_T = TypeVar("_T")
_COLUMNS: Final = tuple(AuditRow.__table__.columns)


def now_text() -> str:
    """The time a row is written: UTC, ISO 8601 with microseconds (the exact text MAC'd)."""
    return datetime.now(UTC).isoformat(timespec="microseconds")


class AuditLog:
    """The audit log in the application database, keyed by ``key``, its head in ``head_path``
    and its anchor in ``anchor_path`` (default ``anchor.json`` beside the head: for tests;
    the server and the commands pass ``VRU_AUDIT_ANCHOR_PATH`` through
    :func:`open_audit_log`). ``previous_keys`` are retired keys, for :meth:`verify`."""

    def __init__(
        self,
        engine: Engine,
        key: bytes,
        head_path: Path,
        *,
        anchor_path: Path | None = None,
        previous_keys: Sequence[bytes] = (),
        background_head: bool = False,
        head_interval: float = 0.05,
    ) -> None:
        if len(key) < 16:
            raise AuditLogError(
                "the audit key is shorter than 16 bytes; set VRU_AUDIT_KEY to a long random "
                "value, e.g. `python -c 'import secrets; print(secrets.token_urlsafe(32))'`"
            )
        self.engine = engine
        self.key = key
        self.fingerprint = key_fingerprint(key)
        self.previous_keys = tuple(previous_keys)
        self._appending = threading.Lock()
        self._lock_path = process_lock_path(engine)
        self.mirror = HeadMirror(
            head_path,
            anchor_path or head_path.with_name("anchor.json"),
            background=background_head,
            interval=head_interval,
        )

    @property
    def head_path(self) -> Path:
        return self.mirror.head_path

    @property
    def anchor_path(self) -> Path:
        return self.mirror.anchor_path

    def read_head(self) -> tuple[int, str] | None:
        """The (seq, mac) of head.json, or None when there is none yet."""
        return read_head(self.head_path)

    def flush(self) -> None:
        """Mirror now what the server's background thread has not written yet; raise
        :class:`AuditLogError` if head.json or the anchor cannot be written."""
        self.mirror.flush()

    def close(self) -> None:
        """Stop the background thread after mirroring the newest row (background mode)."""
        self.mirror.close()

    # --- appending ------------------------------------------------------------------------

    def append(self, events: Sequence[AuditEvent]) -> list[int]:
        """Append rows in one transaction; return their sequence numbers.

        The sequence numbers are taken under a lock, so concurrent writers (threads or
        processes, each with its own engine) leave one gapless chain. The key must be the
        newest key segment's (else :class:`AuditLogError`: a rotated or wrong key never
        writes rows). ``head.json`` and the anchor are updated after the commit.
        """
        if not events:
            return []
        for event in events:
            check_event(event)
        self.mirror.refuse_if_failing()
        at = now_text()
        with self.chain() as conn:
            seq, prev = self.last_row(conn)
            created = self.own_segment(conn, seq, at)
            rows = []
            for event in events:
                seq += 1
                rows.append(self.make_row(seq, at, prev, event))
                prev = str(rows[-1]["mac"])
            conn.execute(insert(AuditRow), rows)
        self.after_commit(created, seq, prev)
        return [int(str(r["seq"])) for r in rows]

    @contextmanager
    def chain(self) -> Iterator[Connection]:
        """One write transaction holding the chain's locks: this process's threads queue on a
        thread lock, processes (``vru serve --workers``) on a file lock beside a SQLite
        database (both wake the next writer at once, where SQLite's busy handler would poll
        with sleeps of up to 100 ms), PostgreSQL on an advisory lock. A database error
        becomes :class:`AuditLogError`; nothing is committed then."""
        with self._appending, process_lock(self._lock_path):
            try:
                with writer(self.engine).begin() as conn:
                    if conn.dialect.name == "postgresql":
                        conn.execute(
                            text("SELECT pg_advisory_xact_lock(:k)"), {"k": ADVISORY_LOCK_ID}
                        )
                    yield conn
            except SQLAlchemyError as exc:
                reason = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]
                raise AuditLogError(f"the database refused the audit rows: {reason}") from exc

    @staticmethod
    def last_row(conn: Connection) -> tuple[int, str]:
        """(seq, mac) of the newest row; (0, GENESIS) for an empty table."""
        last = conn.execute(
            select(AuditRow.seq, AuditRow.mac).order_by(AuditRow.seq.desc()).limit(1)
        ).first()
        return (int(last[0]), str(last[1])) if last is not None else (0, GENESIS)

    def make_row(
        self, seq: int, at: str, prev: str, event: AuditEvent, *, key: bytes | None = None
    ) -> dict[str, object]:
        """The row for ``event`` at ``seq``, chained from ``prev`` (MAC'd with ``key``,
        default this log's key)."""
        body = canonical(seq, at, event.username, event.role, event.person_id,
                         event.model_version, event.purpose, event.route)  # fmt: skip
        return {
            "seq": seq,
            "at": at,
            "username": event.username,
            "role": event.role,
            "person_id": event.person_id,
            "model_version": event.model_version,
            "purpose": event.purpose,
            "route": event.route,
            "prev_mac": prev,
            "mac": row_mac(self.key if key is None else key, prev, body),
        }

    def after_commit(self, segments: tuple[Segment, ...] | None, seq: int, mac: str) -> None:
        """Record the key segments (when they changed) in the anchor at once, then mirror the
        newest row."""
        if segments is not None:
            self.mirror.record_segments(segments)
        if seq:
            self.mirror.advance(seq, mac)

    @staticmethod
    def segments(conn: Connection) -> tuple[Segment, ...]:
        return read_segments(conn)

    def own_segment(self, conn: Connection, last_seq: int, at: str) -> tuple[Segment, ...] | None:
        """Check that this key is the newest key segment's. On a log without segments (new,
        or written before them) record segment 1, in the table and (before the commit, so that
        no concurrent writer finds a segment the anchor lacks) in the anchor, and return it:
        only if this key wrote the newest row and the anchor records no other segment or row."""
        newest = conn.execute(
            select(AuditKeySegment.fingerprint).order_by(AuditKeySegment.segment.desc()).limit(1)
        ).scalar()
        if newest is not None:
            if newest != self.fingerprint:
                raise AuditLogError(key_mismatch(self.fingerprint, self.segments(conn)))
            return None
        first = (Segment(1, 1, self.fingerprint),)
        anchor = read_anchor(self.anchor_path)
        if anchor is not None and anchor not in (Anchor((), None), Anchor(first, None)):
            # (the second: this key's first commit failed after the anchor was written)
            problem = anchor_disagreement(self.anchor_path, anchor, (), last_seq, None)
            raise AuditLogError(problem or f"the audit anchor {self.anchor_path} disagrees")
        if last_seq and not self._wrote(conn, last_seq):
            raise AuditLogError(legacy_mismatch())
        conn.execute(
            insert(AuditKeySegment).values(
                segment=1, first_seq=1, fingerprint=self.fingerprint, at=at
            )
        )
        self.mirror.record_segments(first)
        return first

    def _wrote(self, conn: Connection, seq: int) -> bool:
        """Whether this key MAC'd row ``seq``."""
        r = conn.execute(select(*_COLUMNS).where(AuditRow.seq == seq)).one()
        body = canonical(r.seq, r.at, r.username, r.role, r.person_id, r.model_version,
                         r.purpose, r.route)  # fmt: skip
        return hmac.compare_digest(row_mac(self.key, r.prev_mac, body), str(r.mac))

    # --- readiness ------------------------------------------------------------------------

    def check_ready(self) -> None:
        """Raise :class:`AuditLogError` unless rows can be appended and trusted: head.json and
        the anchor readable, the anchor's folder writable, the key the newest key segment's,
        the anchor recording exactly the database's key segments and no row the table lacks.
        A log without key segments (new, or written before them) gets segment 1 here."""
        read_head(self.head_path)
        try:
            self.head_path.parent.mkdir(parents=True, exist_ok=True)  # never the anchor's folder
        except OSError as exc:
            raise AuditLogError(
                f"the audit head's folder {self.head_path.parent} cannot be created ({exc})"
            ) from None
        if not os.access(self.head_path.parent, os.W_OK | os.X_OK):
            raise AuditLogError(
                f"the audit head's folder {self.head_path.parent} is not writable by this user"
            )
        if not os.access(self.anchor_path.parent, os.W_OK):
            raise AuditLogError(unwritable_anchor_folder(self.anchor_path))
        self.mirror.refuse_if_failing()
        self._check_insert_right()
        anchor = read_anchor(self.anchor_path)
        at = now_text()
        with self.chain() as conn:
            last_seq, last_mac = self.last_row(conn)
            emptied = None if last_seq or self.segments(conn) else unrecorded_acts(conn)
            if emptied is not None:
                raise AuditLogError(emptied)
            created = self.own_segment(conn, last_seq, at)
            segments = self.segments(conn)
            at_head = None
            if anchor is not None and anchor.head is not None:
                at_head = conn.execute(
                    select(AuditRow.mac).where(AuditRow.seq == anchor.head[0])
                ).scalar()
        if created is not None:
            self.after_commit(created, last_seq, last_mac)
        elif anchor is None:
            raise AuditLogError(missing_anchor(self.anchor_path))
        else:
            problem = anchor_disagreement(self.anchor_path, anchor, segments, last_seq, at_head)
            if problem is not None:
                raise AuditLogError(problem)

    def _check_insert_right(self) -> None:
        """PostgreSQL: this role may INSERT audit rows (a command that changes data checks it
        before changing anything, so that it either changes and records, or does neither)."""
        if self.engine.dialect.name != "postgresql":
            return
        try:
            with self.engine.connect() as conn:
                allowed = conn.execute(
                    text("SELECT has_table_privilege(current_user, 'audit_log', 'INSERT')")
                ).scalar_one()
        except SQLAlchemyError as exc:
            reason = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]
            raise AuditLogError(f"the audit table cannot be read: {reason}") from None
        if not allowed:
            raise AuditLogError("this database role may not INSERT into audit_log")

    # --- verifying ------------------------------------------------------------------------

    def verify(self) -> VerifyReport:
        """Check every row's keyed MAC, the numbering, the key segments, head.json and the
        anchor; say what was altered (needs the key of every segment that still has rows)."""
        self.flush()
        head, head_problem = _try(read_head, self.head_path)
        anchor, anchor_problem = _try(read_anchor, self.anchor_path)
        with self.engine.connect() as conn:
            segments = self.segments(conn)
            rows = list(conn.execute(select(*_COLUMNS).order_by(AuditRow.seq)))
            emptied = None if rows or segments else unrecorded_acts(conn)
        keys = {key_fingerprint(k): k for k in (*self.previous_keys, self.key)}
        outside = Outside(
            self.head_path, head, head_problem, self.anchor_path, anchor, anchor_problem
        )
        report = verify_rows(rows, segments, keys, self.key, outside)
        if emptied is None:
            return report
        return replace(report, problems=[*report.problems, f"EMPTIED: {emptied}"])


def _try(read: Callable[[Path], _T | None], path: Path) -> tuple[_T | None, str | None]:
    try:
        return read(path), None
    except AuditLogError as exc:
        return None, str(exc)


def open_audit_log(
    settings: Settings, engine: Engine, *, background_head: bool = False
) -> AuditLog:
    """The audit log of ``settings``: VRU_AUDIT_KEY, VRU_AUDIT_PREVIOUS_KEYS, head.json under
    VRU_HOME, the anchor at VRU_AUDIT_ANCHOR_PATH. The caller checks that the key is set."""
    if settings.audit_key is None:
        raise AuditLogError("VRU_AUDIT_KEY is not set")
    return AuditLog(
        engine,
        settings.audit_key.get_secret_value().encode(),
        settings.audit_dir / "head.json",
        anchor_path=settings.audit_anchor,
        previous_keys=settings.audit_previous_key_list,
        background_head=background_head,
    )
