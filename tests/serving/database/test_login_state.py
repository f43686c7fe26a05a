"""Sign-in limits and ended sessions in the database: what every server process shares."""

from __future__ import annotations

import hashlib
import threading
import time

import pytest
from sqlalchemy import Engine, make_url, select, text

from tests.store.conftest import empty_postgres
from vru_risk.serving.auth import (
    ENDED_SESSION_KEEP_SECONDS,
    SessionCodec,
    SessionData,
    SignedOut,
)
from vru_risk.serving.login_limits import KNOWN_CLIENT_DAYS, LoginLimits, LoginRateLimiter
from vru_risk.store import make_engine, session_factory
from vru_risk.store.models import EndedSession, LoginFailure, LoginKnownClient

KEY = b"the-session-secret-of-the-tests"


def limiter(
    engine: Engine,
    free: int,
    clock: list[float] | None = None,
    *,
    per_client: int = 100,
    max_delay: float = 300.0,
) -> LoginRateLimiter:
    now = clock if clock is not None else [1_000.0]
    return LoginRateLimiter(
        session_factory(engine),
        session_factory(engine, write=True),
        LoginLimits(
            free_failures=free, max_delay_seconds=max_delay, client_failures_per_hour=per_client
        ),
        key=KEY,
        clock=lambda: now[0],
    )


def with_default_isolation(url: str, level: str) -> str:
    """``url`` whose connections start with PostgreSQL's default isolation set to ``level``."""
    options = "-c default_transaction_isolation=" + level.replace(" ", "\\ ")
    return make_url(url).update_query_dict({"options": options}).render_as_string(False)


@pytest.mark.parametrize(
    ("username", "client"),
    [
        ("ana", "10.0.0.{}"),  # one username from many addresses
        ("ana", "10.0.0.1"),  # one username from one address
    ],
    ids=["one-username-many-addresses", "one-username-one-address"],
)
def test_parallel_attempts_from_several_processes_get_no_more_than_the_limit(
    db_url: str, username: str, client: str
) -> None:
    """16 attempts at once (``{}``: the attempt's number), each through its own engine (as from
    separate worker processes): exactly the free failures are let through to a password check,
    the rest are told to wait."""
    assert_parallel_attempts_capped(db_url, username, client)


def test_parallel_attempts_from_one_address_get_no_more_than_its_hard_cap(db_url: str) -> None:
    """16 usernames at once from one address whose hourly cap is 5: exactly 5 get through."""
    assert_parallel_attempts_capped(db_url, "user{}", "10.0.0.9", free=50, per_client=5)


def test_parallel_attempts_are_capped_under_a_repeatable_read_default(
    postgres_database: str,
) -> None:
    """The engine pins READ COMMITTED: under a REPEATABLE READ default the count taken after
    the lock would miss the attempts committed while waiting for it (16 of 16 got through)."""
    empty_postgres(postgres_database)
    assert_parallel_attempts_capped(
        with_default_isolation(postgres_database, "repeatable read"),
        "ana",
        "10.0.0.{}",
    )


def assert_parallel_attempts_capped(
    url: str,
    username: str,
    client: str,
    *,
    free: int = 5,
    per_client: int = 100,
) -> None:
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
            gate = limiter(engine, free, per_client=per_client)
            allowed.append(gate.attempt(username.format(i), client.format(i)).allowed)
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


def test_failures_from_one_address_slow_it_down_more_and_more_then_it_is_refused(
    engine: Engine,
) -> None:
    """After the free failures each attempt waits 1, 2, 4, ... seconds (capped); past the
    address's hourly cap it is refused until the oldest counted failure is an hour old."""
    now = [1_000.0]
    limit = limiter(engine, 3, now, per_client=12, max_delay=20.0)
    waits = []
    for _ in range(12):
        attempt = limit.attempt("eve", "10.0.0.1")
        if not attempt.allowed:  # wait exactly as long as told, then try again
            assert attempt.why == "username and address"
            waits.append(attempt.wait_seconds)
            now[0] += attempt.wait_seconds
            attempt = limit.attempt("eve", "10.0.0.1")
        assert attempt.allowed
    assert waits == pytest.approx([1, 2, 4, 8, 16, 20, 20, 20, 20])
    now[0] += 3_600 - (now[0] - 1_000.0) - 1  # a second before the first failure is an hour old
    refused = limit.attempt("eve", "10.0.0.1")
    assert not refused.allowed and refused.why == "address"
    assert refused.wait_seconds == pytest.approx(1.0)
    # the address is refused for any username, and other addresses are not
    assert limit.attempt("ben", "10.0.0.1").why == "address"
    assert limit.attempt("ben", "10.0.0.2").allowed


