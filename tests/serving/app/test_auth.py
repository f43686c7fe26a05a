"""Sign-in, session cookies, CSRF on every form, login rate limiting, tokens, sign-out."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from argon2 import PasswordHasher
from fastapi.testclient import TestClient
from sqlalchemy import select, update
from sqlalchemy.exc import OperationalError

from tests.serving.app.conftest import (
    FLAGS,
    PASSWORD,
    Browser,
    Served,
    make_settings,
    serve,
)
from vru_risk.serving.app import ServingConfigError, create_app
from vru_risk.serving.auth import SESSION_COOKIE, SessionCodec
from vru_risk.serving.deps import AppState
from vru_risk.serving.tokens import revoke_token
from vru_risk.settings import Settings
from vru_risk.store.models import LoginFailure, User
from vru_risk.store.users import disable_user

A = FLAGS["A"].flag_id
WAIT = re.compile(r"Wait (\d+) seconds")
DECISION = {"decision": "no_action", "reason_code": "support_declined", "text": "declined"}


def test_the_server_refuses_to_start_without_a_session_secret(vru_home: Path) -> None:
    with pytest.raises(ServingConfigError, match="VRU_SESSION_SECRET is not set"):
        create_app(Settings(home=vru_home))


def test_sign_in_sets_a_fresh_strict_httponly_cookie_and_goes_home(served: Served) -> None:
    browser = Browser(TestClient(served.app, follow_redirects=False))
    page = browser.get("/login")
    assert page.status_code == 200
    anonymous = page.cookies[SESSION_COOKIE]
    header = page.headers["set-cookie"].lower()
    assert "httponly" in header and "samesite=strict" in header and "secure" not in header
    for field in ('for="username"', 'for="password"', 'autocomplete="current-password"'):
        assert field in page.text
    response = browser.post("/login", {"username": "eve", "password": PASSWORD})
    assert response.status_code == 303 and response.headers["location"] == "/models"
    signed_in = response.cookies[SESSION_COOKIE]
    assert signed_in != anonymous
    # the anonymous session's token does not carry over (no session fixation)
    codec = served.state.codec
    assert codec.load(signed_in).csrf != codec.load(anonymous).csrf  # type: ignore[union-attr]
    assert browser.get("/models").status_code == 200


def test_secure_cookies_behind_tls(vru_home: Path) -> None:
    with serve(make_settings(vru_home, secure_cookies=True)) as served:
        page = TestClient(served.app).get("/login")
        assert "secure" in page.headers["set-cookie"].lower()


def test_a_wrong_password_says_so_and_an_unknown_user_the_same(served: Served) -> None:
    browser = Browser(TestClient(served.app, follow_redirects=False))
    browser.get("/login")
    wrong = browser.post("/login", {"username": "pat", "password": "not the password"})
    unknown = browser.post("/login", {"username": "nobody", "password": PASSWORD})
    for response in (wrong, unknown):
        assert response.status_code == 401
        assert "username or password is not right" in response.text
        assert SESSION_COOKIE in response.cookies  # still anonymous, with a token for retrying


def test_next_goes_back_to_the_page_but_never_off_site(served: Served) -> None:
    anonymous = TestClient(served.app, follow_redirects=False)
    response = anonymous.get(f"/flags/{A}?programme=jump_start")
    assert response.status_code == 303
    target = response.headers["location"]
    assert target == f"/login?next=/flags/{A}%3Fprogramme%3Djump_start"
    browser = Browser(TestClient(served.app, follow_redirects=False))
    browser.get(target)
    back = browser.post(
        "/login",
        {"username": "pat", "password": PASSWORD, "next": f"/flags/{A}?programme=jump_start"},
    )
    assert back.headers["location"] == f"/flags/{A}?programme=jump_start"
    for evil in ("//evil.example/x", "https://evil.example/", "/\\evil.example"):
        browser = Browser(TestClient(served.app, follow_redirects=False))
        browser.get("/login")
        response = browser.post("/login", {"username": "pat", "password": PASSWORD, "next": evil})
        assert response.headers["location"] == "/flags", evil


@pytest.mark.parametrize(
    ("who", "url", "data"),
    [
        ("pat", f"/flags/{A}/decisions", DECISION),
        ("eve", "/models/1/review", {"action": "approve", "reason": "read it"}),
        ("pat", "/logout", {}),
        (None, "/login", {"username": "pat", "password": PASSWORD}),
    ],
)
def test_every_form_post_needs_the_sessions_csrf_token(
    served: Served, who: str | None, url: str, data: dict[str, str]
) -> None:
    browser = (
        served.browser(who) if who else Browser(TestClient(served.app, follow_redirects=False))
    )
    browser.get("/login" if who is None else "/docs")
    other = served.browser("ed")
    other.get("/docs")
    rows = len(served.audit_rows())
    for token in ("", "forged-token", other.csrf):
        response = browser.post(url, data, csrf=token)
        assert response.status_code == 403, (token, response.text[:200])
        assert "reload" in response.text.lower() or "expired" in response.text.lower()
    # nothing happened: no decision, no review, still signed in, no audit row
    assert len(served.audit_rows()) == rows
    if who == "pat":
        decisions = served.api("pat").get(f"/api/v1/flags/{A}/decisions").json()["decisions"]
        assert decisions == []
        assert browser.get("/flags").status_code == 200
    assert not served.state.review_log.entries()


def test_a_strangers_failed_sign_ins_slow_and_stop_the_stranger_not_the_user(
    vru_home: Path,
) -> None:
    """Finding 16: five wrong passwords a minute used to lock the rightful user out from any
    address. Now 50 failures for "eve" from one address delay her at no other; the stranger
    is slowed down (429 with how long to wait), then refused at the address's hourly cap."""
    settings = make_settings(
        vru_home,
        login_free_failures=5,
        login_max_delay_seconds=60,
        login_client_failures_per_hour=55,
    )
    with serve(settings) as served:
        now = [time.time()]
        served.state.limiter.clock = lambda: now[0]
        cheap = PasswordHasher(time_cost=1, memory_cost=8 * 1024, parallelism=1).hash(PASSWORD)
        with served.state.write_sessions.begin() as s:  # 55 checks of eve's password, quickly
            s.execute(update(User).where(User.username == "eve").values(password_hash=cheap))
        stranger = served.browser(None, client=("10.6.6.6", 1))
        stranger.get("/login")
        failures, waits, said = 0, [], set()
        for _ in range(200):  # 50 failures, waiting as long as told whenever refused
            if failures == 50:
                break
            response = stranger.post("/login", {"username": "eve", "password": "a guess"})
            if response.status_code == 429:  # slowed down: told how long to wait
                said.add("for this username from this computer" in response.text)
                waits.append(int(WAIT.search(response.text).group(1)))  # type: ignore[union-attr]
                now[0] += waits[-1]
                continue
            assert response.status_code == 401
            failures += 1
        # eve, at her own computer, signs in at once with the right password
        eve = served.browser(None, client=("10.0.0.2", 1))
        assert eve.login("eve", PASSWORD).status_code == 303
        assert failures == 50 and said == {True}
        assert waits[:6] == [1, 2, 4, 8, 16, 32] and max(waits) == 60
        # the stranger goes on until the address's hourly cap, then is refused for any username
        while failures < 55:
            response = stranger.post("/login", {"username": "eve", "password": "a guess"})
            if response.status_code == 429:
                now[0] += int(WAIT.search(response.text).group(1))  # type: ignore[union-attr]
                continue
            failures += 1
        refused = stranger.post("/login", {"username": "ed", "password": PASSWORD})
        assert refused.status_code == 429
        assert "from this computer or its network" in refused.text
        assert 0 < int(WAIT.search(refused.text).group(1)) <= 3600  # type: ignore[union-attr]


