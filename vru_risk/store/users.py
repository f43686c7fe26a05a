"""Users, roles and passwords (argon2); API tokens are in :mod:`~vru_risk.serving.tokens`.

Roles (DESIGN.md): a *practitioner* is bound to one or more programmes and sees only their flags;
a *data_scientist* sees models and aggregates; an *ethics_panel* member sees model versions,
reports and aggregates and records reviews, never an individual; an *admin* manages users and
retention.

Functions take a :class:`~sqlalchemy.orm.Session` and never commit: the caller owns the
transaction. Bad input raises :class:`UserInputError` whose message says what to do.

Example
-------
>>> from vru_risk.store import open_database, session_factory
>>> sessions = session_factory(open_database("sqlite://"))
>>> with sessions.begin() as s:
...     _ = add_user(s, username="ana", role="admin", password="correct horse battery")
>>> with sessions.begin() as s:
...     authenticate(s, "ana", "correct horse battery").role, authenticate(s, "ana", "wrong")
('admin', None)
"""

from __future__ import annotations

import contextlib
import re
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from typing import Final, cast

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from vru_risk.flags.programmes import Programmes, load_programmes
from vru_risk.store.models import ApiToken, User, utcnow
from vru_risk.vocabulary import ROLES as ROLES
from vru_risk.vocabulary import Role as Role

MIN_PASSWORD_LENGTH: Final = 12
MAX_PASSWORD_LENGTH: Final = 1024
_USERNAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@-]{1,63}$")


class UserInputError(ValueError):
    """Bad input about a user (unknown name, short password...); the message says what to do."""


@dataclass(frozen=True)
class UserInfo:
    """A user as the rest of the service sees it (never the password hash)."""

    id: int
    username: str
    role: Role
    programmes: tuple[str, ...]
    active: bool
    #: raised by each password reset; sessions issued under an older one are refused
    generation: int = 0


@cache
def _hasher() -> PasswordHasher:
    """argon2id with the library's defaults (RFC 9106 low-memory profile)."""
    return PasswordHasher()


@cache
def _dummy_hash() -> str:
    """A hash to verify against for unknown users, so timing does not reveal who exists."""
    return _hasher().hash(secrets.token_urlsafe(16))


def user_info(row: User) -> UserInfo:
    """The user of a row, as the rest of the service sees it."""
    return UserInfo(
        id=row.id,
        username=row.username,
        role=cast(Role, row.role),
        programmes=tuple(row.programmes or ()),
        active=row.active,
        generation=row.credentials_generation or 0,
    )


def _check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise UserInputError(
            f"the password has {len(password)} characters; use at least {MIN_PASSWORD_LENGTH} "
            "(a few unrelated words make a strong one)"
        )
    if len(password) > MAX_PASSWORD_LENGTH:
        raise UserInputError(f"the password is longer than {MAX_PASSWORD_LENGTH} characters")
    if password.strip() != password:
        raise UserInputError("the password starts or ends with white space; remove it")


def user_row(session: Session, username: str) -> User:
    """The row of ``username``, or :class:`UserInputError` saying how to list who exists."""
    row = session.scalars(select(User).where(User.username == username)).one_or_none()
    if row is None:
        raise UserInputError(f"no user {username!r}; `vru users list` shows who exists")
    return row


def add_user(
    session: Session,
    *,
    username: str,
    role: str,
    password: str,
    programmes: Sequence[str] = (),
    known_programmes: Programmes | None = None,
) -> UserInfo:
    """Create a user. Practitioners name at least one configured programme (``known_programmes``,
    default the packaged configuration); other roles none."""
    if not _USERNAME.match(username):
        raise UserInputError(
            f"username {username!r} is not allowed: 2-64 characters, letters, digits and . _ @ -"
            ", starting with a letter or digit"
        )
    if role not in ROLES:
        raise UserInputError(f"unknown role {role!r}; one of {', '.join(ROLES)}")
    chosen = tuple(dict.fromkeys(programmes))
    if role == "practitioner":
        configured = known_programmes or load_programmes()
        ids = [p.id for p in configured.programmes]
        if not chosen:
            raise UserInputError(
                "a practitioner must be bound to at least one programme (--programme ID); "
                f"configured: {', '.join(ids)}"
            )
        unknown = [p for p in chosen if p not in ids]
        if unknown:
            raise UserInputError(
                f"unknown programme(s) {', '.join(unknown)}; configured: {', '.join(ids)}"
            )
    elif chosen:
        raise UserInputError(
            f"only practitioners are bound to programmes; a {role} sees no individual flags, "
            "so give no --programme"
        )
    _check_password(password)
    if session.scalars(select(User.id).where(User.username == username)).first() is not None:
        raise UserInputError(
            f"user {username!r} already exists; choose another name, or use "
            "`vru users reset-password` to change their password"
        )
    row = User(
        username=username,
        role=role,
        programmes=list(chosen),
        password_hash=_hasher().hash(password),
        active=True,
        created_at=utcnow(),
    )
    session.add(row)
    session.flush()
    return user_info(row)


