"""Web sessions, CSRF tokens and login rate limiting.

A web session is a cookie signed with ``VRU_SESSION_SECRET`` (itsdangerous, HMAC-SHA1 over a
timestamped payload): the user's id, a per-session CSRF token and the time it was issued. The
server verifies the signature and the age (``session_hours``) on every request and re-reads the
user from the database, so a disabled user is locked out at their next click. The cookie is
HttpOnly, SameSite=Strict and Secure when ``secure_cookies`` is set (behind TLS).

Every form carries the session's CSRF token and every POST checks it; the login form gets an
anonymous session (no user, a token) so that it is protected too, and a successful login issues
a fresh session with a fresh token (no session fixation).

Signing out deletes the cookie and refuses that session for the rest of its life (in the
database, for every server process: see :class:`SignedOut`).

Failed logins are counted per username and per client address over a sliding minute; past
``login_attempts_per_minute`` the login is refused with 429 before the password is checked. The
counts live in the database, shared by every server process (``vru serve --workers N``).

Example
-------
>>> codec = SessionCodec("a-secret-of-sixteen+", max_age_seconds=3600)
>>> data = codec.new(7)
>>> codec.load(codec.dump(data)) == data
True
>>> codec.load("forged") is None
True
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

from itsdangerous import BadSignature, URLSafeTimedSerializer
from sqlalchemy import delete, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker
from starlette.responses import Response

from vru_risk.serving.db.models import EndedSession, LoginFailure

SESSION_COOKIE: Final = "vru_session"
CSRF_FIELD: Final = "csrf_token"
_SALT: Final = "vru-risk web session"


@dataclass(frozen=True)
class SessionData:
    """What a session cookie says: who (None before login), its CSRF token, when issued."""

    user_id: int | None
    csrf: str
    issued: float


class SessionCodec:
    """Signs and verifies session cookies with the server's secret and maximum age."""

    def __init__(self, secret: str, *, max_age_seconds: int) -> None:
        self._serializer = URLSafeTimedSerializer(secret, salt=_SALT)
        self.max_age_seconds = max_age_seconds

    def new(self, user_id: int | None) -> SessionData:
        return SessionData(user_id=user_id, csrf=secrets.token_urlsafe(32), issued=time.time())

    def dump(self, data: SessionData) -> str:
        return str(self._serializer.dumps({"u": data.user_id, "c": data.csrf, "t": data.issued}))

    def load(self, cookie: str | None) -> SessionData | None:
        """The session of a cookie, or None when it is missing, forged, malformed or expired."""
        if not cookie:
            return None
        try:
            payload = self._serializer.loads(cookie, max_age=self.max_age_seconds)
        except BadSignature:  # also SignatureExpired, a subclass
            return None
        if not isinstance(payload, dict):
            return None
        user, csrf, issued = payload.get("u"), payload.get("c"), payload.get("t")
        if user is not None and (not isinstance(user, int) or isinstance(user, bool)):
            return None
        if not isinstance(csrf, str) or not isinstance(issued, int | float):
            return None
        return SessionData(user_id=user, csrf=csrf, issued=float(issued))


def csrf_matches(session: SessionData | None, submitted: str | None) -> bool:
    """Whether a submitted form token is this session's token (constant-time comparison)."""
    if session is None or not submitted:
        return False
    return hmac.compare_digest(session.csrf.encode(), submitted.encode())


def set_session_cookie(
    response: Response, codec: SessionCodec, data: SessionData, *, secure: bool
) -> None:
    response.set_cookie(
        SESSION_COOKIE,
        codec.dump(data),
        max_age=codec.max_age_seconds,
        httponly=True,
        samesite="strict",
        secure=secure,
        path="/",
    )


def clear_session_cookie(response: Response, *, secure: bool) -> None:
    response.delete_cookie(
        SESSION_COOKIE, httponly=True, samesite="strict", secure=secure, path="/"
    )


