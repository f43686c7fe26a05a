"""Hand-computed tests on tiny worlds: examples, as-of features, labels and censoring."""

from __future__ import annotations

import math
from datetime import date, timedelta
from pathlib import Path

import pandas as pd
import pytest

from tests.features.world import World, d
from vru_risk.features.build import LABEL_PREFIX
from vru_risk.features.config import FeatureBuildConfig, LabelConfig

D = date(2024, 3, 1)  # a trigger's known date in most tests
LABEL = LABEL_PREFIX


def key(pid: str, day: date | str) -> tuple[str, date]:
    return (pid, d(day))


def test_as_of_is_the_known_date_of_the_trigger(tmp_path: Path) -> None:
    w = World().person("A").event("exclusions", "A", "2024-02-20", known="2024-03-01")
    frame = w.build(tmp_path)
    assert list(frame.index) == [key("A", "2024-03-01")]
    row = frame.loc[key("A", "2024-03-01")]
    assert row["trigger_kinds"] == "exclusion"
    # the exclusion itself is known on as_of, so it counts; its event date is 10 days earlier
    assert row["excl_suspensions_90d"] == 1
    assert row["excl_days_since_last"] == 10


def test_event_known_after_as_of_is_invisible(tmp_path: Path) -> None:
    w = (
        World()
        .person("A")
        .event("police_contacts", "A", D, role="victim", offence="robbery")
        .event(
            "ae_visits", "A", D - timedelta(days=3), known=D + timedelta(days=1), reason="assault"
        )
    )
    frame = w.build(tmp_path)
    row = frame.loc[key("A", D)]
    assert row["ae_visits_365d"] == 0
    assert math.isnan(row["ae_days_since_last"])
    assert row["pol_victim_90d"] == 1
    # the A&E visit becomes its own example on the day it is known, and sees itself
    assert frame.loc[key("A", D + timedelta(days=1)), "ae_assault_365d"] == 1


@pytest.mark.parametrize(
    ("offset", "positive"),
    [(1, False), (7, False), (8, True), (365, True), (366, False)],
)
def test_label_window_boundaries(tmp_path: Path, offset: int, positive: bool) -> None:
    w = World(extract=date(2026, 8, 31)).person("A")
    w.event("exclusions", "A", D)  # the trigger
    w.event(
        "police_contacts",
        "A",
        D + timedelta(days=offset),
        role="suspect",
        offence="violence_with_injury",
    )
    frame = w.build(tmp_path)
    assert frame.loc[key("A", D), LABEL] == (1.0 if positive else 0.0)


def test_the_triggers_own_incident_recorded_next_day_is_not_an_outcome(tmp_path: Path) -> None:
    # A&E assault visit (the trigger) and the police record of the same assault the next day
    w = World().person("A")
    w.event("ae_visits", "A", D, reason="assault")
    w.event(
        "police_contacts",
        "A",
        D + timedelta(days=1),
        known=D + timedelta(days=2),
        role="victim",
        offence="violence_with_injury",
    )
    frame = w.build(tmp_path)
    assert frame.loc[key("A", D), LABEL] == 0.0
    assert frame.loc[key("A", D), f"{LABEL}_gap0"] == 1.0  # with no gap it would have counted


def test_harm_only_outcome_counts_victims_and_ae_assaults_only(tmp_path: Path) -> None:
    w = World().person("A").person("B")
    w.event("exclusions", "A", D).event("exclusions", "B", D)
    w.event("police_contacts", "A", D + timedelta(days=40), role="suspect", offence="robbery")
    w.event("ae_visits", "B", D + timedelta(days=40), reason="assault")
    frame = w.build(tmp_path)
    assert frame.loc[key("A", D), LABEL] == 1.0
    assert frame.loc[key("A", D), f"{LABEL}_harm"] == 0.0
    assert frame.loc[key("B", D), LABEL] == 1.0
    assert frame.loc[key("B", D), f"{LABEL}_harm"] == 1.0


def test_censoring_by_extract_date_plus_reporting_lag(tmp_path: Path) -> None:
    cfg = FeatureBuildConfig()
    lag = cfg.label_lag_days
    last_complete = date(2026, 8, 31) - timedelta(days=365 + lag)
    w = World().person("A")
    w.event("exclusions", "A", last_complete)
    w.event("exclusions", "A", last_complete + timedelta(days=1))
    w.event("police_contacts", "A", "2020-01-01", role="witness")  # a label source exists
    frame = w.build(tmp_path)
    assert frame.loc[key("A", last_complete), LABEL] == 0.0
    censored = frame.loc[key("A", last_complete + timedelta(days=1))]
    assert math.isnan(censored[LABEL])
    assert censored["label_censored_reason"] == "extract_date"