def test_a_strangers_failures_never_delay_the_user_elsewhere_nor_at_their_usual_address(
    engine: Engine,
) -> None:
    """50 failures for eve from one address delay eve at no other address; failures from many
    addresses (a botnet) delay eve at new addresses but never where she signed in before."""
    now = [1_000.0]
    limit = limiter(engine, 5, now, per_client=1_000)
    usual = limit.attempt("eve", "10.0.0.2")
    limit.succeeded(usual)  # eve signs in from her office
    for _ in range(50):
        attempt = limit.attempt("eve", "10.6.6.6")
        now[0] += max(attempt.wait_seconds, 0.0) + 0.01
    assert limit.attempt("eve", "10.0.0.3").allowed  # a new address: one stranger is no botnet
    for i in range(20):  # twenty more addresses, all failing
        limit.attempt("eve", f"10.7.0.{i}")
    refused = limit.attempt("eve", "10.0.0.4")
    assert not refused.allowed and refused.why == "username"
    assert limit.attempt("eve", "10.0.0.2").allowed  # her usual address: never delayed


def test_a_successful_sign_in_clears_its_address_and_failures_count_for_the_window(
    engine: Engine,
) -> None:
    now = [1_000.0]
    limit = limiter(engine, 2, now)
    first = limit.attempt("ana", "10.0.0.1")
    limit.succeeded(first)  # the right password
    assert limit.attempt("ana", "10.0.0.1").allowed  # a wrong one: counts
    assert limit.attempt("ana", "10.0.0.1").allowed  # another wrong one: counts
    refused = limit.attempt("ana", "10.0.0.1")
    assert not refused.allowed and refused.wait_seconds == pytest.approx(1.0)
    now[0] += 1
    right = limit.attempt("ana", "10.0.0.1")
    assert right.allowed
    limit.succeeded(right)  # the failures of ana at this address no longer count
    assert limit.attempt("ana", "10.0.0.1").allowed
    assert limit.attempt("ana", "10.0.0.1").allowed
    # failures older than the window are pruned by the next attempt; known addresses stay
    now[0] += limit.limits.window_seconds + 1
    limit.attempt("ben", "10.0.0.9")
    with session_factory(engine)() as db:
        assert len(list(db.scalars(select(LoginFailure.id)))) == 1
        assert len(list(db.scalars(select(LoginKnownClient.key)))) == 1
    now[0] += KNOWN_CLIENT_DAYS * 86400
    limit.attempt("ben", "10.0.0.9")
    with session_factory(engine)() as db:
        assert list(db.scalars(select(LoginKnownClient.key))) == []


def test_a_clock_stepped_back_never_delays_anyone_for_longer_than_the_longest_delay(
    engine: Engine,
) -> None:
    now = [10_000.0]
    limit = limiter(engine, 2, now, max_delay=60.0)
    for _ in range(2):
        limit.attempt("ana", "10.0.0.1")
    now[0] -= 7_200  # the clock steps back two hours: those attempts are "in the future"
    refused = limit.attempt("ana", "10.0.0.1")
    assert 0 < refused.wait_seconds <= 60.0  # counted as now: never longer than the longest
    now[0] += 0.5  # attempts dated more than the window ahead are pruned
    with session_factory(engine, write=True).begin() as db:
        limit.prune(db)  # what the next attempt or a server start does
    assert limit.attempt("ana", "10.0.0.1").allowed


def test_keys_are_keyed_hashes_not_names_or_addresses(engine: Engine) -> None:
    limit = limiter(engine, 5)
    limit.succeeded(limit.attempt("Ana ", "10.0.0.9"))
    limiter(engine, 5).attempt("Ana ", "10.0.0.9")
    with session_factory(engine)() as db:
        keys = {k for row in db.execute(select(LoginFailure.key, LoginFailure.client)) for k in row}
        keys |= {k for row in db.execute(select(LoginKnownClient.key, LoginKnownClient.client))
                 for k in row}  # fmt: skip
    plain = {hashlib.sha256(t.encode()).hexdigest() for t in ("user:ana", "client:10.0.0.9")}
    assert len(keys) == 2 and all(len(k) == 64 for k in keys)
    assert not keys & plain  # an HMAC under the server's key, not a bare digest to look up
    assert not any("ana" in k or "10.0.0.9" in k for k in keys)
    # the same username in another spelling is the same key; another server key, another key
    limiter(engine, 5).attempt("ANA", "10.0.0.8")
    other = LoginRateLimiter(
        session_factory(engine),
        session_factory(engine, write=True),
        LoginLimits(),
        key=b"x" * 32,
        clock=lambda: 1_000.0,
    )
    other.attempt("ana", "10.0.0.9")
    with session_factory(engine)() as db:
        rows = db.execute(select(LoginFailure.key, LoginFailure.client)).all()
    assert len({k for row in rows for k in row}) == 5


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
