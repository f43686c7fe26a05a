"""The JSON API: flags, decisions (append-only, validated), model, aggregates, health, the
OpenAPI document and its reference page."""

from __future__ import annotations

from tests.serving.app.conftest import FLAGS, TODAY, Served
from vru_risk.flags.allocate import how_chosen
from vru_risk.flags.programmes import load_programmes

A, B, C = FLAGS["A"], FLAGS["B"], FLAGS["C"]


def test_todays_flags_are_the_programmes_offers_by_rank_with_capacity(served: Served) -> None:
    body = served.api("amy").get("/api/v1/flags").json()
    assert body["today"] == TODAY.isoformat()  # the newest as_of loaded
    assert [f["person_id"] for f in body["flags"]] == [A.person_id, C.person_id]  # ranks 1, 2
    assert body["programme"] == {
        "id": "admit_ae",
        "name": "Admit A&E",
        "capacity": 10,
        "period": "week",
        "period_start": "2026-03-02",  # a Monday
        "period_end": "2026-03-08",
    }
    assert body["capacity_used"] == 1  # only A falls in this week
    assert body["places_left"] == 9
    admit_ae = load_programmes().by_id("admit_ae")  # the packaged programmes, as served
    assert body["how_offers_chosen"] == how_chosen(admit_ae, admit_ae.policy, None, 9)
    assert body["how_offers_chosen"].endswith("9 of 10 places left this week")
    assert "not a decision" in body["advisory_notice"]
    flag = body["flags"][0]
    assert 0 <= flag["probability"] <= 1 and flag["band"] == "highest 5%"
    assert flag["scoring_model"]["version"] == 3


def test_the_flag_older_than_the_display_period_is_not_shown(served: Served) -> None:
    d = FLAGS["D"]
    listed = served.api("pat").get("/api/v1/flags").json()["flags"]
    assert d.person_id not in {f["person_id"] for f in listed}
    response = served.api("pat").get(f"/api/v1/flags/{d.flag_id}")
    assert response.status_code == 404 and "90-day display period" in response.json()["detail"]


def test_decisions_are_appended_and_corrections_name_what_they_correct(
    served_on: Served,
) -> None:
    served = served_on
    api = served.api("ed")
    url = f"/api/v1/flags/{B.flag_id}/decisions"
    first = api.post(
        url,
        json={
            "decision": "referred",
            "referred_to": "early_intervention",
            "reason_code": "meets_programme_criteria",
            "text": "officer assigned",
        },
    )
    assert first.status_code == 201, first.text
    made = first.json()
    assert made["username"] == "ed" and made["programme"] == "early_intervention"
    correction = api.post(
        url,
        json={
            "decision": "no_action",
            "reason_code": "support_declined",
            "text": "family declined after all",
            "corrects": made["id"],
        },
    )
    assert correction.status_code == 201
    history = api.get(url).json()["decisions"]
    assert [(d["decision"], d["corrects"]) for d in history] == [
        ("referred", None),
        ("no_action", made["id"]),
    ]
    # another programme's practitioner on the same flag A does not see ed's decisions on A
    api.post(
        f"/api/v1/flags/{A.flag_id}/decisions",
        json={"decision": "disagree", "reason_code": "information_wrong", "text": "wrong person"},
    )
    assert served.api("amy").get(f"/api/v1/flags/{A.flag_id}/decisions").json()["decisions"] == []


def test_a_bad_decision_is_refused_with_what_to_fix(served: Served) -> None:
    api = served.api("pat")
    url = f"/api/v1/flags/{A.flag_id}/decisions"
    cases = [
        ({"decision": "arrest", "reason_code": "other"}, "decision"),
        ({"decision": "no_action", "reason_code": "meets_programme_criteria"}, "reason"),
        ({"decision": "referred", "reason_code": "practitioner_concern"}, "referred_to"),
        ({"decision": "no_action", "reason_code": "other", "shoe_size": 9}, "shoe_size"),
        (
            {"decision": "no_action", "reason_code": "other", "text": "x", "corrects": 999},
            "corrects",
        ),
        ({"decision": "disagree", "reason_code": "information_wrong", "text": " "}, "free text"),
    ]
    for body, named in cases:
        response = api.post(url, json=body)
        assert response.status_code == 422, (body, response.text)
        detail = response.json()["detail"]
        assert named in detail, (body, detail)
    assert api.get(url).json()["decisions"] == []