def test_censoring_by_left_area_even_with_an_outcome_before_leaving(tmp_path: Path) -> None:
    w = (
        World()
        .person("A", left="2024-09-01")
        .person("B", left=(D + timedelta(days=366)).isoformat())
    )
    for pid in ("A", "B"):
        w.event("exclusions", pid, D)
    w.event("police_contacts", "A", D + timedelta(days=30), role="victim", offence="robbery")
    frame = w.build(tmp_path)
    a = frame.loc[key("A", D)]
    assert math.isnan(a[LABEL])
    assert a["label_censored_reason"] == "left_area"
    assert frame.loc[key("B", D), LABEL] == 0.0  # left the day after the window ended


def test_no_example_after_leaving_the_area(tmp_path: Path) -> None:
    w = World().person("A", left="2024-01-01").event("exclusions", "A", D)
    assert w.build(tmp_path).empty


def test_censoring_by_age_limit(tmp_path: Path) -> None:
    # 18 at as_of, 19th birthday inside the window
    w = World().person("A", birth="2005-06-01").event("exclusions", "A", D)
    w.event("ae_visits", "A", "2020-01-01")
    row = w.build(tmp_path).loc[key("A", D)]
    assert math.isnan(row[LABEL])
    assert row["label_censored_reason"] == "age_limit"


@pytest.mark.parametrize(
    ("birth", "included"),
    [
        ("2016-03-01", True),  # 8th birthday on as_of
        ("2016-03-02", False),  # 8 tomorrow
        ("2005-03-02", True),  # 18, 19 tomorrow
        ("2005-03-01", False),  # 19th birthday on as_of
    ],
)
def test_age_boundaries(tmp_path: Path, birth: str, included: bool) -> None:
    w = World().person("A", birth=birth).event("exclusions", "A", D)
    frame = w.build(tmp_path)
    assert (key("A", D) in frame.index) == included


def test_person_with_no_events(tmp_path: Path) -> None:
    w = World().person("A").person("B").event("exclusions", "B", D)
    w.event("police_contacts", "B", D, role="witness")
    frame = w.build(tmp_path)
    assert "A" not in frame.index.get_level_values(0)  # no trigger, no example
    snap = w.build(tmp_path / "snap", snapshot=("2024-06-01",), triggers=False)
    row = snap.loc[key("A", "2024-06-01")]
    assert row["trigger_kinds"] == "snapshot"
    assert row["pol_suspect_365d"] == 0  # police source available, nothing found: truly 0
    assert math.isnan(row["att_rate_90d"])  # no possible sessions: a rate is not known
    assert math.isnan(row["pol_days_since_last"])


def test_several_triggers_on_one_day_make_one_example(tmp_path: Path) -> None:
    w = World().person("A")
    w.event("ae_visits", "A", D, reason="assault")
    w.event(
        "police_contacts", "A", D - timedelta(days=2), known=D, role="victim", offence="robbery"
    )
    w.event("exclusions", "A", D)
    frame = w.build(tmp_path)
    assert len(frame) == 1
    row = frame.loc[key("A", D)]
    assert row["trigger_kinds"] == "ae_visit,exclusion,police_contact"
    assert row["n_triggers"] == 3


def test_stop_and_search_opens_no_moment_and_is_never_counted(tmp_path: Path) -> None:
    w = World().person("A")
    w.event("police_contacts", "A", D, role="stop_search", offence="none")
    assert w.build(tmp_path).empty
    w.event("exclusions", "A", D)
    row = w.build(tmp_path / "2").loc[key("A", D)]
    assert row["pol_contacts_365d"] == 0
    assert math.isnan(row["pol_days_since_last"])


