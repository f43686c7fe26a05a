"""Finding 8: a password reset ends the user's sessions and API tokens. Finding 16 (part): API
tokens expire and are listed and revoked one at a time. Through the real ``vru users``
commands, against the running app, on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import re

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from tests.conftest import RunVru
from tests.serving.app.conftest import AUDIT_KEY, PASSWORD, SESSION_SECRET, Served
from vru_risk.serving.auth import SESSION_COOKIE
from vru_risk.store.models import ApiToken, AuditRow

NEW_PASSWORD = "quite another long password"
ISSUED = re.compile(r"API token (\d+) for (\S+), valid until (\d{4}-\d\d-\d\d)")


@pytest.fixture
def admin(served_on: Served, monkeypatch: pytest.MonkeyPatch) -> Served:
    """The running app, and `vru` commands pointed at its database and audit key."""
    settings = served_on.state.settings
    monkeypatch.setenv("VRU_AUDIT_KEY", AUDIT_KEY)
    monkeypatch.setenv("VRU_SESSION_SECRET", SESSION_SECRET)
    if settings.database_url:
        monkeypatch.setenv("VRU_DATABASE_URL", settings.database_url)
    return served_on


def stdin(monkeypatch: pytest.MonkeyPatch, line: str) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO(line + "\n"))


def test_a_password_reset_ends_every_session_and_token_of_the_user(
    admin: Served, vru: RunVru, monkeypatch: pytest.MonkeyPatch
) -> None:
    served = admin
    pat = served.browser("pat")
    assert pat.get("/flags").status_code == 200
    copy = TestClient(
        served.app,
        follow_redirects=False,
        cookies={SESSION_COOKIE: pat.client.cookies[SESSION_COOKIE]},
    )
    ed = served.browser("ed")
    assert served.api("pat").get("/api/v1/flags").status_code == 200
    stdin(monkeypatch, NEW_PASSWORD)
    reset = vru("users", "reset-password", "pat", "--password-stdin")
    assert reset.code == 0, reset.output
    # the sessions issued before the reset: out at their next request, GET or POST
    for response in (pat.get("/flags"), copy.get("/flags"), pat.post("/logout")):
        assert response.status_code == 303, response.text[:200]
        assert response.headers["location"].startswith("/login")
    refused = served.api("pat").get("/api/v1/flags")
    assert refused.status_code == 401 and "revoked" in refused.json()["detail"]
    said = " ".join(reset.stdout.split())
    assert "every web session of theirs has ended" in said
    assert "every API token of theirs is revoked" in said
    # other users are not affected
    assert ed.get("/flags").status_code == 200
    assert served.api("ed").get("/api/v1/flags").status_code == 200
    # the old password no longer works, the new one does, and its session lasts
    assert served.browser(None).login("pat", PASSWORD).status_code == 401
    again = served.browser(None)
    assert again.login("pat", NEW_PASSWORD).status_code == 303
    assert again.get("/flags").status_code == 200


def test_tokens_expire_and_are_listed_and_revoked_one_at_a_time(
    admin: Served, vru: RunVru, monkeypatch: pytest.MonkeyPatch
) -> None:
    served = admin
    today = dt.datetime.now(dt.UTC)
    short = vru("users", "token", "dana", "--days", "2", "--label", "nightly sync")
    assert short.code == 0, short.output
    found = ISSUED.search(" ".join(short.stdout.split()))
    assert found and found.group(2) == "dana"
    short_id, short_token = int(found.group(1)), short.stdout.strip().splitlines()[-1]
    assert found.group(3) == f"{today + dt.timedelta(days=2):%Y-%m-%d}"
    default = vru("users", "token", "dana")
    found = ISSUED.search(" ".join(default.stdout.split()))
    assert default.code == 0 and found  # VRU_TOKEN_DAYS (90) by default
    assert found.group(3) == f"{today + dt.timedelta(days=90):%Y-%m-%d}"
    long_id, long_token = int(found.group(1)), default.stdout.strip().splitlines()[-1]
    short_api = TestClient(served.app, headers={"Authorization": f"Bearer {short_token}"})
    long_api = TestClient(served.app, headers={"Authorization": f"Bearer {long_token}"})
    assert short_api.get("/api/v1/aggregates").status_code == 200

    listed = vru("users", "tokens", "dana")
    assert listed.code == 0, listed.output
    rows = {line.split("│")[1].strip(): line for line in listed.stdout.splitlines() if "│" in line}
    assert "nightly sync" in rows[str(short_id)] and f"{today:%Y-%m-%d}" in rows[str(short_id)]
    assert "never" in rows[str(long_id)] and "live" in rows[str(long_id)]
    for secret in (short_token, long_token):  # never the token, nor its hash
        assert secret not in listed.output
        assert hashlib.sha256(secret.encode()).hexdigest() not in listed.output

    with monkeypatch.context() as later:  # two days and a minute later
        moment = today + dt.timedelta(days=2, minutes=1)
        later.setattr("vru_risk.serving.tokens.utcnow", lambda: moment)
        expired = short_api.get("/api/v1/aggregates")
        assert expired.status_code == 401
        detail = expired.json()["detail"]
        assert "expired on" in detail and "vru users token" in detail
        assert long_api.get("/api/v1/aggregates").status_code == 200
        assert "expired" in vru("users", "tokens", "dana").stdout

    revoked = vru("users", "revoke-token", str(long_id))
    assert revoked.code == 0 and f"revoked API token {long_id}" in " ".join(revoked.stdout.split())
    assert long_api.get("/api/v1/aggregates").status_code == 401
    assert served.api("dana").get("/api/v1/aggregates").status_code == 200  # her other token
    twice = vru("users", "revoke-token", str(long_id))
    assert twice.code == 0 and "already revoked" in " ".join(twice.stdout.split())
    unknown = vru("users", "revoke-token", "999999")
    assert unknown.code == 2 and "no API token with id 999999" in " ".join(unknown.stderr.split())
    for days in ("0", "367"):
        refused = vru("users", "token", "dana", "--days", days)
        assert refused.code == 2, refused.output
    with served.state.sessions() as s:
        purposes = list(s.scalars(select(AuditRow.purpose)))
        stored = s.get(ApiToken, long_id)
    assert purposes.count("admin: users tokens") == 2
    assert purposes.count("admin: users revoke-token") == 2
    assert stored is not None and stored.revoked_at is not None and stored.label is None


def test_listing_and_revoking_tokens_need_the_audit_key(
    admin: Served, vru: RunVru, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("VRU_AUDIT_KEY")
    for args in (("users", "tokens", "dana"), ("users", "revoke-token", "1")):
        result = vru(*args)
        assert result.code == 2 and "VRU_AUDIT_KEY is not set" in result.stderr
    assert admin.api("dana").get("/api/v1/aggregates").status_code == 200  # nothing revoked