def test_model_and_health_in_degraded_mode_say_why_and_how_to_fix(served: Served) -> None:
    health = served.client.get("/health").json()
    assert health["status"] == "degraded" and health["scoring"] == "unavailable"
    assert "no champion" in health["reason"] and "vru review approve" in health["fix"]
    model = served.api("pat").get("/api/v1/model").json()
    assert model["in_service"] is False and model["version"] is None
    assert "vru review approve" in model["fix"]
    score = served.api("pat").post(
        "/api/v1/score", json={"person_id": A.person_id, "as_of": str(A.as_of)}
    )
    assert score.status_code == 503
    assert "scoring is unavailable" in score.json()["detail"]
    # flag lists still work: the daily job scored them
    assert served.api("pat").get("/api/v1/flags").json()["flags"]


def test_aggregates_are_counts_only(served_on: Served) -> None:
    served = served_on
    served.api("ed").post(
        f"/api/v1/flags/{B.flag_id}/decisions",
        json={"decision": "no_action", "reason_code": "no_capacity", "text": ""},
    )
    body = served.api("eve").get("/api/v1/aggregates").json()
    # four young people, fewer than the default five a count needs: nothing is shown
    assert body["min_people"] == 5
    assert (body["total_flags"], body["total_people"], body["total_offers"]) == (0, 0, 0)
    assert body["flags_by_programme_band"] == {}
    assert body["decisions_by_programme_kind"] == {}
    assert body["flags_by_model_version"] == {}
    assert "totals" in body["withheld"]
    assert "flags: early_intervention / highest 5%" in body["withheld"]
    assert "decisions: early_intervention / no_action" in body["withheld"]
    assert A.person_id not in str(body)


def test_the_openapi_document_declares_errors_units_and_advice(served: Served) -> None:
    assert served.api(None).get("/openapi.json").status_code == 401
    spec = served.api("dana").get("/openapi.json").json()
    assert "advisory" in spec["info"]["description"]
    assert "never to be used for enforcement" in spec["info"]["description"]
    assert "calibrated probability" in spec["info"]["description"]
    assert "log-odds" in spec["info"]["description"]
    operations = [(p, m, op) for p, item in spec["paths"].items() for m, op in item.items()]
    assert {p for p, _, _ in operations} == {
        "/health",
        "/api/v1/flags",
        "/api/v1/flags/{flag_id}",
        "/api/v1/flags/{flag_id}/decisions",
        "/api/v1/score",
        "/api/v1/model",
        "/api/v1/aggregates",
    }
    for path, method, op in operations:
        assert {"401", "403", "404", "422"} <= set(op["responses"]), (path, method)
    flag = spec["components"]["schemas"]["FlagOut"]["properties"]
    assert "calibrated" in flag["probability"]["description"]
    assert "log-odds" in flag["raw_score"]["description"]
    assert "bearer" in str(spec["components"]["securitySchemes"]).lower()


def test_the_api_reference_page_is_served_locally(served: Served) -> None:
    page = served.browser("dana").get("/docs")
    assert page.status_code == 200
    assert "/api/v1/flags/{flag_id}/decisions" in page.text and "FlagOut" in page.text
    assert "<script" not in page.text and "cdn" not in page.text.lower()
    assert served.client.get("/static/style.css").status_code == 200


def test_responses_carry_security_headers(served: Served) -> None:
    for response in (served.client.get("/health"), served.browser("pat").get("/flags")):
        assert "frame-ancestors 'none'" in response.headers["content-security-policy"]
        assert response.headers["cache-control"] == "no-store"
        assert response.headers["x-content-type-options"] == "nosniff"