def test_attendance_features_and_change(tmp_path: Path) -> None:
    w = World().person("A")
    start = D - timedelta(days=299)
    # days 1-200: all present; days 201-300 (the last 100): 50% present (P, U alternate)
    w.sessions("A", start.isoformat(), "P" * 200 + "PU" * 50)
    w.event("exclusions", "A", D)
    row = w.build(tmp_path).loc[key("A", D)]
    assert row["att_rate_30d"] == pytest.approx(0.5)
    assert row["att_rate_90d"] == pytest.approx(0.5)
    assert row["att_rate_365d"] == pytest.approx(250 / 300)
    assert row["att_unauth_rate_90d"] == pytest.approx(0.5)
    assert row["att_possible_sessions_365d"] == 300
    # last 90 days: 0.5; the 365 days before: 210 sessions, 200 + 5 present
    assert row["att_rate_change_90d"] == pytest.approx(0.5 - 205 / 210)
    assert row["att_days_since_attended"] == 1


def test_attendance_not_required_is_not_a_possible_session(tmp_path: Path) -> None:
    w = World().person("A").sessions("A", "2024-02-01", "PPNNUU").event("exclusions", "A", D)
    row = w.build(tmp_path).loc[key("A", D)]
    assert row["att_possible_sessions_365d"] == 4
    assert row["att_rate_30d"] == pytest.approx(0.5)


def _school_weeks(w: World, pid: str, monday: date, weeks: str, lag: int = 3) -> None:
    """One character per week: P = every session present, U = every session absent."""
    for i, week in enumerate(weeks):
        for weekday in range(5):
            day = monday + timedelta(days=7 * i + weekday)
            for session in ("am", "pm"):
                status = "present" if week == "P" else "unauthorised_absence"
                w.event(
                    "attendance",
                    pid,
                    day,
                    day + timedelta(days=lag),
                    status=status,
                    session=session,
                )


def test_attendance_drop_trigger(tmp_path: Path) -> None:
    w = World().person("A")
    monday = date(2024, 1, 8)
    # weekly trailing-4 rates: 1.0 for weeks 1-4; week 5 absent gives 30/40 = 0.75 < 0.85
    _school_weeks(w, "A", monday, "PPPPUU")
    frame = w.build(tmp_path)
    friday_week5 = monday + timedelta(days=7 * 4 + 4)
    assert list(frame.index) == [key("A", friday_week5 + timedelta(days=3))]
    assert frame.iloc[0]["trigger_kinds"] == "attendance_drop"


def test_attendance_drop_needs_a_crossing_and_respects_the_refractory_days(tmp_path: Path) -> None:
    w = World().person("A")
    # always low: never crosses from at-or-above to below, so no moment
    _school_weeks(w, "A", date(2024, 1, 8), "UUUUUU")
    assert w.build(tmp_path).empty
    w2 = World().person("A")
    # crosses in week 5, recovers, crosses again in week 10 (35 days later, < 56): one moment
    _school_weeks(w2, "A", date(2024, 1, 8), "PPPPUPPPPUPP")
    frame = w2.build(tmp_path / "b")
    assert len(frame) == 1


def test_missing_source_gives_nan_features_and_is_named(tmp_path: Path) -> None:
    w = World().person("A").event("exclusions", "A", D)
    frame = w.build(tmp_path)  # no ae_visits, police_contacts or attendance files
    row = frame.loc[key("A", D)]
    assert row["sources_unavailable"] == "attendance,police_contacts,ae_visits"
    for name in (
        "ae_visits_365d",
        "ae_assault_all",
        "pol_suspect_365d",
        "att_excluded_sessions_365d",
    ):
        assert math.isnan(row[name]), name
    assert row["excl_suspensions_365d"] == 1


def test_reporting_lag_used_where_known_date_is_absent(tmp_path: Path) -> None:
    w = World(known_dates=False).person("A")
    w.event("exclusions", "A", D)
    w.event("police_contacts", "A", D - timedelta(days=10), role="suspect", offence="theft")
    cfg = FeatureBuildConfig(
        reporting_lag_days={
            **FeatureBuildConfig().reporting_lag_days,
            "exclusions": 5,
            "police_contacts": 14,
        }
    )
    frame = w.build(tmp_path, config=cfg)
    # exclusion known D+5: the police contact (known D+4) is visible; at D+4 the exclusion is not
    row = frame.loc[key("A", D + timedelta(days=5))]
    assert row["pol_suspect_90d"] == 1
    assert frame.loc[key("A", D + timedelta(days=4)), "excl_suspensions_90d"] == 0


def test_label_gap_is_configurable(tmp_path: Path) -> None:
    w = World().person("A").event("exclusions", "A", D)
    w.event("ae_visits", "A", D + timedelta(days=20), reason="assault")
    cfg = FeatureBuildConfig(label=LabelConfig(gap_days=30, extra_gaps=()))
    assert w.build(tmp_path, config=cfg).loc[key("A", D), LABEL] == 0.0
    assert w.build(tmp_path / "b").loc[key("A", D), LABEL] == 1.0