class SignedOut:
    """Sessions ended by signing out, refused until they would have expired anyway.

    The cookie is deleted on sign-out, but a copy of it (another tab, an intercepted request)
    would stay valid until it expires; the ``ended_sessions`` table refuses it, in every server
    process (``vru serve --workers N``) and across restarts. Expired entries are deleted as new
    ones come.

    >>> from vru_risk.serving.db import open_database, session_factory
    >>> sessions = session_factory(open_database("sqlite://"), write=True)
    >>> ended = SignedOut(sessions, clock=lambda: 100.0)
    >>> ended.add(SessionData(1, "token", issued=50.0), max_age_seconds=3600)
    >>> with sessions() as db:
    ...     ended.ended(db, "token"), ended.ended(db, "other")
    (True, False)
    """

    def __init__(
        self, sessions: sessionmaker[Session], *, clock: Callable[[], float] = time.time
    ) -> None:
        self._sessions = sessions
        self._clock = clock

    def add(self, session: SessionData, *, max_age_seconds: int) -> None:
        """Refuse ``session`` from now until it would have expired."""
        now = self._clock()
        try:
            with self._sessions.begin() as db:
                db.execute(delete(EndedSession).where(EndedSession.until <= now))
                if db.get(EndedSession, session.csrf) is None:
                    db.add(EndedSession(csrf=session.csrf, until=session.issued + max_age_seconds))
        except IntegrityError:  # another process ended the same session at the same moment
            pass

    def ended(self, db: Session, csrf: str) -> bool:
        """Whether the session with this CSRF token was ended (read in ``db``)."""
        until = db.scalar(select(EndedSession.until).where(EndedSession.csrf == csrf))
        return until is not None and until > self._clock()


class LoginRateLimiter:
    """Failed logins per username and per client over a sliding 60 seconds, counted in the
    ``login_failures`` table: every server process (``vru serve --workers N``) sees the same
    counts, so more workers give an attacker no more attempts.

    >>> from vru_risk.serving.db import open_database, session_factory
    >>> now = [0.0]
    >>> sessions = session_factory(open_database("sqlite://"), write=True)
    >>> limiter = LoginRateLimiter(sessions, 2, clock=lambda: now[0])
    >>> limiter.failed("ana", "10.0.0.1"); limiter.failed("ana", "10.0.0.2")
    >>> limiter.wait_seconds("ana", "10.0.0.3") > 0, limiter.wait_seconds("ben", "10.0.0.3")
    (True, 0.0)
    >>> now[0] = 61.0
    >>> limiter.wait_seconds("ana", "10.0.0.3")
    0.0
    """

    window: Final = 60.0

    def __init__(
        self,
        sessions: sessionmaker[Session],
        attempts_per_minute: int,
        *,
        clock: Callable[[], float] = time.time,
    ):
        self.limit = attempts_per_minute
        self._sessions = sessions
        self._clock = clock

    @staticmethod
    def _keys(username: str, client: str) -> tuple[str, str]:
        """Hashed, so that the table holds no username or address."""
        return (
            hashlib.sha256(f"user:{username.strip().casefold()}".encode()).hexdigest(),
            hashlib.sha256(f"client:{client}".encode()).hexdigest(),
        )

    def wait_seconds(self, username: str, client: str) -> float:
        """0 when a login may be tried now, else the seconds until the oldest failure ages out."""
        now = self._clock()
        with self._sessions() as db:
            counts = db.execute(
                select(LoginFailure.key, func.count(), func.min(LoginFailure.at))
                .where(
                    LoginFailure.key.in_(self._keys(username, client)),
                    LoginFailure.at > now - self.window,
                )
                .group_by(LoginFailure.key)
            ).all()
        waits = [first + self.window - now for _key, n, first in counts if n >= self.limit]
        return max(waits, default=0.0)

    def failed(self, username: str, client: str) -> None:
        now = self._clock()
        with self._sessions.begin() as db:
            db.execute(delete(LoginFailure).where(LoginFailure.at <= now - self.window))
            db.add_all(LoginFailure(key=k, at=now) for k in self._keys(username, client))
