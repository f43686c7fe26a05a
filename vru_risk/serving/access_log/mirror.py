"""Mirroring the audit log's newest row to head.json and the anchor, after each commit.

The command line writes both before ``append`` returns. The server (``background=True``) writes
them from one thread, at most every ``interval`` seconds: the rows committed meanwhile are
mirrored together (one file replaced per request cost as much as the audit row itself), and the
newest at shutdown. While either cannot be written, appends are refused (so nothing more is
shown): truncation would go unnoticed.
"""

from __future__ import annotations

import logging
import threading
from pathlib import Path

from vru_risk.serving.access_log.files import (
    Anchor,
    files_lock,
    read_anchor,
    read_head,
    write_anchor,
    write_head,
)
from vru_risk.serving.access_log.records import AuditLogError, Segment

log = logging.getLogger("vru_risk.serving.audit")


class HeadMirror:
    """Writes head.json (``head_path``) and the anchor (``anchor_path``), only ever forwards."""

    def __init__(
        self, head_path: Path, anchor_path: Path, *, background: bool, interval: float
    ) -> None:
        self.head_path = head_path
        self.anchor_path = anchor_path
        self.background = background
        self.interval = interval
        self._head = threading.Condition()  # guards the four fields below
        self._pending: tuple[int, str] | None = None
        self._error: str | None = None
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        self._writing = threading.Lock()  # taking the pending head and writing it

    def record_segments(self, segments: tuple[Segment, ...]) -> None:
        """Write the anchor's key segments now (a new log's first, or a rotation)."""
        with files_lock(self.head_path):
            anchor = read_anchor(self.anchor_path)
            head = None if anchor is None else anchor.head
            write_anchor(self.anchor_path, Anchor(segments, head))

    def refuse_if_failing(self) -> None:
        """Background mode: raise while head.json or the anchor cannot be written."""
        with self._head:
            error = self._error
        if error is not None:
            raise AuditLogError(
                f"the audit head {self.head_path} or anchor {self.anchor_path} cannot be "
                f"written ({error}); nothing is shown until it can. Restore it from backup, or "
                "check the disk or mount, then run `vru audit-log verify`"
            )

    def advance(self, seq: int, mac: str) -> None:
        """Mirror row ``seq`` (now, or from the background thread)."""
        if not self.background:
            self.write(seq, mac)
            return
        with self._head:
            if self._pending is None or seq > self._pending[0]:
                self._pending = (seq, mac)
            if self._thread is None or not self._thread.is_alive():
                self._stop.clear()
                self._thread = threading.Thread(
                    target=self._loop, name="vru-audit-head", daemon=True
                )
                self._thread.start()
            self._head.notify_all()
        self.refuse_if_failing()  # the rows are committed; say at once if the head is not

    def _loop(self) -> None:
        """Mirror the newest committed row, one write for all rows committed since the last,
        then rest ``interval`` (a crash can leave the head that far behind the table, which
        ``verify`` reports as a lag, never as tampering). A failed write is kept for the next
        round, and appends are refused until one succeeds."""
        while not self._stop.is_set():
            with self._head:
                self._head.wait_for(lambda: self._pending is not None or self._stop.is_set())
            self._write_pending()
            self._stop.wait(self.interval)

    def _write_pending(self) -> None:
        """Write the pending head, if any; on failure keep it pending and record why."""
        with self._writing:
            with self._head:
                pending, self._pending = self._pending, None
            if pending is None:
                return
            try:
                self.write(*pending)
            except Exception as exc:  # recorded: appends are refused until a write succeeds
                reason = f"{type(exc).__name__}: {exc}"
                log.error("the audit head %s could not be written: %s", self.head_path, reason)
                self._requeue(pending, reason)
                return
            with self._head:
                self._error = None

    def _requeue(self, pending: tuple[int, str], reason: str) -> None:
        """Keep a head that could not be written for the next try (unless a newer one came)."""
        with self._head:
            if self._pending is None or self._pending[0] < pending[0]:
                self._pending = pending
            self._error = reason

    def flush(self) -> None:
        """Write now whatever the background thread has not written yet, after a write it has
        in progress; raise :class:`AuditLogError` if it cannot be written."""
        if not self.background:
            return
        self._write_pending()
        self.refuse_if_failing()

    def close(self) -> None:
        """Stop the background thread after writing the newest head (background mode)."""
        if self._thread is not None:
            self._stop.set()
            with self._head:
                self._head.notify_all()
            self._thread.join(timeout=30)
            self._thread = None
        self.flush()

    def write(self, seq: int, mac: str) -> None:
        """head.json, then the anchor, each unless it already names a later row (a concurrent
        writer committed later rows and mirrored them first)."""
        with files_lock(self.head_path):
            current = read_head(self.head_path)
            if current is None or current[0] < seq:
                write_head(self.head_path, seq, mac)
            anchor = read_anchor(self.anchor_path)
            if anchor is None:
                raise AuditLogError(
                    f"the audit anchor {self.anchor_path} is missing; restore it from its "
                    "backup (VRU_AUDIT_ANCHOR_PATH)"
                )
            if anchor.head is None or anchor.head[0] < seq:
                write_anchor(self.anchor_path, Anchor(anchor.segments, (seq, mac)))
