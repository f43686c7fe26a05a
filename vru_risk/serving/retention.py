"""Retention: delete flags and their decisions past the retention period, audit-logged."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import Engine

from vru_risk.serving.audit_log import AuditLog


@dataclass(frozen=True)
class RetentionResult:
    cutoff: dt.date
    flags_deleted: int
    decisions_deleted: int
    audit_seq: int


def apply_retention(
    engine: Engine, audit: AuditLog, *, today: dt.date, months: int, username: str = "system"
) -> RetentionResult:
    raise NotImplementedError
