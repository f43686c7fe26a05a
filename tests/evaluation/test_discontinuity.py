"""Regression discontinuity on a fixture with a known jump at the floor, and too little data."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from vru_risk.evaluation.discontinuity import discontinuity_estimate


def _fixture(jump: float, n: int = 4000, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    score = rng.uniform(50, 100, n)
    risk = 0.15 + 0.004 * (score - 50) + jump * (score >= 80)
    outcome = (rng.random(n) < risk).astype(int)
    spare = rng.random(n) < 0.8
    # on days without spare places, the jump is absent: they must be left out
    outcome = np.where(spare, outcome, (rng.random(n) < 0.9).astype(int))
    return pd.DataFrame({"score": score, "outcome": outcome, "spare_places": spare})


def test_known_jump_is_found_within_its_interval(capsys: pytest.CaptureFixture[str]) -> None:
    est = discontinuity_estimate(_fixture(-0.30), floor=80.0)
    assert est.estimable and est.evidence == "consistent with"
    assert est.low < -0.30 < est.high
    assert est.high < 0.0
    assert est.n_won > 0 and est.n_lost > 0 and "within the bandwidth" in est.notes[0]
    assert capsys.readouterr().out == ""  # rdrobust's prints are silenced


def test_no_jump_interval_covers_zero() -> None:
    est = discontinuity_estimate(_fixture(0.0, seed=1), floor=80.0)
    assert est.low < 0.0 < est.high


def test_too_few_is_not_estimable() -> None:
    small = _fixture(-0.3, n=60)
    est = discontinuity_estimate(small, floor=80.0)
    assert not est.estimable
    assert "at least 30 on each side" in est.notes[0]


def test_bad_input() -> None:
    with pytest.raises(ValueError, match="lacks column 'score'"):
        discontinuity_estimate(pd.DataFrame({"outcome": [0]}), floor=1.0)
    bad = _fixture(0.0, n=100).assign(outcome=3)
    with pytest.raises(ValueError, match="0 or 1"):
        discontinuity_estimate(bad, floor=80.0)
