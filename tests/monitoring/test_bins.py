"""Fixed bins: chosen once from the reference, the same text every time, missing kept apart."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from tests.factories import frame_for
from vru_risk.features.catalog import FeatureSpec
from vru_risk.monitoring.bins import (
    COUNT_LABELS,
    Binning,
    Histogram,
    bin_features,
    decide_bins,
    quantile_edges,
)
from vru_risk.monitoring.drift import psi


def test_mostly_zero_counts_get_fixed_integer_bins() -> None:
    values = np.array([0] * 60 + [1] * 20 + [2] * 10 + [3, 4] * 4 + [5, 9] + [np.nan] * 7)
    bins = decide_bins("pol_suspect_365d", "police_contacts", values)
    assert bins.kind == "count"
    assert bins.labels == COUNT_LABELS
    h = bins.histogram(values)
    assert h.counts == (60, 20, 10, 8, 2)
    assert h.missing == 7


def test_counts_with_few_zeros_and_fractions_get_quantile_bins() -> None:
    assert decide_bins("x", "s", np.arange(100.0)).kind == "quantile"  # whole, 1% zeros
    assert decide_bins("y", "s", np.array([0.0, 0.0, 0.0, 0.5])).kind == "quantile"


def test_quantile_bins_are_right_closed_and_catch_values_outside_the_reference() -> None:
    bins = decide_bins("rate", "attendance", np.linspace(0, 1, 101), n_bins=4)
    assert bins.edges == (0.245, 0.495, 0.745)  # between reference values, never on one
    assert bins.index([-5.0, 0.245, 0.25, 1.0, 7.0, np.nan]).tolist() == [0, 0, 1, 3, 3, -1]


def _year(sessions: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Sessions on roll in a year and the late rate over 90 days of 3,000 young people, in a
    year whose calendar has ``sessions`` school sessions (and ~sessions / 4 in 90 days)."""
    n = rng.choice([sessions] * 8 + [int(sessions * 0.6), int(sessions * 0.3)], 3000)
    in_90 = sessions // 4
    late = rng.binomial(in_90, rng.beta(0.7, 40, 3000)) / in_90
    return n.astype("float64"), late


@pytest.mark.parametrize(
    ("feature", "sessions", "later_sessions"),
    [("sessions on roll", 380, 398), ("late rate", 398, 380)],
)
def test_a_calendar_with_a_few_more_or_fewer_school_days_does_not_drift(
    feature: str, sessions: int, later_sessions: int
) -> None:
    # alike young people in two years whose calendars differ by 18 sessions
    rng = np.random.default_rng(5)
    this_year, next_year = _year(sessions, rng), _year(later_sessions, rng)
    pick = 0 if feature == "sessions on roll" else 1
    reference, later = this_year[pick], next_year[pick]
    bins = decide_bins("x", "attendance", reference)
    assert bins.kind == "quantile" and bins.edges
    assert psi(bins.histogram(reference).counts, bins.histogram(later).counts) < 0.1
    plain = quantile_edges(reference, 10)  # a quantile of such values is one of them
    before = np.bincount(np.searchsorted(plain, reference), minlength=len(plain) + 1)
    after = np.bincount(np.searchsorted(plain, later), minlength=len(plain) + 1)
    assert psi(before, after) > 0.5


def test_a_real_shift_still_moves_young_people_across_calendar_safe_edges() -> None:
    rng = np.random.default_rng(6)
    _, late = _year(380, rng)
    bins = decide_bins("att_late_rate_90d", "attendance", late)
    halved = np.floor(late * 95 / 2) / 95  # half the late sessions recorded
    assert psi(bins.histogram(late).counts, bins.histogram(halved).counts) > 0.25


def test_a_mass_point_merges_edges_instead_of_making_empty_bins() -> None:
    values = np.r_[np.full(80, 1.0), np.linspace(0.5, 0.99, 20)]
    bins = decide_bins("att_rate_90d", "attendance", values, n_bins=10)
    assert len(bins.edges) == len(set(bins.edges)) < 9
    assert len(bins.labels) == len(bins.edges) + 1


def test_all_missing_feature_has_one_bin_and_only_a_missing_share() -> None:
    bins = decide_bins("ae_count_365d", "ae_visits", np.full(5, np.nan))
    h = bins.histogram(np.full(5, np.nan))
    assert bins.labels == ("all",)
    assert h.counts == (0,)
    assert h.missing_share == 1.0


def test_missing_share_is_of_all_rows_and_shares_of_the_known_ones() -> None:
    h = Histogram(counts=(1, 3), missing=4)
    assert h.rows == 8
    assert h.missing_share == 0.5
    assert h.shares == (0.25, 0.75)


def test_binning_is_deterministic_and_round_trips_through_json(spec: FeatureSpec) -> None:
    x, _ = frame_for(spec, 500, 3)
    a = bin_features(x, spec)
    b = bin_features(x.sample(frac=1.0, random_state=1), spec)  # row order does not matter
    assert a.to_json() == b.to_json()
    back = Binning.from_json(a.to_json())
    assert back == a
    assert back.to_json() == a.to_json()
    assert [f.feature for f in a.features] == list(spec.names)
    assert a.histograms(x) == back.histograms(x)


def test_binning_a_frame_without_a_feature_says_which(spec: FeatureSpec) -> None:
    x, _ = frame_for(spec, 50, 3)
    with pytest.raises(ValueError, match="att_rate_30d"):
        bin_features(x.drop(columns=["att_rate_30d"]), spec)
    binning = bin_features(x, spec)
    with pytest.raises(ValueError, match="same feature spec"):
        binning.histograms(pd.DataFrame({"att_rate_30d": [1.0]}))
