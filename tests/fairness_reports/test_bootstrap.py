"""Bootstrap intervals: point estimates equal the audit, people are resampled whole, the
operating point is re-applied per replicate, and 95% intervals cover a known TPR gap (the
confusion counts behind them: test_confusion.py; their speed: benchmarks/bootstrap.py)."""

from __future__ import annotations

from statistics import NormalDist
from typing import TypedDict

import numpy as np
import pandas as pd
import pytest

from benchmarks.common import audit_sample
from vru_risk.fairness_reports.audit import audit
from vru_risk.fairness_reports.bootstrap import BOOTSTRAP_METRICS, bootstrap_intervals
from vru_risk.fairness_reports.operating_points import OperatingPoint, ServiceLists, Threshold, TopK


class Thresholds(TypedDict):
    min_count: int
    min_positives: int
    min_flagged: int


NO_SUPPRESSION = Thresholds(min_count=0, min_positives=0, min_flagged=0)


@pytest.mark.parametrize("kind", ["threshold", "top_k", "service_lists"])
def test_point_estimates_equal_the_audit(kind: str) -> None:
    y, scores, sf, person = audit_sample(1200, seed=5)
    dates = pd.Timestamp("2024-01-01") + pd.to_timedelta(np.arange(1200) % 90, "D")
    operating_points: dict[str, OperatingPoint] = {
        "threshold": Threshold(0.5),
        "top_k": TopK(150),
        "service_lists": ServiceLists(40, 3, person, dates),
    }
    op = operating_points[kind]
    table = bootstrap_intervals(
        y,
        scores,
        sensitive_features=sf,
        operating_point=op,
        person_id=person,
        n_resamples=20,
        intersections=(("sex", "ethnicity"),),
        **NO_SUPPRESSION,
    )
    result = audit(
        y,
        scores,
        sensitive_features=sf,
        operating_point=op,
        intersections=(("sex", "ethnicity"),),
        **NO_SUPPRESSION,
    )
    by_group = result.by_group.set_index(["attribute", "group"])
    for metric in ("tpr", "fnr", "fpr", "ppv", "selection_rate", "tpr_ratio", "fnr_difference"):
        rows = table[table["metric"] == metric].set_index(["attribute", "group"])
        expected = by_group.loc[rows.index, metric]
        np.testing.assert_allclose(rows["estimate"], expected, rtol=1e-12, err_msg=metric)
    counts = table[table["metric"] == "tpr"].set_index(["attribute", "group"])
    assert counts["count"].tolist() == by_group.loc[counts.index, "count"].tolist()
    assert set(table["attribute"]) == {"sex", "ethnicity", "sex*ethnicity"}
    assert "unknown" in set(table["group"])


def test_table_shape_reference_rows_and_reproducibility() -> None:
    y, scores, sf, person = audit_sample(600, seed=8)
    options = {
        "sensitive_features": sf[["sex"]],
        "operating_point": Threshold(0.5),
        "person_id": person,
        "n_resamples": 50,
        "reference_groups": {"sex": "m"},
        **NO_SUPPRESSION,
    }
    table = bootstrap_intervals(y, scores, seed=1, **options)  # type: ignore[arg-type]
    again = bootstrap_intervals(y, scores, seed=1, **options)  # type: ignore[arg-type]
    other = bootstrap_intervals(y, scores, seed=2, **options)  # type: ignore[arg-type]
    pd.testing.assert_frame_equal(table, again)
    assert not np.allclose(table["low"], other["low"])
    reference = table[table["group"] == "m"]
    assert reference["is_reference"].all()
    assert set(reference["metric"]) == set(BOOTSTRAP_METRICS)  # no gap to itself
    f = table[table["group"] == "f"]
    assert len(f) == 3 * len(BOOTSTRAP_METRICS)
    assert ((f["low"] <= f["estimate"]) & (f["estimate"] <= f["high"])).all()
    assert list(table.columns) == [
        "attribute",
        "group",
        "is_reference",
        "metric",
        "estimate",
        "low",
        "high",
        "undefined_share",
        "suppressed",
        "count",
        "positives",
        "flagged",
        "reason",
    ]


def test_suppressed_groups_have_no_estimates() -> None:
    y, scores, sf, person = audit_sample(600, seed=9)
    table = bootstrap_intervals(
        y,
        scores,
        sensitive_features=sf[["sex"]],
        operating_point=Threshold(0.5),
        person_id=person,
        n_resamples=30,
    )  # default thresholds: the ~30 unknown rows fall under min_count=50
    unknown = table[table["group"] == "unknown"]
    assert unknown["suppressed"].all()
    assert unknown[["estimate", "low", "high"]].isna().all().all()
    assert (unknown["count"] > 0).all()
    assert not table.loc[table["group"] == "f", "suppressed"].any()


