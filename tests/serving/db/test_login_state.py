"""Sign-in attempts and ended sessions in the database: what every server process shares."""

from __future__ import annotations

import hashlib
import threading
import time

import pytest
from sqlalchemy import Engine, make_url, select, text

from tests.serving.db.conftest import empty_postgres
from vru_risk.serving.auth import (
    ENDED_SESSION_KEEP_SECONDS,
    LoginRateLimiter,
    SessionCodec,
    SessionData,
    SignedOut,
)
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


def with_default_isolation(url: str, level: str) -> str:
    """``url`` whose connections start with PostgreSQL's default isolation set to ``level``."""
    options = "-c default_transaction_isolation=" + level.replace(" ", "\\ ")
    return make_url(url).update_query_dict({"options": options}).render_as_string(False)


def test_parallel_attempts_from_several_processes_get_no_more_than_the_limit(db_url: str) -> None:
    """16 attempts at once, each through its own engine (as from separate worker processes):
    exactly the limit are let through to a password check, the rest are told to wait."""
    assert_parallel_attempts_capped(db_url)


def test_parallel_attempts_are_capped_under_a_repeatable_read_default(
    postgres_database: str,
) -> None:
    """The engine pins READ COMMITTED: under a REPEATABLE READ default the count taken after
    the lock would miss the attempts committed while waiting for it (16 of 16 got through)."""
    empty_postgres(postgres_database)
    assert_parallel_attempts_capped(with_default_isolation(postgres_database, "repeatable read"))


def assert_parallel_attempts_capped(url: str) -> None:
    start = threading.Barrier(16, timeout=60)
    allowed: list[bool] = []
    errors: list[BaseException] = []

    def attempt(i: int) -> None:
        try:
            engine = make_engine(url)
        except BaseException as exc:  # reported below
            errors.append(exc)
            start.abort()
            return
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
    # the two attempts of 61 s ago were pruned: the two of the last second remain (each
    # attempt is a row per username and one per client)
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


def test_an_ended_session_stays_ended_whatever_the_session_length_becomes(
    engine: Engine,
) -> None:
    """Rows are kept for the longest session the settings allow (30 days), so no change of
    VRU_SESSION_HOURS, down then up again, revives an ended session; the cookie itself is
    refused by its age (SessionCodec) once past the current limit."""
    now = [100.0]
    session = SessionData(7, "a-csrf-token", issued=50.0)
    SignedOut(session_factory(engine, write=True), clock=lambda: now[0]).add(session)
    with session_factory(engine)() as db:
        stored = list(db.scalars(select(EndedSession.csrf_sha256)))
    assert stored == [hashlib.sha256(b"a-csrf-token").hexdigest()]  # never the token itself
    for hours in (1, 8, 24 * 30):  # restarts with other settings, pruning each time
        now[0] = 50.0 + hours * 3600
        ended = SignedOut(session_factory(engine, write=True), clock=lambda: now[0])
        with session_factory(engine, write=True).begin() as db:
            ended.prune(db)
        with session_factory(engine)() as db:
            assert ended.ended(db, "a-csrf-token"), hours
    now[0] = 50.0 + ENDED_SESSION_KEEP_SECONDS + 1  # no session lives this long: the row goes
    with session_factory(engine, write=True).begin() as db:
        ended.prune(db)
    with session_factory(engine)() as db:
        assert not ended.ended(db, "a-csrf-token")


def test_a_session_is_as_old_as_its_issue_however_often_its_cookie_is_signed_again(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    codec = SessionCodec("a-secret-of-sixteen+", max_age_seconds=3600)
    issued = time.time()
    session = SessionData(7, "token", issued=issued)
    assert codec.load(codec.dump(session)) == session
    # an hour and a minute later the cookie is signed again (the sign-in page does that with
    # the session it is given): the fresh signature does not make the session young again
    monkeypatch.setattr(time, "time", lambda: issued + 3660)
    assert codec.load(codec.dump(session)) is None
    # a session "issued" in the future (beyond a minute of clock skew) is refused too
    monkeypatch.setattr(time, "time", lambda: issued - 120)
    assert codec.load(codec.dump(session)) is None


def test_the_same_session_ended_twice_is_one_row(engine: Engine) -> None:
    ended = SignedOut(session_factory(engine, write=True))
    session = SessionData(7, "token", issued=time.time())
    ended.add(session)
    ended.add(session)
    with session_factory(engine)() as db:
        assert len(list(db.scalars(select(EndedSession.csrf_sha256)))) == 1


def test_the_engine_reads_committed_whatever_the_servers_default(postgres_database: str) -> None:
    engine = make_engine(with_default_isolation(postgres_database, "serializable"))
    try:
        with engine.connect() as conn:
            level = conn.execute(text("SHOW transaction_isolation")).scalar_one()
        assert level == "read committed"
    finally:
        engine.dispose()
