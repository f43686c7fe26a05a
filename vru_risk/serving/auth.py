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

Sign-in attempts are counted per username and per client address over a sliding minute
(recorded before the password is checked; a successful one is then removed); past
``login_attempts_per_minute`` the sign-in is refused with 429 before the password is checked.
The counts live in the database, shared by every server process (``vru serve --workers N``).

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
from sqlalchemy import delete, func, select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker
from starlette.responses import Response

from vru_risk.serving.db.models import EndedSession, LoginFailure

SESSION_COOKIE: Final = "vru_session"
CSRF_FIELD: Final = "csrf_token"
_SALT: Final = "vru-risk web session"
_LOGIN_LOCK_ID: Final = 7310004  # pg_advisory_xact_lock key of the login rate limit
#: a session issued this far in the future (another host's clock) is still accepted
_CLOCK_SKEW_SECONDS: Final = 60.0
#: ended sessions are kept this long after issue (the longest VRU_SESSION_HOURS allowed, and a
#: minute): lowering the setting and raising it again never revives one
ENDED_SESSION_KEEP_SECONDS: Final = 30 * 24 * 3600 + 60


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
        # the age counts from when the session was issued, not from when its cookie was last
        # signed (the sign-in page re-signs the session it is given): no refreshing a copy
        age = time.time() - float(issued)
        if age > self.max_age_seconds or age < -_CLOCK_SKEW_SECONDS:
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
    process (``vru serve --workers N``) and across restarts. A row holds the SHA-256 of the
    session's CSRF token and when the session was issued; it is deleted (when another session
    ends, and at server start) once ``keep_seconds`` have passed since the issue: by default
    the longest session ``VRU_SESSION_HOURS`` allows, so that no change of the setting revives
    an ended session (:class:`SessionCodec` refuses any session older than the current limit).

    >>> from vru_risk.serving.db import open_database, session_factory
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


class LoginRateLimiter:
    """Sign-in attempts per username and per client over a sliding 60 seconds, counted in the
    ``login_failures`` table so that every server process (``vru serve --workers N``) sees the
    same counts.

    An attempt is recorded *before* its password is checked, in one transaction that counts the
    recent attempts and refuses past the limit (SQLite ``BEGIN IMMEDIATE``; PostgreSQL an
    advisory lock): attempts sent in parallel, to one process or several, cannot all slip in
    while the others' passwords are being checked. A successful sign-in removes its own record;
    a failed one stays for the window.

    Keys are HMAC-SHA256 of ``user:<username>`` / ``client:<address>`` under a key derived from
    the session secret: pseudonymised (the server, holding the secret, could test a guess; a
    copy of the database alone cannot). Rows older than the window are deleted as new attempts
    come and at server start. Times in the future (a clock stepped back) count as now.

    >>> from vru_risk.serving.db import open_database, session_factory
    >>> engine = open_database("sqlite://")
    >>> now = [0.0]
    >>> limiter = LoginRateLimiter(
    ...     session_factory(engine), session_factory(engine, write=True), 2, key=b"k" * 16,
    ...     clock=lambda: now[0])
    >>> limiter.attempt("ana", "10.0.0.1").allowed, limiter.attempt("ana", "10.0.0.2").allowed
    (True, True)
    >>> limiter.attempt("ana", "10.0.0.3").wait_seconds, limiter.attempt("ben", "10.0.0.3").allowed
    (60.0, True)
    >>> now[0] = 61.0
    >>> limiter.attempt("ana", "10.0.0.3").allowed
    True
    """

    window: Final = 60.0

    def __init__(
        self,
        read_sessions: sessionmaker[Session],
        write_sessions: sessionmaker[Session],
        attempts_per_minute: int,
        *,
        key: bytes,
        clock: Callable[[], float] = time.time,
    ):
        self.limit = attempts_per_minute
        self._read = read_sessions
        self._write = write_sessions
        self._key = hmac.new(key, b"vru-risk login rate limit", hashlib.sha256).digest()
        self._clock = clock

    def _keys(self, username: str, client: str) -> tuple[str, str]:
        def keyed(text: str) -> str:
            return hmac.new(self._key, text.encode(), hashlib.sha256).hexdigest()

        return keyed(f"user:{username.strip().casefold()}"), keyed(f"client:{client}")

    def _wait(self, db: Session, keys: tuple[str, str], now: float) -> float:
        counts = db.execute(
            select(LoginFailure.key, func.count(), func.min(LoginFailure.at))
            .where(LoginFailure.key.in_(keys), LoginFailure.at > now - self.window)
            .group_by(LoginFailure.key)
        ).all()
        waits = [
            min(first, now) + self.window - now for _key, n, first in counts if n >= self.limit
        ]
        return max(waits, default=0.0)

    def prune(self, db: Session) -> None:
        """Delete attempts outside the window (and any a clock stepped back dated ahead)."""
        now = self._clock()
        db.execute(
            delete(LoginFailure).where(
                (LoginFailure.at <= now - self.window) | (LoginFailure.at > now + self.window)
            )
        )

    def attempt(self, username: str, client: str) -> LoginAttempt:
        """Record an attempt before its password is checked, or refuse it (``wait_seconds``)."""
        keys = self._keys(username, client)
        with self._read() as db:  # already blocked: say so without taking the write lock
            wait = self._wait(db, keys, self._clock())
        if wait > 0:
            return LoginAttempt(wait, ())
        with self._write.begin() as db:
            if db.get_bind().dialect.name == "postgresql":
                db.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _LOGIN_LOCK_ID})
            now = self._clock()  # after waiting for the lock
            self.prune(db)
            wait = self._wait(db, keys, now)
            if wait > 0:
                return LoginAttempt(wait, ())
            rows = [LoginFailure(key=k, at=now) for k in keys]
            db.add_all(rows)
            db.flush()
            return LoginAttempt(0.0, tuple(r.id for r in rows))

    def succeeded(self, attempt: LoginAttempt) -> None:
        """A sign-in with the right password: its attempt no longer counts."""
        with self._write.begin() as db:
            db.execute(delete(LoginFailure).where(LoginFailure.id.in_(attempt.rows)))


@dataclass(frozen=True)
class LoginAttempt:
    """A recorded sign-in attempt (``rows``), or a refusal for ``wait_seconds``."""

    wait_seconds: float
    rows: tuple[int, ...]

    @property
    def allowed(self) -> bool:
        return self.wait_seconds <= 0
