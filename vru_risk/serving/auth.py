"""Web sessions, CSRF tokens and login rate limiting.

A web session is a cookie signed with ``VRU_SESSION_SECRET`` (itsdangerous, HMAC-SHA1 over a
timestamped payload): the user's id, a per-session CSRF token and the time it was issued. The
server verifies the signature and the age (``session_hours``) on every request and re-reads the
user from the database, so a disabled user is locked out at their next click. The cookie is
HttpOnly, SameSite=Strict and Secure when ``secure_cookies`` is set (behind TLS).

Every form carries the session's CSRF token and every POST checks it; the login form gets an
anonymous session (no user, a token) so that it is protected too, and a successful login issues
a fresh session with a fresh token (no session fixation).

Signing out deletes the cookie and refuses that session for the rest of its life (in the server
process: see :class:`SignedOut`).

Failed logins are counted per username and per client address over a sliding minute; past
``login_attempts_per_minute`` the login is refused with 429 before the password is checked. The
counters live in the server process (one uvicorn worker; see docs/serving.md).

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

import hmac
import secrets
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

from itsdangerous import BadSignature, URLSafeTimedSerializer
from starlette.responses import Response

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
    would stay valid until it expires; this list, kept in the server process, refuses it. It is
    lost when the server restarts: the cookie's own age limit remains the backstop.

    >>> ended = SignedOut(clock=lambda: 100.0)
    >>> ended.add(SessionData(1, "token", issued=50.0), max_age_seconds=3600)
    >>> "token" in ended, "other" in ended
    (True, False)
    """

    def __init__(self, *, clock: Callable[[], float] = time.time) -> None:
        self._clock = clock
        self._until: dict[str, float] = {}
        self._lock = threading.Lock()

    def add(self, session: SessionData, *, max_age_seconds: int) -> None:
        with self._lock:
            now = self._clock()
            self._until = {k: t for k, t in self._until.items() if t > now}
            self._until[session.csrf] = session.issued + max_age_seconds

    def __contains__(self, csrf: object) -> bool:
        with self._lock:
            return isinstance(csrf, str) and self._until.get(csrf, 0.0) > self._clock()


class LoginRateLimiter:
    """Failed logins per username and per client over a sliding 60 seconds (thread-safe).

    >>> now = [0.0]
    >>> limiter = LoginRateLimiter(2, clock=lambda: now[0])
    >>> limiter.failed("ana", "10.0.0.1"); limiter.failed("ana", "10.0.0.2")
    >>> limiter.wait_seconds("ana", "10.0.0.3") > 0, limiter.wait_seconds("ben", "10.0.0.3")
    (True, 0.0)
    >>> now[0] = 61.0
    >>> limiter.wait_seconds("ana", "10.0.0.3")
    0.0
    """

    window: Final = 60.0

    def __init__(self, attempts_per_minute: int, *, clock: Callable[[], float] = time.monotonic):
        self.limit = attempts_per_minute
        self._clock = clock
        self._failures: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    @staticmethod
    def _keys(username: str, client: str) -> tuple[str, str]:
        return f"user:{username.strip().casefold()}", f"client:{client}"

    def _recent(self, key: str, now: float) -> deque[float]:
        times = self._failures.setdefault(key, deque())
        while times and times[0] <= now - self.window:
            times.popleft()
        return times

    def wait_seconds(self, username: str, client: str) -> float:
        """0 when a login may be tried now, else the seconds until the oldest failure ages out."""
        with self._lock:
            now = self._clock()
            waits = [
                times[0] + self.window - now
                for key in self._keys(username, client)
                if len(times := self._recent(key, now)) >= self.limit
            ]
            if not waits:
                for key in self._keys(username, client):
                    if not self._failures.get(key):
                        self._failures.pop(key, None)  # keep the table small
            return max(waits, default=0.0)

    def failed(self, username: str, client: str) -> None:
        with self._lock:
            now = self._clock()
            for key in self._keys(username, client):
                self._recent(key, now).append(now)
