"""How many lottery participants a programme needs before its effect can be seen, and the
pre-registered sequential boundary each look at the lottery is judged against.

Why this exists: a lottery at the capacity margin is only worth running (and only ethical to
describe to families as "finding out whether the programme helps") if enough young people take
part to detect an effect the VRU cares about within a useful time. :func:`check_lottery_power`
answers that before a lottery starts, in words an ethics panel reads.

The lottery is looked at repeatedly (every month's report). Looking often and stopping at the
first nominally significant result inflates false claims, so a "helps" verdict must pass an
O'Brien–Fleming-type boundary from the Lan–DeMets alpha-spending function
(:func:`spent_alpha`): it spends almost nothing early and nearly the full alpha at the end, and
the looks need not be equally spaced or planned in number. :func:`boundary_z` computes the
two-sided boundaries exactly (to numerical-integration accuracy) by the recursive integration
of Armitage, McPherson & Rowe (1969), as in Jennison & Turnbull (2000, ch. 19): the score
statistic is Brownian motion in the information fraction, its sub-density on the continuation
region is carried from look to look on a grid, and each boundary is the value whose crossing
probability equals the alpha spent since the previous look.

Sample size is for a risk difference between two proportions (normal approximation, two-sided,
pooled variance under the null, no continuity correction; Fleiss, Levin & Paik 2003, eq. 4.14).

Example
-------
>>> per_arm_needed(0.25, 0.25)
58
>>> [round(z, 2) for z in boundary_z([0.2, 0.4, 0.6, 0.8, 1.0])]
[4.88, 3.36, 2.68, 2.29, 2.03]
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy import optimize, stats

_GRID_POINTS = 2001
"""Points of the grid on the continuation region (Simpson's rule; odd)."""


def _check_rates(base_rate: float, effect: float, alpha: float, power: float) -> None:
    if not 0.0 < base_rate < 1.0:
        raise ValueError(f"base_rate must be strictly between 0 and 1 (got {base_rate}).")
    if effect == 0.0 or not 0.0 < base_rate + effect < 1.0:
        raise ValueError(
            f"effect must be a non-zero risk difference leaving base_rate + effect strictly "
            f"between 0 and 1 (got base_rate {base_rate}, effect {effect})."
        )
    if not 0.0 < alpha < 1.0 or not 0.0 < power < 1.0:
        raise ValueError(f"alpha and power must be in (0, 1) (got {alpha}, {power}).")


def per_arm_needed(base_rate: float, effect: float, alpha: float = 0.05, power: float = 0.8) -> int:
    """Participants needed in each arm to detect the risk difference ``effect``.

    Parameters
    ----------
    base_rate
        Outcome rate among those who lose the lottery (no place).
    effect
        Risk difference won − lost to detect (negative: fewer outcomes with a place).
    alpha, power
        Two-sided significance level and power.

    Examples
    --------
    >>> per_arm_needed(0.20, -0.05)
    906
    """
    _check_rates(base_rate, effect, alpha, power)
    p1, p2 = base_rate, base_rate + effect
    pbar = (p1 + p2) / 2.0
    z_a = float(stats.norm.ppf(1.0 - alpha / 2.0))
    z_b = float(stats.norm.ppf(power))
    root = z_a * math.sqrt(2.0 * pbar * (1.0 - pbar)) + z_b * math.sqrt(
        p1 * (1.0 - p1) + p2 * (1.0 - p2)
    )
    return math.ceil(root**2 / effect**2 - 1e-9)


def months_to_detect(
    per_arm_per_month: float,
    base_rate: float,
    effect: float,
    alpha: float = 0.05,
    power: float = 0.8,
) -> float:
    """Months of lottery needed at ``per_arm_per_month`` participants per arm (inf if none).

    >>> months_to_detect(58 / 4, 0.25, 0.25)
    4.0
    >>> months_to_detect(0, 0.25, 0.25)
    inf
    """
    needed = per_arm_needed(base_rate, effect, alpha, power)
    if per_arm_per_month <= 0:
        return math.inf
    return needed / per_arm_per_month


@dataclass(frozen=True)
class PowerCheck:
    """Whether a lottery can detect ``effect`` within ``within_months``, and why."""

    sufficient: bool
    per_arm_needed: int
    months_needed: float
    within_months: float
    expected_per_arm_per_month: float
    base_rate: float
    effect: float
    alpha: float
    power: float
    explanation: str


def check_lottery_power(
    expected_per_arm_per_month: float,
    base_rate: float,
    effect: float,
    within_months: float,
    alpha: float = 0.05,
    power: float = 0.8,
) -> PowerCheck:
    """Whether the expected lottery numbers can detect ``effect`` within ``within_months``.

    >>> check_lottery_power(20, 0.25, 0.25, within_months=6).sufficient
    True
    """
    needed = per_arm_needed(base_rate, effect, alpha, power)
    months = months_to_detect(expected_per_arm_per_month, base_rate, effect, alpha, power)
    sufficient = months <= within_months
    direction = "fewer" if effect < 0 else "more"
    target = (
        f"a change from {base_rate:.0%} to {base_rate + effect:.0%} of young people involved in "
        f"serious violence ({abs(effect) * 100:.1f} percentage points {direction})"
    )
    need = (
        f"Detecting {target} with {power:.0%} power needs about {needed} young people "
        f"in each group (with and without a place)."
    )
    if expected_per_arm_per_month <= 0:
        verdict = "No one is expected to take part in the lottery, so it can never find this out."
    elif sufficient:
        verdict = (
            f"At about {expected_per_arm_per_month:g} a month in each group that takes about "
            f"{months:.1f} months, within the {within_months:g} months allowed: the lottery "
            "can answer the question."
        )
    else:
        verdict = (
            f"At about {expected_per_arm_per_month:g} a month in each group that takes about "
            f"{months:.1f} months, longer than the {within_months:g} months allowed: the lottery "
            "would most likely end without an answer either way. Consider more places at the "
            "margin, a longer period, or a larger effect of interest."
        )
    return PowerCheck(
        sufficient=sufficient,
        per_arm_needed=needed,
        months_needed=months,
        within_months=within_months,
        expected_per_arm_per_month=expected_per_arm_per_month,
        base_rate=base_rate,
        effect=effect,
        alpha=alpha,
        power=power,
        explanation=f"{need} {verdict}",
    )


def spent_alpha(information_fraction: float, alpha: float = 0.05) -> float:
    """Two-sided alpha spent by ``information_fraction`` (Lan–DeMets O'Brien–Fleming type).

    Each side spends ``2 − 2Φ(z_{1−α/4} / √t)`` (the one-sided function at ``α/2``), so the
    two sides together spend 0 at t = 0 and ``alpha`` at t = 1: the convention of DeMets & Lan
    (1994), gsDesign's ``sfLDOF`` and rpact for a symmetric two-sided design. (Applying
    ``2 − 2Φ(z_{1−α/2}/√t)`` to the two-sided total instead spends more early.)

    >>> round(spent_alpha(0.5), 4)
    0.0031
    >>> spent_alpha(1.0)
    0.05
    """
    if not 0.0 <= information_fraction <= 1.0:
        raise ValueError(f"information_fraction must be in [0, 1] (got {information_fraction}).")
    if not 0.0 < alpha < 1.0:
        raise ValueError(f"alpha must be in (0, 1) (got {alpha}).")
    if information_fraction == 0.0:
        return 0.0
    if information_fraction == 1.0:
        return alpha
    z = float(stats.norm.ppf(1.0 - alpha / 4.0))
    return float(4.0 * stats.norm.sf(z / math.sqrt(information_fraction)))


def _check_fractions(fractions: Sequence[float]) -> list[float]:
    t = [float(x) for x in fractions]
    if not t or any(not 0.0 < x <= 1.0 for x in t) or any(b <= a for a, b in itertools.pairwise(t)):
        raise ValueError(
            "look information fractions must be strictly increasing and in (0, 1] "
            f"(got {list(fractions)}); the final analysis is fraction 1."
        )
    return t


def _simpson_weights(n: int, h: float) -> np.ndarray:
    w = np.ones(n)
    w[1:-1:2], w[2:-1:2] = 4.0, 2.0
    return w * h / 3.0


class _Recursion:
    """Sub-density of the score process B(t) on the continuation region, look by look."""

    def __init__(self) -> None:
        self.t_prev = 0.0
        self.grid: np.ndarray | None = None
        self.density_w: np.ndarray | None = None  # density times Simpson weights

    def exit_probability(self, t: float, z: float) -> float:
        """P(not stopped before, |B(t)|/√t ≥ z)."""
        b = z * math.sqrt(t)
        if self.grid is None or self.density_w is None:
            return float(2.0 * stats.norm.sf(z))
        sd = math.sqrt(t - self.t_prev)
        upper = stats.norm.sf((b - self.grid) / sd) + stats.norm.cdf((-b - self.grid) / sd)
        return float(np.dot(self.density_w, upper))

    def advance(self, t: float, z: float) -> None:
        b = z * math.sqrt(t)
        grid = np.linspace(-b, b, _GRID_POINTS)
        weights = _simpson_weights(_GRID_POINTS, grid[1] - grid[0])
        if self.grid is None or self.density_w is None:
            dens = stats.norm.pdf(grid / math.sqrt(t)) / math.sqrt(t)
        else:
            sd = math.sqrt(t - self.t_prev)
            kernel = stats.norm.pdf((grid[:, None] - self.grid[None, :]) / sd) / sd
            dens = kernel @ self.density_w
        self.t_prev, self.grid, self.density_w = t, grid, dens * weights


def crossing_probabilities(fractions: Sequence[float], z_bounds: Sequence[float]) -> list[float]:
    """Under the null, the probability of first crossing ``±z_bounds[k]`` at look ``k``.

    The engine of :func:`boundary_z`, public so any boundary (e.g. the classic O'Brien–Fleming
    ``C·√(K/k)``) can be checked: the probabilities sum to its overall two-sided alpha.
    """
    t = _check_fractions(fractions)
    if len(z_bounds) != len(t):
        raise ValueError("one boundary per look is needed.")
    rec, out = _Recursion(), []
    for tk, zk in zip(t, z_bounds, strict=True):
        out.append(rec.exit_probability(tk, float(zk)))
        rec.advance(tk, float(zk))
    return out


def boundary_z(looks_information_fractions: Sequence[float], alpha: float = 0.05) -> list[float]:
    """Two-sided |z| boundaries at each look from Lan–DeMets O'Brien–Fleming-type spending.

    ``looks_information_fractions``: the looks so far (strictly increasing, the last may be
    below 1 at an interim look). A look whose spent increment is below 1e-15 gets an infinite
    boundary (nothing can be claimed there). Five equally spaced looks at alpha 0.05 give
    4.877, 3.357, 2.680, 2.290, 2.031 (as gsDesign's
    ``sfLDOF``).
    """
    t = _check_fractions(looks_information_fractions)
    rec, out, spent_before = _Recursion(), [], 0.0
    for tk in t:
        increment = spent_alpha(tk, alpha) - spent_before
        spent_before += increment
        if increment < 1e-15:
            out.append(math.inf)
            continue

        def excess(z: float, tk: float = tk, inc: float = increment) -> float:
            return rec.exit_probability(tk, z) - inc

        z = float(optimize.brentq(excess, 0.0, 40.0, xtol=1e-10))
        out.append(z)
        rec.advance(tk, z)
    return out
