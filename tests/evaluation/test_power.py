"""Sample size against textbook figures; the sequential boundary against published values."""

from __future__ import annotations

import math

import pytest

from vru_risk.evaluation.power import (
    boundary_z,
    check_lottery_power,
    crossing_probabilities,
    months_to_detect,
    per_arm_needed,
    spent_alpha,
)


def test_per_arm_needed_matches_textbook() -> None:
    # Machin et al., Sample Size Tables for Clinical Studies: 0.25 vs 0.50, two-sided 5%,
    # 80% power -> 58 per group (no continuity correction).
    assert per_arm_needed(0.25, 0.25) == 58
    # direction does not matter, only the two proportions
    assert per_arm_needed(0.50, -0.25) == 58
    # more power or a smaller alpha needs more people
    assert per_arm_needed(0.25, 0.25, power=0.9) > 58
    assert per_arm_needed(0.25, 0.25, alpha=0.01) > 58


def test_per_arm_needed_hand_computed() -> None:
    # 0.20 -> 0.15: (1.95996*sqrt(2*.175*.825) + 0.84162*sqrt(.16+.1275))^2 / .0025
    z_a, z_b = 1.959964, 0.841621
    expected = (z_a * math.sqrt(2 * 0.175 * 0.825) + z_b * math.sqrt(0.16 + 0.1275)) ** 2 / 0.0025
    assert per_arm_needed(0.20, -0.05) == math.ceil(expected)


@pytest.mark.parametrize(
    ("base", "effect"), [(0.0, 0.1), (1.0, -0.1), (0.2, 0.0), (0.2, -0.3), (0.9, 0.2)]
)
def test_per_arm_needed_refuses_impossible_rates(base: float, effect: float) -> None:
    with pytest.raises(ValueError, match="between 0 and 1"):
        per_arm_needed(base, effect)


def test_months_to_detect() -> None:
    assert months_to_detect(29, 0.25, 0.25) == pytest.approx(2.0)
    assert months_to_detect(0, 0.25, 0.25) == math.inf
    assert months_to_detect(-1, 0.25, 0.25) == math.inf


def test_check_lottery_power_explains_both_ways() -> None:
    ok = check_lottery_power(20, 0.25, 0.25, within_months=6)
    assert ok.sufficient and ok.per_arm_needed == 58
    assert "58 young people" in ok.explanation and "can answer" in ok.explanation
    short = check_lottery_power(5, 0.25, 0.25, within_months=6)
    assert not short.sufficient and short.months_needed == pytest.approx(11.6)
    assert "longer than the 6 months" in short.explanation
    none = check_lottery_power(0, 0.25, 0.25, within_months=6)
    assert not none.sufficient and "never" in none.explanation


def test_spent_alpha_ends() -> None:
    assert spent_alpha(0.0) == 0.0
    assert spent_alpha(1.0) == 0.05
    assert spent_alpha(0.5) < spent_alpha(0.8) < 0.05
    with pytest.raises(ValueError, match="information_fraction"):
        spent_alpha(1.5)


def test_boundary_lan_demets_obf_published_values() -> None:
    # DeMets & Lan (1994); gsDesign sfLDOF, 5 equal looks, two-sided 0.05
    got = boundary_z([0.2, 0.4, 0.6, 0.8, 1.0])
    assert got == pytest.approx([4.877, 3.357, 2.680, 2.290, 2.031], abs=2e-3)
    # two looks: 2.963, 1.969; one look is the fixed-sample 1.96
    assert boundary_z([0.5, 1.0]) == pytest.approx([2.963, 1.969], abs=2e-3)
    assert boundary_z([1.0]) == pytest.approx([1.95996], abs=1e-4)


def test_boundary_spends_exactly_alpha() -> None:
    looks = [0.3, 0.55, 0.9, 1.0]
    z = boundary_z(looks)
    assert sum(crossing_probabilities(looks, z)) == pytest.approx(0.05, abs=1e-6)


def test_engine_reproduces_classic_obrien_fleming() -> None:
    # O'Brien & Fleming (1979), 5 looks, alpha .05: C = 2.04, bounds C*sqrt(5/k) =
    # 4.56, 3.23, 2.63, 2.28, 2.04, whose crossing probabilities sum to 0.05.
    looks = [0.2, 0.4, 0.6, 0.8, 1.0]
    bounds = [2.04 * math.sqrt(5 / k) for k in range(1, 6)]
    assert [round(b, 2) for b in bounds] == [4.56, 3.23, 2.63, 2.28, 2.04]
    assert sum(crossing_probabilities(looks, bounds)) == pytest.approx(0.05, abs=5e-4)


def test_boundary_refuses_unordered_looks() -> None:
    with pytest.raises(ValueError, match="strictly increasing"):
        boundary_z([0.5, 0.4])
    with pytest.raises(ValueError, match="strictly increasing"):
        boundary_z([])
