"""The audit on hand-computed cases: every metric, ties, unknown groups, suppression,
intersections, reference comparisons, composition, the service's monthly lists, bad input."""

from __future__ import annotations

import json
import math
from typing import TypedDict

import numpy as np
import pandas as pd
import pytest

from vru_risk.fairness_reports.audit import AuditResult, audit
from vru_risk.fairness_reports.operating_points import ServiceLists, Threshold, TopFraction, TopK
from vru_risk.models.service_lists import expected_calibration_error


class Thresholds(TypedDict):
    min_count: int
    min_positives: int
    min_flagged: int


NO_SUPPRESSION = Thresholds(min_count=0, min_positives=0, min_flagged=0)

# Ten rows. Threshold 0.6 flags rows 0, 1, 2, 5, 6 (rows 2 and 6 sit exactly on it).
#   row     0    1    2    3    4    5    6    7    8     9
Y = [1, 0, 1, 0, 1, 1, 0, 0, 1, 0]
SCORES = [0.9, 0.8, 0.6, 0.3, 0.2, 0.7, 0.6, 0.1, 0.4, 0.5]
SEX = ["f", "f", "f", "f", "f", "m", "m", "m", None, "m"]
ETH = ["a", "b", "a", "b", "a", "b", "a", "b", "a", "a"]


def ten_rows(**kwargs: object) -> AuditResult:
    options: dict[str, object] = {"operating_point": Threshold(0.6), **NO_SUPPRESSION}
    options.update(kwargs)
    return audit(
        Y,
        SCORES,
        sensitive_features=pd.DataFrame({"sex": SEX, "eth": ETH}),
        **options,  # type: ignore[arg-type]
    )


def row(result: AuditResult, attribute: str, group: str) -> pd.Series:
    frame = result.by_group
    match = frame[(frame["attribute"] == attribute) & (frame["group"] == group)]
    assert len(match) == 1, f"{attribute}={group} not in {frame[['attribute', 'group']]}"
    return match.iloc[0]


def test_every_metric_by_hand_at_a_threshold() -> None:
    result = ten_rows(calibration_bins=2)
    # f: rows 0-4. tp = {0, 2}, fp = {1}, fn = {4}, tn = {3}
    f = row(result, "sex", "f")
    assert (f["count"], f["positives"], f["flagged"]) == (5, 3, 3)
    assert f["base_rate"] == pytest.approx(3 / 5)
    assert f["selection_rate"] == pytest.approx(3 / 5)
    assert f["tpr"] == pytest.approx(2 / 3)
    assert f["fnr"] == pytest.approx(1 / 3)
    assert f["fpr"] == pytest.approx(1 / 2)
    assert f["ppv"] == pytest.approx(2 / 3)
    assert f["false_omission_rate"] == pytest.approx(1 / 2)
    # positives .9 .6 .2 against negatives .8 .3: 3 of 6 pairs ordered correctly
    assert f["auc"] == pytest.approx(3 / 6)
    # bins [0, .5) and [.5, 1]: {.9:1, .8:0, .6:1} gap |2/3 - .7667| = .1; {.3:0, .2:1} gap .25
    assert f["calibration_error"] == pytest.approx((3 * 0.1 + 2 * 0.25) / 5)

    # m: rows 5, 6, 7, 9. tp = {5}, fp = {6}, tn = {7, 9}
    m = row(result, "sex", "m")
    assert (m["count"], m["positives"], m["flagged"]) == (4, 1, 2)
    assert m["base_rate"] == pytest.approx(1 / 4)
    assert m["selection_rate"] == pytest.approx(2 / 4)
    assert m["tpr"] == pytest.approx(1.0)
    assert m["fnr"] == pytest.approx(0.0)
    assert m["fpr"] == pytest.approx(1 / 3)
    assert m["ppv"] == pytest.approx(1 / 2)
    assert m["false_omission_rate"] == pytest.approx(0.0)
    assert m["auc"] == pytest.approx(1.0)
    # {.7:1, .6:0, .5:0} gap |1/3 - .6|; {.1:0} gap .1
    assert m["calibration_error"] == pytest.approx((3 * (0.6 - 1 / 3) + 0.1) / 4)

    overall = result.overall
    assert (overall["count"], overall["positives"], overall["flagged"]) == (10, 5, 5)
    assert overall["tpr"] == pytest.approx(3 / 5)
    assert overall["fpr"] == pytest.approx(2 / 5)
    assert overall["ppv"] == pytest.approx(3 / 5)
    assert overall["false_omission_rate"] == pytest.approx(2 / 5)
    assert overall["selection_rate"] == pytest.approx(1 / 2)
    assert result.population == "rows"


