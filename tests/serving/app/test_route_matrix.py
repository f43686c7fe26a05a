"""Every route of the app x every role: anonymous, each role, the right answers.

The table below is written by hand (what each role may do), not read from the app; the test
checks that it covers exactly the app's routes, so a new route cannot be added without deciding
who may use it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

import pytest
from fastapi.routing import iter_route_contexts
from starlette.routing import Mount

from tests.evaluation.reports import RUN as EVALUATION_RUN
from tests.evaluation.reports import write_evaluation
from tests.monitoring.cards import card_sources, documents
from tests.monitoring.reports import PEOPLE, MonthReports, write_runs
from tests.serving.app.conftest import (
    FLAGS,
    ROLE_USER,
    SHARED,
    SOURCE_MARKERS,
    USERS,
    Browser,
    Served,
)
from vru_risk.features.catalog import FeatureSpec
from vru_risk.jobs.card import card_dir
from vru_risk.monitoring.card_render import write_document
from vru_risk.settings import Settings

Kind = Literal["public", "api", "page"]
ALL = frozenset(ROLE_USER)
A = FLAGS["A"].flag_id


@dataclass(frozen=True)
class Case:
    kind: Kind
    roles: frozenset[str]
    url: str
    #: the status an allowed role gets (with the app in degraded mode: no champion)
    ok: int
    body: dict[str, Any] | None = None


DECISION = {"decision": "no_action", "reason_code": "support_declined", "text": "declined"}
CASES: dict[tuple[str, str], Case] = {
    ("GET", "/health"): Case("public", ALL, "/health", 200),
    ("GET", "/static"): Case("public", ALL, "/static/style.css", 200),
    ("GET", "/login"): Case("public", ALL, "/login", 200),
    ("POST", "/login"): Case("public", ALL, "/login", 303),
    ("GET", "/openapi.json"): Case("api", ALL, "/openapi.json", 200),
    ("GET", "/api/v1/flags"): Case("api", frozenset({"practitioner"}), "/api/v1/flags", 200),
    ("GET", "/api/v1/flags/{flag_id}"): Case(
        "api", frozenset({"practitioner"}), f"/api/v1/flags/{A}", 200
    ),
    ("GET", "/api/v1/flags/{flag_id}/decisions"): Case(
        "api", frozenset({"practitioner"}), f"/api/v1/flags/{A}/decisions", 200
    ),
    ("POST", "/api/v1/flags/{flag_id}/decisions"): Case(
        "api", frozenset({"practitioner"}), f"/api/v1/flags/{A}/decisions", 201, DECISION
    ),
    # degraded mode (no champion): scoring answers 503 to those allowed to score
    ("POST", "/api/v1/score"): Case(
        "api",
        frozenset({"practitioner"}),
        "/api/v1/score",
        503,
        {"person_id": "PA-0001", "as_of": "2026-03-02"},
    ),
    ("GET", "/api/v1/model"): Case("api", ALL, "/api/v1/model", 200),
    ("GET", "/api/v1/aggregates"): Case(
        "api", frozenset({"data_scientist", "ethics_panel", "admin"}), "/api/v1/aggregates", 200
    ),
    ("GET", "/"): Case("page", ALL, "/", 303),
    ("POST", "/logout"): Case("page", ALL, "/logout", 303),
    ("GET", "/docs"): Case("page", ALL, "/docs", 200),
    ("GET", "/flags"): Case("page", frozenset({"practitioner"}), "/flags", 200),
    ("GET", "/flags/{flag_id}"): Case("page", frozenset({"practitioner"}), f"/flags/{A}", 200),
    ("POST", "/flags/{flag_id}/decisions"): Case(
        "page", frozenset({"practitioner"}), f"/flags/{A}/decisions", 303, DECISION
    ),
    ("GET", "/models"): Case("page", frozenset({"data_scientist", "ethics_panel"}), "/models", 200),
    ("GET", "/models/{version}/report"): Case(
        "page", frozenset({"data_scientist", "ethics_panel"}), "/models/1/report", 200
    ),
    # version 1 is not registered: the panel's decision is refused by the rules (409), after
    # authentication, role and CSRF checks passed
    ("POST", "/models/{version}/review"): Case(
        "page",
        frozenset({"ethics_panel"}),
        "/models/1/review",
        409,
        {"action": "approve", "reason": "read the report"},
    ),
    ("GET", "/monitoring"): Case(
        "page", frozenset({"data_scientist", "ethics_panel"}), "/monitoring", 200
    ),
    ("GET", "/models/{version}/monitoring"): Case(
        "page", frozenset({"data_scientist", "ethics_panel"}), "/models/1/monitoring", 200
    ),
    ("GET", "/models/{version}/monitoring/{run}"): Case(
        "page",
        frozenset({"data_scientist", "ethics_panel"}),
        "/models/1/monitoring/2026-06-30",
        200,
    ),
    ("GET", "/evaluation"): Case(
        "page", frozenset({"data_scientist", "ethics_panel"}), "/evaluation", 200
    ),
    ("GET", "/evaluation/{version}/{run}"): Case(
        "page",
        frozenset({"data_scientist", "ethics_panel"}),
        f"/evaluation/1/{EVALUATION_RUN}",
        200,
    ),
    ("GET", "/models/{version}/card"): Case(
        "page", frozenset({"data_scientist", "ethics_panel"}), "/models/1/card", 200
    ),
    ("GET", "/models/{version}/transparency"): Case(
        "page", frozenset({"data_scientist", "ethics_panel"}), "/models/1/transparency", 200
    ),
    # degraded mode (no champion): the page says there is nothing to compare yet
    ("GET", "/models/compare"): Case(
        "page", frozenset({"data_scientist", "ethics_panel"}), "/models/compare", 200
    ),
    ("GET", "/aggregates"): Case(
        "page", frozenset({"data_scientist", "ethics_panel", "admin"}), "/aggregates", 200
    ),
    ("GET", "/users"): Case("page", frozenset({"admin"}), "/users", 200),
}


def app_routes(served: Served) -> set[tuple[str, str]]:
    found = set()
    for ctx in iter_route_contexts(served.app.routes):
        if isinstance(ctx.original_route, Mount):
            found.add(("GET", str(ctx.path)))
            continue
        for method in ctx.methods or ():
            if method != "HEAD":
                found.add((method, str(ctx.path)))
    return found


def test_the_matrix_covers_every_route(served: Served) -> None:
    assert app_routes(served) == set(CASES)


def call(served: Served, case: Case, method: str, who: str | None) -> Any:
    if case.kind == "page" or (case.kind == "public" and case.url.startswith("/login")):
        browser = served.browser(who) if who else Browser(served.api(None))
        if method == "GET":
            return browser.get(case.url)
        if case.url == "/login":
            browser.get("/login")
            return browser.post("/login", {"username": "pat", "password": "a long enough password"})
        if who:
            browser.get("/")  # any signed-in page carries the session's CSRF token
            browser.get("/docs")
        return browser.post(case.url, case.body)
    client = served.api(who)
    if method == "GET":
        return client.get(case.url)
    return client.post(case.url, json=case.body)


def seed_model_pages(settings: Settings, spec: FeatureSpec, reports: MonthReports) -> None:
    """Version 1's fairness report, monitoring runs and model card files (no registry)."""
    report = settings.report_dir(1) / "report.html"
    report.parent.mkdir(parents=True)
    report.write_text("<!doctype html><title>report</title><p>aggregates only</p>")
    write_runs(settings.home, reports.reports, version=1, latest_written=datetime.now(UTC))
    card, record = documents(card_sources(1, spec, reports.reference))
    write_document(card, card_dir(settings, 1), "card")
    write_document(record, card_dir(settings, 1), "transparency")
    write_evaluation(settings.home, version=1)


