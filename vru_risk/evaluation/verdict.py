"""The one sentence an ethics panel reads about a programme's effect, and the rules that allow it.

Exactly one of four statements, checked in this order:

1. **"evidence of harm"** (a lottery) or **"consistent with harm"** (any other design), at
   every look: the primary outcome (serious-violence involvement) or the harm outcome is
   significantly *worse* for those offered a place (the interval lies wholly above no
   difference). Harm is judged on the plain interval, not the sequential boundary: a safety
   signal should be raised early, not late. A design that did not randomise cannot tell harm
   from those offered being at higher risk (confounding by indication), and says so.
2. **"helps"**, only for the lottery (``design == "lottery"``), and only when the estimate has
   passed the pre-registered sequential boundary of this look in the good direction
   (z ≤ −boundary, fewer young people involved in serious violence). A nominally significant
   lottery that has not passed the boundary is not yet "helps".
3. **"consistent with helping"**, the strongest wording for any other design (arrival order,
   discontinuity, weighted comparison): the interval lies wholly below no difference, but
   the comparison was not randomised, so it cannot rule out that the groups differed anyway.
4. **"no evidence either way yet"**, with how many more months at current numbers would be
   needed to detect the effect of interest.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

from vru_risk.evaluation.estimate import Estimate

Kind = Literal[
    "helps",
    "consistent with helping",
    "no evidence either way yet",
    "evidence of harm",
    "consistent with harm",
]
DESIGNS = ("lottery", "arrival", "discontinuity", "matched")


@dataclass(frozen=True)
class Verdict:
    """``kind`` is the category; ``headline`` the phrase shown; ``explanation`` says why."""

    kind: Kind
    headline: str
    explanation: str
    design: str


def _pp(x: float) -> str:
    return f"{abs(x) * 100:.1f} percentage points"


def _interval(e: Estimate) -> str:
    return (
        f"{e.estimate * 100:+.1f} percentage points "
        f"({e.level:.0%} interval {e.low * 100:+.1f} to {e.high * 100:+.1f})"
    )


def _worse(e: Estimate | None) -> bool:
    return e is not None and e.estimable and e.low > 0.0


def _months_phrase(months_needed: float | None, effect_of_interest: float) -> str:
    size = f"an effect of {_pp(effect_of_interest)}"
    if months_needed is None or math.isnan(months_needed):
        return f"the time needed to detect {size} is not known"
    if math.isinf(months_needed):
        return f"at current numbers {size} could never be detected"
    if months_needed <= 0.5:
        return f"enough have taken part to detect {size}, and none was seen"
    return f"about {months_needed:.0f} more months at current numbers to detect {size}"


def statement(
    estimate: Estimate,
    *,
    harm_estimate: Estimate | None,
    look_z_boundary: float | None,
    months_needed: float | None,
    effect_of_interest: float,
    design: str,
) -> Verdict:
    """The verdict a design's estimate allows, in plain English.

    Parameters
    ----------
    estimate
        Risk difference (offered − not) on the primary outcome: negative is fewer young people
        involved in serious violence.
    harm_estimate
        The same for the pre-registered harm outcome (higher is worse), or None.
    look_z_boundary
        The |z| boundary of this look (:func:`~vru_risk.evaluation.power.boundary_z`); None
        when there is no pre-registered boundary (then "helps" is never given).
    months_needed
        More months at current numbers to detect ``effect_of_interest``.
    design
        ``"lottery"``, ``"arrival"``, ``"discontinuity"`` or ``"matched"``.
    """
    if design not in DESIGNS:
        raise ValueError(f"design must be one of {DESIGNS} (got {design!r}).")
    if _worse(estimate) or _worse(harm_estimate):
        which = []
        if _worse(estimate):
            which.append(f"more serious-violence involvement: {_interval(estimate)}")
        if harm_estimate is not None and _worse(harm_estimate):
            which.append(f"the harm outcome is worse: {_interval(harm_estimate)}")
        if design == "lottery":
            return Verdict(
                "evidence of harm",
                "evidence of harm",
                "Young people who won a place did worse than those who did not: "
                + "; ".join(which)
                + ". The groups differ only by chance, so the panel should review the "
                "programme now.",
                design,
            )
        return Verdict(
            "consistent with harm",
            "consistent with harm (this design cannot tell harm from higher risk)",
            "Young people offered a place did worse than those not offered: "
            + "; ".join(which)
            + ". Places were not given at random: those offered are often those at higher "
            "risk, which alone makes them do worse. The panel should look at the programme and "
            "consider a fair lottery, the one design that can tell.",
            design,
        )
    if not estimate.estimable:
        reason = estimate.notes[0] if estimate.notes else "There was too little data."
        return Verdict(
            "no evidence either way yet",
            f"no evidence either way yet ({_months_phrase(months_needed, effect_of_interest)})",
            f"No effect could be estimated: {reason}",
            design,
        )
    z = estimate.z
    passed = (
        design == "lottery"
        and look_z_boundary is not None
        and not math.isnan(z)
        and z <= -look_z_boundary
    )
    if passed:
        return Verdict(
            "helps",
            "helps",
            f"Young people who won a place in the lottery were less often involved in serious "
            f"violence: {_interval(estimate)}. This passed the boundary set before the lottery "
            f"began for this look (z = {z:.2f}, needed {-(look_z_boundary or 0):.2f} or lower), "
            "so it is unlikely to be chance.",
            design,
        )
    if design != "lottery" and estimate.high < 0.0:
        return Verdict(
            "consistent with helping",
            "consistent with helping",
            f"Young people offered a place were less often involved in serious violence: "
            f"{_interval(estimate)}. Places were not given at random, so those offered may "
            "have differed in ways the comparison could not see; this is consistent with the "
            "programme helping but does not show that it does.",
            design,
        )
    months = _months_phrase(months_needed, effect_of_interest)
    why = f"The difference so far is {_interval(estimate)}."
    if design == "lottery" and estimate.high < 0.0:
        why += (
            " It points towards helping but has not yet passed the boundary set before the "
            "lottery began for this look, so it could still be chance."
        )
    return Verdict(
        "no evidence either way yet", f"no evidence either way yet ({months})", why, design
    )
