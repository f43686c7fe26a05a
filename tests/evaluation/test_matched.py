"""The weighted comparison: balance improves on a confounded fixture, the estimate recovers a
known effect when the confounder is among the columns, E-values as published."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from vru_risk.evaluation.matched import e_value, weighted_estimate


def _confounded(seed: int = 0, n: int = 3000) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    score = rng.normal(size=n)
    group = rng.choice(["a", "b", "unknown"], size=n)
    offered = rng.random(n) < 1.0 / (1.0 + np.exp(-(1.2 * score + 0.8 * (group == "b"))))
    risk = 1.0 / (1.0 + np.exp(-(-1.5 + 0.9 * score))) - 0.10 * offered
    outcome = (rng.random(n) < risk).astype(int)
    return pd.DataFrame({"offered": offered, "outcome": outcome, "score": score, "group": group})


def test_balance_improves_after_weighting() -> None:
    res = weighted_estimate(_confounded(), covariates=["score", "group"])
    bal = res.balance.set_index("column")
    assert set(bal.index) == {"score", "group_b", "group_unknown"}
    assert bal["smd_before"].to_dict()["score"] > 0.5
    assert (bal["smd_after"].abs() < 0.1).all()
    assert (bal["smd_after"].abs() < bal["smd_before"].abs()).all()


def test_estimate_recovers_known_effect_and_beats_the_naive_difference() -> None:
    f = _confounded(seed=1)
    res = weighted_estimate(f, covariates=["score", "group"])
    est = res.estimate
    naive = f.loc[f["offered"], "outcome"].mean() - f.loc[~f["offered"], "outcome"].mean()
    assert naive > 0.0  # confounded: the offered look worse
    assert est.low < -0.10 < est.high
    assert est.evidence == "association" and est.n_won + est.n_lost == len(f)
    assert res.risk_ratio < 1.0 and res.e_value > res.e_value_limit >= 1.0


def test_e_value_published_examples() -> None:
    # VanderWeele & Ding (2017): RR 3.9 -> E-value 7.26; protective RR inverted
    assert e_value(3.9) == pytest.approx(7.26, abs=0.01)
    assert e_value(1 / 3.9) == pytest.approx(7.26, abs=0.01)
    assert e_value(1.0) == 1.0
    assert math.isnan(e_value(0.0))


def test_interval_limit_straddling_null_gives_e_value_one() -> None:
    rng = np.random.default_rng(5)
    n = 400
    f = pd.DataFrame(
        {
            "offered": rng.random(n) < 0.5,
            "outcome": (rng.random(n) < 0.2).astype(int),
            "score": rng.normal(size=n),
        }
    )
    res = weighted_estimate(f, covariates=["score"])
    if res.estimate.low < 0 < res.estimate.high:
        assert res.e_value_limit == 1.0


def test_bad_input_and_too_few() -> None:
    f = _confounded(n=200)
    with pytest.raises(ValueError, match="not in the frame"):
        weighted_estimate(f, covariates=["age"])
    with pytest.raises(ValueError, match="explicit 'unknown'"):
        weighted_estimate(f.assign(score=np.nan), covariates=["score"])
    few = f.assign(offered=False)
    few.loc[few.index[:3], "offered"] = True
    res = weighted_estimate(few, covariates=["score", "group"])
    assert not res.estimate.estimable and "Too few offered (3)" in res.estimate.notes[0]
