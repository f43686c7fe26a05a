"""Per-user limits on requests that name an individual: a flag, its decisions, a person to score.

Each such request is counted *before* the route does its work, in the ``request_counts`` table,
so that every server process (``vru serve --workers N``) counts the same requests: one UPSERT
adds one to the user's current clock minute and clock hour and returns both counts
(``INSERT ... ON CONFLICT DO UPDATE ... RETURNING``, atomic on SQLite and PostgreSQL: no lock,
no read-then-write race). A request past either limit is refused (429) until that window ends.

Fixed windows are the cheapest shared counter (one statement, two rows per user); their price is
that a user can send up to twice the minute's limit across a minute boundary, which the hourly
cap bounds. Keys are an HMAC of the user's id under a key derived from the session secret
(pseudonymised, as the login limit's). Ended windows are deleted when one of the user's minutes
starts and at server start.

Example
-------
>>> from vru_risk.store import open_database, session_factory
>>> engine = open_database("sqlite://")
>>> now = [120.0]
>>> limiter = IdentifierRateLimiter(session_factory(engine, write=True), per_minute=2,
...     per_hour=100, key=b"k" * 16, clock=lambda: now[0])
>>> [limiter.count(7).allowed for _ in range(3)]
[True, True, False]
>>> limiter.count(7).retry_after, limiter.count(8).allowed
(60, True)
>>> now[0] = 180.0
>>> limiter.count(7).allowed
True
"""

from __future__ import annotations

import hashlib
import hmac
import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

from sqlalchemy import delete
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session, sessionmaker

from vru_risk.store.models import RequestCount

MINUTE: Final = 60
HOUR: Final = 3600


@dataclass(frozen=True)
class RequestCounted:
    """The user's counts in the current minute and hour, and whether this request may go on;
    when not, ``retry_after`` seconds until the exceeded window ends."""

    minute: int
    hour: int
    retry_after: int

    @property
    def allowed(self) -> bool:
        return self.retry_after == 0


class IdentifierRateLimiter:
    """Counts a user's requests naming an individual per clock minute and hour, shared by
    every server process through the application database."""

    def __init__(
        self,
        write_sessions: sessionmaker[Session],
        *,
        per_minute: int,
        per_hour: int,
        key: bytes,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.per_minute = per_minute
        self.per_hour = per_hour
        self._write = write_sessions
        self._key = hmac.new(key, b"vru-risk identifier rate limit", hashlib.sha256).digest()
        self._clock = clock

    def _user_key(self, user_id: int) -> str:
        return hmac.new(self._key, f"user:{user_id}".encode(), hashlib.sha256).hexdigest()

    def prune(self, db: Session) -> None:
        """Delete the counts of windows that have ended."""
        now = int(self._clock())
        db.execute(delete(RequestCount).where(RequestCount.started + RequestCount.span <= now))

    def count(self, user_id: int) -> RequestCounted:
        """Add this request to the user's minute and hour; say whether it may go on."""
        now = self._clock()
        second = math.floor(now)
        minute, hour = second - second % MINUTE, second - second % HOUR
        key = self._user_key(user_id)
        with self._write.begin() as db:
            insert = (
                postgresql_insert if db.get_bind().dialect.name == "postgresql" else sqlite_insert
            )
            rows = insert(RequestCount).values(
                [
                    {"key": key, "span": MINUTE, "started": minute, "hits": 1},
                    {"key": key, "span": HOUR, "started": hour, "hits": 1},
                ]
            )
            upsert = rows.on_conflict_do_update(
                index_elements=[RequestCount.key, RequestCount.span, RequestCount.started],
                set_={"hits": RequestCount.hits + 1},
            ).returning(RequestCount.span, RequestCount.hits)
            counts = {int(span): int(hits) for span, hits in db.execute(upsert).all()}
            if counts[MINUTE] == 1:  # the user's first request this minute: tidy up
                self.prune(db)
        waits = []
        if counts[MINUTE] > self.per_minute:
            waits.append(minute + MINUTE - now)
        if counts[HOUR] > self.per_hour:
            waits.append(hour + HOUR - now)
        retry_after = max(1, math.ceil(max(waits))) if waits else 0
        return RequestCounted(counts[MINUTE], counts[HOUR], retry_after)
