"""Sign-in limits that slow down and then stop whoever guesses passwords, never the rightful
user: a growing wait per (username, client address), a growing wait per username counted in
distinct addresses (never applied at an address the user signed in from before), and a hard cap
per client address. The counts live in the database, shared by every server process (``vru
serve --workers N``).
"""

from __future__ import annotations

import hashlib
import hmac
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final, Literal

from sqlalchemy import delete, func, select, text, update
from sqlalchemy.orm import Session, sessionmaker

from vru_risk.store.models import LoginFailure, LoginKnownClient

_LOGIN_LOCK_ID: Final = 7310004  # pg_advisory_xact_lock key of the login limits
#: a user's successful sign-in from an address exempts it from username-wide waits this long
KNOWN_CLIENT_DAYS: Final = 30


@dataclass(frozen=True)
class LoginLimits:
    """The sign-in limits (``VRU_LOGIN_*`` settings).

    ``free_failures``: failed sign-ins for a username from one address, and from that many
    distinct new addresses, before each further attempt waits; the wait starts at a second and
    doubles with every further failure, up to ``max_delay_seconds``. ``client_failures_per_hour``:
    failed sign-ins from one address (any usernames) before it is refused until the oldest of
    them is an hour old. Failures count for ``window_seconds``.
    """

    free_failures: int = 5
    max_delay_seconds: float = 300.0
    client_failures_per_hour: int = 100
    window_seconds: float = 3600.0

    def delay(self, failures: int) -> float:
        """The wait after ``failures`` counted failures (0 below ``free_failures``)."""
        if failures < self.free_failures:
            return 0.0
        return float(min(2.0 ** min(failures - self.free_failures, 40), self.max_delay_seconds))


Why = Literal["", "username and address", "username", "address"]


