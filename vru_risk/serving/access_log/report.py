"""What verifying the audit log found: :class:`VerifyReport` and its plain-text account.

Missing row numbers are kept as ranges (``deleted``, ``truncated``, ``unchecked``), never one
entry per number: a head.json claiming 10^15 rows costs nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from vru_risk.serving.access_log.files import Anchor
from vru_risk.serving.access_log.records import as_spans, spans

WRONG_KEY_HINT = "check VRU_AUDIT_KEY (a trailing newline?)"


class StoredRow(Protocol):
    """An audit-log row as read from the table."""

    @property
    def seq(self) -> int: ...
    @property
    def at(self) -> str: ...
    @property
    def username(self) -> str: ...
    @property
    def role(self) -> str: ...
    @property
    def person_id(self) -> str | None: ...
    @property
    def model_version(self) -> int | None: ...
    @property
    def purpose(self) -> str: ...
    @property
    def route(self) -> str: ...
    @property
    def prev_mac(self) -> str: ...
    @property
    def mac(self) -> str: ...


@dataclass(frozen=True)
class Outside:
    """What the records outside the database say (or why they cannot be read)."""

    head_path: Path
    head: tuple[int, str] | None
    head_problem: str | None
    anchor_path: Path
    anchor: Anchor | None
    anchor_problem: str | None

    @property
    def anchor_head(self) -> tuple[int, str] | None:
        return None if self.anchor is None else self.anchor.head


@dataclass(frozen=True)
class VerifyReport:
    """What verification found. ``ok`` is True only when nothing is wrong.

    ``edited``, ``inserted``, ``reordered`` hold the sequence numbers the rows carry now;
    ``moved_from`` maps a reordered row's number to the number it was written with;
    ``deleted`` and ``unchecked`` are runs of row numbers; ``truncated`` the numbers missing at
    the end. ``problems`` are findings about the key, head.json, the anchor and the segments.
    """

    rows: int
    head_seq: int | None
    anchor_seq: int | None = None
    edited: list[int] = field(default_factory=list)
    deleted: list[range] = field(default_factory=list)
    inserted: list[int] = field(default_factory=list)
    reordered: list[int] = field(default_factory=list)
    moved_from: dict[int, int] = field(default_factory=dict)
    truncated: range = range(0)
    truncated_text: str = ""
    unchecked: list[range] = field(default_factory=list)
    head_problem: str | None = None
    problems: list[str] = field(default_factory=list)
    pruned_through: int = 0
    notes: list[str] = field(default_factory=list)

    @property
    def altered(self) -> bool:
        return bool(
            self.edited
            or self.deleted
            or self.inserted
            or self.reordered
            or self.truncated
            or self.head_problem
            or any(not p.startswith("KEY:") for p in self.problems)
        )

    @property
    def ok(self) -> bool:
        return not (self.altered or self.unchecked or self.problems)

    @property
    def empty(self) -> bool:
        """Nothing recorded anywhere: no rows, no head.json, no anchor."""
        return self.rows == 0 and self.head_seq is None and self.ok and self.anchor_seq is None

    def lines(self) -> list[str]:
        """A human-readable account, one finding a line."""
        head = "no head.json" if self.head_seq is None else f"head.json at row {self.head_seq}"
        anchor = "no anchor" if self.anchor_seq is None else f"anchor at row {self.anchor_seq}"
        found = [f"{self.rows} row(s) read; {head}; {anchor}"]
        found.extend(p for p in self.problems if p.startswith("KEY:"))
        if self.edited:
            found.append(
                f"EDITED: row(s) {spans(as_spans(self.edited))} do not match their keyed MAC "
                "(content changed, or the chain was recomputed without the key)"
            )
        if self.deleted:
            found.append(f"DELETED: row(s) {spans(self.deleted)} are missing from the chain")
        if self.inserted:
            found.append(
                f"INSERTED: row(s) {spans(as_spans(self.inserted))} were never written by "
                "vru-risk (no valid MAC; the chain runs past them)"
            )
        if self.reordered:
            moved = ", ".join(f"{now} (written as {was})" for now, was in self.moved_from.items())
            found.append(f"REORDERED or renumbered: row(s) {moved}")
        if self.truncated:
            found.append(f"TRUNCATED: {self.truncated_text}")
        if self.head_problem:
            found.append(f"HEAD: {self.head_problem}")
        found.extend(p for p in self.problems if not p.startswith("KEY:"))
        if self.unchecked:
            found.append(
                f"UNCHECKED: row(s) {spans(self.unchecked)} could not be checked: no key given "
                "has their key segment's fingerprint (VRU_AUDIT_KEY for the newest segment, "
                "VRU_AUDIT_PREVIOUS_KEYS for retired ones)"
            )
        found.extend(self.notes)
        if self.empty:
            found.append("empty, no record of any rows: OK")
        elif self.ok:
            found.append("OK: the chain is intact")
        elif self.altered:
            found.append("FAILED: the audit log was altered")
        else:
            found.append("FAILED: the audit log could not be verified without the right keys")
        return found
