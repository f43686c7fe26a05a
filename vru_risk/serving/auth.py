"""Web sessions, CSRF tokens and signing out.

A web session is a cookie signed with ``VRU_SESSION_SECRET`` (itsdangerous, HMAC-SHA1 over a
timestamped payload): the user's id, a per-session CSRF token, the time it was issued and the
user's credentials generation at sign-in. The server verifies the signature and the age
(``session_hours``) on every request and re-reads the user from the database, so a disabled
user is locked out at their next click, and so is every session issued before a password reset
(the reset raises the user's generation). The cookie is HttpOnly, SameSite=Strict and Secure
when ``secure_cookies`` is set (behind TLS).

Every form carries the session's CSRF token and every POST checks it; the login form gets an
anonymous session (no user, a token) so that it is protected too, and a successful login issues
a fresh session with a fresh token (no session fixation).

Signing out deletes the cookie and refuses that session for the rest of its life (in the
database, for every server process: see :class:`SignedOut`).

Sign-in limits are in :mod:`~vru_risk.serving.login_limits`.

Example
-------
>>> codec = SessionCodec("a-secret-of-sixteen+", max_age_seconds=3600)
>>> data = codec.new(7, generation=2)
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
from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker
from starlette.responses import Response

from vru_risk.store.models import EndedSession

SESSION_COOKIE: Final = "vru_session"
CSRF_FIELD: Final = "csrf_token"
_SALT: Final = "vru-risk web session"
#: a session issued this far in the future (another host's clock) is still accepted
_CLOCK_SKEW_SECONDS: Final = 60.0
#: ended sessions are kept this long after issue (the longest VRU_SESSION_HOURS allowed, and a
#: minute): lowering the setting and raising it again never revives one
ENDED_SESSION_KEEP_SECONDS: Final = 30 * 24 * 3600 + 60


@dataclass(frozen=True)
class SessionData:
    """What a session cookie says: who (None before login), its CSRF token, when issued, and
    the user's credentials generation when it was issued (a password reset raises it)."""

    user_id: int | None
    csrf: str
    issued: float
    generation: int = 0


class SessionCodec:
    """Signs and verifies session cookies with the server's secret and maximum age."""

    def __init__(self, secret: str, *, max_age_seconds: int) -> None:
        self._serializer = URLSafeTimedSerializer(secret, salt=_SALT)
        self.max_age_seconds = max_age_seconds

    def new(self, user_id: int | None, *, generation: int = 0) -> SessionData:
        return SessionData(
            user_id=user_id,
            csrf=secrets.token_urlsafe(32),
            issued=time.time(),
            generation=generation,
        )

    def dump(self, data: SessionData) -> str:
        payload = {"u": data.user_id, "c": data.csrf, "t": data.issued, "g": data.generation}
        return str(self._serializer.dumps(payload))

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
        generation = payload.get("g", 0)  # cookies signed before generations existed: 0
        if user is not None and (not isinstance(user, int) or isinstance(user, bool)):
            return None
        if not isinstance(generation, int) or isinstance(generation, bool):
            return None
        if not isinstance(csrf, str) or not isinstance(issued, int | float):
            return None
        # the age counts from when the session was issued, not from when its cookie was last
        # signed (the sign-in page re-signs the session it is given): no refreshing a copy
        age = time.time() - float(issued)
        if age > self.max_age_seconds or age < -_CLOCK_SKEW_SECONDS:
            return None
        return SessionData(user_id=user, csrf=csrf, issued=float(issued), generation=generation)


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
    process (``vru serve --workers N``) and across restarts. A row holds the SHA-256 of the
    session's CSRF token and when the session was issued; it is deleted (when another session
    ends, and at server start) once ``keep_seconds`` have passed since the issue: by default
    the longest session ``VRU_SESSION_HOURS`` allows, so that no change of the setting revives
    an ended session (:class:`SessionCodec` refuses any session older than the current limit).

    >>> from vru_risk.store import open_database, session_factory
    >>> engine = open_database("sqlite://")
    >>> ended = SignedOut(session_factory(engine, write=True), clock=lambda: 100.0)
    >>> ended.add(SessionData(1, "token", issued=50.0))
    >>> with session_factory(engine)() as db:
    ...     ended.ended(db, "token"), ended.ended(db, "other")
    (True, False)
    """

    def __init__(
        self,
        sessions: sessionmaker[Session],
        *,
        keep_seconds: float = ENDED_SESSION_KEEP_SECONDS,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._sessions = sessions
        self.keep_seconds = keep_seconds
        self._clock = clock

    @staticmethod
    def _digest(csrf: str) -> str:
        return hashlib.sha256(csrf.encode()).hexdigest()

    def prune(self, db: Session) -> None:
        """Delete the ended sessions issued more than ``keep_seconds`` ago."""
        db.execute(
            delete(EndedSession).where(EndedSession.issued <= self._clock() - self.keep_seconds)
        )

    def add(self, session: SessionData) -> None:
        """Refuse ``session`` from now until it would have expired."""
        digest = self._digest(session.csrf)
        try:
            with self._sessions.begin() as db:
                self.prune(db)
                if db.get(EndedSession, digest) is None:
                    db.add(EndedSession(csrf_sha256=digest, issued=session.issued))
        except IntegrityError:  # another process ended the same session at the same moment
            pass

    def ended(self, db: Session, csrf: str) -> bool:
        """Whether the session with this CSRF token was ended (read in ``db``)."""
        found = db.scalar(
            select(EndedSession.issued).where(EndedSession.csrf_sha256 == self._digest(csrf))
        )
        return found is not None