class LoginRateLimiter:
    """Sign-in limits that slow down and then stop a guesser without locking the rightful user
    out, counted in the ``login_failures`` table so that every server process (``vru serve
    --workers N``) sees the same counts.

    An attempt is refused (``wait_seconds``) while any of these holds, otherwise recorded:

    - *username and address*: the failures of this username from this address in the window are
      ``free_failures`` or more, and the last was less than :meth:`LoginLimits.delay` ago;
    - *username*: from an address this user has not signed in from in the last
      :data:`KNOWN_CLIENT_DAYS` days, the distinct such addresses that failed for this username
      are ``free_failures`` or more, and the last failure among them was less than the delay
      for that count ago (many addresses guessing one password: a botnet). A stranger's
      failures from one address therefore never delay the user, and failures from anywhere
      never delay the user at an address they signed in from before;
    - *address*: this address failed ``client_failures_per_hour`` times (any usernames) within
      the hour: refused until the oldest of them is an hour old.

    The attempt is recorded *before* its password is checked, in one transaction that counts
    and refuses past the limits (SQLite ``BEGIN IMMEDIATE``; PostgreSQL an advisory lock):
    attempts sent in parallel, to one process or several, cannot all slip in while the others'
    passwords are being checked. A successful sign-in removes the failures of its username at
    its address and remembers the address for the user (``login_known_clients``).

    Usernames and addresses are stored as HMAC-SHA256 of ``user:<username>`` /
    ``client:<address>`` under a key derived from the session secret: pseudonymised (the server,
    holding the secret, could test a guess; a copy of the database alone cannot). Rows older
    than the window (known addresses: :data:`KNOWN_CLIENT_DAYS`) are deleted as new attempts
    come and at server start. Times in the future (a clock stepped back) count as now.

    >>> from vru_risk.store import open_database, session_factory
    >>> engine = open_database("sqlite://")
    >>> now = [0.0]
    >>> limiter = LoginRateLimiter(
    ...     session_factory(engine), session_factory(engine, write=True),
    ...     LoginLimits(free_failures=2), key=b"k" * 16, clock=lambda: now[0])
    >>> [limiter.attempt("ana", "10.0.0.1").allowed for _ in range(3)]
    [True, True, False]
    >>> limiter.attempt("ana", "10.0.0.1").why, limiter.attempt("ana", "10.0.0.2").allowed
    ('username and address', True)
    >>> now[0] = 1.0
    >>> limiter.attempt("ana", "10.0.0.1").allowed
    True
    """

    def __init__(
        self,
        read_sessions: sessionmaker[Session],
        write_sessions: sessionmaker[Session],
        limits: LoginLimits,
        *,
        key: bytes,
        clock: Callable[[], float] = time.time,
    ):
        self.limits = limits
        self._read = read_sessions
        self._write = write_sessions
        self._key = hmac.new(key, b"vru-risk login rate limit", hashlib.sha256).digest()
        self.clock = clock

    def _keys(self, username: str, client: str) -> tuple[str, str]:
        def keyed(text: str) -> str:
            return hmac.new(self._key, text.encode(), hashlib.sha256).hexdigest()

        return keyed(f"user:{username.strip().casefold()}"), keyed(f"client:{client}")

    def _wait(self, db: Session, user: str, client: str, now: float) -> tuple[float, Why]:
        limits = self.limits
        since = now - limits.window_seconds
        recent = LoginFailure.at > since
        waits: list[tuple[float, Why]] = []
        # the address's hard cap: refused until the oldest of its last `cap` failures ages out
        cap = limits.client_failures_per_hour
        hour = LoginFailure.at > now - 3600.0
        by_client = db.scalar(select(func.count()).where(LoginFailure.client == client, hour))
        if by_client and by_client >= cap:
            oldest = db.scalar(
                select(LoginFailure.at)
                .where(LoginFailure.client == client, hour)
                .order_by(LoginFailure.at.desc())
                .offset(cap - 1)
                .limit(1)
            )
            if oldest is not None:
                waits.append((min(oldest, now) + 3600.0 - now, "address"))
        # this username from this address
        pair_count, pair_last = db.execute(
            select(func.count(), func.max(LoginFailure.at)).where(
                LoginFailure.key == user, LoginFailure.client == client, recent
            )
        ).one()
        if pair_last is not None:
            waits.append(
                (min(pair_last, now) + limits.delay(pair_count) - now, "username and address")
            )
        # this username from addresses it never signed in from, unless this one is known
        known = select(LoginKnownClient.client).where(
            LoginKnownClient.key == user,
            LoginKnownClient.at > now - KNOWN_CLIENT_DAYS * 86400.0,
        )
        if db.scalar(known.where(LoginKnownClient.client == client)) is None:
            spread, last = db.execute(
                select(func.count(LoginFailure.client.distinct()), func.max(LoginFailure.at)).where(
                    LoginFailure.key == user, recent, LoginFailure.client.not_in(known)
                )
            ).one()
            if last is not None:
                waits.append((min(last, now) + limits.delay(spread) - now, "username"))
        return max(waits, default=(0.0, ""))

    def prune(self, db: Session) -> None:
        """Delete failures outside the window (and any a clock stepped back dated ahead), and
        addresses not signed in from for :data:`KNOWN_CLIENT_DAYS`."""
        now = self.clock()
        window = max(self.limits.window_seconds, 3600.0)
        db.execute(
            delete(LoginFailure).where(
                (LoginFailure.at <= now - window) | (LoginFailure.at > now + window)
            )
        )
        db.execute(
            delete(LoginKnownClient).where(LoginKnownClient.at <= now - KNOWN_CLIENT_DAYS * 86400.0)
        )

    def _lock(self, db: Session) -> None:
        if db.get_bind().dialect.name == "postgresql":
            db.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _LOGIN_LOCK_ID})

    def attempt(self, username: str, client: str) -> LoginAttempt:
        """Record an attempt before its password is checked, or refuse it (``wait_seconds``)."""
        user, address = self._keys(username, client)
        with self._read() as db:  # already refused: say so without taking the write lock
            wait, why = self._wait(db, user, address, self.clock())
        if wait > 0:
            return LoginAttempt(wait, (), why=why)
        with self._write.begin() as db:
            self._lock(db)
            now = self.clock()  # after waiting for the lock
            self.prune(db)
            wait, why = self._wait(db, user, address, now)
            if wait > 0:
                return LoginAttempt(wait, (), why=why)
            row = LoginFailure(key=user, client=address, at=now)
            db.add(row)
            db.flush()
            return LoginAttempt(0.0, (row.id,), user_key=user, client_key=address)

    def succeeded(self, attempt: LoginAttempt) -> None:
        """A sign-in with the right password: the failures of its username at its address no
        longer count, and the address is known for the user from now on."""
        with self._write.begin() as db:
            self._lock(db)
            db.execute(delete(LoginFailure).where(LoginFailure.id.in_(attempt.rows)))
            if not attempt.user_key:
                return
            db.execute(
                delete(LoginFailure).where(
                    LoginFailure.key == attempt.user_key, LoginFailure.client == attempt.client_key
                )
            )
            now = self.clock()
            known = update(LoginKnownClient).where(
                LoginKnownClient.key == attempt.user_key,
                LoginKnownClient.client == attempt.client_key,
            )
            if not getattr(db.execute(known.values(at=now)), "rowcount", 0):
                db.add(LoginKnownClient(key=attempt.user_key, client=attempt.client_key, at=now))


@dataclass(frozen=True)
class LoginAttempt:
    """A recorded sign-in attempt (``rows``), or a refusal for ``wait_seconds`` (``why``: which
    limit refused it)."""

    wait_seconds: float
    rows: tuple[int, ...]
    why: Why = ""
    user_key: str = ""
    client_key: str = ""

    @property
    def allowed(self) -> bool:
        return self.wait_seconds <= 0