def test_an_expired_or_forged_cookie_means_signing_in_again(
    served: Served, monkeypatch: pytest.MonkeyPatch
) -> None:
    browser = served.browser("pat")
    assert browser.get("/flags").status_code == 200
    hours = served.state.settings.session_hours
    later = time.time() + hours * 3600 + 5
    monkeypatch.setattr(time, "time", lambda: later)
    response = browser.get("/flags")
    assert response.status_code == 303 and response.headers["location"].startswith("/login")
    monkeypatch.undo()
    forged = SessionCodec("another-secret-0123456789", max_age_seconds=3600)
    cookie = forged.dump(forged.new(1))
    client = TestClient(served.app, follow_redirects=False, cookies={SESSION_COOKIE: cookie})
    assert client.get("/flags").status_code == 303


def test_a_disabled_user_is_out_at_the_next_click_and_their_token_too(served: Served) -> None:
    browser = served.browser("pat")
    api = served.api("pat")
    assert browser.get("/flags").status_code == 200
    assert api.get("/api/v1/flags").status_code == 200
    with served.state.write_sessions.begin() as s:
        disable_user(s, "pat")
    assert browser.get("/flags").status_code == 303
    response = api.get("/api/v1/flags")
    assert response.status_code == 401 and "revoked" in response.json()["detail"]
    assert served.browser(None).login("pat", PASSWORD).status_code == 401


