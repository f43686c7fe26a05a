"""The lottery's intention-to-treat effect: young people who won a place against those who did
not, within the strata (programme × period) the draw was made in.

Why randomisation inference: the lottery *is* the random assignment, so the only assumption is
that the draw was made as recorded. The p-value is exact for the sharp null (a place changes no
one's outcome): winners are re-drawn within each stratum, keeping the stratum's real number of
winners, and the observed statistic is compared with its re-drawn distribution. The interval is
the stratified Neyman interval (Imbens & Rubin 2015, ch. 9): the difference in outcome rates per
stratum, weighted by stratum size, with variance Σ w²(s²₁/n₁ + s²₀/n₀). It is conservative for
the finite-population effect (the effect's own variance cannot be estimated) and close to exact
when effects are similar; ``benchmarks/evaluation_coverage.py`` checks its coverage.

It is intention to treat: winners who never took up the place count as winners. Take-up in each
arm is reported beside it, because an effect diluted by low take-up is not an effect of support.

A stratum with no winners or no losers says nothing about the effect: it is dropped, counted and
said. In an arm of one, the arm's variance is taken from the whole stratum.

Example
-------
>>> import pandas as pd
>>> f = pd.DataFrame({"stratum": ["a"] * 4, "won": [True, True, False, False],
...                   "outcome": [0, 0, 1, 0], "took_up": [True, False, False, False]})
>>> itt_estimate(f, draws=100).estimate
-0.5
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from scipy import stats

from vru_risk.evaluation.estimate import Estimate, not_estimable

METHOD = "lottery: stratified difference in outcome rates (intention to treat)"
ASSUMPTIONS = (
    "Places were drawn at random within each programme and period, as recorded.",
    "Winners who did not take up their place still count as winners (intention to treat).",
    "The outcome is recorded in the same way for winners and for those not drawn.",
    "One young person's place does not change another's outcome.",
)
REQUIRED = ("stratum", "won", "outcome", "took_up")


def _validated(frame: pd.DataFrame) -> pd.DataFrame:
    missing = [c for c in REQUIRED if c not in frame.columns]
    if missing:
        raise ValueError(
            f"the lottery frame lacks column(s) {missing}; it needs {list(REQUIRED)} "
            "(one row per lottery participant)."
        )
    f = frame.loc[:, list(REQUIRED)].copy()
    if f.isna().any().any():
        raise ValueError("the lottery frame has missing values; every participant needs all four.")
    out = pd.to_numeric(f["outcome"])
    if not out.isin([0, 1]).all():
        raise ValueError(
            "outcome must be 0 or 1 (serious-violence involvement within the horizon)."
        )
    f["outcome"] = out.astype(float)
    f["won"] = f["won"].astype(bool)
    f["took_up"] = f["took_up"].astype(bool)
    f["stratum"] = f["stratum"].astype(str)
    return f


def _arm_var(y: np.ndarray, fallback: float) -> float:
    return float(np.var(y, ddof=1)) if y.size >= 2 else fallback


def _stratified(f: pd.DataFrame) -> tuple[float, float, list[tuple[np.ndarray, int, float]]]:
    """Estimate, its Neyman variance and per stratum (outcomes, n winners, weight)."""
    total = len(f)
    est, var, parts = 0.0, 0.0, []
    for _, g in f.groupby("stratum", sort=True):
        y, won = g["outcome"].to_numpy(), g["won"].to_numpy()
        y1, y0 = y[won], y[~won]
        w = len(g) / total
        pooled = float(np.var(y, ddof=1)) if y.size >= 2 else 0.0
        est += w * float(y1.mean() - y0.mean())
        var += w**2 * (_arm_var(y1, pooled) / y1.size + _arm_var(y0, pooled) / y0.size)
        parts.append((y, int(won.sum()), w))
    return est, var, parts


def randomisation_p(
    parts: list[tuple[np.ndarray, int, float]], observed: float, draws: int, seed: int
) -> float:
    """Two-sided p of the sharp null: winners re-drawn within strata, the real number of
    winners kept; ``(1 + #{|T*| ≥ |T|}) / (1 + draws)``."""
    rng = np.random.default_rng(seed)
    stat = np.zeros(draws)
    for y, n1, w in parts:
        n0 = y.size - n1
        keys = rng.random((draws, y.size))
        winners = np.argsort(keys, axis=1)[:, :n1]
        s1 = y[winners].sum(axis=1)
        stat += w * (s1 / n1 - (y.sum() - s1) / n0)
    hits = int(np.sum(np.abs(stat) >= abs(observed) - 1e-12))
    return (1 + hits) / (1 + draws)


def itt_estimate(
    frame: pd.DataFrame, draws: int = 2000, seed: int = 0, level: float = 0.95
) -> Estimate:
    """The intention-to-treat risk difference (won − lost) of the lottery.

    Parameters
    ----------
    frame
        One row per lottery participant: ``stratum`` (programme and period the draw was made
        in), ``won`` (drawn a place), ``outcome`` (0/1 serious-violence involvement within the
        horizon), ``took_up`` (started the support).
    draws
        Re-draws for the randomisation p-value.
    seed, level
        Seed of the re-draws; confidence level of the interval.
    """
    if draws < 1 or not 0.0 < level < 1.0:
        raise ValueError(f"draws must be ≥ 1 and level in (0, 1) (got {draws}, {level}).")
    f = _validated(frame)
    sizes = f.groupby("stratum")["won"].agg(["sum", "size"])
    uninformative = sizes.index[(sizes["sum"] == 0) | (sizes["sum"] == sizes["size"])]
    dropped = f["stratum"].isin(uninformative)
    notes: list[str] = []
    if len(uninformative):
        notes.append(
            f"{len(uninformative)} of {len(sizes)} draw(s) had no winners or no one left without "
            f"a place; their {int(dropped.sum())} participant(s) were left out, as they say "
            "nothing about the effect."
        )
    f = f.loc[~dropped]
    n_won, n_lost = int(f["won"].sum()), int((~f["won"]).sum())
    if n_won == 0 or n_lost == 0:
        return not_estimable(
            method=METHOD,
            evidence="randomised",
            reason="No draw had both winners and young people left without a place.",
        )
    est, var, parts = _stratified(f)
    se = math.sqrt(var)
    z = float(stats.norm.ppf(0.5 + level / 2.0))
    return Estimate(
        estimate=est,
        low=est - z * se,
        high=est + z * se,
        p_value=randomisation_p(parts, est, draws, seed),
        n_won=n_won,
        n_lost=n_lost,
        take_up_won=float(f.loc[f["won"], "took_up"].mean()),
        take_up_lost=float(f.loc[~f["won"], "took_up"].mean()),
        method=METHOD,
        assumptions=ASSUMPTIONS,
        evidence="randomised",
        se=se,
        level=level,
        notes=tuple(notes),
    )
