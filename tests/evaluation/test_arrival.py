"""The arrival-order comparison on a fixture where arrival day alone decides the offer."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from vru_risk.evaluation.arrival import arrival_estimate


def _moments(effect: float, seed: int = 0, n: int = 3000) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    day = rng.integers(1, 29, n)
    kind = rng.choice(["arrest", "school exclusion"], n)
    # places run out on a day that varies by month; later days have a higher base rate
    cutoff = rng.integers(8, 22, n)
    offered = day <= cutoff
    risk = 0.15 + 0.10 * (kind == "arrest") + 0.003 * day + effect * offered
    outcome = (rng.random(n) < risk).astype(int)
    person = rng.integers(0, 2000, n)
    return pd.DataFrame(
        {
            "person_id": person,
            "offered": offered,
            "outcome": outcome,
            "trigger_kind": kind,
            "arrival_day": day,
        }
    )


def test_recovers_known_effect_with_day_effects() -> None:
    est = arrival_estimate(_moments(-0.08, n=6000))
    assert abs(est.estimate - (-0.08)) < 3 * est.se and est.high < 0
    assert est.evidence == "consistent with"
    assert est.n_won + est.n_lost == 6000


def test_null_covers_zero() -> None:
    est = arrival_estimate(_moments(0.0, seed=2))
    assert est.low < 0.0 < est.high


def test_too_few_and_bad_input() -> None:
    small = _moments(0.0, n=8)
    assert not arrival_estimate(small).estimable
    with pytest.raises(ValueError, match="lacks column"):
        arrival_estimate(small.drop(columns="arrival_day"))
