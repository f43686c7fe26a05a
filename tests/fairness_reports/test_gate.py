"""The fairness gate on hand-made intervals: each criterion's four statuses, suppressed groups,
intersections left ungated, and the overall verdict (any fail fails; all pass passes)."""

from __future__ import annotations

import json
import math

import pandas as pd
import pytest

from vru_risk.fairness_reports.gate import (
    PRIMARY_STATEMENT,
    Criterion,
    FairnessGateConfig,
    evaluate_gate,
    status_of,
)

CONFIG = FairnessGateConfig()


@pytest.mark.parametrize(
    ("low", "high", "expected"),
    [
        (0.85, 0.95, "pass"),  # wholly inside [0.8, 1.25]
        (0.8, 1.25, "pass"),  # the band's own ends count as inside
        (0.5, 0.7, "fail"),  # wholly below
        (1.3, 1.6, "fail"),  # wholly above
        (0.6, 0.9, "inconclusive"),  # straddles the lower end
        (1.1, 1.4, "inconclusive"),  # straddles the upper end
        (0.5, 1.5, "inconclusive"),  # wider than the band
        (math.nan, 0.9, "not assessable"),
        (0.9, math.nan, "not assessable"),
    ],
)
def test_status_of(low: float, high: float, expected: str) -> None:
    assert status_of(low, high, 0.8, 1.25) == expected


def by_group(*rows: tuple[str, str, bool, bool, float]) -> pd.DataFrame:
    """(attribute, group, is_reference, suppressed, calibration_error) rows."""
    return pd.DataFrame(
        [
            {
                "attribute": a,
                "group": g,
                "is_reference": ref,
                "suppressed": sup,
                "suppression_reason": "people 12 < 50" if sup else None,
                "calibration_error": ce,
            }
            for a, g, ref, sup, ce in rows
        ]
    )


def intervals(*rows: tuple[str, str, str, float, float, float]) -> pd.DataFrame:
    """(attribute, group, metric, estimate, low, high) rows."""
    return pd.DataFrame(
        rows, columns=pd.Index(["attribute", "group", "metric", "estimate", "low", "high"])
    )


def good(attribute: str, group: str) -> list[tuple[str, str, str, float, float, float]]:
    return [
        (attribute, group, "tpr_ratio", 1.0, 0.9, 1.1),
        (attribute, group, "fnr_difference", 0.0, -0.05, 0.05),
        (attribute, group, "calibration_error", 0.03, 0.02, 0.04),
    ]


SEX = by_group(("sex", "female", True, False, 0.02), ("sex", "male", False, False, 0.03))


def statuses(criteria: tuple[Criterion, ...]) -> dict[str, str]:
    return {f"{c.group}:{c.metric}": c.status for c in criteria}


def test_a_pass() -> None:
    gate = evaluate_gate(intervals(*good("sex", "male")), SEX, CONFIG)
    assert gate.status == "pass"
    assert gate.passed
    assert statuses(gate.criteria) == {
        "male:tpr_ratio": "pass",
        "male:fnr_difference": "pass",
        "male:calibration_error": "pass",
    }
    recall = gate.criteria[0]
    assert (recall.reference, recall.band) == ("female", (0.8, 1.25))
    assert "inside the band" in recall.explanation


def test_a_fail_on_recall() -> None:
    table = intervals(
        ("sex", "male", "tpr_ratio", 0.6, 0.5, 0.7),
        ("sex", "male", "fnr_difference", 0.0, -0.05, 0.05),
    )
    gate = evaluate_gate(table, SEX, CONFIG)
    assert gate.status == "fail"
    assert not gate.passed
    assert statuses(gate.criteria)["male:tpr_ratio"] == "fail"
    assert "wholly outside" in gate.criteria[0].explanation


