"""With a model in service: scoring a materialised moment, suspension taking effect at once,
and the ethics panel's pages (versions, reports, decisions under the member's own name)."""

from __future__ import annotations

import datetime as dt
import os
import shutil
import time
from dataclasses import replace
from pathlib import Path

import anyio.to_thread
import numpy as np
import pytest

from tests.flags.builders import moments_for
from tests.serving.app.conftest import (
    PASSWORD,
    TODAY,
    approve,
    flag_moments,
    materialise_moments,
    register_candidate,
    serve,
)
from vru_risk.features.moments import save_moments
from vru_risk.models.promotion import review
from vru_risk.models.risk_model import RiskModel
from vru_risk.serving.moment_store import MomentStore, MomentsUnavailableError
from vru_risk.settings import Settings
from vru_risk.store.users import add_user


def test_scoring_explains_a_materialised_moment(settings: Settings, risk_model: RiskModel) -> None:
    registered = register_candidate(settings, risk_model)
    approve(registered)
    moments = materialise_moments(settings, risk_model)
    expected = risk_model.predict(moments.features(risk_model.spec))
    with serve(settings) as served:
        assert served.client.get("/health").json()["status"] == "ok"
        flag_moments(served, moments, [4], (("early_intervention", 1, "offered"),))
        api = served.api("ed")
        person = str(moments.frame["person_id"][4])
        response = api.post("/api/v1/score", json={"person_id": person, "as_of": str(TODAY)})
        assert response.status_code == 200, response.text
        flag = response.json()
        assert flag["person_id"] == person and flag["as_of"] == TODAY.isoformat()
        assert np.isclose(flag["probability"], expected[4])
        assert flag["scoring_model"]["version"] == registered.version
        assert flag["programmes"] == []  # an explanation, not an offer
        shown = flag["base_value"] + flag["other_factors"]
        shown += sum(r["contribution"] for r in flag["reasons_for"] + flag["reasons_against"])
        assert np.isclose(shown, flag["raw_score"])
        rows = served.audit_rows()
        assert [(r.person_id, r.purpose, r.model_version, r.route) for r in rows] == [
            (person, "score person: early_intervention", registered.version, "POST /api/v1/score")
        ]
        # only the moment of a flag shown to the programme is scored; a refusal is audited
        for body in (
            {"person_id": "P99999", "as_of": str(TODAY)},
            {"person_id": person, "as_of": "2026-02-27"},
        ):
            refused = api.post("/api/v1/score", json=body)
            assert refused.status_code == 404 and "display period" in refused.json()["detail"]
        assert api.post("/api/v1/score", json={"person_id": person}).status_code == 422
        assert [(r.person_id, r.purpose, r.model_version) for r in served.audit_rows()[1:]] == [
            ("P99999", "score refused: early_intervention", None),
            (person, "score refused: early_intervention", None),
        ]
        model = api.get("/api/v1/model").json()
        assert model["in_service"] and model["version"] == registered.version
        assert model["content_hash"] == risk_model.content_hash


def test_scoring_reads_the_daily_jobs_rewrite_and_serves_with_the_configured_threads(
    settings: Settings, risk_model: RiskModel
) -> None:
    """The server reads the newest materialised moments at startup and keeps them in memory as
    checked rows, reading them again when the daily job rewrites the folder; it runs
    ``request_threads`` worker threads."""
    approve(register_candidate(settings, risk_model))
    first = materialise_moments(settings, risk_model)
    person = str(first.frame["person_id"][4])
    body = {"person_id": person, "as_of": str(TODAY)}
    with serve(settings.model_copy(update={"request_threads": 3})) as served:
        flag_moments(served, first, [4], (("early_intervention", 1, "offered"),))
        # the newest folder was read at startup, not by the first score
        assert len(served.state.moments._cache) == 1
        assert served.client.portal is not None  # inside the running app
        tokens = served.client.portal.call(
            lambda: anyio.to_thread.current_default_thread_limiter().total_tokens
        )
        assert tokens == 3
        api = served.api("ed")
        before = api.post("/api/v1/score", json=body).json()["probability"]
        assert np.isclose(before, risk_model.predict(first.features(risk_model.spec))[4])
        rewritten = moments_for(risk_model, n=40, day=TODAY, seed=11)
        folder = settings.home / "flags" / f"moments-{TODAY.isoformat()}"
        shutil.rmtree(folder)
        save_moments(rewritten, folder)
        os.utime(folder / "moments.json", ns=(1, time.time_ns() + 10**9))  # a later stamp
        after = api.post("/api/v1/score", json=body).json()["probability"]
        expected = risk_model.predict(rewritten.features(risk_model.spec))[4]
        assert np.isclose(after, expected) and not np.isclose(after, before)


def test_a_suspension_takes_scoring_out_of_service_at_once(
    settings: Settings, risk_model: RiskModel
) -> None:
    registered = register_candidate(settings, risk_model)
    approve(registered)
    moments = materialise_moments(settings, risk_model)
    person = str(moments.frame["person_id"][0])
    with serve(settings) as served:
        flag_moments(served, moments, [0], (("jump_start", 1, "offered"),))
        api = served.api("pat")
        body = {"person_id": person, "as_of": str(TODAY)}
        assert api.post("/api/v1/score", json=body).status_code == 200
        # the panel suspends through the CLI's code path while the server runs
        review(
            "suspend",
            version=registered.version,
            reviewer="ben",
            reason="complaint under investigation",
            registry=registered.registry,
            log=registered.log,
        )
        refused = api.post("/api/v1/score", json=body)
        assert refused.status_code == 503
        assert "scoring is unavailable" in refused.json()["detail"]
        health = served.client.get("/health").json()
        assert health["status"] == "degraded" and "no champion" in health["reason"]


