"""Scoring is keyed by the moment a flag was made for (review finding 1): a practitioner gets a
score only for the (person, as_of) pair of a flag currently shown to their programme; anything
else answers one and the same 404, which is audited; no answer, 503 included, depends on
whether a person not shown to them has a moment."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace

import pytest

from tests.flags.builders import moments_for
from tests.serving.app.conftest import (
    MOMENT_FLAGS,
    OLD_DAY,
    PASSWORD,
    TODAY,
    UNFLAGGED_MOMENTS,
    Served,
    make_flag,
)
from vru_risk.features.moments import save_moments
from vru_risk.models.risk_model import RiskModel
from vru_risk.serving.tokens import issue_token
from vru_risk.store.flag_store import load_flags
from vru_risk.store.users import add_user

MJ, ME, MA, MN, MO = (MOMENT_FLAGS[k] for k in ("MJ", "ME", "MA", "MN", "MO"))


def body(person: str, day: dt.date, **extra: str) -> dict[str, str]:
    return {"person_id": person, "as_of": day.isoformat(), **extra}


def test_a_moment_shown_to_the_programme_is_scored_and_redacted_for_it(
    in_service_on: Served,
) -> None:
    served = in_service_on
    response = served.api("pat").post("/api/v1/score", json=body(MJ.person_id, TODAY))
    assert response.status_code == 200, response.text
    flag = response.json()
    assert (flag["person_id"], flag["as_of"], flag["programmes"]) == (
        MJ.person_id,
        TODAY.isoformat(),
        [],
    )
    # Jump Start shares no police records: the trigger and police reasons are redacted
    assert [t["kind"] for t in flag["triggers"]] == ["another_service"]
    sources = {r["source"] for r in flag["reasons_for"] + flag["reasons_against"]}
    assert "police_contacts" not in sources and "police_contacts" not in response.text
    (row,) = served.audit_rows()
    assert (row.username, row.person_id, row.purpose) == (
        "pat",
        MJ.person_id,
        "score person: jump_start",
    )


@pytest.mark.parametrize("who", ["pat", "ed", "amy"])
def test_every_other_moment_answers_the_same_audited_404(in_service_on: Served, who: str) -> None:
    """Another programme's flag, a flag offered to nobody or already supported, a flag past its
    display period, a moment without a flag, the same person on another day, a person with no
    moment: one answer, and one audit row naming who asked about whom."""
    served = in_service_on
    programme = {"pat": "jump_start", "ed": "early_intervention", "amy": "admit_ae"}[who]
    mine = {
        (f.person_id, f.as_of)
        for f in served.flags.values()
        if any(o.programme == programme and o.status == "offered" for o in f.programmes)
        and f.as_of > TODAY - dt.timedelta(days=90)
    }
    probes = [(f.person_id, f.as_of) for f in served.flags.values()]
    probes += [*UNFLAGGED_MOMENTS, (MJ.person_id, OLD_DAY), (ME.person_id, OLD_DAY)]
    probes += [("P99999", TODAY), (MJ.person_id, TODAY - dt.timedelta(days=1))]
    refused = [p for p in probes if p not in mine]
    assert len(refused) >= 10 and mine & {(f.person_id, f.as_of) for f in MOMENT_FLAGS.values()}
    api = served.api(who)
    answers = set()
    for person, day in refused:
        response = api.post("/api/v1/score", json=body(person, day))
        assert response.status_code == 404, (person, day, response.text)
        answers.add(response.text)
        for marker in (person, day.isoformat(), "highest", "probability"):
            assert marker not in response.text
    assert len(answers) == 1, answers  # nothing tells "no moment" from "not yours"
    rows = served.audit_rows()
    assert [(r.username, r.person_id, r.model_version, r.purpose, r.route) for r in rows] == [
        (who, person, None, f"score refused: {programme}", "POST /api/v1/score")
        for person, _ in refused
    ]
    materialised = {(f.person_id, f.as_of) for f in MOMENT_FLAGS.values()}
    for person, day in sorted(mine & materialised):
        assert api.post("/api/v1/score", json=body(person, day)).status_code == 200


def test_a_programme_named_explicitly_decides_what_may_be_scored(in_service_on: Served) -> None:
    """A practitioner of two programmes acts for one at a time: a moment offered only to their
    other programme is refused while acting for this one, and redacted for the one named."""
    served = in_service_on
    with served.state.write_sessions.begin() as s:
        add_user(
            s,
            username="mo",
            role="practitioner",
            password=PASSWORD,
            programmes=("jump_start", "admit_ae"),
        )
    with served.state.write_sessions.begin() as s:
        served.tokens["mo"] = issue_token(s, "mo")
    api = served.api("mo")
    # MA: offered to Admit A&E, already supported by Jump Start
    assert api.post("/api/v1/score", json=body(MA.person_id, TODAY)).status_code == 200
    as_jump = api.post("/api/v1/score", json=body(MA.person_id, TODAY, programme="jump_start"))
    assert as_jump.status_code == 404
    as_ae = api.post("/api/v1/score", json=body(MA.person_id, TODAY, programme="admit_ae"))
    assert as_ae.status_code == 200
    # a programme that is not theirs: 403 before anything about the person, and no row
    rows = len(served.audit_rows())
    foreign = api.post(
        "/api/v1/score", json=body(ME.person_id, TODAY, programme="early_intervention")
    )
    assert foreign.status_code == 403 and ME.person_id not in foreign.text
    assert len(served.audit_rows()) == rows


def test_an_unusable_moments_folder_is_a_503_only_for_a_moment_shown_to_the_caller(
    in_service_on: Served, risk_model: RiskModel
) -> None:
    """The visibility check comes first: a folder that does not fit the model answers 503 to
    whoever may see the moment, and the same 404 as ever to anyone else (before, any person on
    that day got the 503: the folder was read before anything was checked)."""
    served = in_service_on
    day = TODAY - dt.timedelta(days=1)
    broken = moments_for(risk_model, n=10, day=day)
    broken = replace(broken, frame=broken.frame.drop(columns=[risk_model.spec.names[0]]))
    save_moments(broken, served.state.settings.home / "flags" / f"moments-{day.isoformat()}")
    with served.state.write_sessions.begin() as s:
        load_flags(s, [make_flag("P00005", day, (("jump_start", 1, "offered"),))])
    pat = served.api("pat")
    expected = pat.post("/api/v1/score", json=body("P99999", TODAY))
    assert expected.status_code == 404
    mine = pat.post("/api/v1/score", json=body("P00005", day))
    assert mine.status_code == 503 and "do not fit" in mine.json()["detail"]
    no_flag = pat.post("/api/v1/score", json=body("P00006", day))  # in the folder, no flag
    not_theirs = served.api("ed").post("/api/v1/score", json=body("P00005", day))
    for response in (no_flag, not_theirs):
        assert (response.status_code, response.text) == (404, expected.text)
    purposes = [r.purpose for r in served.audit_rows()]
    assert purposes == [
        "score refused: jump_start",
        "score refused: jump_start",
        "score refused: jump_start",
        "score refused: early_intervention",
    ]


def test_a_person_id_with_a_control_character_is_refused_before_any_row(
    in_service_on: Served,
) -> None:
    """PostgreSQL refuses NUL in text: the audit row of the refusal would have failed (500)."""
    served = in_service_on
    for person in ("P00000\x00", "P\x1b00000", "\x00"):
        response = served.api("pat").post("/api/v1/score", json=body(person, TODAY))
        assert response.status_code == 422, response.text
        assert "person_id" in response.json()["detail"]
    assert served.audit_rows() == []