def test_a_revoked_or_unknown_token_is_refused(served: Served) -> None:
    with served.state.write_sessions.begin() as s:
        assert revoke_token(s, served.tokens["dana"])
    assert served.api("dana").get("/api/v1/aggregates").status_code == 401
    bogus = TestClient(served.app, headers={"Authorization": "Bearer not-a-token"})
    assert bogus.get("/api/v1/model").status_code == 401
    # a session cookie never authorises the API (so the API needs no CSRF token)
    browser = served.browser("dana")
    assert browser.client.get("/api/v1/aggregates").status_code == 401


def test_signing_out_ends_the_session_even_for_a_copied_cookie(served: Served) -> None:
    browser = served.browser("pat")
    browser.get("/flags")
    copied = browser.client.cookies[SESSION_COOKIE]
    response = browser.post("/logout")
    assert response.status_code == 303 and response.headers["location"] == "/login"
    assert browser.get("/flags").status_code == 303
    thief = TestClient(served.app, follow_redirects=False, cookies={SESSION_COOKIE: copied})
    assert thief.get("/flags").status_code == 303


@pytest.fixture
def no_audit_key(vru_home: Path) -> Iterator[Served]:
    with serve(make_settings(vru_home, audit_key=None)) as served:
        yield served


def test_without_an_audit_key_no_individual_data_is_served(no_audit_key: Served) -> None:
    served = no_audit_key
    health = served.client.get("/health").json()
    assert health["status"] == "degraded" and health["audit_log"] == "unavailable"
    assert "VRU_AUDIT_KEY" in health["reason"]
    api = served.api("pat")
    for response in (
        api.get("/api/v1/flags"),
        api.get(f"/api/v1/flags/{A}"),
        api.get(f"/api/v1/flags/{A}/decisions"),
        api.post(f"/api/v1/flags/{A}/decisions", json=DECISION),
    ):
        assert response.status_code == 503
        assert "VRU_AUDIT_KEY is not set" in response.json()["detail"]
    page = served.browser("pat").get("/flags")
    assert page.status_code == 503 and "VRU_AUDIT_KEY" in page.text
    # aggregates carry no individual: still served
    assert served.api("dana").get("/api/v1/aggregates").status_code == 200


@contextmanager
def another_worker(served: Served) -> Iterator[Served]:
    """A second app on the same settings and database, as ``vru serve --workers 2`` runs."""
    app = create_app(served.state.settings)
    with TestClient(app, follow_redirects=False) as client:
        state = app.state.vru
        assert isinstance(state, AppState)
        yield Served(app=app, client=client, state=state, tokens=served.tokens)


def test_worker_processes_share_sign_outs_login_limits_and_one_audit_chain(
    served_on: Served,
) -> None:
    one = served_on
    with another_worker(one) as two:
        # a session ended in one process is refused by the other
        browser = one.browser("pat")
        assert browser.get("/flags").status_code == 200
        copied = browser.client.cookies[SESSION_COOKIE]
        elsewhere = TestClient(two.app, follow_redirects=False, cookies={SESSION_COOKIE: copied})
        assert elsewhere.get("/flags").status_code == 200
        assert browser.post("/logout").status_code == 303
        assert elsewhere.get("/flags").status_code == 303
        # failed logins count in every process: alternating between them gains no attempts
        limit = one.state.settings.login_free_failures
        client = ("10.0.0.7", 1)
        tries = [one.browser(None, client=client), two.browser(None, client=client)]
        for t in tries:
            t.get("/login")
        for i in range(limit):
            wrong = tries[i % 2].post("/login", {"username": "ed", "password": "wrong"})
            assert wrong.status_code == 401
        for t in tries:
            assert t.post("/login", {"username": "ed", "password": PASSWORD}).status_code == 429
        # the table holds hashes, never the username or the address
        with one.state.sessions() as s:
            keys = set(s.scalars(select(LoginFailure.key)))
        assert keys and not any(k == "ed" or "10.0.0.7" in k for k in keys)
        assert all(len(k) == 64 for k in keys)
        # views from both processes make one gapless chain, and the head is the newest row
        rows = len(one.audit_rows())
        for served in (one, two, one, two):
            assert served.api("pat").get("/api/v1/flags").status_code == 200
        added = len(one.audit_rows()) - rows
        assert added >= 4
    assert one.state.audit is not None
    report = one.state.audit.verify()
    assert report.ok, report.lines()
    assert report.head_seq == report.rows == len(one.audit_rows())


