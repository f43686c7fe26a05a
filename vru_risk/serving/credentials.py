"""Who sent a request: the bearer token of an API call, or the session cookie of a page.

One check for both callers: the dependencies of the routes (:mod:`~vru_risk.serving.deps`) and
the request guard of :mod:`~vru_risk.serving.app`, which authenticates a request that carries a
body *before* the body is read (an anonymous 500 MB POST is refused without being buffered).
What the guard found is kept in the request's state, so the dependencies do not look it up twice.

Example
-------
>>> bearer_token("Bearer vru_abc"), bearer_token("Basic dXNlcg=="), bearer_token(None)
('vru_abc', None, None)
"""

from __future__ import annotations

import logging
from collections.abc import MutableMapping
from typing import Any, Final

from fastapi import HTTPException
from fastapi.security.utils import get_authorization_scheme_param
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from vru_risk.serving.auth import SessionCodec, SessionData, SignedOut
from vru_risk.serving.tokens import check_token, record_token_use
from vru_risk.store.users import UserInfo, get_user

log = logging.getLogger("vru_risk.serving")

#: keys of the request's state (``scope["state"]``) holding what the guard found
API_USER: Final = "vru_api_user"
PAGE_SESSION: Final = "vru_page_session"
PAGE_USER: Final = "vru_page_user"

NO_TOKEN: Final = (
    "authentication required: send `Authorization: Bearer TOKEN` with an API token "
    "(an administrator issues one with `vru users token USERNAME`)"
)
BAD_TOKEN: Final = (
    "the API token is unknown, revoked, or its user is disabled: ask an administrator for a "
    "new token"
)
_CHALLENGE: Final = {"WWW-Authenticate": "Bearer"}


def bearer_token(authorization: str | None) -> str | None:
    """The token of an ``Authorization: Bearer TOKEN`` header, or None."""
    scheme, token = get_authorization_scheme_param(authorization)
    if not authorization or scheme.lower() != "bearer" or not token:
        return None
    return token


def token_user(
    read: sessionmaker[Session], write: sessionmaker[Session], token: str | None
) -> UserInfo:
    """The active user of a live API token, or :class:`HTTPException` 401 saying what to do
    (an expired token says when it expired). Records the token's last use (at most every few
    minutes; a failure to record it is logged, never refused for)."""
    if token is None:
        raise HTTPException(401, NO_TOKEN, headers=_CHALLENGE)
    with read() as db:
        check = check_token(db, token)
    if check.expired_at is not None:
        raise HTTPException(
            401,
            f"the API token expired on {check.expired_at:%Y-%m-%d %H:%M} UTC: ask an "
            "administrator for a new one (`vru users token USERNAME`; tokens last "
            "VRU_TOKEN_DAYS days, or --days)",
            headers=_CHALLENGE,
        )
    if check.user is None or not check.user.active:
        raise HTTPException(401, BAD_TOKEN, headers=_CHALLENGE)
    try:
        record_token_use(write, check)
    except SQLAlchemyError:
        log.exception("the API token's last use could not be recorded")
    return check.user


def session_user(
    db: Session, codec: SessionCodec, signed_out: SignedOut, cookie: str | None
) -> tuple[SessionData | None, UserInfo | None]:
    """The verified session of a cookie (None: missing, forged, expired, ended) and its
    signed-in user, if still active and the session was issued after their last password
    reset (else None)."""
    session = codec.load(cookie)
    if session is None or signed_out.ended(db, session.csrf):
        return None, None
    if session.user_id is None:
        return session, None
    user = get_user(db, session.user_id)
    if user is None or not user.active or user.generation != session.generation:
        return session, None
    return session, user


def found(scope: MutableMapping[str, Any], key: str) -> tuple[bool, Any]:
    """Whether the guard stored ``key`` in the request's state, and its value."""
    state = scope.get("state")
    if not isinstance(state, dict) or key not in state:
        return False, None
    return True, state[key]


def remember(scope: MutableMapping[str, Any], **values: Any) -> None:
    """Keep what the guard found in the request's state (read back by :func:`found`)."""
    state = scope.setdefault("state", {})
    state.update(values)
