"""Every branch of the verdict, including "helps" refused for designs that were not randomised."""

from __future__ import annotations

import math

import pytest

from vru_risk.evaluation.estimate import Estimate, not_estimable
from vru_risk.evaluation.verdict import Verdict, statement


def _est(estimate: float, se: float, evidence: str = "randomised") -> Estimate:
    return Estimate(
        estimate=estimate,
        low=estimate - 1.96 * se,
        high=estimate + 1.96 * se,
        p_value=0.5,
        n_won=100,
        n_lost=100,
        take_up_won=0.8,
        take_up_lost=0.0,
        method="test",
        assumptions=(),
        evidence=evidence,  # type: ignore[arg-type]
        se=se,
    )


def _say(
    est: Estimate, design: str, boundary: float | None, harm: Estimate | None = None
) -> Verdict:
    return statement(
        est,
        harm_estimate=harm,
        look_z_boundary=boundary,
        months_needed=7.2,
        effect_of_interest=-0.05,
        design=design,
    )


def test_helps_only_when_lottery_passes_the_boundary() -> None:
    v = _say(_est(-0.10, 0.02), "lottery", 3.0)
    assert v.kind == "helps" and v.headline == "helps"
    assert "boundary set before the lottery" in v.explanation


def test_nominal_significance_below_boundary_is_not_helps() -> None:
    # z = -2.5: significant at 5% but not past a first-look boundary of 3.36
    v = _say(_est(-0.05, 0.02), "lottery", 3.36)
    assert v.kind == "no evidence either way yet"
    assert v.headline == (
        "no evidence either way yet (about 7 more months at current numbers to detect an "
        "effect of 5.0 percentage points)"
    )
    assert "not yet passed the boundary" in v.explanation


@pytest.mark.parametrize("design", ["matched", "arrival", "discontinuity"])
def test_helps_refused_for_designs_not_randomised(design: str) -> None:
    v = _say(_est(-0.30, 0.01, "consistent with"), design, 2.0)
    assert v.kind == "consistent with helping"
    assert "helps" not in v.headline.replace("helping", "")
    assert "does not show" in v.explanation


def test_lottery_without_a_boundary_never_helps() -> None:
    v = _say(_est(-0.30, 0.01), "lottery", None)
    assert v.kind == "no evidence either way yet"


def test_harm_on_primary_or_harm_outcome_for_every_design() -> None:
    """Checked for every design; only a lottery calls it evidence, the others cannot tell harm
    from those offered being at higher risk (confounding by indication) and say so."""
    for design in ("lottery", "matched", "arrival", "discontinuity"):
        kind = "evidence of harm" if design == "lottery" else "consistent with harm"
        worse = _say(_est(0.08, 0.02), design, 3.0)
        assert worse.kind == kind and "more serious-violence" in worse.explanation
        harm = _say(_est(-0.10, 0.02), design, 3.0, _est(0.06, 0.02))
        assert harm.kind == kind and "harm outcome is worse" in harm.explanation
        if design != "lottery":
            assert "cannot tell harm from higher risk" in worse.headline
            assert "higher risk" in worse.explanation


def test_no_evidence_wording_for_unknown_or_impossible_months() -> None:
    never = statement(
        _est(0.0, 0.05),
        harm_estimate=None,
        look_z_boundary=2.0,
        months_needed=math.inf,
        effect_of_interest=-0.05,
        design="lottery",
    )
    assert "could never be detected" in never.headline
    unknown = statement(
        not_estimable(method="m", evidence="consistent with", reason="Too few near the floor."),
        harm_estimate=None,
        look_z_boundary=None,
        months_needed=None,
        effect_of_interest=-0.05,
        design="discontinuity",
    )
    assert unknown.kind == "no evidence either way yet"
    assert "Too few near the floor." in unknown.explanation


def test_unknown_design_is_refused() -> None:
    with pytest.raises(ValueError, match="design must be one of"):
        _say(_est(0.0, 0.1), "rct", None)


def test_no_evidence_when_enough_took_part_says_an_effect_that_large_was_not_seen() -> None:
    seen = statement(
        _est(-0.005, 0.02),
        harm_estimate=None,
        look_z_boundary=None,
        months_needed=-3.0,
        effect_of_interest=0.03,
        design="matched",
    )
    assert seen.kind == "no evidence either way yet"
    assert "enough have taken part to detect an effect of 3.0 percentage points" in seen.headline
    assert "0 more months" not in seen.headline