@pytest.mark.parametrize("role", [None, *sorted(ROLE_USER)])
def test_every_route_for_every_role(
    served_on: Served, role: str | None, spec: FeatureSpec, month_reports: MonthReports
) -> None:
    served = served_on
    seed_model_pages(served.state.settings, spec, month_reports)
    # ... and the young people of the monitoring reports, in the county's identifier format
    person_ids = [f.person_id for f in FLAGS.values()] + PEOPLE
    flag_ids = [f.flag_id for f in FLAGS.values()]
    failures = []
    for (method, path), case in sorted(CASES.items()):
        who = None if role is None else ROLE_USER[role]
        response = call(served, case, method, who)
        got = response.status_code
        if case.kind == "public":
            expected = case.ok
        elif role is None:
            expected = 401 if case.kind == "api" else 303
        else:
            expected = case.ok if role in case.roles else 403
        if got != expected:
            failures.append(f"{method} {path} as {role}: {got} (expected {expected})")
            continue
        if role is None and case.kind == "page":
            assert response.headers["location"].startswith("/login")
        if role is None and case.kind == "api":
            assert response.headers["content-type"] == "application/json"
            assert "Bearer" in response.json()["detail"]
        if role is not None and role not in case.roles and case.kind != "public":
            text = response.text
            assert "cannot use this" in text, (method, path, text[:300])
        if role in ("ethics_panel", "data_scientist", "admin", None):
            # never an individual: no person id, no flag id in anything they receive
            leaked = [x for x in (*person_ids, *flag_ids) if x in response.text]
            assert not leaked, f"{method} {path} as {role} received {leaked}"
    assert not failures, "\n".join(failures)


