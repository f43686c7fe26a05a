"""A withdrawn flag leaves every list at once, takes no new decision, keeps its history, and
says when and why (410) to practitioners of a programme it was offered to; to anyone else it is
the same 404 as an unknown flag."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select

from tests.serving.app.conftest import Served, csrf_of, make_flag
from vru_risk.flags.programmes import load_programmes
from vru_risk.serving.withdrawal import withdraw_flag
from vru_risk.store.decisions import record_decision
from vru_risk.store.flag_store import FlagStoreError, load_flags
from vru_risk.store.models import DecisionRow
from vru_risk.store.users import get_user_by_name

REASON = "loaded for the wrong young person"
DECISION = {"decision": "no_action", "reason_code": "moved_away", "text": ""}


def withdraw(served: Served, key: str) -> str:
    flag_id = served.flags[key].flag_id
    with served.state.write_sessions.begin() as s:
        withdraw_flag(s, flag_id, reason=REASON, by="ops")
    return flag_id


def decisions(served: Served) -> int:
    with served.state.sessions() as s:
        return int(s.scalar(select(func.count()).select_from(DecisionRow)) or 0)


def test_a_withdrawn_flag_leaves_the_lists_and_answers_410_with_when_and_why(
    served_on: Served,
) -> None:
    ed, pat = served_on.api("ed"), served_on.api("pat")
    b = served_on.flags["B"].flag_id  # offered to the Early Intervention Team only
    assert ed.post(f"/api/v1/flags/{b}/decisions", json=DECISION).status_code == 201
    withdraw(served_on, "B")
    withdraw(served_on, "A")  # offered to every practitioner's programme
    assert [f["person_id"] for f in ed.get("/api/v1/flags").json()["flags"]] == []
    assert pat.get("/api/v1/flags").json()["flags"] == []

    gone = ed.get(f"/api/v1/flags/{b}")
    assert gone.status_code == 410
    body = gone.json()
    assert (body["flag_id"], body["reason"]) == (b, REASON)
    assert body["withdrawn_at"].startswith(body["detail"].split(" was withdrawn on ")[1][:10])
    assert f"flag {b} was withdrawn on" in body["detail"] and REASON in body["detail"]
    assert "no decision can be recorded" in body["detail"]

    # not offered to Jump Start: the same answer as a flag that does not exist
    unknown = pat.get("/api/v1/flags/no-such-flag")
    hidden = pat.get(f"/api/v1/flags/{b}")
    assert hidden.status_code == unknown.status_code == 404
    assert hidden.json()["detail"] == unknown.json()["detail"].replace("no-such-flag", b)
    assert served_on.api("dana").get(f"/api/v1/flags/{b}").status_code == 403

    refused = ed.post(f"/api/v1/flags/{b}/decisions", json=DECISION)
    assert refused.status_code == 410 and REASON in refused.json()["detail"]
    assert decisions(served_on) == 1
    history = ed.get(f"/api/v1/flags/{b}/decisions")
    assert history.status_code == 200 and len(history.json()["decisions"]) == 1


def test_the_withdrawn_flags_page_says_so_instead_of_the_form(served_on: Served) -> None:
    b = served_on.flags["B"].flag_id
    browser = served_on.browser("ed")
    page = browser.get(f"/flags/{b}")
    assert (
        browser.post(
            f"/flags/{b}/decisions", {"programme": "early_intervention", **DECISION}
        ).status_code
        == 303
    )
    withdraw(served_on, "B")
    page = browser.get(f"/flags/{b}")
    assert page.status_code == 200
    assert "This flag was withdrawn" in page.text and REASON in page.text
    assert "No decision can be recorded" in page.text
    assert f'action="/flags/{b}/decisions"' not in page.text
    assert "Moved away" in page.text  # the decision recorded before stays in its history
    row = served_on.audit_rows()[-1]
    assert (row.purpose, row.person_id) == ("view withdrawn flag: early_intervention", "PB-0002")
    posted = browser.post(
        f"/flags/{b}/decisions",
        {"programme": "early_intervention", **DECISION},
        csrf=csrf_of(page.text),
    )
    assert posted.status_code == 410 and REASON in posted.text
    assert decisions(served_on) == 1
    assert served_on.browser("pat").get(f"/flags/{b}").status_code == 404


def test_a_decision_on_a_withdrawn_flag_is_refused_by_the_store_too(served: Served) -> None:
    a = withdraw(served, "A")
    with served.state.write_sessions.begin() as s:
        pat = get_user_by_name(s, "pat")
        assert pat is not None
        with pytest.raises(FlagStoreError, match=f"flag {a} was withdrawn on .*: {REASON}"):
            record_decision(
                s, flag_id=a, user=pat, programme_id="jump_start", **DECISION,
                known_programmes=load_programmes(),
            )  # fmt: skip


def test_the_openapi_document_declares_410(served: Served) -> None:
    paths = served.api("pat").get("/openapi.json").json()["paths"]
    for path, method in (
        ("/api/v1/flags/{flag_id}", "get"),
        ("/api/v1/flags/{flag_id}/decisions", "post"),
    ):
        gone = paths[path][method]["responses"]["410"]
        assert "withdrawn" in gone["description"]
        schema = gone["content"]["application/json"]["schema"]["$ref"]
        assert schema.endswith("/WithdrawnOut")


def test_withdrawing_a_stray_flag_gives_the_lists_their_day_back(served_on: Served) -> None:
    """Security re-review F7: a stray flag dated the real date moved the service's "today" for
    good; withdrawing it left every list empty (withdrawn flags counted for "today")."""
    pat = served_on.api("pat")
    before = pat.get("/api/v1/flags").json()
    assert [f["flag_id"] for f in before["flags"]] == [served_on.flags["A"].flag_id]
    stray = make_flag("PS-0009", dt.date.today(), (("jump_start", 1, "offered"),))
    with served_on.state.write_sessions.begin() as s:
        load_flags(s, [stray])
    shifted = pat.get("/api/v1/flags").json()
    assert shifted["today"] == dt.date.today().isoformat()
    assert [f["flag_id"] for f in shifted["flags"]] == [stray.flag_id]
    served_on.flags["S"] = stray
    withdraw(served_on, "S")
    after = pat.get("/api/v1/flags").json()
    assert after["today"] == before["today"]
    assert after["flags"] == before["flags"]
    assert pat.get(f"/api/v1/flags/{stray.flag_id}").status_code == 410  # it says so still