def test_a_missing_value_is_an_explicit_unknown_group_with_undefined_rates_as_nan() -> None:
    result = ten_rows()
    unknown = row(result, "sex", "unknown")  # row 8: a positive, not flagged
    assert (unknown["count"], unknown["positives"], unknown["flagged"]) == (1, 1, 0)
    assert unknown["tpr"] == 0.0
    assert unknown["fnr"] == 1.0
    assert unknown["false_omission_rate"] == 1.0
    # no negatives, nothing flagged, one class: undefined, never a misleading 0
    assert math.isnan(unknown["fpr"])
    assert math.isnan(unknown["ppv"])
    assert math.isnan(unknown["auc"])
    assert list(result.by_group.loc[result.by_group["attribute"] == "sex", "group"]) == [
        "f",
        "m",
        "unknown",
    ]
    assert result.by_group["count"].groupby(result.by_group["attribute"]).sum().tolist() == [
        10,
        10,
    ]


@pytest.mark.parametrize("missing", [None, np.nan, pd.NA])
def test_every_kind_of_missing_value_becomes_unknown(missing: object) -> None:
    result = audit(
        [1, 0, 1],
        [0.9, 0.1, 0.5],
        sensitive_features=pd.DataFrame({"fsm": pd.Series([True, missing, False], dtype=object)}),
        operating_point=Threshold(0.5),
        **NO_SUPPRESSION,
    )
    assert list(result.by_group["group"]) == ["false", "true", "unknown"]


def test_score_equal_to_the_threshold_is_flagged_and_lower_is_riskier_flips_it() -> None:
    result = audit(
        [1, 0, 0],
        [0.5, 0.5, 0.4],
        sensitive_features=pd.DataFrame({"sex": ["f", "f", "f"]}),
        operating_point=Threshold(0.5),
        **NO_SUPPRESSION,
    )
    assert result.selection.flagged.tolist() == [True, True, False]
    lower = audit(
        [0, 0, 1],
        [0.5, 0.5, 0.4],
        sensitive_features=pd.DataFrame({"sex": ["f", "f", "f"]}),
        operating_point=Threshold(0.4, lower_is_riskier=True),
        **NO_SUPPRESSION,
    )
    assert lower.selection.flagged.tolist() == [False, False, True]
    # the AUC is oriented so that higher means riskier: the lowest score is the positive
    assert row(lower, "sex", "f")["auc"] == pytest.approx(1.0)
    # scores that are not probabilities of the outcome: no calibration error
    assert math.isnan(row(lower, "sex", "f")["calibration_error"])


def test_top_k_flags_everyone_tied_with_the_kth_score_and_reports_the_count() -> None:
    result = audit(
        [1, 0, 1, 0, 1],
        [0.9, 0.8, 0.8, 0.8, 0.1],
        sensitive_features=pd.DataFrame({"sex": ["f", "m", "f", "m", "f"]}),
        operating_point=TopK(2),
        **NO_SUPPRESSION,
    )
    assert result.selection.n_flagged == 4
    assert result.overall["flagged"] == 4
    assert result.selection.flagged.tolist() == [True, True, True, True, False]
    assert row(result, "sex", "m")["flagged"] == 2


@pytest.mark.parametrize(("fraction", "expected"), [(0.0, 0), (0.3, 3), (0.25, 3), (1.0, 10)])
def test_top_fraction_is_top_k_with_k_the_ceiling_of_fraction_times_n(
    fraction: float, expected: int
) -> None:
    result = audit(
        [0, 1] * 5,
        np.arange(10) / 10,
        sensitive_features=pd.DataFrame({"sex": ["f"] * 10}),
        operating_point=TopFraction(fraction),
        **NO_SUPPRESSION,
    )
    assert result.selection.n_flagged == expected