def test_a_person_drawn_twice_is_two_people_in_the_rebuilt_lists() -> None:
    # 100 people, two rows each in one month; lists of 10. Whatever the draw, every replicate
    # has 100 person-months and flags exactly 10: a person drawn twice is two people and their
    # rows stay together (resampling rows, or merging repeated draws, would vary the count).
    n_people = 100
    person = np.repeat([f"p{i}" for i in range(n_people)], 2)
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 2 * n_people)
    scores = rng.random(2 * n_people)
    op = ServiceLists(10, 0, person, ["2024-05-01", "2024-05-20"] * n_people)
    table = bootstrap_intervals(
        y,
        scores,
        sensitive_features=pd.DataFrame({"all": ["everyone"] * (2 * n_people)}),
        operating_point=op,
        n_resamples=100,
        **NO_SUPPRESSION,
    )
    rate = table[table["metric"] == "selection_rate"].iloc[0]
    assert (rate["estimate"], rate["low"], rate["high"]) == (0.1, 0.1, 0.1)
    assert rate["count"] == n_people


def test_top_k_is_recut_in_every_replicate() -> None:
    # one row per person, one group: TopK(30) re-cut flags 30 of 300 in every replicate, more
    # only when a person drawn twice ties with themself at the 30th score. Flags kept from the
    # full sample would put some replicates below 10%.
    rng = np.random.default_rng(2)
    table = bootstrap_intervals(
        rng.integers(0, 2, 300),
        rng.random(300),
        sensitive_features=pd.DataFrame({"all": ["x"] * 300}),
        operating_point=TopK(30),
        person_id=np.arange(300),
        n_resamples=50,
        **NO_SUPPRESSION,
    )
    rate = table[table["metric"] == "selection_rate"].iloc[0]
    assert rate["low"] == pytest.approx(0.1)
    assert 0.1 <= rate["high"] < 0.12


# ----------------------------------------------------------------------------------- coverage

GROUP_MEAN = {"a": 0.0, "b": 0.3}  # score shift of each group
SIGNAL, CUT = 1.0, 1.2  # positives score SIGNAL higher; Threshold(CUT)


def true_tpr(group: str) -> float:
    # score | positive ~ Normal(GROUP_MEAN + SIGNAL, 1): person effect (sd .6) + row noise (sd .8)
    return 1.0 - NormalDist().cdf(CUT - GROUP_MEAN[group] - SIGNAL)


def world(seed: int) -> tuple[np.ndarray, np.ndarray, pd.DataFrame, np.ndarray]:
    """400 people per group, 1–3 rows each; labels and scores correlated within a person."""
    rng = np.random.default_rng(seed)
    group = np.repeat(["a", "b"], 400)
    rows = rng.integers(1, 4, 800)
    propensity = rng.beta(1.5, 3.5, 800)  # each person's own outcome rate, mean 0.3
    effect = rng.normal(0.0, 0.6, 800)  # each person's own score shift
    person = np.repeat(np.arange(800), rows)
    y = (rng.random(len(person)) < propensity[person]).astype(int)
    shift = np.array([GROUP_MEAN[g] for g in group])[person]
    scores = shift + SIGNAL * y + effect[person] + rng.normal(0.0, 0.8, len(person))
    return y, scores, pd.DataFrame({"group": group[person]}), person


def test_95_percent_intervals_cover_the_true_tpr_difference() -> None:
    truth = true_tpr("b") - true_tpr("a")
    assert truth == pytest.approx(0.119, abs=1e-3)
    covered = []
    for seed in range(200):
        y, scores, sf, person = world(seed)
        table = bootstrap_intervals(
            y,
            scores,
            sensitive_features=sf,
            operating_point=Threshold(CUT),
            person_id=person,
            reference_groups={"group": "a"},
            n_resamples=300,
            seed=seed,
        )
        gap = table[table["metric"] == "tpr_difference"].iloc[0]
        covered.append(gap["low"] <= truth <= gap["high"])
    coverage = float(np.mean(covered))
    assert 0.90 <= coverage <= 0.99, coverage


# ---------------------------------------------------------------------------------- bad input


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"person_id": None}, "person_id is required"),
        ({"person_id": ["p"] * 5}, "person_id has 5 rows but y_true has 6"),
        ({"person_id": ["p", None, "q", "q", "r", "r"]}, "person_id has missing values"),
        ({"n_resamples": 0}, "n_resamples must be a positive integer"),
        ({"confidence": 95}, r"confidence must be in \(0, 1\)"),
        ({"operating_point": "threshold"}, "unknown operating point"),
        (
            {"operating_point": ServiceLists(1, 0, list("abcdef"), ["2024-01-01"] * 6)},
            "person_id differs from ServiceLists.person_id",
        ),
    ],
)
def test_bad_input(kwargs: dict[str, object], message: str) -> None:
    options: dict[str, object] = {
        "sensitive_features": pd.DataFrame({"sex": list("ffmmff")}),
        "operating_point": Threshold(0.5),
        "person_id": list("pqrstu"),
        "n_resamples": 10,
    }
    options.update(kwargs)
    with pytest.raises(ValueError, match=message):
        bootstrap_intervals([0, 1, 0, 1, 0, 1], [0.1, 0.9, 0.2, 0.8, 0.3, 0.7], **options)  # type: ignore[arg-type]
