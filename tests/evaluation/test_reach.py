"""Reach counted by hand, in distinct people, with primary and complementary suppression."""

from __future__ import annotations

from datetime import date

import pandas as pd
import pytest

from vru_risk.evaluation.reach import reach_table
from vru_risk.flags.programmes import Programme

MENTOR = Programme(
    id="mentor",
    name="Mentoring",
    min_age=8,
    max_age=18,
    trigger_kinds=("police_contact",),
    capacity=8,
    period="month",
    shared_sources=("attendance",),
)
SPORT = Programme(
    id="sport",
    name="Sport",
    min_age=8,
    max_age=18,
    trigger_kinds=("ae_visit",),
    capacity=5,
    period="week",
    shared_sources=("attendance",),
)


def _fixture() -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    # March: p1 offered ten times (one person), p2..p8 once: 8 people offered mentoring.
    people_ids = [f"p{i}" for i in range(1, 9)]
    offers = pd.DataFrame(
        {
            "person_id": ["p1"] * 10 + people_ids[1:],
            "programme_id": "mentor",
            "offered_on": [date(2026, 3, d) for d in range(1, 11)] + [date(2026, 3, 12)] * 7,
        }
    )
    # p1..p5 referred, p6 p7 no action, p8 undecided
    decisions = pd.DataFrame(
        {
            "person_id": people_ids[:7],
            "programme_id": "mentor",
            "decision": ["referred"] * 5 + ["no_action"] * 2,
        }
    )
    # p1..p4 started in March (p1 twice: one person); p1..p3 completed
    support = pd.DataFrame(
        {
            "person_id": ["p1", "p1", "p2", "p3", "p4"],
            "programme_id": "mentor",
            "start_date": [date(2026, 3, 15), date(2026, 3, 20)] + [date(2026, 3, 18)] * 3,
            "end_date": [date(2026, 4, 30)] * 5,
            "completed": [True, False, True, True, False],
        }
    )
    people = pd.DataFrame(
        {
            "person_id": people_ids,
            "age_band": ["10-13"] * 4 + ["14-17"] * 3 + [None],
            "school": ["north"] * 8,
        }
    )
    return offers, decisions, support, people


def test_hand_count_by_programme() -> None:
    offers, decisions, support, people = _fixture()
    t = reach_table(
        offers,
        decisions,
        support,
        people,
        by="programme",
        min_people=1,
        programmes=[MENTOR],
        costs={"mentor": 4000.0},
    )
    assert len(t) == 1
    row = t.iloc[0]
    assert row["period"] == date(2026, 3, 1) and row["group"] == "all"
    assert (row["offered"], row["referred"], row["no_action"]) == (8, 5, 2)
    assert row["support_started"] == 4 and row["support_completed"] == 3
    assert bool(row["completed_recorded"])
    assert row["capacity"] == 8 and row["capacity_used"] == pytest.approx(0.5)
    assert row["cost_per_young_person"] == pytest.approx(1000.0)
    # disagree is zero: fewer than one person, so suppressed; the undecided remainder (p8)
    # keeps it from being recovered
    assert pd.isna(row["disagree"]) and row["suppressed"] == "disagree"


def test_one_person_with_ten_offers_is_one_person() -> None:
    offers, decisions, support, people = _fixture()
    only_p1 = offers.loc[offers["person_id"] == "p1"]
    t = reach_table(only_p1, decisions, support, people, by="programme", min_people=2)
    assert pd.isna(t.iloc[0]["offered"])  # ten rows, one person: below 2
    assert "offered" in t.iloc[0]["suppressed"]


def test_complement_of_a_suppressed_decision_is_suppressed() -> None:
    offers, decisions, support, people = _fixture()
    # p8 decides too (no remainder): no_action 2 shown would give away disagree 1 ...
    decisions = pd.concat(
        [
            decisions,
            pd.DataFrame({"person_id": ["p8"], "programme_id": "mentor", "decision": ["disagree"]}),
        ]
    )
    t = reach_table(offers, decisions, support, people, by="programme", min_people=2).iloc[0]
    assert pd.isna(t["disagree"])
    # ... so the next smallest (no_action, 2) is suppressed too; referred stays
    assert pd.isna(t["no_action"]) and t["referred"] == 5
    # completion: 3 of 4 completed, 1 did not: completed would give that one away
    assert pd.isna(t["support_completed"]) and t["support_started"] == 4


def test_groups_suppressed_by_distinct_people_and_complement() -> None:
    offers, decisions, support, people = _fixture()
    t = reach_table(offers, decisions, support, people, by="age_band", min_people=2)
    t = t.set_index("group")
    offered = t["offered"].to_dict()
    assert set(t.index) == {"10-13", "14-17", "unknown"}
    assert t.loc["10-13", "offered"] == 4
    # unknown (p8) is one person: suppressed; the next smallest group is suppressed with it,
    # (14-17, 3 people), as the programme table shows the total of 8
    assert pd.isna(offered["unknown"]) and pd.isna(offered["14-17"])
    assert "offered" in str(t["suppressed"].to_dict()["14-17"])


def test_completion_not_recorded_and_weekly_periods() -> None:
    offers, decisions, support, people = _fixture()
    offers = pd.concat(
        [
            offers,
            pd.DataFrame(
                {
                    "person_id": ["p1", "p2", "p3"],
                    "programme_id": "sport",
                    "offered_on": [date(2026, 3, 4), date(2026, 3, 5), date(2026, 3, 11)],
                }
            ),
        ]
    )
    t = reach_table(
        offers,
        decisions,
        support.drop(columns="completed"),
        people,
        by="programme",
        min_people=1,
        programmes=[MENTOR, SPORT],
    )
    sport = t.loc[t["programme_id"] == "sport"].set_index("period")
    # weeks start on Monday: 2 March and 9 March
    assert list(sport.index) == [date(2026, 3, 2), date(2026, 3, 9)]
    assert list(sport["offered"]) == [2, 1]
    assert not t["completed_recorded"].any() and t["support_completed"].isna().all()


def test_bad_input_says_what_to_do() -> None:
    offers, decisions, support, people = _fixture()
    with pytest.raises(ValueError, match="lacks column"):
        reach_table(
            offers.drop(columns="offered_on"),
            decisions,
            support,
            people,
            by="programme",
            min_people=5,
        )
    with pytest.raises(ValueError, match="unknown decision"):
        reach_table(
            offers,
            decisions.assign(decision="maybe"),
            support,
            people,
            by="programme",
            min_people=5,
        )
    with pytest.raises(ValueError, match="by must be"):
        reach_table(offers, decisions, support, people, by="postcode", min_people=5)
    with pytest.raises(ValueError, match="min_people"):
        reach_table(offers, decisions, support, people, by="programme", min_people=0)


def test_audit_group_with_missing_values_is_unknown() -> None:
    offers, decisions, support, people = _fixture()
    sex: list[str | None] = [*["female"] * 4, *["male"] * 3, None]
    people = people.assign(sex=pd.Series(sex, index=people.index))
    t = reach_table(offers, decisions, support, people, by="group:sex", min_people=1)
    offered = t.set_index("group")["offered"].to_dict()
    assert offered == {"female": 4, "male": 3, "unknown": 1}
    # a person missing from the people table is unknown too
    t2 = reach_table(offers, decisions, support, people.iloc[:7], by="school", min_people=1)
    assert t2.set_index("group")["offered"].to_dict() == {"north": 7, "unknown": 1}
    with pytest.raises(ValueError, match="people lacks column"):
        reach_table(offers, decisions, support, people, by="group:ethnicity", min_people=1)
