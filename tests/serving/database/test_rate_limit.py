"""The per-user counter of requests naming an individual, on SQLite and PostgreSQL: exact under
concurrent requests from several engines (processes), minute and hour windows, pruning."""

from __future__ import annotations

import threading

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session, sessionmaker

from vru_risk.serving.rate_limit import IdentifierRateLimiter, RequestCounted
from vru_risk.store import make_engine, session_factory
from vru_risk.store.models import RequestCount

KEY = b"a-session-secret-for-tests"


def test_concurrent_requests_through_several_engines_are_counted_exactly(db_url: str) -> None:
    """16 requests at once through 4 engines (as 4 worker processes): every count from 1 to 16
    is handed out once, and exactly the limit get through (one UPSERT ... RETURNING each)."""
    engines = [make_engine(db_url) for _ in range(4)]
    try:
        limiters = [
            IdentifierRateLimiter(
                session_factory(e, write=True),
                per_minute=5,
                per_hour=100,
                key=KEY,
                clock=lambda: 1000.0,  # one minute for all of them, whenever they run
            )
            for e in engines
        ]
        start = threading.Barrier(16)
        results: list[RequestCounted] = []
        lock = threading.Lock()

        def one(i: int) -> None:
            start.wait()
            counted = limiters[i % 4].count(42)
            with lock:
                results.append(counted)

        threads = [threading.Thread(target=one, args=(i,)) for i in range(16)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert sorted(r.minute for r in results) == list(range(1, 17))
        assert sorted(r.hour for r in results) == list(range(1, 17))
        assert sum(r.allowed for r in results) == 5
    finally:
        for e in engines:
            e.dispose()


def test_minute_and_hour_windows_and_pruning(sessions: sessionmaker[Session]) -> None:
    now = [7200.0 + 10]
    limiter = IdentifierRateLimiter(
        sessions, per_minute=3, per_hour=5, key=KEY, clock=lambda: now[0]
    )
    assert [limiter.count(1).allowed for _ in range(4)] == [True, True, True, False]
    assert limiter.count(1).retry_after == 50  # the minute ends at 7260
    assert limiter.count(2).allowed  # another user
    now[0] = 7260.5  # a new minute: the hour has 5 of user 1's requests (refusals count too)
    counted = limiter.count(1)
    assert (counted.minute, counted.hour, counted.allowed) == (1, 6, False)
    assert counted.retry_after == 3540  # the hour ends at 10800
    now[0] = 10800.0 + 61  # a new hour; the first request of the minute prunes ended windows
    assert limiter.count(1).allowed
    with sessions() as s:
        left = s.execute(select(RequestCount.span, RequestCount.started)).all()
    assert sorted(left) == [(60, 10860), (3600, 10800)]
    with sessions() as s:
        keys = set(s.scalars(select(RequestCount.key)))
    assert all(len(k) == 64 for k in keys)  # HMACs of the user id


def test_pruning_at_start_removes_every_ended_window(engine: Engine) -> None:
    sessions = session_factory(engine, write=True)
    now = [100.0]
    limiter = IdentifierRateLimiter(
        sessions, per_minute=3, per_hour=5, key=KEY, clock=lambda: now[0]
    )
    limiter.count(1)
    now[0] = 100.0 + 3600 * 2
    with sessions.begin() as s:
        limiter.prune(s)
    with sessions() as s:
        assert s.scalars(select(RequestCount.key)).all() == []