def test_censoring_uses_the_longest_lag_seen_in_the_label_sources(tmp_path: Path) -> None:
    cfg = FeatureBuildConfig()
    late = 90  # longer than any configured label-source lag
    assert late > cfg.label_lag_days
    as_of = date(2026, 8, 31) - timedelta(days=365 + late)
    w = World().person("A").person("B")
    w.event("exclusions", "A", as_of)
    w.event("exclusions", "A", as_of + timedelta(days=1))
    w.event(
        "police_contacts", "B", "2023-01-01", known="2023-04-01", role="victim", offence="robbery"
    )
    frame = w.build(tmp_path)
    assert frame.loc[key("A", as_of), LABEL] == 0.0
    assert frame.loc[key("A", as_of + timedelta(days=1)), "label_censored_reason"] == "extract_date"


def test_removing_ae_visits_leaves_ae_features_nan_and_named(tmp_path: Path) -> None:
    w = World().person("A")
    w.event("exclusions", "A", D)
    w.event("police_contacts", "A", D, role="victim", offence="robbery")
    w.sessions("A", "2024-02-01", "PPPP")
    w.event("ae_visits", "A", D - timedelta(days=30), reason="assault")
    with_ae = w.build(tmp_path / "with").loc[key("A", D)]
    assert with_ae["ae_assault_365d"] == 1
    assert with_ae["sources_unavailable"] == ""
    del w.events["ae_visits"]
    row = w.build(tmp_path / "without").loc[key("A", D)]
    assert row["sources_unavailable"] == "ae_visits"
    ae = [c for c in row.index if c.startswith("ae_")]
    assert len(ae) >= 8
    assert all(math.isnan(row[c]) for c in ae)
    assert row["pol_victim_90d"] == 1
    assert row["att_rate_30d"] == 1.0


def test_without_any_label_source_labels_are_censored_not_negative(tmp_path: Path) -> None:
    w = World().person("A").event("exclusions", "A", D)
    row = w.build(tmp_path).loc[key("A", D)]
    assert math.isnan(row[LABEL])
    assert row["label_censored_reason"] == "no_label_source"


def test_label_source_refreshed_before_the_extract_date_censors(tmp_path: Path) -> None:
    w = World().person("A")
    as_of = date(2026, 8, 31) - timedelta(days=365 + 31 + 20)
    w.event("exclusions", "A", as_of)
    w.event("ae_visits", "A", "2020-01-01")
    folder = w.write(tmp_path / "d")
    import json

    manifest = json.loads((folder / "manifest.json").read_text())
    manifest["tables"]["ae_visits"]["refreshed"] = "2026-08-01"  # a month stale
    (folder / "manifest.json").write_text(json.dumps(manifest))
    from vru_risk.data.load import open_folder
    from vru_risk.features.build import build_features
    from vru_risk.features.catalog import load_catalog

    _, frame = build_features(
        open_folder(folder, today=date(2026, 8, 31)),
        load_catalog().spec(),
        FeatureBuildConfig(),
    )
    assert frame is not None
    days = pd.to_datetime(frame["as_of"]).dt.date
    reasons = dict(zip(days, frame["label_censored_reason"], strict=True))
    assert reasons[as_of] == "source_refreshed"
    assert pd.isna(reasons[date(2020, 1, 1)])  # an old window is complete either way


def test_attendance_drop_as_of_waits_for_every_week_in_the_window(tmp_path: Path) -> None:
    w = World().person("A")
    monday = date(2024, 1, 8)
    _school_weeks(w, "A", monday, "PPPP")
    # week 5 absent and known at once; week 4 (inside the trailing window) known 60 days late
    w.events["attendance"] = [
        {**r, "known_date": (d(r["date"]) + timedelta(days=60)).isoformat()}
        if monday + timedelta(days=21) <= d(r["date"]) < monday + timedelta(days=28)
        else r
        for r in w.events["attendance"]
    ]
    _school_weeks(w, "A", monday + timedelta(days=28), "U", lag=0)
    frame = w.build(tmp_path)
    week4_known = monday + timedelta(days=21 + 4 + 60)
    assert list(frame.index) == [key("A", week4_known)]
