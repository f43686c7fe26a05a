"""Flags, their programme lists and practitioners' decisions in the application database.

Functions take a Session and never commit: the caller owns the transaction.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Final, Literal

from sqlalchemy.orm import Session

from vru_risk.models.flag import Flag
from vru_risk.models.programmes import Programmes
from vru_risk.serving.users import UserInfo, UserInputError

Decision = Literal["referred", "no_action", "disagree"]
DECISIONS: Final[tuple[Decision, ...]] = ("referred", "no_action", "disagree")

#: The reason codes a decision may carry, by decision (free text is kept beside them).
REASON_CODES: Final[dict[Decision, tuple[str, ...]]] = {
    "referred": (
        "meets_programme_criteria",
        "practitioner_concern",
        "family_or_young_person_request",
        "other",
    ),
    "no_action": (
        "already_supported",
        "support_declined",
        "not_eligible",
        "no_capacity",
        "moved_away",
        "other",
    ),
    "disagree": (
        "information_out_of_date",
        "information_wrong",
        "context_model_cannot_see",
        "score_not_credible",
        "other",
    ),
}


class FlagStoreError(UserInputError):
    """Flags or a decision that cannot be stored; the message says what is wrong."""


@dataclass(frozen=True)
class LoadResult:
    inserted: int
    already_present: int


@dataclass(frozen=True)
class DecisionInfo:
    id: int
    flag_id: str
    programme_id: str
    username: str
    decision: Decision
    referred_to: str | None
    reason_code: str
    text: str
    created_at: dt.datetime
    corrects: int | None


@dataclass(frozen=True)
class Aggregates:
    """Counts only: never a person id."""

    today: dt.date | None
    flags_by_programme_band: dict[str, dict[str, int]]
    decisions_by_programme_kind: dict[str, dict[str, int]]
    flags_by_model_version: dict[int, int]
    total_flags: int


def read_flags_jsonl(path: Path) -> list[Flag]:
    """Every line of a flags JSONL file validated; errors name the file and line numbers."""
    raise NotImplementedError


def load_flags(session: Session, flags: Iterable[Flag]) -> LoadResult:
    """Insert flags idempotently by flag_id (same content: already present; different: error)."""
    raise NotImplementedError


def get_flag(session: Session, flag_id: str) -> Flag | None:
    raise NotImplementedError


def flags_for_programme(
    session: Session, programme_id: str, *, today: dt.date, visible_days: int
) -> list[Flag]:
    """Flags offered to a programme, as_of within ``visible_days`` of ``today`` and not expired,
    by rank. Full flags: redaction (``Flag.for_programme``) is the caller's job."""
    raise NotImplementedError


def record_decision(
    session: Session,
    *,
    flag_id: str,
    user: UserInfo,
    programme_id: str,
    decision: str,
    reason_code: str,
    text: str,
    referred_to: str | None = None,
    corrects: int | None = None,
) -> DecisionInfo:
    """Append a decision (never an update: a correction is a new row naming what it corrects)."""
    raise NotImplementedError


def decisions_for(
    session: Session, flag_id: str, programme_ids: Sequence[str] | None = None
) -> list[DecisionInfo]:
    """Decisions on a flag, oldest first, optionally only those of some programmes."""
    raise NotImplementedError


def capacity_used(
    session: Session, programme_id: str, day: dt.date, *, programmes: Programmes | None = None
) -> int:
    """Flags offered to the programme in its capacity period holding ``day``."""
    raise NotImplementedError


def latest_as_of(session: Session) -> dt.date | None:
    """The newest as_of among stored flags: the service's "today" when no extract date is set."""
    raise NotImplementedError


def aggregates(session: Session, *, today: dt.date | None) -> Aggregates:
    """Counts of flags by programme and band, decisions by programme and kind, model versions."""
    raise NotImplementedError