def test_a_fail_on_calibration_alone() -> None:
    frame = by_group(("sex", "female", True, False, 0.02), ("sex", "male", False, False, 0.09))
    table = intervals(
        *good("sex", "male")[:2], ("sex", "male", "calibration_error", 0.09, 0.07, 0.11)
    )
    gate = evaluate_gate(table, frame, CONFIG)
    assert gate.status == "fail"
    assert statuses(gate.criteria)["male:calibration_error"] == "fail"


@pytest.mark.parametrize(
    ("estimate", "low", "high", "expected"),
    [
        (0.04, 0.03, 0.07, "inconclusive"),  # the point is within 0.05, the interval is not
        (0.06, 0.04, 0.08, "inconclusive"),  # the point is above 0.05: no fail on it alone
        (0.02, 0.01, 0.05, "pass"),
    ],
)
def test_calibration_is_judged_on_its_interval_not_on_a_point(
    estimate: float, low: float, high: float, expected: str
) -> None:
    frame = by_group(("sex", "female", True, False, 0.02), ("sex", "male", False, False, estimate))
    table = intervals(
        *good("sex", "male")[:2], ("sex", "male", "calibration_error", estimate, low, high)
    )
    criterion = evaluate_gate(table, frame, CONFIG).criteria[2]
    assert (criterion.metric, criterion.status) == ("calibration_error", expected)
    assert (criterion.low, criterion.high) == (low, high)
    assert "95% interval" in criterion.explanation


def test_an_inconclusive_interval() -> None:
    table = intervals(
        ("sex", "male", "tpr_ratio", 0.85, 0.7, 1.0),
        ("sex", "male", "fnr_difference", 0.0, -0.05, 0.05),
    )
    gate = evaluate_gate(table, SEX, CONFIG)
    assert gate.status == "inconclusive"
    assert statuses(gate.criteria)["male:tpr_ratio"] == "inconclusive"
    assert "the panel decides" in gate.criteria[0].explanation


def test_any_fail_beats_inconclusive() -> None:
    table = intervals(
        ("sex", "male", "tpr_ratio", 0.85, 0.7, 1.0),  # inconclusive
        ("sex", "male", "fnr_difference", 0.2, 0.15, 0.25),  # fail
    )
    assert evaluate_gate(table, SEX, CONFIG).status == "fail"


def test_a_suppressed_group_is_not_assessable() -> None:
    frame = by_group(
        ("sex", "female", True, False, 0.02),
        ("sex", "male", False, False, 0.03),
        ("sex", "unknown", False, True, math.nan),
    )
    table = intervals(
        *good("sex", "male"),
        ("sex", "unknown", "tpr_ratio", math.nan, math.nan, math.nan),
        ("sex", "unknown", "fnr_difference", math.nan, math.nan, math.nan),
    )
    gate = evaluate_gate(table, frame, CONFIG)
    unknown = [c for c in gate.criteria if c.group == "unknown"]
    assert [c.status for c in unknown] == ["not assessable"] * 3
    assert all(c.estimate is None and c.low is None for c in unknown)
    assert "people 12 < 50" in unknown[0].explanation
    assert gate.status == "inconclusive"  # all the rest pass, but not everything could be judged


def test_a_missing_interval_or_nan_bound_is_not_assessable() -> None:
    table = intervals(("sex", "male", "fnr_difference", 0.0, math.nan, 0.05))
    gate = evaluate_gate(table, SEX, CONFIG)
    found = statuses(gate.criteria)
    assert found["male:tpr_ratio"] == "not assessable"  # no row at all
    assert found["male:fnr_difference"] == "not assessable"  # a NaN bound
    assert gate.status == "inconclusive"


def test_intersections_are_reported_not_gated() -> None:
    frame = pd.concat(
        [
            SEX,
            by_group(
                ("ethnicity*sex", "white*female", True, False, 0.02),
                ("ethnicity*sex", "black*male", False, False, 0.30),
            ),
        ],
        ignore_index=True,
    )
    table = intervals(
        *good("sex", "male"),
        ("ethnicity*sex", "black*male", "tpr_ratio", 0.3, 0.2, 0.4),
    )
    gate = evaluate_gate(table, frame, CONFIG)
    assert {c.attribute for c in gate.criteria} == {"sex"}
    assert gate.status == "pass"


