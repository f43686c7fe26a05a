"""Aggregates withhold cells by distinct young people, never by rows: one young person flagged
six times is one person."""

from __future__ import annotations

import datetime as dt
from html import unescape
from pathlib import Path

from tests.serving.app.conftest import TODAY, make_flag, make_settings, serve
from vru_risk.serving.routes.aggregates import withhold_small
from vru_risk.store.flag_store import load_flags


def test_one_person_with_many_flags_is_one_person_in_a_cell(vru_home: Path) -> None:
    # six flags of one young person offered to the School Inclusion Project on six days
    many = [
        make_flag("PE-0005", TODAY - dt.timedelta(days=d), (("school_inclusion", 1, "offered"),))
        for d in range(6)
    ]
    with serve(make_settings(vru_home, aggregate_min_people=2)) as served:
        with served.state.write_sessions.begin() as s:
            load_flags(s, many)
        body = served.api("eve").get("/api/v1/aggregates").json()
        html = unescape(served.browser("eve").get("/aggregates").text)
    assert body["min_people"] == 2
    # the fixture's four people (two per programme) and the one person above
    assert (body["total_flags"], body["total_people"], body["total_offers"]) == (10, 5, 12)
    assert "school_inclusion" not in body["flags_by_programme_band"]  # 6 rows, 1 person
    # the lone withheld cell takes the smallest other with it (the offers total is shown)
    assert body["withheld"] == [
        "flags: school_inclusion / highest 5%",
        "flags: admit_ae / highest 5%",
    ]
    assert body["flags_by_programme_band"]["early_intervention"] == {"highest 5%": 2}
    assert body["flags_by_model_version"] == {"3": 10}
    assert "10 flags" in html and "5 young people" in html and "12 times" in html
    assert "add up to 12, not 10" in html
    row = html[html.index("School Inclusion Project") :][:200]
    assert "withheld (few people)" in row and ">6<" not in row


def test_a_single_withheld_cell_takes_the_next_smallest_with_it() -> None:
    shown, gaps = withhold_small(
        {"p": {"a": 40, "b": 30, "c": 12}, "q": {"a": 9}},
        {"p": {"a": 20, "b": 15, "c": 1}, "q": {"a": 3}},
        5,
    )
    # c alone would be p's total minus a and b: b (the next smallest) goes too
    assert shown == {"p": {"a": 40}}
    assert gaps == [("p", "b"), ("p", "c"), ("q", "a")]
    # a programme's only cell, the only one withheld in the table: the smallest other goes too
    shown, gaps = withhold_small(
        {"p": {"a": 40, "b": 30}, "q": {"a": 9}},
        {"p": {"a": 20, "b": 15}, "q": {"a": 3}},
        5,
    )
    assert shown == {"p": {"a": 40}} and gaps == [("q", "a"), ("p", "b")]