def test_a_small_group_is_suppressed_with_counts_shown_and_rates_null() -> None:
    result = ten_rows(min_count=3, min_flagged=1)
    unknown = row(result, "sex", "unknown")
    assert unknown["suppressed"]
    assert unknown["suppression_reason"] == "people 1 < 3; people flagged 0 < 1"
    assert (unknown["count"], unknown["positives"], unknown["flagged"]) == (1, 1, 0)
    assert unknown[["tpr", "fnr", "fpr", "ppv", "base_rate", "auc"]].isna().all()
    assert math.isnan(unknown["tpr_difference"])
    assert not row(result, "sex", "f")["suppressed"]
    assert row(result, "sex", "f")["suppression_reason"] is None

    record = next(r for r in result.to_records() if r["group"] == "unknown")
    assert record["count"] == 1
    assert record["suppressed"] is True
    assert record["tpr"] is None
    assert record["tpr_difference"] is None
    # summaries skip suppressed groups: only m is compared with f
    assert result.difference("tpr")["sex"] == pytest.approx(1 - 2 / 3)


def test_default_thresholds_suppress_a_ten_row_audit() -> None:
    result = audit(
        Y,
        SCORES,
        sensitive_features=pd.DataFrame({"sex": SEX}),
        operating_point=Threshold(0.6),
    )
    assert result.by_group["suppressed"].all()
    assert result.by_group["tpr"].isna().all()
    assert result.overall["tpr"] == pytest.approx(3 / 5)  # the overall row is never suppressed


def test_differences_and_ratios_against_the_reference_group() -> None:
    result = ten_rows()
    assert result.reference == {"sex": "f", "eth": "a"}  # the largest known groups
    f, m, unknown = (row(result, "sex", g) for g in ("f", "m", "unknown"))
    assert f["is_reference"]
    assert (f["tpr_difference"], f["tpr_ratio"]) == (0.0, 1.0)
    assert m["tpr_difference"] == pytest.approx(1 - 2 / 3)
    assert m["tpr_ratio"] == pytest.approx(1.5)
    assert m["fpr_difference"] == pytest.approx(1 / 3 - 1 / 2)
    assert m["fpr_ratio"] == pytest.approx(2 / 3)
    assert m["ppv_ratio"] == pytest.approx(0.5 / (2 / 3))
    assert unknown["tpr_difference"] == pytest.approx(-2 / 3)
    assert unknown["tpr_ratio"] == 0.0

    assert result.difference("tpr")["sex"] == pytest.approx(2 / 3)  # max |group - reference|
    assert result.difference("tpr", method="between_groups")["sex"] == pytest.approx(1.0)
    assert result.ratio("tpr")["sex"] == 0.0  # min(ratio, 1/ratio); a zero TPR is the worst
    assert result.ratio("fpr")["sex"] == pytest.approx(2 / 3)
    assert result.ratio("fpr", method="between_groups")["sex"] == pytest.approx((1 / 3) / (1 / 2))
    assert list(result.difference("tpr").index) == ["sex", "eth"]

    chosen = ten_rows(reference_groups={"sex": "m"})
    assert chosen.reference["sex"] == "m"
    assert row(chosen, "sex", "f")["tpr_difference"] == pytest.approx(2 / 3 - 1)
    assert row(chosen, "sex", "f")["tpr_ratio"] == pytest.approx(2 / 3)


def test_ratio_is_nan_when_the_reference_rate_is_zero() -> None:
    result = audit(
        [1, 1, 1, 1],
        [0.1, 0.1, 0.9, 0.1],
        sensitive_features=pd.DataFrame({"sex": ["f", "f", "m", "m"]}),
        operating_point=Threshold(0.5),
        reference_groups={"sex": "f"},
        **NO_SUPPRESSION,
    )
    m = row(result, "sex", "m")
    assert m["tpr_difference"] == pytest.approx(0.5)
    assert math.isnan(m["tpr_ratio"])


def test_intersections_are_attributes_named_a_star_b() -> None:
    result = ten_rows(intersections=(("sex", "eth"),))
    groups = result.by_group.loc[result.by_group["attribute"] == "sex*eth", "group"]
    assert list(groups) == ["f*a", "f*b", "m*a", "m*b", "unknown*a"]
    fa = row(result, "sex*eth", "f*a")  # rows 0, 2, 4: all positives, 0 and 2 flagged
    assert (fa["count"], fa["positives"], fa["flagged"]) == (3, 3, 2)
    assert fa["tpr"] == pytest.approx(2 / 3)
    assert math.isnan(fa["fpr"])
    mb = row(result, "sex*eth", "m*b")  # rows 5 (tp), 7 (tn)
    assert (mb["tpr"], mb["fpr"]) == (1.0, 0.0)
    assert result.reference["sex*eth"] == "f*a"
    assert mb["tpr_difference"] == pytest.approx(1 - 2 / 3)


