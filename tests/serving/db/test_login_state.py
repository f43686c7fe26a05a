"""Sign-in attempts and ended sessions in the database: what every server process shares."""

from __future__ import annotations

import hashlib
import threading

import pytest
from sqlalchemy import Engine, select

from vru_risk.serving.auth import LoginRateLimiter, SessionData, SignedOut
from vru_risk.serving.db import make_engine, session_factory
from vru_risk.serving.db.models import EndedSession, LoginFailure

KEY = b"the-session-secret-of-the-tests"


def limiter(engine: Engine, limit: int, clock: list[float] | None = None) -> LoginRateLimiter:
    now = clock if clock is not None else [1_000.0]
    return LoginRateLimiter(
        session_factory(engine),
        session_factory(engine, write=True),
        limit,
        key=KEY,
        clock=lambda: now[0],
    )


def test_parallel_attempts_from_several_processes_get_no_more_than_the_limit(db_url: str) -> None:
    """16 attempts at once, each through its own engine (as from separate worker processes):
    exactly the limit are let through to a password check, the rest are told to wait."""
    start = threading.Barrier(16)
    allowed: list[bool] = []
    errors: list[BaseException] = []

    def attempt(i: int) -> None:
        engine = make_engine(db_url)
        try:
            start.wait()
            allowed.append(limiter(engine, 5).attempt("ana", f"10.0.0.{i}").allowed)
        except BaseException as exc:  # reported below
            errors.append(exc)
        finally:
            engine.dispose()

    threads = [threading.Thread(target=attempt, args=(i,)) for i in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert sorted(allowed) == [False] * 11 + [True] * 5


def test_a_successful_sign_in_stops_counting_and_a_failed_one_counts_for_a_minute(
    engine: Engine,
) -> None:
    now = [1_000.0]
    limit = limiter(engine, 2, now)
    first = limit.attempt("ana", "10.0.0.1")
    limit.succeeded(first)  # the right password
    assert limit.attempt("ana", "10.0.0.1").allowed  # a wrong one: counts
    assert limit.attempt("ana", "10.0.0.2").allowed  # another wrong one: counts
    refused = limit.attempt("ana", "10.0.0.3")
    assert not refused.allowed and refused.wait_seconds == pytest.approx(60.0)
    now[0] += 30
    assert limit.attempt("ana", "10.0.0.3").wait_seconds == pytest.approx(30.0)
    now[0] += 31
    assert limit.attempt("ana", "10.0.0.3").allowed
    # rows outside the window are gone: three recent attempts (two are now stale and pruned)
    with session_factory(engine)() as db:
        assert len(list(db.scalars(select(LoginFailure.id)))) == 2


def test_a_clock_stepped_back_never_locks_anyone_out_for_longer_than_a_minute(
    engine: Engine,
) -> None:
    now = [10_000.0]
    limit = limiter(engine, 2, now)
    limit.attempt("ana", "10.0.0.1")
    limit.attempt("ana", "10.0.0.1")
    now[0] -= 3_600  # the clock steps back an hour: those attempts are "in the future"
    refused = limit.attempt("ana", "10.0.0.1")
    assert refused.wait_seconds <= 60.0
    with session_factory(engine, write=True).begin() as db:
        limit.prune(db)  # what the next attempt or a server start does
    assert limit.attempt("ana", "10.0.0.1").allowed


def test_keys_are_keyed_hashes_not_names_or_addresses(engine: Engine) -> None:
    limiter(engine, 5).attempt("Ana ", "10.0.0.9")
    with session_factory(engine)() as db:
        keys = set(db.scalars(select(LoginFailure.key)))
    plain = {hashlib.sha256(t.encode()).hexdigest() for t in ("user:ana", "client:10.0.0.9")}
    assert len(keys) == 2 and all(len(k) == 64 for k in keys)
    assert not keys & plain  # an HMAC under the server's key, not a bare digest to look up
    assert not any("ana" in k or "10.0.0.9" in k for k in keys)
    # the same username in another spelling is the same key; another server key, another key
    limiter(engine, 5).attempt("ANA", "10.0.0.8")
    other = LoginRateLimiter(
        session_factory(engine),
        session_factory(engine, write=True),
        5,
        key=b"x" * 32,
        clock=lambda: 1_000.0,
    )
    other.attempt("ana", "10.0.0.9")
    with session_factory(engine)() as db:
        assert len(set(db.scalars(select(LoginFailure.key)))) == 5


def test_an_ended_session_stays_ended_when_sessions_are_made_longer(engine: Engine) -> None:
    now = [100.0]
    session = SessionData(7, "a-csrf-token", issued=50.0)
    SignedOut(session_factory(engine, write=True), 3600, clock=lambda: now[0]).add(session)
    with session_factory(engine)() as db:
        stored = list(db.scalars(select(EndedSession.csrf_sha256)))
    assert stored == [hashlib.sha256(b"a-csrf-token").hexdigest()]  # never the token itself
    # VRU_SESSION_HOURS raised from 1 to 8 and the server restarted, two hours later: the
    # cookie is still young enough for the new limit, and must still be refused
    now[0] = 50.0 + 2 * 3600
    longer = SignedOut(session_factory(engine, write=True), 8 * 3600, clock=lambda: now[0])
    with session_factory(engine, write=True).begin() as db:
        longer.prune(db)
    with session_factory(engine)() as db:
        assert longer.ended(db, "a-csrf-token")
    # once it would have expired under the current limit, its row goes
    now[0] = 50.0 + 8 * 3600 + 1
    with session_factory(engine, write=True).begin() as db:
        longer.prune(db)
    with session_factory(engine)() as db:
        assert not longer.ended(db, "a-csrf-token")


def test_the_same_session_ended_twice_is_one_row(engine: Engine) -> None:
    ended = SignedOut(session_factory(engine, write=True), 3600)
    session = SessionData(7, "token", issued=1e12)
    ended.add(session)
    ended.add(session)
    with session_factory(engine)() as db:
        assert len(list(db.scalars(select(EndedSession.csrf_sha256)))) == 1
