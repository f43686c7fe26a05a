"""One run's checks: a silent source beyond its season is an outage naming it, a summer holiday
is not; flags beyond capacity are a review; the report lists what it does not check as not
checked (never as passing), and names who is to be told or says that no one is configured."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, timedelta
from pathlib import Path
from typing import Any, Final

import pandas as pd
import pytest

from tests.monitoring.test_reference import PROGRAMMES, reference
from vru_risk.features.catalog import FeatureSpec
from vru_risk.monitoring.checks import (
    SourceStatus,
    capacity_check,
    same_season,
    season_note,
    source_checks,
)
from vru_risk.monitoring.criteria import load_criteria
from vru_risk.monitoring.governance import GovernanceError, criteria_for, load_governance
from vru_risk.monitoring.outcome_section import outcome_section
from vru_risk.monitoring.outcomes import maturity
from vru_risk.monitoring.report import NOT_CHECKED, build_report, render_html
from vru_risk.monitoring.verdict import combine

CRITERIA = load_criteria()
NO_DATABASE_SECTION: Final = {"note": "Not checked: there is no application database yet."}


def test_a_silent_source_beyond_its_season_is_an_outage_naming_it(spec: FeatureSpec) -> None:
    # the reference saw police contacts every day of March 2026 and attendance stop for a
    # 39-day holiday over that March; both are silent for 30 days on the 31st
    days = [date(2026, 3, 1) + timedelta(days=k) for k in range(31)]
    ref = reference(
        spec,
        source_days={
            "police_contacts": days,
            "attendance": [date(2026, 2, 20), date(2026, 4, 1)],
        },
    )
    as_of = date(2026, 3, 31)
    statuses = [
        SourceStatus("police_contacts", as_of - timedelta(days=30), as_of, present=True),
        SourceStatus("attendance", as_of - timedelta(days=30), None, present=True),
    ]
    rows, findings = source_checks(statuses, pd.DataFrame(), ref, CRITERIA, as_of=as_of)
    assert [(f.criterion, f.level, f.subject) for f in findings] == [
        ("source_outage", "suspension_recommended", "police_contacts")
    ]
    assert "30 days (allowed: 21)" in findings[0].sentence
    by_source = {r["source"]: r for r in rows}
    assert by_source["attendance"]["days_expected_in_season"] == 39
    assert by_source["attendance"]["days_beyond_season"] == 0
    assert by_source["police_contacts"]["manifest_refreshed"] == "2026-03-31"
    assert combine(findings).exit_code == 3


def test_flags_beyond_capacity_are_a_review_and_within_it_nothing() -> None:
    monday = date(2026, 3, 2)  # mentoring: 3 places a week
    offers = {"mentoring": [monday] * 3 + [monday + timedelta(days=7)] * 4}
    rows, findings = capacity_check(offers, PROGRAMMES, monday, monday + timedelta(days=13))
    assert [(r["period_start"], r["offered"], r["capacity"]) for r in rows] == [
        ("2026-03-02", 3, 3),
        ("2026-03-09", 4, 3),
    ]
    assert [(f.criterion, f.level, f.subject) for f in findings] == [
        ("capacity_exceeded", "review", "mentoring")
    ]


def test_drift_uses_the_same_months_of_the_reference_or_says_it_could_not(
    spec: FeatureSpec,
) -> None:
    ref = reference(spec)  # moments in March 2026 only
    hset = ref.features[spec.names[0]]
    assert same_season(hset, ["03"], min_rows=1) == hset.by_month["03"]
    assert same_season(hset, ["08"], min_rows=1) == hset.all
    assert season_note(ref, ["03"]).startswith("Compared with the same months (March)")
    assert "holds no moment of August" in season_note(ref, ["08"])


def make_report(
    spec: FeatureSpec,
    decisions: Mapping[str, Any] = NO_DATABASE_SECTION,
    feedback: Mapping[str, Any] = NO_DATABASE_SECTION,
) -> dict[str, Any]:
    """A report with no moments, no outcome matured, and the given decisions and feedback."""
    ref = reference(spec)
    return build_report(
        subject={
            "version": 7,
            "content_hash": "c" * 64,
            "train_end": "2025-01-01",
            "reference_hash": ref.hash,
            "reference_window": "w",
            "criteria_hash": CRITERIA.hash,
        },
        as_of=date(2026, 3, 31),
        window=(date(2026, 3, 4), date(2026, 3, 31)),
        data={"extract_date": "2026-03-31", "fingerprint": "f" * 16},
        verdict=combine([]),
        sources=[],
        inputs=[],
        season="s",
        scores={
            "moments": 0,
            "psi": None,
            "js": None,
            "judged": False,
            "psi_threshold": 0.25,
            "js_threshold": 0.15,
            "bands": {},
            "reference_bands": ref.bands,
        },
        capacity={"note": "Not checked: no database.", "rows": []},
        outcomes=outcome_section(
            pd.DataFrame({"month": [], "probability": [], "label": [], "person_id": []}),
            maturity(["2026-03"], date(2026, 3, 31), horizon_days=365, lag_days=60),
            estimate_from=[0.3, 0.5],
            criteria=CRITERIA,
        )[0]
        | {"note": "n", "floor_percentile": 90.0, "in_calibration_window": []},
        decisions=decisions,
        feedback=feedback,
        notify=[],
        notify_note="No one is configured to be told: set `notify:` in governance.yaml.",
    )


def test_the_report_lists_unchecked_parts_as_not_checked_and_who_to_tell(
    spec: FeatureSpec,
) -> None:
    report = make_report(spec)
    checks = {n["check"]: n["status"] for n in report["not_checked"]}
    assert set(checks) == {"groups"} and set(checks.values()) == {NOT_CHECKED}
    html = render_html(report)
    assert html.count("Not checked: there is no application database yet.") == 2
    assert "no month has matured yet" in html and "40.0%" in html and "<strong>estimate" in html
    assert "not made in this run" in html and "Nothing to report" in html
    assert "No one is configured to be told" in html
    assert "<script" not in html


def test_governance_names_who_to_tell_and_may_carry_the_criteria(tmp_path: Path) -> None:
    assert load_governance().notify == ()  # the packaged file configures no one
    path = tmp_path / "governance.yaml"
    path.write_text(
        "governance_version: 1\nnotify:\n  - role: Chair of the ethics panel\n"
        "    contact: panel@vru.example\nmonitoring:\n  outage_days:\n    attendance: 20\n",
        encoding="utf-8",
    )
    assert [r.label for r in load_governance(path).notify] == [
        "Chair of the ethics panel (panel@vru.example)"
    ]
    assert criteria_for(path).outage_days == {"attendance": 20}
    path.write_text("notify:\n  - name: nobody's role\n", encoding="utf-8")
    with pytest.raises(GovernanceError, match="role"):
        load_governance(path)