def test_composition_compares_shares_of_the_flagged_with_shares_of_the_outcome() -> None:
    result = ten_rows(min_count=3)  # shares are counts, shown even for suppressed groups
    f, m, unknown = (row(result, "sex", g) for g in ("f", "m", "unknown"))
    assert (f["flagged_share"], f["outcome_share"]) == (pytest.approx(3 / 5), pytest.approx(3 / 5))
    assert (m["flagged_share"], m["outcome_share"]) == (pytest.approx(2 / 5), pytest.approx(1 / 5))
    assert unknown["flagged_share"] == 0.0
    assert unknown["outcome_share"] == pytest.approx(1 / 5)
    assert m["composition_ratio"] == pytest.approx(2.0)
    assert unknown["composition_ratio"] == 0.0
    assert result.by_group.groupby("attribute")["flagged_share"].sum().tolist() == [1.0, 1.0]


def test_service_lists_audit_one_row_per_person_per_month() -> None:
    frame = pd.DataFrame(
        [
            # person, as_of,      score, label
            ("a", "2024-01-03", 0.9, 0),
            ("a", "2024-01-20", 0.5, 1),  # a's second January row: not the one the list saw
            ("b", "2024-01-05", 0.7, 1),
            ("c", "2024-01-09", 0.6, 0),
            ("c", "2024-02-02", 0.8, 1),
            ("d", "2024-02-10", 0.3, 1),
            ("a", "2024-02-11", 0.2, 0),
        ],
        columns=["person_id", "as_of", "score", "label"],
    ).assign(as_of=lambda f: pd.to_datetime(f["as_of"]))
    op = ServiceLists(capacity=1, seed=0, person_id=frame["person_id"], as_of=frame["as_of"])
    result = audit(
        frame["label"],
        frame["score"],
        sensitive_features=pd.DataFrame({"sex": ["f", "f", "m", "f", "f", "m", "f"]}),
        operating_point=op,
        **NO_SUPPRESSION,
    )
    # January: a (.9), b (.7), c (.6) -> a flagged; February: c (.8), d (.3), a (.2) -> c flagged
    assert result.selection.rows.tolist() == [0, 2, 3, 4, 5, 6]
    assert result.selection.flagged.tolist() == [True, False, False, True, False, False]
    assert result.population == "person-months"
    overall = result.overall
    assert (overall["count"], overall["positives"], overall["flagged"]) == (6, 3, 2)
    assert overall["tpr"] == pytest.approx(1 / 3)  # c in February; b and d missed
    assert overall["ppv"] == pytest.approx(1 / 2)
    f = row(result, "sex", "f")  # a-Jan (fp), c-Jan (tn), c-Feb (tp), a-Feb (tn)
    assert (f["count"], f["positives"], f["flagged"]) == (4, 1, 2)
    assert f["tpr"] == 1.0
    assert f["fpr"] == pytest.approx(1 / 3)
    assert row(result, "sex", "m")["tpr"] == 0.0
    assert result.to_dict()["operating_point"] == {
        "kind": "service_lists",
        "capacity": 1,
        "seed": 0,
    }


def test_calibration_error_uses_given_probabilities() -> None:
    rng = np.random.default_rng(4)
    y, p = rng.integers(0, 2, 500), rng.random(500)
    result = audit(
        y,
        p * 10,  # scores outside [0, 1]: only the explicit probabilities give a calibration error
        sensitive_features=pd.DataFrame({"sex": ["f"] * 500}),
        operating_point=TopK(50),
        probability=p,
        **NO_SUPPRESSION,
    )
    assert result.overall["calibration_error"] == pytest.approx(
        expected_calibration_error(y, p, 10)
    )
    no_probability = audit(
        y,
        p * 10,
        sensitive_features=pd.DataFrame({"sex": ["f"] * 500}),
        operating_point=TopK(50),
        **NO_SUPPRESSION,
    )
    assert math.isnan(no_probability.overall["calibration_error"])


