"""Withdrawing a flag (``vru flags withdraw FLAG_ID --reason TEXT``, an administrator's act).

A withdrawn flag leaves every programme's list at once and is open to no new decision (the
visibility rule of :func:`~vru_risk.store.flag_store.shown`); practitioners of a programme it
was offered to still see, on its page and from the API (410 Gone), that it was withdrawn, when
and why, with the decisions already recorded on it. A withdrawal is never undone or changed:
withdrawing again is refused.

Example
-------
>>> REASON_LIMIT
300
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Final

from sqlalchemy import update
from sqlalchemy.orm import Session

from vru_risk.store.flag_checks import FlagStoreError, column_length, control_character
from vru_risk.store.flag_store import Withdrawal, published_flag_column
from vru_risk.store.models import FlagRow, utcnow

#: The longest reason kept (its column's length).
REASON_LIMIT: Final = column_length(FlagRow.withdrawn_reason)


@dataclass(frozen=True)
class Withdrawn:
    """The flag withdrawn (its person id, for the audit row) and the withdrawal."""

    flag_id: str
    person_id: str
    withdrawal: Withdrawal


def check_reason(reason: str) -> str:
    """The reason, trimmed; refused (FlagStoreError) when empty, too long or holding a control
    character."""
    text = reason.strip()
    if not text:
        raise FlagStoreError(
            "say why the flag is withdrawn (--reason): practitioners who were offered it read it"
        )
    if len(text) > REASON_LIMIT:
        raise FlagStoreError(
            f"the reason has {len(text)} characters; at most {REASON_LIMIT}: say it briefly"
        )
    hit = control_character(text)
    if hit is not None:
        raise FlagStoreError(
            f"the reason holds a control character ({hit[1]}); write it as plain text on one line"
        )
    return text


def withdraw_flag(
    session: Session, flag_id: str, *, reason: str, by: str, now: dt.datetime | None = None
) -> Withdrawn:
    """Mark a published flag withdrawn (in the caller's transaction).

    Refused (FlagStoreError): a bad reason (:func:`check_reason`), an unknown flag (or one not
    yet published), a flag already withdrawn (saying when, by whom and why).
    """
    text = check_reason(reason)
    found = published_flag_column(session, flag_id, FlagRow.person_id)
    if found is None:
        raise FlagStoreError(
            f"no flag {flag_id!r} in the service's database; check the id (it is in the flag's "
            "page address and in the flags file). It may have passed the retention period"
        )
    person_id, earlier = found
    if earlier is not None:
        raise FlagStoreError(
            f"flag {flag_id} was already withdrawn on {earlier.at:%Y-%m-%d %H:%M} UTC by "
            f"{earlier.by}: {earlier.reason}. A withdrawal is not repeated or changed"
        )
    at = now or utcnow()
    done = session.execute(
        update(FlagRow)
        .where(FlagRow.flag_id == flag_id, FlagRow.withdrawn_at.is_(None))
        .values(withdrawn_at=at, withdrawn_reason=text, withdrawn_by=by[:64])
    )
    if int(getattr(done, "rowcount", 0) or 0) != 1:  # withdrawn meanwhile by another command
        raise FlagStoreError(f"flag {flag_id} was withdrawn by another command just now")
    session.flush()
    return Withdrawn(flag_id, person_id, Withdrawal(at, text, by[:64]))
