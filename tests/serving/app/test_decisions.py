"""Recording decisions (review findings 7, 10 and 16): referrals checked against the configured
programmes, every request input bounded and free of control characters before any audit row is
written (no 500 after an audit row, on SQLite and PostgreSQL), idempotency keys on the API and
the form."""

from __future__ import annotations

import re
from collections.abc import Iterator
from html import unescape
from importlib import resources
from pathlib import Path
from typing import Any

import pytest
import yaml
from sqlalchemy import select

from tests.serving.app.conftest import FLAGS, Served, make_settings, serve
from tests.store.conftest import empty_postgres
from vru_risk.store.models import DecisionRow

A, B = FLAGS["A"], FLAGS["B"]
URL = f"/api/v1/flags/{A.flag_id}/decisions"
NO_ACTION = {"decision": "no_action", "reason_code": "support_declined", "text": "declined"}


def stored(served: Served) -> list[DecisionRow]:
    with served.state.sessions() as s:
        rows = list(s.scalars(select(DecisionRow).order_by(DecisionRow.id)))
        s.expunge_all()
    return rows


def purposes(served: Served) -> list[str]:
    return [r.purpose for r in served.audit_rows()]


@pytest.fixture(params=["sqlite", "postgresql"])
def own_programmes(request: pytest.FixtureRequest, vru_home: Path) -> Iterator[Served]:
    """The app with VRU_PROGRAMMES_PATH: the packaged programmes but School Inclusion, and a
    boxing club of this deployment's own."""
    doc = yaml.safe_load(resources.files("vru_risk.flags").joinpath("programmes.yaml").read_text())
    doc["programmes"] = [p for p in doc["programmes"] if p["id"] != "school_inclusion"]
    boxing = {**doc["programmes"][0], "id": "boxing_club", "name": "Boxing Club"}
    boxing["intervention_names"] = ["Boxing Club"]
    doc["programmes"].append(boxing)
    path = vru_home / "programmes.yaml"
    path.write_text(yaml.safe_dump(doc))
    overrides: dict[str, Any] = {"programmes_path": path}
    if request.param == "postgresql":
        url = str(request.getfixturevalue("postgres_database"))
        empty_postgres(url)
        overrides["database_url"] = url
    with serve(make_settings(vru_home, **overrides)) as served:
        yield served


def test_referrals_name_a_programme_of_this_deployment(own_programmes: Served) -> None:
    served = own_programmes
    api = served.api("pat")
    refer = {"decision": "referred", "reason_code": "practitioner_concern", "text": "club"}
    done = api.post(URL, json={**refer, "referred_to": "boxing_club"})
    assert done.status_code == 201, done.text
    assert done.json()["referred_to"] == "boxing_club"
    packaged_only = api.post(URL, json={**refer, "referred_to": "school_inclusion"})
    assert packaged_only.status_code == 422
    assert "cannot refer to 'school_inclusion'" in packaged_only.json()["detail"]
    assert "boxing_club" in packaged_only.json()["detail"]
    browser = served.browser("pat")
    browser.get(f"/flags/{A.flag_id}")
    page = browser.post(f"/flags/{A.flag_id}/decisions", {**refer, "referred_to": "boxing_club"})
    assert page.status_code == 303, page.text[:500]
    assert [d.referred_to for d in stored(served)] == ["boxing_club", "boxing_club"]


@pytest.mark.parametrize(
    ("change", "words"),
    [
        ({"corrects": 2**63}, "corrects"),
        ({"corrects": 10**30}, "corrects"),
        ({"corrects": 0}, "corrects"),
        ({"text": "declined\x00"}, "control character \\x00"),
        ({"text": "see \x1b[31mred"}, "control character \\x1b"),
        ({"decision": "disagree", "reason_code": "other", "text": "\x00"}, "\\x00"),
    ],
)
def test_bad_input_is_refused_before_any_audit_row(
    served_on: Served, change: dict[str, Any], words: str
) -> None:
    served = served_on
    response = served.api("pat").post(URL, json={**NO_ACTION, **change})
    assert response.status_code == 422, response.text
    assert words in response.json()["detail"]
    assert served.audit_rows() == [] and stored(served) == []


def test_a_correction_of_a_decision_no_table_holds_is_a_refusal_not_a_crash(
    served_on: Served,
) -> None:
    """2^62 fits the API's bound but not PostgreSQL's 32-bit ids: refused like any unknown id."""
    served = served_on
    api = served.api("pat")
    for corrects in (2**62, 2**31, 999):
        response = api.post(URL, json={**NO_ACTION, "corrects": corrects})
        assert response.status_code == 422, response.text
        assert "the decision it corrects is not one of" in response.json()["detail"]
    assert stored(served) == []


def test_free_text_keeps_line_breaks_and_tabs(served_on: Served) -> None:
    served = served_on
    text = "called the family\r\n\tno answer\r\nwill try again"
    response = served.api("pat").post(URL, json={**NO_ACTION, "text": text})
    assert response.status_code == 201, response.text
    assert response.json()["text"] == "called the family\n\tno answer\nwill try again"


