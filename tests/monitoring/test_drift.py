"""PSI and Jensen-Shannon against hand-computed values; one broken source reads as one problem."""

from __future__ import annotations

import math

import numpy as np
import pytest

from vru_risk.monitoring.bins import Binning, FeatureBins, Histogram
from vru_risk.monitoring.criteria import DriftThresholds, MonitoringCriteria
from vru_risk.monitoring.drift import (
    EPSILON,
    feature_drift,
    input_drift,
    js_distance,
    psi,
    source_summaries,
)


def test_identical_distributions_are_zero() -> None:
    assert psi([10, 20, 30], [1, 2, 3]) == pytest.approx(0.0, abs=1e-15)
    assert js_distance([10, 20, 30], [1, 2, 3]) == pytest.approx(0.0, abs=1e-7)


def test_two_bin_case_by_hand() -> None:
    # p = (1/2, 1/2), q = (1/4, 3/4)
    assert psi([2, 2], [1, 3]) == pytest.approx(0.25 * math.log(2) + 0.25 * math.log(1.5))
    m = (0.375, 0.625)
    kl_p = 0.5 * math.log2(0.5 / m[0]) + 0.5 * math.log2(0.5 / m[1])
    kl_q = 0.25 * math.log2(0.25 / m[0]) + 0.75 * math.log2(0.75 / m[1])
    assert js_distance([2, 2], [1, 3]) == pytest.approx(math.sqrt((kl_p + kl_q) / 2))


def test_disjoint_distributions() -> None:
    assert js_distance([1, 0], [0, 1]) == pytest.approx(1.0)
    # empty bins floored at epsilon then renormalised: finite, and known
    p = np.array([1.0, EPSILON]) / (1 + EPSILON)
    q = p[::-1]
    assert psi([1, 0], [0, 1]) == pytest.approx(float(np.sum((q - p) * np.log(q / p))))


def test_bad_inputs_say_what_is_wrong() -> None:
    with pytest.raises(ValueError, match="2 and 3 bins"):
        psi([1, 1], [1, 1, 1])
    with pytest.raises(ValueError, match="not all be zero"):
        js_distance([0, 0], [1, 1])


THRESHOLDS = DriftThresholds(psi=0.25, js=0.15, missing_share_change=0.1, min_rows=100)


def test_feature_drift_judges_shift_and_missing_apart() -> None:
    ref = Histogram(counts=(500, 500), missing=0)
    shifted = feature_drift("f", "s", ref, Histogram(counts=(100, 900), missing=0), THRESHOLDS)
    assert shifted.shifted and not shifted.missing_changed
    emptied = feature_drift("f", "s", ref, Histogram(counts=(250, 250), missing=500), THRESHOLDS)
    assert not emptied.shifted and emptied.missing_changed
    assert emptied.missing_change == pytest.approx(0.5)
    few = feature_drift("f", "s", ref, Histogram(counts=(10, 80), missing=0), THRESHOLDS)
    assert few.psi is None and not few.drifted  # too few rows to judge


def _binning(features: dict[str, str]) -> Binning:
    return Binning(
        spec_hash="x",
        features=tuple(
            FeatureBins(feature=f, source=s, kind="count", edges=(0.0,), labels=("0", "1+"))
            for f, s in features.items()
        ),
    )


def test_one_broken_feed_reads_as_one_problem_with_its_worst_feature() -> None:
    features = {f"att_{i}": "attendance" for i in range(6)} | {"pol_a": "police_contacts"}
    binning = _binning(features)
    ref = {f: Histogram(counts=(500, 500), missing=0) for f in features}
    cur = dict(ref)
    for i in range(6):  # attendance stopped: all its features missing, one also shifted
        cur[f"att_{i}"] = Histogram(counts=(150, 150), missing=700)
    cur["att_3"] = Histogram(counts=(50, 250), missing=700)
    criteria = MonitoringCriteria()
    summaries = source_summaries(input_drift(binning, ref, cur, criteria), criteria)
    by_source = {s.source: s for s in summaries}
    att = by_source["attendance"]
    assert len(att.drifted) == 6 and att.raises_review
    assert att.worst is not None and att.worst.feature == "att_3"
    assert not by_source["police_contacts"].raises_review
    assert by_source["police_contacts"].worst is None


def test_a_source_that_delivered_nothing_in_the_window_is_shown_but_not_judged() -> None:
    # between two monthly A&E batches its inputs follow the delivery calendar, not the people
    features = {f"ae_{i}": "ae_visits" for i in range(3)}
    binning = _binning(features)
    ref = {f: Histogram(counts=(500, 500), missing=0) for f in features}
    cur = {f: Histogram(counts=(900, 100), missing=0) for f in features}
    criteria = MonitoringCriteria()
    drifts = input_drift(binning, ref, cur, criteria)
    (judged,) = source_summaries(drifts, criteria)
    (unfed,) = source_summaries(drifts, criteria, unfed={"ae_visits"})
    assert judged.raises_review and len(judged.drifted) == 3
    assert not unfed.fed and not unfed.raises_review and unfed.drifted == ()
    assert unfed.features == judged.features  # the figures are still shown