@pytest.mark.parametrize("username", ["pat", "ed", "amy"])
def test_a_practitioner_sees_only_their_programmes_and_shared_sources(
    served_on: Served, username: str
) -> None:
    served = served_on
    _, programmes = USERS[username]
    (programme,) = programmes
    mine = {k for k, f in FLAGS.items() if k in {"A", "B", "C"} and _offered(f, programme)}
    others = set(FLAGS) - mine
    api = served.api(username)
    browser = served.browser(username)
    bodies = []
    listed = api.get("/api/v1/flags").json()
    assert {f["person_id"] for f in listed["flags"]} == {FLAGS[k].person_id for k in mine}
    bodies.append(json.dumps(listed))
    page = browser.get("/flags")
    assert page.status_code == 200
    bodies.append(page.text)
    for key in sorted(mine):
        fid = FLAGS[key].flag_id
        for response in (
            api.get(f"/api/v1/flags/{fid}"),
            api.get(f"/api/v1/flags/{fid}/decisions"),
            browser.get(f"/flags/{fid}"),
        ):
            assert response.status_code == 200, response.text
            bodies.append(response.text)
    for key in sorted(others):
        fid = FLAGS[key].flag_id
        assert api.get(f"/api/v1/flags/{fid}").status_code == 404
        assert api.get(f"/api/v1/flags/{fid}/decisions").status_code == 404
        assert browser.get(f"/flags/{fid}").status_code == 404
        wrote = api.post(
            f"/api/v1/flags/{fid}/decisions",
            json={"decision": "no_action", "reason_code": "other", "text": "x"},
        )
        assert wrote.status_code == 404
    # another programme named explicitly is refused, not silently swapped
    foreign = next(p for p in SHARED if p != programme)
    assert api.get(f"/api/v1/flags?programme={foreign}").status_code == 403
    assert browser.get(f"/flags?programme={foreign}").status_code == 403
    everything = "\n".join(bodies)
    for key in others:
        assert FLAGS[key].person_id not in everything
    for source, markers in SOURCE_MARKERS.items():
        for marker in markers:
            if source in SHARED[programme]:
                continue
            assert marker not in everything, f"{username} ({programme}) saw {marker!r}"
    assert "records from services your programme does not see" in everything


def _offered(flag: Any, programme: str) -> bool:
    return any(o.programme == programme and o.status == "offered" for o in flag.programmes)


def test_a_shared_source_is_shown_in_full(served: Served) -> None:
    """The Early Intervention Team sees police details; Admit A&E sees the hospital."""
    police = served.api("ed").get(f"/api/v1/flags/{A}").text
    assert "police contacts as a suspect" in police and "Musgrove Park" not in police
    ae = served.api("amy").get(f"/api/v1/flags/{A}").text
    assert "A&E visits for an assault" in ae and "Musgrove Park" in ae
    assert "police contacts as a suspect" not in ae