def test_a_sign_out_the_database_cannot_record_still_removes_the_cookie_and_says_so(
    served: Served, monkeypatch: pytest.MonkeyPatch
) -> None:
    browser = served.browser("pat")
    assert browser.get("/flags").status_code == 200

    def refuse(*_args: object, **_kwargs: object) -> None:
        raise OperationalError("INSERT", {}, Exception("database is locked"))

    monkeypatch.setattr(served.state.signed_out, "add", refuse)
    response = browser.post("/logout")
    assert response.status_code == 503
    assert "signed out of this browser only" in response.text
    assert SESSION_COOKIE not in browser.client.cookies  # deleted all the same


def test_a_sign_in_attempt_that_cannot_be_counted_is_not_checked(
    served: Served, monkeypatch: pytest.MonkeyPatch
) -> None:
    checked: list[str] = []
    monkeypatch.setattr(
        "vru_risk.serving.routes.session.authenticate",
        lambda _db, name, _password: checked.append(name),
    )

    def refuse(*_args: object, **_kwargs: object) -> None:
        raise OperationalError("INSERT", {}, Exception("database is locked"))

    monkeypatch.setattr(served.state.limiter, "attempt", refuse)
    browser = served.browser(None)
    browser.get("/login")
    response = browser.post("/login", {"username": "pat", "password": PASSWORD})
    assert response.status_code == 503 and "could not be recorded" in response.text
    assert checked == []  # no password was checked, right or wrong


def test_the_sign_in_page_never_makes_a_session_young_again(
    served: Served, monkeypatch: pytest.MonkeyPatch
) -> None:
    browser = served.browser("pat")
    start = time.time()
    hours = served.state.settings.session_hours
    monkeypatch.setattr(time, "time", lambda: start + (hours - 1) * 3600)
    browser.get("/login")  # signs the session it is given again, with a fresh timestamp
    assert browser.get("/flags").status_code == 200
    monkeypatch.setattr(time, "time", lambda: start + hours * 3600 + 5)
    response = browser.get("/flags")
    assert response.status_code == 303 and response.headers["location"].startswith("/login")


def test_a_password_hash_with_old_parameters_is_upgraded_at_sign_in(
    real_argon2: None, served: Served
) -> None:
    """argon2's parameters change with library upgrades: the first sign-in replaces the hash
    (in a transaction of its own: the request's read snapshot cannot become a write)."""
    weak = PasswordHasher(time_cost=1, memory_cost=8 * 1024, parallelism=1).hash(PASSWORD)
    with served.state.write_sessions.begin() as s:
        s.execute(update(User).where(User.username == "pat").values(password_hash=weak))
    response = served.browser(None).login("pat", PASSWORD)
    assert response.status_code == 303, response.text[:300]
    with served.state.sessions() as s:
        stored = s.scalars(select(User.password_hash).where(User.username == "pat")).one()
    assert stored != weak and not PasswordHasher().check_needs_rehash(stored)
    assert served.browser(None).login("pat", PASSWORD).status_code == 303


def test_a_nul_byte_in_the_username_is_a_wrong_sign_in_not_a_server_error(
    served_on: Served,
) -> None:
    browser = served_on.browser(None)
    browser.get("/login")
    response = browser.post("/login", {"username": "pat\x00", "password": PASSWORD})
    assert response.status_code == 401 and "not right" in response.text


def test_signing_in_over_a_signed_in_session_ends_it(served: Served) -> None:
    """A shared computer: the next person signs in without signing the last one out; a copy
    of the previous cookie must not stay valid."""
    browser = served.browser("pat")
    assert browser.get("/flags").status_code == 200
    previous = browser.client.cookies[SESSION_COOKIE]
    assert browser.login("dana", PASSWORD).status_code == 303
    copy = TestClient(served.app, follow_redirects=False, cookies={SESSION_COOKIE: previous})
    assert copy.get("/flags").status_code == 303
    assert browser.get("/models").status_code == 200  # the new session works
