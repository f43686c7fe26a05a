"""A weighted comparison of young people offered support with those not offered: the weakest
design, used only where neither a lottery nor a discontinuity is available.

Inverse-probability weighting (Hájek form): a logistic propensity of being offered on the
columns the caller names explicitly (the score, permitted features and audit-only attributes:
for evaluation only, never a model input), propensities truncated to ``[trim, 1 − trim]`` so no
one carries an extreme weight, and the average effect as the difference of weighted outcome
rates. The interval is the M-estimation sandwich of the whole procedure (the propensity's
logistic score equations stacked with the two weighted means; Lunceford & Davidian 2004), so
it accounts for the propensity being estimated, unlike a bootstrap of fixed matches.

What it cannot do: remove confounding by anything *not* among the columns, and referrals follow
practitioners' knowledge of the young person (confounding by indication). So its evidence is
"association", a balance table (standardised mean differences before and after weighting) shows
what was balanced, and the E-value (VanderWeele & Ding 2017) says how strong an unseen
confounder would have to be, on the risk-ratio scale with both offer and outcome, to explain
the estimate (and its interval limit nearest no effect) away.

Example
-------
>>> round(e_value(0.5), 3), e_value(1.0)
(3.414, 1.0)
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

from vru_risk.evaluation.estimate import Estimate, not_estimable

METHOD = "weighted comparison: inverse-probability weights from a logistic propensity"
ASSUMPTIONS = (
    "Everything that influenced both the offer and the outcome is among the weighting columns "
    "(no unseen confounding; practitioners' own knowledge of the young person is not).",
    "Every kind of young person had some chance both of being offered and of not being offered.",
    "The propensity model (logistic, no interactions) is adequate.",
)


@dataclass(frozen=True)
class WeightedComparison:
    """The weighted estimate, its balance table and its sensitivity to unseen confounding."""

    estimate: Estimate
    balance: pd.DataFrame
    risk_ratio: float
    e_value: float
    e_value_limit: float
    truncated: int


def e_value(risk_ratio: float) -> float:
    """VanderWeele & Ding's E-value of a risk ratio (1 at no effect)."""
    if not risk_ratio > 0 or math.isnan(risk_ratio):
        return math.nan
    rr = 1.0 / risk_ratio if risk_ratio < 1.0 else risk_ratio
    return rr + math.sqrt(rr * (rr - 1.0))


def _design(frame: pd.DataFrame, covariates: Sequence[str]) -> pd.DataFrame:
    missing = [c for c in covariates if c not in frame.columns]
    if missing:
        raise ValueError(f"weighting column(s) {missing} are not in the frame.")
    x = frame.loc[:, list(covariates)]
    if x.isna().any().any():
        bad = [str(c) for c in x.columns[x.isna().any()]]
        raise ValueError(
            f"weighting column(s) {bad} have missing values: map missing to an explicit "
            "'unknown' level (categorical) or drop the column."
        )
    categorical = [c for c in x.columns if not pd.api.types.is_numeric_dtype(x[c])]
    x = pd.get_dummies(x, columns=categorical, drop_first=True, dtype=float).astype(float)
    return x.loc[:, x.std(ddof=0) > 0]


def _logistic(x: np.ndarray, t: np.ndarray) -> np.ndarray:
    """Newton–Raphson with a negligible ridge (keeps separable data finite)."""
    beta = np.zeros(x.shape[1])
    ridge = 1e-6 * np.eye(x.shape[1])
    for _ in range(50):
        p = 1.0 / (1.0 + np.exp(-np.clip(x @ beta, -30, 30)))
        step = np.linalg.solve(
            x.T @ (x * (p * (1 - p))[:, None]) + ridge, x.T @ (t - p) - 1e-6 * beta
        )
        beta += step
        if np.max(np.abs(step)) < 1e-10:
            break
    return beta


