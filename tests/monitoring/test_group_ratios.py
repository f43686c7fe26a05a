"""Group rates with person-level bootstrap ratios: small cells withheld by distinct people,
shown cells described by a band of people (never a count), intervals that cover the estimate."""

from __future__ import annotations

import numpy as np
import pytest

from vru_risk.monitoring.group_ratios import people_band, ratio_intervals


def _county() -> tuple[list[str], list[str], np.ndarray]:
    # "a": 60 people x 3 moments, offered a half; "b": 40 people x 3, offered a quarter;
    # "c": one young person with 30 moments (one person: withheld however many moments)
    rng = np.random.default_rng(1)
    labels = ["a"] * 180 + ["b"] * 120 + ["c"] * 30
    person = [f"a{i // 3}" for i in range(180)] + [f"b{i // 3}" for i in range(120)] + ["c0"] * 30
    offered = np.concatenate([rng.random(180) < 0.5, rng.random(120) < 0.25, np.ones(30, bool)])
    return labels, person, offered


def test_ratios_have_intervals_and_small_cells_are_withheld_with_the_next_smallest() -> None:
    labels, person, offered = _county()
    rows = {
        r.group: r
        for r in ratio_intervals(
            labels,
            person,
            offered,
            np.ones(len(labels), bool),
            reference="a",
            min_people=10,
            replicates=200,
            seed=3,
        )
    }
    assert rows["c"].suppressed and rows["c"].rate is None and rows["c"].people is None
    # one withheld cell would follow from the others: the next smallest is withheld too
    assert rows["b"].suppressed and not rows["a"].suppressed
    assert rows["a"].ratio == 1.0 and rows["a"].people == "50 to 199"


def test_a_group_missed_more_often_has_an_interval_below_one() -> None:
    labels, person, offered = _county()
    labels = [x if x != "c" else "b" for x in labels]  # "b" now holds 41 people
    positive = np.ones(len(labels), bool)
    positive[::7] = False  # a numerator row outside the denominator is not counted
    rows = {
        r.group: r
        for r in ratio_intervals(
            labels, person, offered, positive, reference="a", min_people=10, replicates=200, seed=3
        )
    }
    b = rows["b"]
    assert b.ratio is not None and b.ratio_low is not None and b.ratio_high is not None
    assert b.ratio_low <= b.ratio <= b.ratio_high and b.people == "10 to 49"
    assert b.difference is not None and b.difference_low is not None
    assert b.difference_low <= b.difference <= (b.difference_high or 0)
    assert rows["a"].ratio_low == rows["a"].ratio_high == 1.0


def test_no_ratio_when_the_reference_is_withheld_and_bad_confidence_is_refused() -> None:
    rows = ratio_intervals(
        ["a"] * 3 + ["b"] * 30,
        ["p"] * 3 + [f"q{i}" for i in range(30)],
        np.ones(33, bool),
        np.ones(33, bool),
        reference="a",
        min_people=5,
        replicates=50,
        seed=0,
    )
    assert all(r.ratio is None for r in rows)
    with pytest.raises(ValueError, match="confidence"):
        ratio_intervals(
            ["a"],
            ["p"],
            [True],
            [True],
            reference="a",
            min_people=1,
            replicates=50,
            seed=0,
            confidence=1.0,
        )
    assert people_band(10, 10) == "10 to 49"
