"""Finding 9: request bodies are limited in size and read only after authentication; finding
10: every response carries the security headers, 500s included.

The app is driven through ASGI directly, with a ``receive`` that counts the chunks the app
pulls: what was never pulled was never buffered (an anonymous 500 MB POST once grew a worker
from 370 MB to 1.74 GB before its 401)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.exc import OperationalError

from tests.serving.app.conftest import (
    FLAGS,
    Browser,
    Served,
    make_settings,
    serve,
)
from vru_risk.serving.auth import SESSION_COOKIE

A = FLAGS["A"].flag_id
CHUNK = 64 * 1024
DECISION = {"decision": "no_action", "reason_code": "support_declined", "text": "declined"}
#: what every response must carry (the HSTS header only behind TLS)
HEADERS = ("content-security-policy", "x-content-type-options", "x-frame-options", "cache-control")


@dataclass
class Sent:
    """What the app answered, and how many body chunks it pulled from the client."""

    status: int = 0
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""
    pulled: int = 0


def call(
    served: Served,
    method: str,
    path: str,
    *,
    size: int,
    headers: dict[str, str] | None = None,
    with_length: bool = False,
) -> Sent:
    """One request of ``size`` body bytes, streamed in 64 KiB chunks (with a Content-Length
    header only when ``with_length``), through the running app's event loop."""
    sent = Sent()
    chunks = max(1, -(-size // CHUNK))
    raw = [(k.lower().encode(), v.encode()) for k, v in (headers or {}).items()]
    if with_length:
        raw.append((b"content-length", str(size).encode()))
    scope: dict[str, Any] = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "root_path": "",
        "query_string": b"",
        "headers": raw,
        "client": ("10.0.0.1", 1234),
        "server": ("testserver", 80),
        "state": {},
    }

    async def receive() -> dict[str, Any]:
        if sent.pulled >= chunks:
            return {"type": "http.disconnect"}
        sent.pulled += 1
        last = sent.pulled == chunks
        return {
            "type": "http.request",
            "body": b"x" * (size - CHUNK * (chunks - 1) if last else CHUNK),
            "more_body": not last,
        }

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            sent.status = message["status"]
            sent.headers = {k.decode().lower(): v.decode() for k, v in message["headers"]}
        elif message["type"] == "http.response.body":
            sent.body += message.get("body", b"")

    async def run() -> None:
        await served.app(scope, receive, send)

    portal = served.client.portal
    assert portal is not None
    portal.call(run)
    return sent


def bearer(served: Served, user: str) -> dict[str, str]:
    return {"authorization": f"Bearer {served.tokens[user]}", "content-type": "application/json"}


def signed_in_cookie(served: Served, user: str) -> tuple[dict[str, str], str]:
    browser = served.browser(user)
    page = browser.get(f"/flags/{A}?programme=jump_start")
    assert page.status_code == 200
    cookie = f"{SESSION_COOKIE}={browser.client.cookies[SESSION_COOKIE]}"
    return {"cookie": cookie, "content-type": "application/x-www-form-urlencoded"}, browser.csrf


TEN_MB = 10 * 1024 * 1024
ONE_MB = 1024 * 1024


@pytest.mark.parametrize("with_length", [False, True], ids=["chunked", "content-length"])
def test_an_anonymous_10_mb_post_is_refused_without_reading_it(
    served_on: Served, with_length: bool
) -> None:
    served = served_on
    api = call(served, "POST", f"/api/v1/flags/{A}/decisions", size=TEN_MB, with_length=with_length)
    assert api.status in (401, 413) and api.pulled == 0
    page = call(
        served,
        "POST",
        f"/flags/{A}/decisions",
        size=TEN_MB,
        headers={"content-type": "application/x-www-form-urlencoded"},
        with_length=with_length,
    )
    assert page.status in (303, 413) and page.pulled == 0
    if not with_length:  # nothing says it is large: refused for who sent it
        assert api.status == 401 and "Bearer" in api.headers["www-authenticate"]
        assert page.status == 303 and page.headers["location"].startswith("/login")


def test_a_bad_or_expired_credential_is_refused_before_the_body_too(served: Served) -> None:
    forged = {"authorization": "Bearer vru_forged", "content-type": "application/json"}
    api = call(served, "POST", "/api/v1/score", size=TEN_MB, headers=forged)
    assert api.status == 401 and api.pulled == 0
    assert "unknown, revoked" in json.loads(api.body)["detail"]
    stale = {"cookie": f"{SESSION_COOKIE}=not-a-session", "content-type": "text/plain"}
    page = call(served, "POST", "/logout", size=TEN_MB, headers=stale)
    assert page.status == 303 and page.pulled == 0


def test_a_signed_in_post_of_1_mb_gets_413_saying_why(served_on: Served) -> None:
    served = served_on
    streamed = call(served, "POST", f"/api/v1/flags/{A}/decisions", size=ONE_MB, **_as(served))
    assert streamed.status == 413
    assert "larger than 65,536 bytes" in json.loads(streamed.body)["detail"]
    assert streamed.pulled <= 65_536 // CHUNK + 1  # stopped as soon as it passed the limit
    announced = call(
        served, "POST", f"/api/v1/flags/{A}/decisions", size=ONE_MB, with_length=True, **_as(served)
    )
    assert announced.status == 413 and announced.pulled == 0
    headers, _csrf = signed_in_cookie(served, "pat")
    page = call(served, "POST", f"/flags/{A}/decisions", size=ONE_MB, headers=headers)
    assert page.status == 413 and b"larger than 65,536 bytes" in page.body
    assert page.headers["content-type"].startswith("text/html")
    # nothing was recorded
    decisions = served.api("pat").get(f"/api/v1/flags/{A}/decisions").json()["decisions"]
    assert decisions == []


def _as(served: Served) -> dict[str, Any]:
    return {"headers": bearer(served, "pat")}


def test_the_sign_in_form_is_read_under_the_same_limit(served: Served) -> None:
    browser = served.browser(None)
    browser.get("/login")
    padded = browser.post("/login", {"username": "pat", "password": "x" * 70_000})
    assert padded.status_code == 413 and "larger than" in padded.text
    assert browser.login("pat", "a long enough password").status_code == 303


def test_small_bodies_from_the_signed_in_still_work(served: Served) -> None:
    response = served.api("pat").post(f"/api/v1/flags/{A}/decisions", json=DECISION)
    assert response.status_code == 201, response.text
    browser = served.browser("ed")
    browser.get(f"/flags/{A}?programme=early_intervention")
    form = {**DECISION, "programme": "early_intervention"}
    posted = browser.post(f"/flags/{A}/decisions", form)
    assert posted.status_code == 303, posted.text[:300]
    # a role that may not use the route is refused after its (small) body
    assert served.api("dana").post("/api/v1/score", json={}).status_code == 403


@pytest.fixture
def boom(served: Served) -> TestClient:
    """The running app with a route that raises (an unhandled exception: a 500)."""

    def explode() -> None:
        raise RuntimeError("a fault nobody handled")

    served.app.add_api_route("/boom", explode)
    return TestClient(served.app, raise_server_exceptions=False, follow_redirects=False)


def test_a_500_from_an_unhandled_exception_carries_the_security_headers(
    boom: TestClient,
) -> None:
    response = boom.get("/boom")
    assert response.status_code == 500
    for header in HEADERS:
        assert header in response.headers, header
    assert "strict-transport-security" not in response.headers  # not behind TLS


def test_a_500_raised_in_middleware_carries_the_security_headers(
    served: Served, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The token lookup of the request guard (before any route) fails: the 500 it becomes
    still carries the headers."""

    def down() -> None:
        raise OperationalError("SELECT", {}, Exception("the database is down"))

    monkeypatch.setattr(served.state, "sessions", down)
    client = TestClient(served.app, raise_server_exceptions=False)
    response = client.post("/api/v1/score", json={}, headers=bearer(served, "pat"))
    assert response.status_code == 500
    for header in HEADERS:
        assert header in response.headers, header


def test_every_answer_of_the_guard_carries_the_headers(served: Served) -> None:
    for sent in (
        call(served, "POST", "/api/v1/score", size=10),
        call(served, "POST", "/api/v1/score", size=TEN_MB, with_length=True),
        call(served, "POST", "/logout", size=10),
    ):
        assert all(h in sent.headers for h in HEADERS), sent


def test_behind_tls_cookies_are_secure_and_hsts_is_sent(vru_home: Path) -> None:
    with serve(make_settings(vru_home, secure_cookies=True)) as served:
        # a browser sends a Secure cookie back over https only
        https = TestClient(served.app, follow_redirects=False, base_url="https://testserver")
        browser = Browser(https)
        page = browser.get("/login")
        assert "secure" in page.headers["set-cookie"].lower()
        assert page.headers["strict-transport-security"] == "max-age=31536000"
        signed_in = browser.post(
            "/login", {"username": "pat", "password": "a long enough password"}
        )
        assert signed_in.status_code == 303
        assert "secure" in signed_in.headers["set-cookie"].lower()
        assert "strict-transport-security" in signed_in.headers
