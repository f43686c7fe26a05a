"""Small cells are suppressed by the number of distinct people, not by rows (issue 17).

One young person with sixty teachable moments is one person: sixty rows from four people in a
group must not make its rates shown, in the audit, in the bootstrap intervals or in the gate.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from vru_risk.fairness_reports.audit import audit
from vru_risk.fairness_reports.bootstrap import bootstrap_intervals
from vru_risk.fairness_reports.gate import FairnessGateConfig, evaluate_gate
from vru_risk.fairness_reports.metrics import MIN_PEOPLE, distinct_people
from vru_risk.fairness_reports.operating_points import Threshold


def population() -> tuple[np.ndarray, np.ndarray, pd.DataFrame, np.ndarray]:
    """400 people of group "a" with one row each, and 4 people of group "b" with 60 rows each
    (240 rows: more rows than the minimum of people, from 4 young people)."""
    rng = np.random.default_rng(7)
    person = np.concatenate([np.arange(400), np.repeat(np.arange(400, 404), 60)]).astype(str)
    group = np.array(["a"] * 400 + ["b"] * 240, dtype=object)
    y = rng.integers(0, 2, len(group))
    scores = y + rng.normal(0, 0.8, len(group))
    return y, scores, pd.DataFrame({"ethnicity": group}), person


def test_a_group_of_many_rows_from_few_people_is_suppressed() -> None:
    y, scores, sensitive, person = population()
    counted_by_rows = audit(y, scores, sensitive_features=sensitive, operating_point=Threshold(0.5))
    by_people = audit(
        y, scores, sensitive_features=sensitive, operating_point=Threshold(0.5), person_id=person
    )
    rows_b = counted_by_rows.by_group.set_index("group").loc["b"]
    b = by_people.by_group.set_index("group").loc["b"]
    assert rows_b["count"] == 240 > MIN_PEOPLE
    assert not rows_b["suppressed"]  # one row a person: the rows are enough
    assert b["count"] == 240 and b["people"] == 4
    assert b["suppressed"]
    assert b["suppression_reason"].startswith(f"people 4 < {MIN_PEOPLE}")
    assert np.isnan(b["tpr"]) and np.isnan(b["tpr_ratio"])
    assert "only 4 young people" in b["cannot_assess_reason"]
    a = by_people.by_group.set_index("group").loc["a"]
    assert a["people"] == 400 and not a["suppressed"]


def test_the_intervals_and_the_gate_count_people_too() -> None:
    y, scores, sensitive, person = population()
    op = Threshold(0.5)
    result = audit(y, scores, sensitive_features=sensitive, operating_point=op, person_id=person)
    intervals = bootstrap_intervals(
        y, scores, sensitive_features=sensitive, operating_point=op, person_id=person,
        n_resamples=20,
    )  # fmt: skip
    b = intervals[intervals["group"] == "b"]
    assert b["suppressed"].all()
    assert b["low"].isna().all()
    assert b["reason"].str.contains("only 4 young people").all()
    gate = evaluate_gate(intervals, result.by_group, FairnessGateConfig())
    assert {c.status for c in gate.criteria if c.group == "b"} == {"not assessable"}


def test_distinct_people_counts_each_person_once_per_cell() -> None:
    cells = distinct_people(
        ["p1", "p1", "p1", "p2", "p3"],
        ["g", "g", "g", "g", "h"],
        [1, 1, 0, 0, 1],
        [1, 1, 1, 0, 0],
    )
    assert cells.to_dict(orient="index") == {
        "g": {"people": 2, "people_with_outcome": 1, "people_flagged": 1},
        "h": {"people": 1, "people_with_outcome": 1, "people_flagged": 0},
    }