@pytest.mark.parametrize("path", ["/api/v1/flags/{}", "/api/v1/flags/{}/decisions", "/flags/{}"])
def test_a_malformed_flag_id_is_a_404_without_a_database_lookup(
    served_on: Served, path: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    served = served_on
    looked_up: list[str] = []
    monkeypatch.setattr(
        "vru_risk.serving.routes.common.stored_flag", lambda _db, fid: looked_up.append(fid)
    )
    browser = served.browser("pat") if path.startswith("/flags") else None
    for flag_id in (
        f"{A.flag_id}%00",
        "%00",
        A.flag_id.upper(),
        A.flag_id + "0",
        "..%2F..%2Fetc",
        "not-a-flag",
    ):
        url = path.format(flag_id)
        response = browser.get(url) if browser else served.api("pat").get(url)
        assert response.status_code == 404, (url, response.text[:300])
        assert A.flag_id not in response.text and A.person_id not in response.text
    assert looked_up == []
    assert served.audit_rows() == []


def test_a_nul_in_a_flag_id_of_a_decision_post_is_a_404_not_a_500(served_on: Served) -> None:
    served = served_on
    response = served.api("pat").post(f"/api/v1/flags/{A.flag_id}%00/decisions", json=NO_ACTION)
    assert response.status_code == 404
    browser = served.browser("pat")
    browser.get(f"/flags/{A.flag_id}")
    page = browser.post(f"/flags/{A.flag_id}%00/decisions", NO_ACTION)
    assert page.status_code == 404
    assert served.audit_rows()[-1].purpose == "view flag: jump_start"  # the page view only
    assert stored(served) == []


@pytest.mark.parametrize(
    ("corrects", "text"),
    [
        ("²", "declined"),
        ("١٢", "declined"),  # Arabic-Indic digits: str.isdigit() is True for them too
        ("99999999999999999999", "declined"),
        ("-1", "declined"),
        ("", "declined\x00"),
        ("", "note\x07"),
    ],
)
def test_the_decision_form_is_checked_strictly_before_the_decision_is_audited(
    served_on: Served, corrects: str, text: str
) -> None:
    served = served_on
    browser = served.browser("pat")
    browser.get(f"/flags/{A.flag_id}")
    before = len(served.audit_rows())
    response = browser.post(
        f"/flags/{A.flag_id}/decisions", {**NO_ACTION, "corrects": corrects, "text": text}
    )
    assert response.status_code == 422, response.text[:500]
    assert "There is a problem" in response.text
    # the form shown again is a view; no "record decision" row, nothing stored
    assert purposes(served)[before:] == ["view flag: jump_start"]
    assert stored(served) == []


# --- idempotency keys --------------------------------------------------------------------------


def test_an_api_retry_with_the_same_key_returns_the_stored_decision(served_on: Served) -> None:
    served = served_on
    api = served.api("pat")
    key = {"Idempotency-Key": "3f1c9a4e-retry-1"}
    first = api.post(URL, json=NO_ACTION, headers=key)
    assert first.status_code == 201, first.text
    again = api.post(URL, json=NO_ACTION, headers=key)
    assert again.status_code == 200 and again.json() == first.json()
    assert len(stored(served)) == 1
    changed = api.post(URL, json={**NO_ACTION, "text": "something else"}, headers=key)
    assert changed.status_code == 409 and "different decision" in changed.json()["detail"]
    elsewhere = served.api("pat").post(
        f"/api/v1/flags/{FLAGS['C'].flag_id}/decisions", json=NO_ACTION, headers=key
    )
    assert elsewhere.status_code == 404  # C is not pat's: nothing about the key is said
    # the key is the user's own: another practitioner may use the same string
    other = served.api("amy").post(URL, json=NO_ACTION, headers=key)
    assert other.status_code == 201 and other.json()["id"] != first.json()["id"]
    assert len(stored(served)) == 2
    assert api.post(URL, json=NO_ACTION).status_code == 201  # no key: a new decision each time
    assert len(stored(served)) == 3


@pytest.mark.parametrize(
    "key", ["", "has space", "x" * 129, "naïve".encode("latin-1"), "tab\there"]
)
def test_a_malformed_idempotency_key_is_refused_before_any_row(
    served_on: Served, key: str | bytes
) -> None:
    served = served_on
    response = served.api("pat").post(URL, json=NO_ACTION, headers={"Idempotency-Key": key})
    assert response.status_code == 422, response.text
    assert "Idempotency-Key" in response.text
    assert served.audit_rows() == [] and stored(served) == []


KEY = re.compile(r'name="idempotency_key" value="([^"]+)"')


def test_a_form_sent_twice_records_one_decision(served_on: Served) -> None:
    served = served_on
    browser = served.browser("pat")
    page = browser.get(f"/flags/{A.flag_id}")
    found = KEY.search(page.text)
    assert found is not None
    form = {**NO_ACTION, "idempotency_key": unescape(found.group(1))}
    first = browser.post(f"/flags/{A.flag_id}/decisions", form)
    second = browser.post(f"/flags/{A.flag_id}/decisions", form)  # a double click
    assert first.status_code == second.status_code == 303
    assert first.headers["location"] == second.headers["location"]
    assert len(stored(served)) == 1
    shown = browser.get(first.headers["location"].split("#")[0])
    fresh = KEY.search(shown.text)
    assert fresh is not None and fresh.group(1) != found.group(1)  # a new form, a new key
    changed = browser.post(f"/flags/{A.flag_id}/decisions", {**form, "text": "changed my mind"})
    assert changed.status_code == 409
    assert "already sent with a different decision" in unescape(changed.text)
    assert len(stored(served)) == 1
    again = KEY.search(changed.text)
    assert again is not None and again.group(1) != found.group(1)