def test_the_panel_reads_versions_and_approves_a_candidate_under_its_own_name(
    settings: Settings, risk_model: RiskModel
) -> None:
    registered = register_candidate(settings, risk_model)
    version = registered.version
    report = settings.reports_dir / f"vru-risk-v{version}" / "report.html"
    report.parent.mkdir(parents=True)
    report.write_text("<!doctype html><title>Fairness audit</title><h1>Fairness audit</h1>")
    with serve(settings) as served:
        assert served.client.get("/health").json()["scoring"] == "unavailable"
        scientist = served.browser("dana").get("/models")
        assert scientist.status_code == 200
        assert f"Version {version}" in scientist.text and "candidate" in scientist.text
        assert f"/models/{version}/report" in scientist.text
        assert "/review" not in scientist.text  # no decision forms for data scientists
        eve = served.browser("eve")
        page = eve.get("/models")
        assert f'action="/models/{version}/review"' in page.text
        assert f'for="reason-{version}"' in page.text
        opened = eve.get(f"/models/{version}/report")
        assert opened.status_code == 200 and "Fairness audit" in opened.text
        assert eve.get(f"/models/{version + 1}/report").status_code == 404
        empty = eve.post(f"/models/{version}/review", {"action": "approve", "reason": "  "})
        assert empty.status_code == 422 and "Write the reason" in empty.text
        done = eve.post(
            f"/models/{version}/review",
            {"action": "approve", "reason": "gates pass; report read by the panel"},
        )
        assert done.status_code == 303
        shown = eve.get(done.headers["location"].split("#")[0])
        assert "Review entry 1 recorded: approve" in shown.text and "by eve" in shown.text
        (entry,) = registered.log.entries()
        assert (entry.action, entry.reviewer) == ("approve", "eve")
        assert entry.reason == "gates pass; report read by the panel"
        # in service at once, without a restart
        assert served.client.get("/health").json()["status"] == "ok"
        model = served.api("eve").get("/api/v1/model").json()
        assert model["version"] == version and model["report_url"] == f"/models/{version}/report"
        # the rules still apply: the champion cannot be rejected before it is suspended
        refused = eve.post(
            f"/models/{version}/review", {"action": "reject", "reason": "second thoughts"}
        )
        assert refused.status_code == 409 and "suspend" in refused.text
        assert len(registered.log.entries()) == 1


def test_an_override_needs_two_members_on_the_page_too(
    settings: Settings, risk_model: RiskModel
) -> None:
    registered = register_candidate(settings, risk_model, fairness="fail")
    version = registered.version
    with serve(settings) as served:
        with served.state.write_sessions.begin() as s:
            add_user(s, username="ben", role="ethics_panel", password=PASSWORD)
        eve, ben = served.browser("eve"), served.browser("ben")
        eve.get("/models")
        approve_refused = eve.post(
            f"/models/{version}/review", {"action": "approve", "reason": "ok"}
        )
        assert approve_refused.status_code == 409 and "override" in approve_refused.text
        first = eve.post(f"/models/{version}/review", {"action": "override", "reason": "need it"})
        assert first.status_code == 303
        assert served.client.get("/health").json()["scoring"] == "unavailable"
        again = eve.post(f"/models/{version}/review", {"action": "override", "reason": "again"})
        assert again.status_code == 409 and "already recorded an override" in again.text
        ben.get("/models")
        second = ben.post(f"/models/{version}/review", {"action": "override", "reason": "agreed"})
        assert second.status_code == 303
        assert served.client.get("/health").json()["scoring"] == "available"
        assert [e.reviewer for e in registered.log.entries()] == ["eve", "ben"]


def test_moment_store_skips_a_folder_that_does_not_fit_and_says_so_when_it_matters(
    tmp_path: Path, risk_model: RiskModel
) -> None:
    """A folder materialised for another feature spec never hides a folder that fits; when
    the moment is in no usable folder and one holding the day could not be used, the store
    says which and why (the route answers 503 with it) rather than "no such moment"."""
    root = tmp_path / "flags"
    fits = moments_for(risk_model, n=10, day=TODAY)
    save_moments(fits, root / f"moments-{TODAY.isoformat()}")
    broken = moments_for(risk_model, n=10, day=TODAY, seed=9)
    dropped = risk_model.spec.names[0]
    broken = replace(broken, frame=broken.frame.drop(columns=[dropped]))
    newer = root / f"moments-{(TODAY + dt.timedelta(days=1)).isoformat()}"
    save_moments(broken, newer)
    store = MomentStore(root)
    person = str(fits.frame["person_id"][3])
    found = store.find(risk_model, person, TODAY)  # the newer folder is tried first, and skipped
    assert found is not None and found.person_id == (person,)
    cached = store._cache[(root / f"moments-{TODAY.isoformat()}", risk_model.content_hash)][1]
    assert not cached.inputs.x.flags.writeable  # shared by every request: read-only
    with pytest.raises(MomentsUnavailableError, match=f"{newer.name}: its features do not fit"):
        store.find(risk_model, "P99999", TODAY)
    assert dropped in str(store._failed[(newer, risk_model.content_hash)][1])
    shutil.rmtree(newer)
    assert store.find(risk_model, "P99999", TODAY) is None  # nothing unusable left: not found