def test_attributes_limit_the_gate() -> None:
    frame = pd.concat(
        [
            SEX,
            by_group(
                ("ethnicity", "white", True, False, 0.02),
                ("ethnicity", "black", False, False, 0.02),
            ),
        ],
        ignore_index=True,
    )
    table = intervals(*good("sex", "male"), ("ethnicity", "black", "tpr_ratio", 0.3, 0.2, 0.4))
    assert evaluate_gate(table, frame, CONFIG).status == "fail"
    gate = evaluate_gate(table, frame, CONFIG, attributes=("sex",))
    assert gate.status == "pass"


def test_nothing_to_compare_is_inconclusive() -> None:
    frame = by_group(("sex", "female", True, False, 0.02))
    gate = evaluate_gate(intervals(), frame, CONFIG)
    assert gate.criteria == ()
    assert gate.status == "inconclusive"


def test_configured_bands_are_used() -> None:
    table = intervals(
        ("sex", "male", "tpr_ratio", 0.75, 0.72, 0.78),
        ("sex", "male", "fnr_difference", 0.0, -0.05, 0.05),
        ("sex", "male", "calibration_error", 0.03, 0.02, 0.04),
    )
    assert evaluate_gate(table, SEX, CONFIG).status == "fail"
    loose = FairnessGateConfig(recall_ratio_low=0.7)
    assert evaluate_gate(table, SEX, loose).status == "pass"


def test_to_dict_is_json() -> None:
    frame = by_group(
        ("sex", "female", True, False, 0.02),
        ("sex", "male", False, False, 0.03),
        ("sex", "unknown", False, True, math.nan),
    )
    gate = evaluate_gate(intervals(*good("sex", "male")), frame, CONFIG)
    plain = json.loads(json.dumps(gate.to_dict(), allow_nan=False))
    assert plain["passed"] is False
    assert plain["status"] == "inconclusive"
    assert plain["primary"] == PRIMARY_STATEMENT
    assert len(plain["criteria"]) == 6
    first = plain["criteria"][0]
    assert first["band"] == [0.8, 1.25]
    assert {"attribute", "group", "reference", "metric", "estimate", "low", "high"} <= set(first)


def test_every_gap_says_its_direction_and_who_is_missed() -> None:
    sen = by_group(("sen", "none", True, False, 0.02), ("sen", "ehcp", False, False, 0.02))
    more = evaluate_gate(
        intervals(
            ("sen", "ehcp", "tpr_ratio", 1.99, 1.5, 2.6),
            ("sen", "ehcp", "fnr_difference", -0.3, -0.4, -0.2),
        ),
        sen,
        CONFIG,
    )
    ratio, difference = more.criteria[0], more.criteria[1]
    assert ratio.explanation.startswith(
        "young people with an EHC plan were reached MORE often than young people with no "
        "special educational needs (the reference group): fewer of them were missed "
        "(recall ratio to the reference group 1.99, 95% interval 1.50 to 2.60"
    )
    assert "missed LESS often" in difference.explanation
    assert "fewer of them were missed" in difference.explanation
    less = evaluate_gate(intervals(("sen", "ehcp", "tpr_ratio", 0.5, 0.4, 0.6)), sen, CONFIG)
    assert "reached LESS often" in less.criteria[0].explanation
    assert "more of them were missed" in less.criteria[0].explanation
    fpr = evaluate_gate(
        intervals(("sen", "ehcp", "fpr_ratio", 1.4, 1.3, 1.5)), sen, CONFIG, metric="fpr"
    )
    assert "flagged wrongly MORE often" in fpr.criteria[0].explanation
    assert "ehcp" not in " ".join(c.explanation for c in fpr.criteria)
