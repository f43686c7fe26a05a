"""Practitioners' decisions on flags: recorded append-only, listed per flag.

A decision is referred (to a named programme), no action, or disagree, with a reason code and
free text, checked by the one validation of :func:`~vru_risk.store.inputs.check_decision`.
Nothing here updates or deletes a decision (retention aside): a correction is a new decision
naming the one it corrects. A retry carrying the same idempotency key stores nothing new.
Functions take a :class:`~sqlalchemy.orm.Session` and never commit: the caller owns the
transaction.

Example
-------
>>> from vru_risk.store.inputs import REASON_CODES
>>> REASON_CODES["disagree"][:2]
('information_out_of_date', 'information_wrong')
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import cast

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from vru_risk.flags.programmes import Programmes
from vru_risk.store.flag_checks import FlagStoreError
from vru_risk.store.flag_store import stored_flag
from vru_risk.store.inputs import (
    Decision,
    DecisionInput,
    DecisionInputError,
    check_decision,
    is_idempotency_key,
)
from vru_risk.store.models import DecisionRow, FlagProgramme, utcnow
from vru_risk.store.users import UserInfo


class IdempotencyConflictError(FlagStoreError):
    """An idempotency key the user already used for a decision with other content."""


@dataclass(frozen=True)
class DecisionInfo:
    """One recorded decision (rows are never changed; see ``corrects``)."""

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
    #: True when a retry with the same idempotency key returned this already stored decision
    replayed: bool = False


def _decision_info(row: DecisionRow) -> DecisionInfo:
    return DecisionInfo(
        id=row.id,
        flag_id=row.flag_id,
        programme_id=row.programme_id,
        username=row.username,
        decision=cast(Decision, row.decision),
        referred_to=row.referred_to,
        reason_code=row.reason_code,
        text=row.text,
        created_at=row.created_at,
        corrects=row.corrects,
    )


def record_decision(
    session: Session,
    *,
    flag_id: str,
    user: UserInfo,
    programme_id: str,
    decision: str,
    reason_code: str,
    text: str,
    known_programmes: Programmes,
    referred_to: str | None = None,
    corrects: int | None = None,
    idempotency_key: str | None = None,
) -> DecisionInfo:
    """Append a decision (never an update: a correction is a new row naming what it corrects).

    The content is checked by :func:`~vru_risk.store.inputs.check_decision` (referrals name a
    programme of ``known_programmes``: the configured ``VRU_PROGRAMMES_PATH``), then stored by
    :func:`record_checked`, which says what else is refused and how ``idempotency_key`` works.
    """
    checked = check_decision(
        decision=decision,
        reason_code=reason_code,
        text=text,
        referred_to=referred_to,
        corrects=corrects,
        programmes=known_programmes,
    )
    return record_checked(
        session,
        checked,
        flag_id=flag_id,
        user=user,
        programme_id=programme_id,
        idempotency_key=idempotency_key,
    )


def record_checked(
    session: Session,
    checked: DecisionInput,
    *,
    flag_id: str,
    user: UserInfo,
    programme_id: str,
    idempotency_key: str | None = None,
    at: dt.datetime | None = None,
) -> DecisionInfo:
    """Append a decision whose content :func:`~vru_risk.store.inputs.check_decision` passed
    (the routes check it before they write the audit row).

    Refused: a user who is not an active practitioner bound to ``programme_id``; an unknown or
    withdrawn flag; a programme the flag is not offered to; ``corrects`` naming a decision on
    another flag or programme.

    ``idempotency_key`` (1-128 visible ASCII characters): a decision this user already stored
    under the key is returned instead (``replayed``), nothing new is stored; a key already used
    for other content raises :class:`IdempotencyConflictError`. Two concurrent requests with
    the same key store one row (a unique index; the loser reads the winner's row).

    ``at`` (timezone-aware) is when the decision was made, for decisions recorded after the
    fact (the simulated service, ``vru simulate service``); default now.
    """
    if idempotency_key is not None and not is_idempotency_key(idempotency_key):
        raise DecisionInputError(
            "the Idempotency-Key must be 1-128 visible ASCII characters (no spaces)"
        )
    if not user.active or user.role != "practitioner":
        raise FlagStoreError(
            f"{user.username} is not an active practitioner: only practitioners record decisions"
        )
    if programme_id not in user.programmes:
        raise FlagStoreError(
            f"{user.username} is not bound to programme {programme_id!r} "
            f"(bound to: {', '.join(user.programmes)})"
        )
    if idempotency_key is not None:
        stored = _by_key(session, user.id, idempotency_key)
        if stored is not None:
            return _replay(stored, flag_id, programme_id, checked)
    found = stored_flag(session, flag_id)
    if found is None:
        raise FlagStoreError(f"no flag {flag_id!r}; it may have passed the retention period")
    if found.withdrawal is not None:
        raise FlagStoreError(
            f"{found.withdrawal.sentence(flag_id)}. A withdrawn flag takes no new decisions"
        )
    offer = session.get(FlagProgramme, (flag_id, programme_id))
    if offer is None or offer.status != "offered":
        raise FlagStoreError(f"flag {flag_id} was not offered to programme {programme_id!r}")
    if checked.corrects is not None:
        # ids are 32-bit integers on PostgreSQL: a larger one names no decision
        earlier = session.get(DecisionRow, checked.corrects) if checked.corrects < 2**31 else None
        if earlier is None or earlier.flag_id != flag_id or earlier.programme_id != programme_id:
            raise FlagStoreError(
                f"the decision it corrects is not one of {programme_id!r}'s decisions on flag "
                f"{flag_id}: a correction names an earlier decision of the same flag and "
                "programme (the id is not repeated: it says nothing of other decisions)"
            )
    row = DecisionRow(
        flag_id=flag_id,
        programme_id=programme_id,
        user_id=user.id,
        username=user.username,
        decision=checked.decision,
        referred_to=checked.referred_to,
        reason_code=checked.reason_code,
        text=checked.text,
        created_at=utcnow() if at is None else at,
        corrects=checked.corrects,
        idempotency_key=idempotency_key,
    )
    if idempotency_key is None:
        session.add(row)
        session.flush()
        return _decision_info(row)
    try:
        with session.begin_nested():  # a savepoint: losing the race keeps the transaction
            session.add(row)
            session.flush()
    except IntegrityError:
        stored = _by_key(session, user.id, idempotency_key)
        if stored is None:
            raise
        return _replay(stored, flag_id, programme_id, checked)
    return _decision_info(row)


def _by_key(session: Session, user_id: int, key: str) -> DecisionRow | None:
    return session.scalar(
        select(DecisionRow).where(
            DecisionRow.user_id == user_id, DecisionRow.idempotency_key == key
        )
    )


def _replay(
    stored: DecisionRow, flag_id: str, programme_id: str, checked: DecisionInput
) -> DecisionInfo:
    """The stored decision if the retry asks for the same thing, else a conflict."""
    same = (
        stored.flag_id == flag_id
        and stored.programme_id == programme_id
        and stored.decision == checked.decision
        and stored.reason_code == checked.reason_code
        and stored.referred_to == checked.referred_to
        and stored.text == checked.text
        and stored.corrects == checked.corrects
    )
    if not same:
        raise IdempotencyConflictError(
            "this idempotency key was already used for a different decision, which is stored; "
            "nothing new was recorded. Send a new key (a new form) for a new decision"
        )
    return replace(_decision_info(stored), replayed=True)


def decisions_for(
    session: Session, flag_id: str, programme_ids: Sequence[str] | None = None
) -> list[DecisionInfo]:
    """Decisions on a flag, oldest first, optionally only those of some programmes."""
    query = select(DecisionRow).where(DecisionRow.flag_id == flag_id)
    if programme_ids is not None:
        query = query.where(DecisionRow.programme_id.in_(list(programme_ids)))
    rows = session.scalars(query.order_by(DecisionRow.created_at, DecisionRow.id))
    return [_decision_info(r) for r in rows]