def ensure_user(
    session: Session,
    *,
    username: str,
    role: str,
    password: str,
    programmes: Sequence[str] = (),
    known_programmes: Programmes | None = None,
) -> tuple[UserInfo, bool]:
    """The user ``username``, added if missing (for demos and set-up scripts); returns the user
    and whether it was added. An existing user must have the same role, and is left unchanged."""
    existing = get_user_by_name(session, username)
    if existing is None:
        added = add_user(
            session,
            username=username,
            role=role,
            password=password,
            programmes=programmes,
            known_programmes=known_programmes,
        )
        return added, True
    if existing.role != role:
        raise UserInputError(
            f"user {username!r} exists with role {existing.role}, not {role}; choose another name"
        )
    return existing, False


def authenticate(
    session: Session,
    username: str,
    password: str,
    *,
    rehash_in: sessionmaker[Session] | None = None,
) -> UserInfo | None:
    """The active user with this password, or None (an unknown name still costs one hash).

    A hash made with older argon2 parameters is replaced by one with the current parameters:
    in ``session``, or, with ``rehash_in``, in a transaction of its own committed at once (the
    server reads in a session whose snapshot may be older than the latest write, and a SQLite
    read snapshot cannot become a write).
    """
    row = session.scalars(select(User).where(User.username == username)).one_or_none()
    hasher = _hasher()
    if row is None:
        with contextlib.suppress(VerificationError):
            hasher.verify(_dummy_hash(), password)
        return None
    try:
        hasher.verify(row.password_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return None
    if not row.active:
        return None
    if hasher.check_needs_rehash(row.password_hash):
        fresh = hasher.hash(password)
        if rehash_in is None:
            row.password_hash = fresh
            session.flush()
        else:
            with rehash_in.begin() as writer:
                writer.execute(
                    update(User)
                    .where(User.id == row.id, User.password_hash == row.password_hash)
                    .values(password_hash=fresh)
                )
    return user_info(row)


def get_user(session: Session, user_id: int) -> UserInfo | None:
    """The user with this id (active or not), or None."""
    row = session.get(User, user_id)
    return None if row is None else user_info(row)


def get_user_by_name(session: Session, username: str) -> UserInfo | None:
    """The user with this name (active or not), or None."""
    row = session.scalars(select(User).where(User.username == username)).one_or_none()
    return None if row is None else user_info(row)


def list_users(session: Session) -> list[UserInfo]:
    """Every user, by name."""
    return [user_info(r) for r in session.scalars(select(User).order_by(User.username))]


def _revoke_tokens_of(session: Session, user_id: int) -> int:
    """Revoke every live token of a user; how many were live."""
    result = session.execute(
        update(ApiToken)
        .where(ApiToken.user_id == user_id, ApiToken.revoked_at.is_(None))
        .values(revoked_at=utcnow())
    )
    return int(getattr(result, "rowcount", 0) or 0)


def disable_user(session: Session, username: str) -> UserInfo:
    """Disable a user and revoke their tokens (the row stays: decisions and audit rows name it)."""
    row = user_row(session, username)
    if row.active:
        row.active = False
        row.disabled_at = utcnow()
    _revoke_tokens_of(session, row.id)
    session.flush()
    return user_info(row)


def reset_password(session: Session, username: str, password: str) -> UserInfo:
    """Set a new password and end everything the old one opened: every web session of the user
    (their generation is raised, so a session issued before is refused at its next request) and
    every API token (revoked). A disabled user stays disabled."""
    _check_password(password)
    row = user_row(session, username)
    row.password_hash = _hasher().hash(password)
    row.credentials_generation = (row.credentials_generation or 0) + 1
    _revoke_tokens_of(session, row.id)
    session.flush()
    return user_info(row)