def _smd(x: np.ndarray, t: np.ndarray, w: np.ndarray) -> np.ndarray:
    def mean_var(m: np.ndarray, ww: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        mu = np.average(m, axis=0, weights=ww)
        return mu, np.average((m - mu) ** 2, axis=0, weights=ww)

    m1, _ = mean_var(x[t == 1], w[t == 1])
    m0, _ = mean_var(x[t == 0], w[t == 0])
    _, s1 = mean_var(x[t == 1], np.ones(int(t.sum())))
    _, s0 = mean_var(x[t == 0], np.ones(int((1 - t).sum())))
    sd = np.sqrt((s1 + s0) / 2.0)
    return np.where(sd > 0, (m1 - m0) / np.where(sd > 0, sd, 1.0), 0.0)


def weighted_estimate(
    frame: pd.DataFrame,
    *,
    covariates: Sequence[str],
    treatment: str = "offered",
    outcome: str = "outcome",
    trim: float = 0.01,
    level: float = 0.95,
) -> WeightedComparison:
    """The inverse-probability-weighted risk difference (offered − not offered).

    Parameters
    ----------
    frame
        One row per young person at a teachable moment: ``treatment`` (bool), ``outcome``
        (0/1), and the ``covariates`` named (numeric, or categorical made into indicators).
    trim
        Propensities are truncated to ``[trim, 1 − trim]``.
    """
    if not 0.0 <= trim < 0.5:
        raise ValueError(f"trim must be in [0, 0.5) (got {trim}).")
    for col in (treatment, outcome):
        if col not in frame.columns:
            raise ValueError(f"the frame lacks column {col!r}.")
    t = frame[treatment].astype(bool).to_numpy().astype(float)
    y = pd.to_numeric(frame[outcome]).to_numpy(dtype=float)
    if not np.isin(y, [0.0, 1.0]).all():
        raise ValueError(f"{outcome} must be 0 or 1.")
    n1, n0 = int(t.sum()), int((1 - t).sum())
    xdf = _design(frame, covariates)
    if min(n1, n0) < xdf.shape[1] + 5:
        est = not_estimable(
            method=METHOD,
            evidence="association",
            reason=f"Too few offered ({n1}) or not offered ({n0}) for {xdf.shape[1]} columns.",
            n_won=n1,
            n_lost=n0,
        )
        return WeightedComparison(est, pd.DataFrame(), math.nan, math.nan, math.nan, 0)
    raw = xdf.to_numpy()
    centre, scale = raw.mean(axis=0), raw.std(axis=0)
    x = np.column_stack([np.ones(len(t)), (raw - centre) / scale])
    beta = _logistic(x, t)
    p = 1.0 / (1.0 + np.exp(-np.clip(x @ beta, -30, 30)))
    e = np.clip(p, trim, 1.0 - trim)
    free = ((p > trim) & (p < 1.0 - trim)).astype(float)
    w = t / e + (1 - t) / (1 - e)
    mu1 = float(np.sum(t * y / e) / np.sum(t / e))
    mu0 = float(np.sum((1 - t) * y / (1 - e)) / np.sum((1 - t) / (1 - e)))
    # stacked estimating equations: logistic score, then the two Hájek means
    n, k = x.shape
    psi = np.column_stack([x * (t - p)[:, None], t * (y - mu1) / e, (1 - t) * (y - mu0) / (1 - e)])
    a = np.zeros((k + 2, k + 2))
    a[:k, :k] = -(x.T @ (x * (p * (1 - p))[:, None])) / n
    a[k, :k] = -np.mean((t * (y - mu1) * (1 - e) / e * free)[:, None] * x, axis=0)
    a[k, k] = -np.mean(t / e)
    a[k + 1, :k] = np.mean(((1 - t) * (y - mu0) * e / (1 - e) * free)[:, None] * x, axis=0)
    a[k + 1, k + 1] = -np.mean((1 - t) / (1 - e))
    a_inv = np.linalg.inv(a)
    cov = a_inv @ (psi.T @ psi / n) @ a_inv.T / n
    c = np.zeros(k + 2)
    c[k], c[k + 1] = 1.0, -1.0
    rd, se = mu1 - mu0, float(math.sqrt(c @ cov @ c))
    z = float(stats.norm.ppf(0.5 + level / 2.0))
    rr = mu1 / mu0 if mu0 > 0 else math.nan
    if mu1 > 0 and mu0 > 0:
        g = np.zeros(k + 2)
        g[k], g[k + 1] = 1.0 / mu1, -1.0 / mu0
        se_log = float(math.sqrt(g @ cov @ g))
        lo_rr, hi_rr = rr * math.exp(-z * se_log), rr * math.exp(z * se_log)
        near = 1.0 if lo_rr <= 1.0 <= hi_rr else (hi_rr if rr < 1.0 else lo_rr)
    else:
        near = math.nan
    balance = pd.DataFrame(
        {
            "column": list(xdf.columns),
            "smd_before": _smd(raw, t, np.ones(n)),
            "smd_after": _smd(raw, t, w),
        }
    )
    truncated = int(len(t) - free.sum())
    notes = (f"{truncated} propensities truncated to [{trim}, {1 - trim}].",) if truncated else ()
    est = Estimate(
        estimate=rd,
        low=rd - z * se,
        high=rd + z * se,
        p_value=float(2.0 * stats.norm.sf(abs(rd / se))) if se > 0 else math.nan,
        n_won=n1,
        n_lost=n0,
        take_up_won=math.nan,
        take_up_lost=math.nan,
        method=METHOD,
        assumptions=ASSUMPTIONS,
        evidence="association",
        se=se,
        level=level,
        notes=notes,
    )
    return WeightedComparison(est, balance, rr, e_value(rr), e_value(near), truncated)
