"""Per-user limits on requests naming an individual (a flag, its decisions, a person to score):
every such route (derived from the route table) is counted before it does any work, past the
limit 429 with Retry-After and a message, logged; shared by the server's processes."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import delete, func, select

from tests.serving.app.conftest import FLAGS, TODAY, Served, make_settings, serve
from tests.serving.app.routes import app_routes, build, send
from tests.serving.app.test_auth import another_worker
from tests.store.conftest import empty_postgres
from vru_risk.store.models import DecisionRow, RequestCount

A = FLAGS["A"]
#: what every identifier may be in these tests: flag A, shown to Jump Start (pat)
ALLOWED = {
    "flag_id": A.flag_id,
    "person_id": A.person_id,
    "as_of": TODAY,
    "programme": "jump_start",
    "corrects": None,
    "recorded": None,
}


@pytest.fixture
def limited(vru_home: Path) -> Iterator[Served]:
    with serve(make_settings(vru_home, identifier_requests_per_minute=3)) as served:
        yield served


def decisions(served: Served) -> int:
    with served.state.sessions() as s:
        return int(s.scalar(select(func.count()).select_from(DecisionRow)) or 0)


def test_every_route_naming_an_individual_is_limited_per_user(
    limited: Served, caplog: pytest.LogCaptureFixture
) -> None:
    served = limited
    routes = [r for r in app_routes(served.app) if r.identifiers()]
    assert {(r.method, r.path) for r in routes} >= {
        ("GET", "/api/v1/flags/{flag_id}"),
        ("GET", "/api/v1/flags/{flag_id}/decisions"),
        ("POST", "/api/v1/flags/{flag_id}/decisions"),
        ("POST", "/api/v1/score"),
        ("GET", "/flags/{flag_id}"),
        ("POST", "/flags/{flag_id}/decisions"),
    }
    browser = served.browser("pat")
    for route in routes:
        with served.state.write_sessions.begin() as s:
            s.execute(delete(RequestCount))  # a fresh minute for each route
        request = build(route, ALLOWED)
        for _ in range(3):  # 503 for scoring: no champion in these tests, but counted first
            assert send(served, "pat", request, browser).status_code in (200, 201, 303, 503)
        rows, stored = len(served.audit_rows()), decisions(served)
        with caplog.at_level(logging.WARNING, logger="vru_risk.serving"):
            refused = send(served, "pat", request, browser)
        where = f"{route.method} {route.path}"
        assert refused.status_code == 429, (where, refused.text[:300])
        wait = int(refused.headers["retry-after"])
        assert 1 <= wait <= 60
        text = refused.text.replace("\n", " ")
        assert f"Wait {wait} seconds" in text and "tell an administrator" in text, where
        # counted before the route did anything: no audit row, nothing stored
        assert (len(served.audit_rows()), decisions(served)) == (rows, stored), where
        logged = [r.getMessage() for r in caplog.records if "request limit" in r.getMessage()]
        assert logged and "refused pat" in logged[-1] and route.path in logged[-1], where
        caplog.clear()
    # another user has their own count; listing their programme's flags is not limited
    assert served.api("ed").get(f"/api/v1/flags/{A.flag_id}").status_code == 200
    for _ in range(5):
        assert served.api("pat").get("/api/v1/flags").status_code == 200


@pytest.fixture(params=["sqlite", "postgresql"])
def limited_on(request: pytest.FixtureRequest, vru_home: Path) -> Iterator[Served]:
    if request.param == "sqlite":
        settings = make_settings(vru_home, identifier_requests_per_minute=4)
    else:
        url = str(request.getfixturevalue("postgres_database"))
        empty_postgres(url)
        settings = make_settings(vru_home, database_url=url, identifier_requests_per_minute=4)
    with serve(settings) as served:
        yield served


def test_worker_processes_share_the_count(limited_on: Served) -> None:
    """Two app instances on one database, as ``vru serve --workers 2`` runs: alternating
    between them gains nothing."""
    one = limited_on
    with another_worker(one) as two:
        url = f"/api/v1/flags/{A.flag_id}"
        for i in range(4):
            assert (one, two)[i % 2].api("pat").get(url).status_code == 200
        for served in (one, two):
            refused = served.api("pat").get(url)
            assert refused.status_code == 429 and "retry-after" in refused.headers
        assert two.api("ed").get(url).status_code == 200
        with one.state.sessions() as s:
            keys = set(s.scalars(select(RequestCount.key)))
        # pseudonymised: HMACs, never a user id or name
        assert keys and all(len(k) == 64 and "pat" not in k for k in keys)
