"""The append-only, keyed, hash-chained audit log of every view of an individual.

Each row says who (username, role), when, which person, which model version, for what purpose
and through which route. Rows are numbered 1, 2, 3... without gaps: the number is assigned under
a lock (PostgreSQL ``pg_advisory_xact_lock``; SQLite ``BEGIN IMMEDIATE``), in the same
transaction as the insert. Each row carries

    mac = HMAC-SHA256(key, prev_mac + canonical JSON of the row, sequence number and time included)

with ``prev_mac`` the previous row's mac (64 zeros for row 1). The key (``VRU_AUDIT_KEY``) is kept
outside the database, so someone who can write to the database cannot recompute a valid chain
after editing it. The newest sequence number and mac are mirrored after each commit (by the
server: from a background thread, at most every 50 ms) to ``head.json`` outside the database
(``VRU_HOME/audit/head.json``), which catches removal of the newest rows (truncation), the one
change a chain cannot show by itself.

:meth:`AuditLog.verify` reports edited, deleted, inserted, reordered (or renumbered) and
truncated rows. On PostgreSQL the application's role may only SELECT and INSERT this table
(:func:`~vru_risk.serving.db.engine.grant_app_role`).

Example
-------
>>> import tempfile, pathlib
>>> from vru_risk.serving.db import open_database
>>> home = pathlib.Path(tempfile.mkdtemp())
>>> log = AuditLog(open_database("sqlite://"), b"0123456789abcdef", home / "head.json")
>>> log.append([AuditEvent("ana", "practitioner", "P1", 3, "view flag", "/flags/x")])
[1]
>>> log.verify().ok
True
"""

from __future__ import annotations

import fcntl
import hashlib
import hmac
import json
import logging
import os
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Final

from sqlalchemy import Engine, insert, select, text
from sqlalchemy.exc import SQLAlchemyError

from vru_risk.serving.db.engine import writer
from vru_risk.serving.db.models import AuditRow

log = logging.getLogger("vru_risk.serving.audit")

GENESIS: Final = "0" * 64
_LOCK_ID: Final = 7310003
_LIMITS: Final = {"username": 64, "role": 32, "person_id": 128, "purpose": 64, "route": 255}


class AuditLogError(RuntimeError):
    """The audit log cannot be written (no key, bad event, database refused)."""


@dataclass(frozen=True)
class AuditEvent:
    """One thing to record: who looked at (or acted on) what, and why."""

    username: str
    role: str
    person_id: str | None
    model_version: int | None
    purpose: str
    route: str


@dataclass(frozen=True)
class VerifyReport:
    """What :meth:`AuditLog.verify` found. ``ok`` is True only when nothing is wrong.

    ``edited``, ``inserted``, ``reordered`` hold the sequence numbers the rows carry now;
    ``moved_from`` maps a reordered row's number to the number it was written with;
    ``deleted`` and ``truncated`` hold the numbers of rows that are missing.
    """

    rows: int
    head_seq: int | None
    edited: list[int] = field(default_factory=list)
    deleted: list[int] = field(default_factory=list)
    inserted: list[int] = field(default_factory=list)
    reordered: list[int] = field(default_factory=list)
    moved_from: dict[int, int] = field(default_factory=dict)
    truncated: list[int] = field(default_factory=list)
    head_problem: str | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not (
            self.edited
            or self.deleted
            or self.inserted
            or self.reordered
            or self.truncated
            or self.head_problem
        )

    def lines(self) -> list[str]:
        """A human-readable account, one finding a line."""

        def spans(seqs: list[int]) -> str:
            out: list[str] = []
            for s in sorted(seqs):
                if out and out[-1].split("-")[-1] == str(s - 1):
                    out[-1] = f"{out[-1].split('-')[0]}-{s}"
                else:
                    out.append(str(s))
            return ", ".join(out)

        found = [
            f"{self.rows} row(s) checked; head.json at row {self.head_seq}"
            if self.head_seq is not None
            else f"{self.rows} row(s) checked; no head.json"
        ]
        if self.edited:
            found.append(
                f"EDITED: row(s) {spans(self.edited)} do not match their keyed MAC "
                "(content changed, or the chain was recomputed without the key)"
            )
        if self.deleted:
            found.append(f"DELETED: row(s) {spans(self.deleted)} are missing from the chain")
        if self.inserted:
            found.append(
                f"INSERTED: row(s) {spans(self.inserted)} were never written by vru-risk "
                "(no valid MAC; the chain runs past them)"
            )
        if self.reordered:
            moved = ", ".join(f"{now} (written as {was})" for now, was in self.moved_from.items())
            found.append(f"REORDERED or renumbered: row(s) {moved}")
        if self.truncated:
            found.append(
                f"TRUNCATED: row(s) {spans(self.truncated)} are recorded in head.json but "
                "missing from the end of the table"
            )
        if self.head_problem:
            found.append(f"HEAD: {self.head_problem}")
        found.extend(self.notes)
        found.append("OK: the chain is intact" if self.ok else "FAILED: the audit log was altered")
        return found