def test_the_sensitive_features_index_is_ignored_rows_align_by_position() -> None:
    shuffled = pd.DataFrame({"sex": SEX, "eth": ETH}, index=[9, 3, 5, 1, 0, 2, 8, 7, 4, 6])
    result = audit(
        Y,
        SCORES,
        sensitive_features=shuffled,
        operating_point=Threshold(0.6),
        **NO_SUPPRESSION,
    )
    pd.testing.assert_frame_equal(result.by_group, ten_rows().by_group)


def test_report_is_plain_json() -> None:
    result = ten_rows(min_count=3, intersections=(("sex", "eth"),))
    report = json.loads(json.dumps(result.to_dict(), allow_nan=False))
    assert report["population"] == "rows"
    assert report["overall"]["count"] == 10
    assert report["reference"]["sex*eth"] == "f*a"
    assert report["thresholds"] == {"min_count": 3, "min_positives": 0, "min_flagged": 0}
    assert len(report["groups"]) == len(result.by_group)
    assert report["operating_point"] == {
        "kind": "threshold",
        "value": 0.6,
        "lower_is_riskier": False,
    }


# ------------------------------------------------------------------------------- bad input


def bad(**kwargs: object) -> None:
    options: dict[str, object] = {
        "y_true": Y,
        "scores": SCORES,
        "sensitive_features": pd.DataFrame({"sex": SEX}),
        "operating_point": Threshold(0.6),
    }
    options.update(kwargs)
    y_true, scores = options.pop("y_true"), options.pop("scores")
    audit(y_true, scores, **options)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"scores": SCORES[:9]}, r"scores has 9 rows but y_true has 10"),
        ({"sensitive_features": pd.DataFrame({"sex": SEX[:8]})}, "sensitive_features has 8 rows"),
        ({"probability": [0.5] * 11}, "probability has 11 rows"),
        ({"y_true": [0, 1, 2, 0, 1, 0, 1, 0, 1, 0]}, r"binary .* found \['2'\]"),
        ({"y_true": [0, 1, None, 0, 1, 0, 1, 0, 1, 0]}, "missing labels in 1 rows .* 2"),
        ({"y_true": ["yes"] * 10}, "must be binary"),
        ({"scores": [math.nan, *SCORES[1:]]}, "scores has NaN or infinite values"),
        ({"scores": ["high"] * 10}, "scores must be numeric"),
        ({"probability": [1.5] * 10}, r"probability must be in \[0, 1\]"),
        ({"operating_point": "top 10"}, "unknown operating point 'top 10'"),
        ({"operating_point": None}, "unknown operating point"),
        ({"sensitive_features": SEX}, "must be a pandas DataFrame"),
        ({"sensitive_features": pd.DataFrame(index=range(10))}, "no columns"),
        ({"sensitive_features": pd.DataFrame({"a*b": SEX})}, "without"),
        ({"intersections": (("sex", "eth"),)}, r"names \['eth'\]"),
        ({"intersections": ("sex",)}, "tuple of two or more"),
        ({"reference_groups": {"sex": "x"}}, r"'x' of 'sex' is not among its groups"),
        ({"reference_groups": {"age": "x"}}, r"names \['age'\]"),
        ({"min_count": -1}, "min_count must be a non-negative integer"),
        ({"calibration_bins": 0}, "calibration_bins must be a positive integer"),
        (
            {"operating_point": ServiceLists(1, 0, ["a"] * 9, ["2024-01-01"] * 10)},
            "ServiceLists.person_id has 9 rows",
        ),
        (
            {"operating_point": ServiceLists(1, 0, ["a"] * 10, pd.Series([None] * 10))},
            "as_of has 10 missing dates",
        ),
    ],
)
def test_bad_input_is_a_value_error_saying_what_to_do(
    kwargs: dict[str, object], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        bad(**kwargs)


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: TopK(-1), "TopK.k must be a non-negative integer"),
        (lambda: TopK(2.5), "TopK.k must be a non-negative integer"),  # type: ignore[arg-type]
        (lambda: TopFraction(1.5), r"fraction must be in \[0, 1\]"),
        (lambda: Threshold(math.nan), "Threshold.value must be a number"),
        (lambda: ServiceLists(-5, 0, [], []), "capacity must be a non-negative integer"),
    ],
)
def test_operating_points_check_their_parameters(make: object, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        make()  # type: ignore[operator]


def test_unknown_metric_in_a_summary() -> None:
    with pytest.raises(ValueError, match="unknown metric 'recall'"):
        ten_rows().difference("recall")
