"""Selection rates by group: cells are sized by distinct people, never rows, and a lone small
cell cannot be recovered by subtraction."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from vru_risk.monitoring.groups import group_rates, selection_rates


def test_one_person_with_many_rows_is_one_person_and_suppressed() -> None:
    # group "a": one young person with 50 moments; group "b" and "c": 5 people each
    labels = ["a"] * 50 + ["b"] * 5 + ["c"] * 6
    people = ["p0"] * 50 + [f"b{i}" for i in range(5)] + [f"c{i}" for i in range(6)]
    offered = np.zeros(61, dtype=bool)
    offered[:10] = True
    rates = {r.group: r for r in group_rates(labels, people, offered, min_people=3)}
    assert rates["a"].suppressed
    assert rates["a"].moments is None and rates["a"].selection_rate is None
    # one suppressed cell would be revealed by subtraction: the next smallest goes too
    assert rates["b"].suppressed
    assert not rates["c"].suppressed
    assert (rates["c"].people, rates["c"].moments, rates["c"].offered) == (6, 6, 0)


def test_cells_of_enough_people_show_counts_and_rates() -> None:
    labels = ["a"] * 4 + ["b"] * 4
    people = ["p1", "p1", "p2", "p3", "q1", "q2", "q3", "q4"]
    offered = np.array([1, 0, 1, 0, 1, 0, 0, 0], dtype=bool)
    rates = {r.group: r for r in group_rates(labels, people, offered, min_people=3)}
    assert rates["a"].people == 3 and rates["a"].selection_rate == pytest.approx(0.5)
    assert rates["b"].people == 4 and rates["b"].selection_rate == pytest.approx(0.25)


def test_attributes_intersections_and_unknown_groups() -> None:
    frame = pd.DataFrame(
        {
            "person_id": [f"p{i}" for i in range(8)],
            "sex": ["female", "male"] * 4,
            "fsm": [True, False, True, None, True, False, True, None],
        }
    )
    offered = np.ones(8, dtype=bool)
    rates = selection_rates(frame, offered, ["fsm"], min_people=1, intersections=[("sex", "fsm")])
    assert [r.group for r in rates["fsm"]] == ["false", "true", "unknown"]
    assert "female*true" in [r.group for r in rates["sex*fsm"]]
    with pytest.raises(ValueError, match="ethnicity"):
        selection_rates(frame, offered, ["ethnicity"], min_people=1)