def _canonical(
    seq: int,
    at: str,
    username: str,
    role: str,
    person_id: str | None,
    model_version: int | None,
    purpose: str,
    route: str,
) -> bytes:
    body = {
        "seq": seq,
        "at": at,
        "username": username,
        "role": role,
        "person_id": person_id,
        "model_version": model_version,
        "purpose": purpose,
        "route": route,
    }
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def process_lock_path(engine: Engine) -> Path | None:
    """The file whose lock the processes writing to a SQLite file's audit log queue on: the
    database file's resolved path + ``.audit-lock``; None for in-memory SQLite, ``file:`` URIs
    (SQLite's own locking then) and PostgreSQL (its advisory lock waits without polling).

    >>> from vru_risk.serving.db import make_engine
    >>> str(process_lock_path(make_engine("sqlite:////srv/vru/../vru/app.db")))
    '/srv/vru/app.db.audit-lock'
    >>> process_lock_path(make_engine("sqlite://")) is None
    True
    """
    database = engine.url.database if engine.dialect.name == "sqlite" else None
    if not database or database == ":memory:" or database.startswith("file:"):
        return None
    path = Path(database).resolve()
    return path.with_name(path.name + ".audit-lock")


class AuditLog:
    """The audit log in the application database, keyed by ``key``, its head in ``head_path``."""

    def __init__(
        self,
        engine: Engine,
        key: bytes,
        head_path: Path,
        *,
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
        self.head_path = head_path
        self._appending = threading.Lock()
        self._lock_path = process_lock_path(engine)
        # with background_head, head.json is written by one thread after the commits, at most
        # once every head_interval seconds: the rows committed meanwhile are mirrored together
        # (the server: one file replaced per request cost as much as the audit row itself);
        # without, before append returns (the command line)
        self.background_head = background_head
        self.head_interval = head_interval
        self._head = threading.Condition()  # guards the four fields below
        self._head_pending: tuple[int, str] | None = None
        self._head_error: str | None = None
        self._head_thread: threading.Thread | None = None
        self._head_stop = threading.Event()
        self._head_writing = threading.Lock()  # taking the pending head and writing it

    def _mac(self, prev_mac: str, body: bytes) -> str:
        return hmac.new(self.key, prev_mac.encode() + body, hashlib.sha256).hexdigest()

    @staticmethod
    def _check(event: AuditEvent) -> None:
        for name, limit in _LIMITS.items():
            value = getattr(event, name)
            if value is None and name == "person_id":
                continue
            if not isinstance(value, str) or not value.strip():
                raise AuditLogError(f"audit event has an empty {name}: {event}")
            if len(value) > limit:
                raise AuditLogError(f"audit event {name} is longer than {limit} characters")

    def append(self, events: Sequence[AuditEvent]) -> list[int]:
        """Append rows in one transaction; return their sequence numbers.

        The sequence numbers are taken under a lock, so concurrent writers (threads or
        processes, each with its own engine) leave one gapless chain. ``head.json`` is updated
        after the commit.
        """
        if not events:
            return []
        for event in events:
            self._check(event)
        self._refuse_without_head()
        # threads of one process queue on the thread lock, processes (``vru serve --workers``)
        # on a file lock beside a SQLite database: both wake the next writer as soon as the
        # lock is free, where SQLite's busy handler would poll with sleeps of up to 100 ms
        with self._appending, self._process_lock():
            return self._append(events)

    @contextmanager
    def _process_lock(self) -> Iterator[None]:
        if self._lock_path is None:
            yield
            return
        try:
            fd = os.open(self._lock_path, os.O_RDONLY | os.O_CREAT, 0o600)
        except OSError as exc:
            raise AuditLogError(
                f"the audit log's lock file {self._lock_path} cannot be opened ({exc}); check "
                "that the server's user may create and read files beside the database"
            ) from None
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX)
            except OSError as exc:
                raise AuditLogError(
                    f"the audit log's lock file {self._lock_path} cannot be locked ({exc})"
                ) from None
            yield
        finally:
            os.close(fd)  # closing releases the lock

    def _refuse_without_head(self) -> None:
        """Background mode: while head.json cannot be written, nothing more is appended (and
        so nothing more is shown): truncation would go unnoticed."""
        with self._head:
            error = self._head_error
        if error is not None:
            raise AuditLogError(
                f"the audit head {self.head_path} cannot be written ({error}); nothing is shown "
                "until it can. Restore head.json from backup, or check the disk, then run "
                "`vru audit-log verify`"
            )

    def _append(self, events: Sequence[AuditEvent]) -> list[int]:
        at = datetime.now(UTC).isoformat(timespec="microseconds")
        try:
            with writer(self.engine).begin() as conn:
                if conn.dialect.name == "postgresql":
                    conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _LOCK_ID})
                last = conn.execute(
                    select(AuditRow.seq, AuditRow.mac).order_by(AuditRow.seq.desc()).limit(1)
                ).first()
                seq, prev = (int(last[0]), str(last[1])) if last is not None else (0, GENESIS)
                rows: list[dict[str, object]] = []
                for event in events:
                    seq += 1
                    body = _canonical(
                        seq,
                        at,
                        event.username,
                        event.role,
                        event.person_id,
                        event.model_version,
                        event.purpose,
                        event.route,
                    )
                    mac = self._mac(prev, body)
                    rows.append(
                        {
                            "seq": seq,
                            "at": at,
                            "username": event.username,
                            "role": event.role,
                            "person_id": event.person_id,
                            "model_version": event.model_version,
                            "purpose": event.purpose,
                            "route": event.route,
                            "prev_mac": prev,
                            "mac": mac,
                        }
                    )
                    prev = mac
                conn.execute(insert(AuditRow), rows)
        except SQLAlchemyError as exc:
            reason = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]
            raise AuditLogError(f"the database refused the audit rows: {reason}") from exc
        self._advance_head(seq, prev)
        return [int(str(r["seq"])) for r in rows]

    @contextmanager
    def _head_lock(self) -> Iterator[None]:
        self.head_path.parent.mkdir(parents=True, exist_ok=True)
        with self.head_path.with_suffix(".lock").open("a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)

    def read_head(self) -> tuple[int, str] | None:
        """The (seq, mac) of head.json, or None when there is none yet."""
        try:
            doc = json.loads(self.head_path.read_text(encoding="utf-8"))
            return int(doc["seq"]), str(doc["mac"])
        except FileNotFoundError:
            return None
        except (ValueError, KeyError, TypeError) as exc:
            raise AuditLogError(
                f"{self.head_path} is not a readable audit head ({exc}); it has been altered. "
                "Restore it from backup."
            ) from None

    def check_ready(self) -> None:
        """Raise :class:`AuditLogError` unless an append could be recorded now: head.json
        readable (or not yet written), its folder writable, no head write failing,
        and (PostgreSQL) the right to INSERT audit rows. A command that changes data before
        appending its row checks this first, so that it either changes and records, or does
        neither."""
        try:
            self.read_head()
        except OSError as exc:
            raise AuditLogError(
                f"the audit head {self.head_path} cannot be read ({exc.strerror}); restore it "
                "from backup, then run `vru audit-log verify`"
            ) from None
        folder = self.head_path.parent
        writable_parent = next((p for p in (folder, *folder.parents) if p.exists()), folder)
        if not os.access(writable_parent, os.W_OK | os.X_OK):
            raise AuditLogError(f"the audit head's folder {folder} is not writable by this user")
        self._refuse_without_head()
        try:
            with self.engine.connect() as conn:
                if conn.dialect.name == "postgresql":
                    allowed = conn.execute(
                        text("SELECT has_table_privilege(current_user, 'audit_log', 'INSERT')")
                    ).scalar_one()
                    if not allowed:
                        raise AuditLogError("this database role may not INSERT into audit_log")
                else:
                    conn.execute(select(AuditRow.seq).limit(1))
        except SQLAlchemyError as exc:
            reason = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]
            raise AuditLogError(f"the audit table cannot be read: {reason}") from None

    def _advance_head(self, seq: int, mac: str) -> None:
        if not self.background_head:
            self._write_head(seq, mac)
            return
        with self._head:
            if self._head_pending is None or seq > self._head_pending[0]:
                self._head_pending = (seq, mac)
            if self._head_thread is None or not self._head_thread.is_alive():
                self._head_stop.clear()
                self._head_thread = threading.Thread(
                    target=self._head_loop, name="vru-audit-head", daemon=True
                )
                self._head_thread.start()
            self._head.notify_all()
        self._refuse_without_head()  # the rows are committed; say at once if the head is not

    def _head_loop(self) -> None:
        """Mirror the newest committed row to head.json, one write for all rows committed
        since the last, then rest ``head_interval`` (a crash can leave the head that far behind
        the table, which ``verify`` reports as a lag, never as tampering). A failed write is
        kept for the next round, and appends are refused until one succeeds."""
        while not self._head_stop.is_set():
            with self._head:
                self._head.wait_for(
                    lambda: self._head_pending is not None or self._head_stop.is_set()
                )
            self._write_pending()
            self._head_stop.wait(self.head_interval)

    def _write_pending(self) -> None:
        """Write the pending head, if any; on failure keep it pending and record why."""
        with self._head_writing:
            with self._head:
                pending, self._head_pending = self._head_pending, None
            if pending is None:
                return
            try:
                self._write_head(*pending)
            except Exception as exc:  # recorded: appends are refused until a write succeeds
                reason = f"{type(exc).__name__}: {exc}"
                log.error("the audit head %s could not be written: %s", self.head_path, reason)
                self._requeue(pending, reason)
                return
            with self._head:
                self._head_error = None

    def _requeue(self, pending: tuple[int, str], reason: str) -> None:
        """Keep a head that could not be written for the next try (unless a newer one came)."""
        with self._head:
            if self._head_pending is None or self._head_pending[0] < pending[0]:
                self._head_pending = pending
            self._head_error = reason

    def flush(self) -> None:
        """Mirror to head.json now whatever the background thread has not written yet, after a
        write it has in progress; raise :class:`AuditLogError` if it cannot be written."""
        if not self.background_head:
            return
        self._write_pending()
        self._refuse_without_head()

    def close(self) -> None:
        """Stop the background thread after writing the newest head (background mode)."""
        if self._head_thread is not None:
            self._head_stop.set()
            with self._head:
                self._head.notify_all()
            self._head_thread.join(timeout=30)
            self._head_thread = None
        self.flush()

    def _write_head(self, seq: int, mac: str) -> None:
        with self._head_lock():
            current = self.read_head()
            if current is not None and current[0] >= seq:
                return  # a concurrent writer committed later rows and wrote a newer head
            temp = self.head_path.with_suffix(".tmp")
            with temp.open("w", encoding="utf-8") as fh:
                json.dump({"seq": seq, "mac": mac, "written": datetime.now(UTC).isoformat()}, fh)
                # no fsync: the rename is atomic, and a head that lags the table after a crash
                # is reported as such, never as tampering (SQLite in WAL mode with
                # synchronous=NORMAL does not sync every commit either)
            temp.replace(self.head_path)

    def verify(self) -> VerifyReport:
        """Check every row's keyed MAC, the numbering and the head; say what was altered."""
        self.flush()
        try:
            head = self.read_head()
            head_problem = None
        except AuditLogError as exc:
            head, head_problem = None, str(exc)
        with self.engine.connect() as conn:
            rows = list(
                conn.execute(
                    select(
                        AuditRow.seq,
                        AuditRow.at,
                        AuditRow.username,
                        AuditRow.role,
                        AuditRow.person_id,
                        AuditRow.model_version,
                        AuditRow.purpose,
                        AuditRow.route,
                        AuditRow.prev_mac,
                        AuditRow.mac,
                    ).order_by(AuditRow.seq)
                )
            )

        def verifies(i: int, seq: int) -> bool:
            r = rows[i]
            body = _canonical(seq, r.at, r.username, r.role, r.person_id, r.model_version,
                              r.purpose, r.route)  # fmt: skip
            return hmac.compare_digest(self._mac(r.prev_mac, body), r.mac)

        by_mac = {r.mac: i for i, r in enumerate(rows)}
        shift = min(max(0, (head[0] if head else 0) - len(rows)), 10_000)
        original: dict[int, int | None] = {}

        def original_seq(start: int) -> int | None:
            """The number row ``start`` was written with, if its MAC proves one."""
            stack = [start]
            while stack:
                i = stack[-1]
                if i in original:
                    stack.pop()
                    continue
                if verifies(i, rows[i].seq):
                    original[i] = rows[i].seq
                    stack.pop()
                    continue
                prev = rows[i].prev_mac
                if prev == GENESIS:
                    candidate: int | None = 1
                elif prev in by_mac and by_mac[prev] != i:
                    p = by_mac[prev]
                    if p not in original:
                        if p in stack:  # a forged cycle of links
                            original[i] = None
                            stack.pop()
                            continue
                        stack.append(p)
                        continue
                    ps = original[p]
                    candidate = None if ps is None else ps + 1
                else:
                    # its predecessor is gone: if rows were deleted and the rest renumbered, it
                    # was written up to `shift` places later than where it sits now
                    candidate = next(
                        (s for s in range(rows[i].seq + 1, rows[i].seq + shift + 1)
                         if verifies(i, s)),
                        None,
                    )  # fmt: skip
                original[i] = candidate if candidate and verifies(i, candidate) else None
                stack.pop()
            return original[start]

        edited: list[int] = []
        inserted: list[int] = []
        moved: dict[int, int] = {}
        accounted: set[int] = set()
        for i, r in enumerate(rows):
            was = original_seq(i)
            if was == r.seq:
                accounted.add(r.seq)
            elif was is not None:
                moved[r.seq] = was
                accounted.add(was)
            else:
                before = rows[i - 1].mac if i > 0 else GENESIS
                after = rows[i + 1].prev_mac if i + 1 < len(rows) else None
                beyond_head = head is not None and r.seq > head[0]
                if after == before or (after is None and beyond_head):
                    inserted.append(r.seq)
                else:
                    edited.append(r.seq)
                    accounted.add(r.seq)
        last = max(accounted, default=0)
        deleted = [s for s in range(1, last + 1) if s not in accounted]
        truncated: list[int] = []
        notes: list[str] = []
        if head is not None:
            head_seq, head_mac = head
            if head_seq > last:
                truncated = list(range(last + 1, head_seq + 1))
            else:
                at_head = next((r for r in rows if r.seq == head_seq), None)
                if at_head is not None and at_head.mac != head_mac and head_problem is None:
                    head_problem = (
                        f"head.json names row {head_seq} with a MAC the table's row does not carry"
                    )
                beyond = [r.seq for r in rows if r.seq > head_seq and r.seq not in inserted]
                if beyond:
                    notes.append(
                        f"note: {len(beyond)} valid row(s) after head.json's row {head_seq} "
                        "(written while the head was being updated, or after a crash)"
                    )
        elif rows and head_problem is None:
            head_problem = (
                f"{self.head_path} is missing although the table has rows: truncation cannot "
                "be ruled out; restore head.json from backup"
            )
        return VerifyReport(
            rows=len(rows),
            head_seq=None if head is None else head[0],
            edited=edited,
            deleted=deleted,
            inserted=inserted,
            reordered=sorted(moved),
            moved_from=dict(sorted(moved.items())),
            truncated=truncated,
            head_problem=head_problem,
            notes=notes,
        )
