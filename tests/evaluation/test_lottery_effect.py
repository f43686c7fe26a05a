"""The lottery's ITT estimate on a hand-computed stratified example, and its randomisation test."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from vru_risk.evaluation.lottery_effect import itt_estimate


def _stratum(name: str, won: list[int], outcome: list[int], took: list[int]) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "stratum": name,
            "won": [bool(x) for x in won],
            "outcome": outcome,
            "took_up": [bool(x) for x in took],
        }
    )


def _hand_example() -> pd.DataFrame:
    # stratum A (6 people): winners 0,0,1 (1/3), losers 1,1,0 (2/3): difference -1/3
    a = _stratum("A", [1, 1, 1, 0, 0, 0], [0, 0, 1, 1, 1, 0], [1, 1, 0, 0, 0, 0])
    # stratum B (4 people): winners 0,0 (0), losers 1,0 (1/2): difference -1/2
    b = _stratum("B", [1, 1, 0, 0], [0, 0, 1, 0], [1, 0, 0, 1])
    # stratum C: everyone won: dropped
    c = _stratum("C", [1, 1], [1, 0], [1, 1])
    return pd.concat([a, b, c], ignore_index=True)


def test_itt_hand_computed() -> None:
    est = itt_estimate(_hand_example(), draws=500)
    # weights by size among the kept strata: 6/10 and 4/10
    assert est.estimate == pytest.approx(0.6 * (-1 / 3) + 0.4 * (-1 / 2))
    # Neyman: A: s1^2 = s0^2 = 1/3 (n=3 each); B: s1^2 = 0, s0^2 = 1/2 (n=2 each)
    var = 0.36 * (1 / 9 + 1 / 9) + 0.16 * (0 + 0.25)
    assert est.se == pytest.approx(math.sqrt(var))
    assert est.low == pytest.approx(est.estimate - 1.959964 * math.sqrt(var), abs=1e-6)
    assert (est.n_won, est.n_lost) == (5, 5)
    assert est.take_up_won == pytest.approx(3 / 5) and est.take_up_lost == pytest.approx(1 / 5)
    assert est.evidence == "randomised"
    assert any("1 of 3 draw(s)" in n and "2 participant(s)" in n for n in est.notes)
    assert 0.0 < est.p_value <= 1.0


def test_itt_exact_p_on_a_tiny_draw() -> None:
    # one stratum, 2 winners of 4, outcomes 0,0 | 1,1: of the 6 possible draws, 2 are as extreme
    # (the observed one and its mirror): exact p = 1/3.
    f = _stratum("A", [1, 1, 0, 0], [0, 0, 1, 1], [1, 1, 0, 0])
    est = itt_estimate(f, draws=20_000, seed=3)
    assert est.estimate == -1.0
    assert est.p_value == pytest.approx(1 / 3, abs=0.015)


def _population(seed: int, effect: float) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    parts = []
    for s in range(10):
        n = 40
        won = np.zeros(n, dtype=bool)
        won[rng.permutation(n)[: n // 2]] = True
        y = (rng.random(n) < 0.3 + effect * won).astype(int)
        parts.append(pd.DataFrame({"stratum": f"s{s}", "won": won, "outcome": y, "took_up": won}))
    return pd.concat(parts, ignore_index=True)


def test_randomisation_p_under_null_is_spread_and_strong_effect_is_small() -> None:
    ps = [itt_estimate(_population(seed, 0.0), draws=400, seed=seed).p_value for seed in range(12)]
    # roughly uniform: not piled up near 0, some above one half
    assert sum(p < 0.05 for p in ps) <= 2
    assert sum(p > 0.5 for p in ps) >= 3
    strong = itt_estimate(_population(99, -0.25), draws=2000)
    assert strong.p_value < 0.01 and strong.high < 0


def test_itt_stratum_weights_not_pooled() -> None:
    # Simpson: pooled difference is positive, within each stratum it is zero.
    a = _stratum("A", [1] * 8 + [0] * 2, [1] * 8 + [1] * 2, [1] * 10)
    b = _stratum("B", [1] * 2 + [0] * 8, [0] * 2 + [0] * 8, [1] * 10)
    est = itt_estimate(pd.concat([a, b]), draws=100)
    assert est.estimate == pytest.approx(0.0)


def test_itt_bad_input_says_what_to_do() -> None:
    with pytest.raises(ValueError, match="lacks column"):
        itt_estimate(pd.DataFrame({"stratum": ["a"], "won": [True]}))
    bad = _stratum("A", [1, 0], [2, 0], [1, 0])
    with pytest.raises(ValueError, match="outcome must be 0 or 1"):
        itt_estimate(bad)
    only_winners = _stratum("A", [1, 1], [1, 0], [1, 1])
    est = itt_estimate(only_winners)
    assert not est.estimable and math.isnan(est.estimate)
    assert "No draw had both" in est.notes[0]
