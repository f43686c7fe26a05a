"""API bearer tokens: issued for a number of days, stored as SHA-256 hashes only, listed and
revoked one by one; a password reset or disabling the user revokes them all.

Functions take a :class:`~sqlalchemy.orm.Session` and never commit (the caller owns the
transaction); bad input raises :class:`~vru_risk.store.users.UserInputError`.

Example
-------
>>> from vru_risk.store import open_database, session_factory
>>> from vru_risk.store.users import add_user
>>> sessions = session_factory(open_database("sqlite://"))
>>> with sessions.begin() as s:
...     _ = add_user(s, username="dana", role="data_scientist", password="correct horse battery")
...     issued = new_token(s, "dana", days=30, label="notebook")
>>> (issued.info.expires_at - issued.info.created_at).days
30
>>> with sessions.begin() as s:
...     check_token(s, issued.token).user.username
'dana'
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from dataclasses import dataclass
from typing import Final, Literal

from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from vru_risk.store.models import ApiToken, User, utcnow
from vru_risk.store.users import UserInfo, UserInputError, user_info, user_row
from vru_risk.vocabulary import MAX_TOKEN_DAYS as MAX_TOKEN_DAYS

TOKEN_PREFIX: Final = "vru_"
#: a token's last use is written at most this often (a write per API call would cost more
#: than the call)
LAST_USED_EVERY: Final = dt.timedelta(minutes=5)
#: the default lifetime of a token (``VRU_TOKEN_DAYS``' default)
DEFAULT_TOKEN_DAYS: Final = 90


@dataclass(frozen=True)
class TokenInfo:
    """A token as an administrator sees it: never the token, nor its hash."""

    id: int
    username: str
    label: str | None
    created_at: dt.datetime
    expires_at: dt.datetime
    last_used_at: dt.datetime | None
    revoked_at: dt.datetime | None

    def status(self, now: dt.datetime | None = None) -> Literal["live", "expired", "revoked"]:
        """The token's state at ``now`` (default: now)."""
        if self.revoked_at is not None:
            return "revoked"
        return "expired" if self.expires_at <= (now or utcnow()) else "live"


@dataclass(frozen=True)
class IssuedToken:
    """A token just issued: the secret (shown once) and what is stored about it."""

    token: str
    info: TokenInfo


def _token_info(row: ApiToken, username: str) -> TokenInfo:
    return TokenInfo(
        id=row.id,
        username=username,
        label=row.label,
        created_at=row.created_at,
        expires_at=row.expires_at,
        last_used_at=row.last_used_at,
        revoked_at=row.revoked_at,
    )


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def new_token(
    session: Session,
    username: str,
    *,
    days: int,
    label: str | None = None,
    now: dt.datetime | None = None,
) -> IssuedToken:
    """A new API bearer token for an active user, valid for ``days`` days: the token is
    returned once, only its SHA-256 is stored."""
    if not 1 <= days <= MAX_TOKEN_DAYS:
        raise UserInputError(
            f"a token is issued for 1 to {MAX_TOKEN_DAYS} days, not {days}; issue a new one "
            "before it expires"
        )
    if label is not None and (not label.strip() or len(label) > 100 or not label.isprintable()):
        raise UserInputError(
            "--label must be 1-100 printable characters saying what the token is for "
            "(e.g. 'case-management sync')"
        )
    row = user_row(session, username)
    if not row.active:
        raise UserInputError(f"user {username!r} is disabled; a disabled user gets no token")
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    issued = now or utcnow()
    stored = ApiToken(
        user_id=row.id,
        token_sha256=_token_hash(token),
        created_at=issued,
        expires_at=issued + dt.timedelta(days=days),
        label=label.strip() if label else None,
    )
    session.add(stored)
    session.flush()
    return IssuedToken(token, _token_info(stored, row.username))


def issue_token(session: Session, username: str, *, days: int = DEFAULT_TOKEN_DAYS) -> str:
    """:func:`new_token`, the token alone."""
    return new_token(session, username, days=days).token


def list_tokens(session: Session, username: str) -> list[TokenInfo]:
    """Every token of a user (live, expired and revoked), oldest first."""
    row = user_row(session, username)
    tokens = session.scalars(
        select(ApiToken).where(ApiToken.user_id == row.id).order_by(ApiToken.id)
    )
    return [_token_info(t, row.username) for t in tokens]


def revoke_token_id(session: Session, token_id: int) -> tuple[TokenInfo, bool]:
    """Revoke one token by its id (``vru users tokens NAME`` lists them); returns the token and
    whether it was live until now."""
    row = session.get(ApiToken, token_id)
    if row is None:
        raise UserInputError(
            f"no API token with id {token_id}; `vru users tokens NAME` lists a user's tokens"
        )
    was_live = row.revoked_at is None
    if was_live:
        row.revoked_at = utcnow()
        session.flush()
    owner = session.get(User, row.user_id)
    return _token_info(row, owner.username if owner else "?"), was_live


@dataclass(frozen=True)
class TokenCheck:
    """What a presented token is: its live user, or why not (``expired_at`` set: it expired)."""

    user: UserInfo | None
    token_id: int | None = None
    expired_at: dt.datetime | None = None
    last_used_at: dt.datetime | None = None


def check_token(session: Session, token: str, *, now: dt.datetime | None = None) -> TokenCheck:
    """The active user a live token belongs to; an expired token says when it expired; an
    unknown or revoked token, or one of a disabled user, has no user."""
    if not token.startswith(TOKEN_PREFIX) or len(token) > 200:
        return TokenCheck(None)
    found = session.execute(
        select(User, ApiToken)
        .join(ApiToken, ApiToken.user_id == User.id)
        .where(ApiToken.token_sha256 == _token_hash(token), ApiToken.revoked_at.is_(None))
    ).one_or_none()
    if found is None or not found[0].active:
        return TokenCheck(None)
    user, stored = found
    if stored.expires_at <= (now or utcnow()):
        return TokenCheck(None, stored.id, expired_at=stored.expires_at)
    return TokenCheck(user_info(user), stored.id, last_used_at=stored.last_used_at)


def user_for_token(session: Session, token: str) -> UserInfo | None:
    """The active user a live (not revoked, not expired) token belongs to, or None."""
    return check_token(session, token).user


def record_token_use(
    sessions: sessionmaker[Session], check: TokenCheck, *, now: dt.datetime | None = None
) -> bool:
    """Write the token's last use when the stored one is :data:`LAST_USED_EVERY` old or older
    (in a transaction of its own); whether it wrote."""
    at = now or utcnow()
    last = check.last_used_at
    if check.token_id is None or (last is not None and at - last < LAST_USED_EVERY):
        return False
    with sessions.begin() as writer:
        result = writer.execute(
            update(ApiToken)
            .where(
                ApiToken.id == check.token_id,
                ApiToken.last_used_at.is_(None) | (ApiToken.last_used_at <= at - LAST_USED_EVERY),
            )
            .values(last_used_at=at)
        )
    return bool(getattr(result, "rowcount", 0))


def revoke_token(session: Session, token: str) -> bool:
    """Revoke a token given the token itself; True if it was live."""
    result = session.execute(
        update(ApiToken)
        .where(ApiToken.token_sha256 == _token_hash(token), ApiToken.revoked_at.is_(None))
        .values(revoked_at=utcnow())
    )
    session.flush()
    return bool(getattr(result, "rowcount", 0))
