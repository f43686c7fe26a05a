"""Every view of an individual writes exactly its audit rows: who, which person, which model
version, why, through which route; refusals and aggregates write none."""

from __future__ import annotations

import pytest

from tests.serving.app.conftest import FLAGS, LISTED, Served
from vru_risk.serving.access_log.log import AuditLog

A, B = FLAGS["A"], FLAGS["B"]
DECISION = {"decision": "no_action", "reason_code": "support_declined", "text": "declined"}


def rows_after(
    served: Served, before: int
) -> list[tuple[str, str, str | None, int | None, str, str]]:
    return [
        (r.username, r.role, r.person_id, r.model_version, r.purpose, r.route)
        for r in served.audit_rows()[before:]
    ]


def test_api_views_write_one_row_per_person_shown(served_on: Served) -> None:
    served = served_on
    api = served.api("ed")
    listed = api.get("/api/v1/flags")
    assert listed.status_code == 200
    shown = [f["person_id"] for f in listed.json()["flags"]]
    assert sorted(shown) == sorted(FLAGS[k].person_id for k in LISTED["ed"])
    assert rows_after(served, 0) == [
        ("ed", "practitioner", p, 3, "list flags: early_intervention", "GET /api/v1/flags")
        for p in shown
    ]
    n = len(served.audit_rows())
    assert api.get(f"/api/v1/flags/{B.flag_id}").status_code == 200
    assert api.get(f"/api/v1/flags/{B.flag_id}/decisions").status_code == 200
    created = api.post(f"/api/v1/flags/{B.flag_id}/decisions", json=DECISION)
    assert created.status_code == 201
    route = "/api/v1/flags/{flag_id}"
    assert rows_after(served, n) == [
        ("ed", "practitioner", B.person_id, 3, "view flag: early_intervention", f"GET {route}"),
        (
            "ed",
            "practitioner",
            B.person_id,
            3,
            "view decisions: early_intervention",
            f"GET {route}/decisions",
        ),
        (
            "ed",
            "practitioner",
            B.person_id,
            3,
            "record decision: early_intervention",
            f"POST {route}/decisions",
        ),
    ]


def test_page_views_write_their_rows(served_on: Served) -> None:
    served = served_on
    browser = served.browser("amy")
    assert browser.get("/flags").status_code == 200
    listed = rows_after(served, 0)
    assert sorted(r[2] for r in listed) == sorted(FLAGS[k].person_id for k in LISTED["amy"])
    assert {r[4] for r in listed} == {"list flags: admit_ae"} and {r[5] for r in listed} == {
        "GET /flags"
    }
    n = len(served.audit_rows())
    assert browser.get(f"/flags/{A.flag_id}").status_code == 200
    decided = browser.post(f"/flags/{A.flag_id}/decisions", DECISION)
    assert decided.status_code == 303
    assert browser.get(decided.headers["location"]).status_code == 200
    assert rows_after(served, n) == [
        ("amy", "practitioner", A.person_id, 3, "view flag: admit_ae", "GET /flags/{flag_id}"),
        (
            "amy",
            "practitioner",
            A.person_id,
            3,
            "record decision: admit_ae",
            "POST /flags/{flag_id}/decisions",
        ),
        ("amy", "practitioner", A.person_id, 3, "view flag: admit_ae", "GET /flags/{flag_id}"),
    ]


def test_a_form_shown_again_with_an_error_is_a_view(served: Served) -> None:
    browser = served.browser("pat")
    browser.get(f"/flags/{A.flag_id}")
    n = len(served.audit_rows())
    bad = browser.post(
        f"/flags/{A.flag_id}/decisions", {"decision": "referred", "reason_code": "not_eligible"}
    )
    assert bad.status_code == 422
    assert [r[4] for r in rows_after(served, n)] == ["view flag: jump_start"]


@pytest.mark.parametrize(
    ("who", "method", "url"),
    [
        ("pat", "GET", f"/api/v1/flags/{B.flag_id}"),  # not among pat's programmes: 404
        ("pat", "GET", "/api/v1/flags/no-such-flag"),
        ("pat", "GET", "/api/v1/flags?programme=admit_ae"),  # not pat's programme: 403
        ("eve", "GET", f"/api/v1/flags/{A.flag_id}"),  # wrong role: 403
        ("dana", "GET", "/api/v1/aggregates"),  # counts only
        ("eve", "GET", "/api/v1/model"),
        (None, "GET", "/api/v1/flags"),  # anonymous: 401
        ("pat", "POST", "/api/v1/score"),  # degraded mode: 503 before any individual
    ],
)
def test_refusals_and_aggregates_write_no_row(
    served: Served, who: str | None, method: str, url: str
) -> None:
    client = served.api(who)
    if method == "GET":
        response = client.get(url)
    else:
        response = client.post(url, json={"person_id": A.person_id, "as_of": str(A.as_of)})
    assert response.status_code in (200, 401, 403, 404, 503)
    assert served.audit_rows() == []


def test_the_rows_form_a_valid_keyed_chain(served_on: Served) -> None:
    served = served_on
    for who in ("pat", "ed", "amy"):
        served.api(who).get("/api/v1/flags")
        served.browser(who).get("/flags")
    assert len(served.audit_rows()) == 2 * (1 + 2 + 2)
    audit = served.state.audit
    assert isinstance(audit, AuditLog)
    report = audit.verify()
    assert report.ok and report.rows == 10
