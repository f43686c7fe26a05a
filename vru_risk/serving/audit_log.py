"""The append-only, keyed, hash-chained audit log of every view of an individual."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import Engine


class AuditLogError(RuntimeError):
    """The audit log cannot be written (no key, database refused)."""


@dataclass(frozen=True)
class AuditEvent:
    username: str
    role: str
    person_id: str | None
    model_version: int | None
    purpose: str
    route: str


@dataclass(frozen=True)
class VerifyReport:
    rows: int
    edited: list[int] = field(default_factory=list)
    deleted: list[int] = field(default_factory=list)
    inserted: list[int] = field(default_factory=list)
    reordered: list[int] = field(default_factory=list)
    truncated: list[int] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        raise NotImplementedError


class AuditLog:
    def __init__(self, engine: Engine, key: bytes, head_path: Path) -> None:
        self.engine = engine
        self.key = key
        self.head_path = head_path

    def append(self, events: Sequence[AuditEvent]) -> list[int]:
        """Append rows in one transaction; return their sequence numbers."""
        raise NotImplementedError

    def verify(self) -> VerifyReport:
        raise NotImplementedError
