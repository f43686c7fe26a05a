"""Users, roles, passwords (argon2) and API tokens (stored as SHA-256 hashes only).

Functions take a Session and never commit: the caller owns the transaction.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final, Literal

from sqlalchemy.orm import Session

from vru_risk.models.programmes import Programmes

Role = Literal["practitioner", "data_scientist", "ethics_panel", "admin"]
ROLES: Final[tuple[Role, ...]] = ("practitioner", "data_scientist", "ethics_panel", "admin")
MIN_PASSWORD_LENGTH: Final = 12


class UserInputError(ValueError):
    """Bad input about a user (unknown name, short password...); the message says what to do."""


@dataclass(frozen=True)
class UserInfo:
    id: int
    username: str
    role: Role
    programmes: tuple[str, ...]
    active: bool


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
    raise NotImplementedError


def authenticate(session: Session, username: str, password: str) -> UserInfo | None:
    """The active user with this password, or None (an unknown name still costs one hash)."""
    raise NotImplementedError


def get_user(session: Session, user_id: int) -> UserInfo | None:
    raise NotImplementedError


def get_user_by_name(session: Session, username: str) -> UserInfo | None:
    raise NotImplementedError


def list_users(session: Session) -> list[UserInfo]:
    raise NotImplementedError


def disable_user(session: Session, username: str) -> UserInfo:
    """Disable a user and revoke their tokens."""
    raise NotImplementedError


def reset_password(session: Session, username: str, password: str) -> UserInfo:
    raise NotImplementedError


def issue_token(session: Session, username: str) -> str:
    """A new API bearer token for an active user: returned once, only its SHA-256 is stored."""
    raise NotImplementedError


def user_for_token(session: Session, token: str) -> UserInfo | None:
    """The active user a live token belongs to, or None."""
    raise NotImplementedError


def revoke_token(session: Session, token: str) -> bool:
    """Revoke a token; True if it was live."""
    raise NotImplementedError
