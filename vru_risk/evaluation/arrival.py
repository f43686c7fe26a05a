"""Offered against not offered above the score floor, by the day of the month a young person's
moment arrived: places run out as the month goes on, so among moments above the floor, whether
a place was left is partly an accident of arrival day.

A linear probability model of the outcome on ``offered`` with fixed effects for the trigger
kind and the day of the month (so the comparison is within the same kind of moment, and any
steady difference between early- and late-month arrivals is absorbed), standard errors robust
to clustering by person (one young person may have several moments). The coefficient on
``offered`` is a risk difference.

Its evidence is only "consistent with": whether a place was left also depends on who else
arrived that month, and practitioners may act differently once places run out. Pass only
moments above the floor, in months where places ran out at some point.
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import pandas as pd
import statsmodels.api as sm
from scipy import stats

from vru_risk.evaluation.estimate import Estimate, not_estimable

METHOD = "arrival order: linear probability model with trigger-kind and day-of-month effects"
ASSUMPTIONS = (
    "Among moments above the floor, whether a place was left depended only on arrival day, "
    "not on anything about the young person that also affects the outcome.",
    "Young people arriving on the same day of the month are comparable whatever month it was.",
    "Practitioners acted the same way with or without places left.",
)
REQUIRED = ("person_id", "offered", "outcome", "trigger_kind", "arrival_day")


def arrival_estimate(frame: pd.DataFrame, level: float = 0.95) -> Estimate:
    """Risk difference offered − not offered among moments above the floor.

    Parameters
    ----------
    frame
        One row per moment above the floor: ``person_id``, ``offered`` (bool), ``outcome``
        (0/1), ``trigger_kind`` (str), ``arrival_day`` (day of the month, 1–31).
    """
    missing = [c for c in REQUIRED if c not in frame.columns]
    if missing:
        raise ValueError(f"the arrival frame lacks column(s) {missing}; it needs {list(REQUIRED)}.")
    f = frame.loc[:, list(REQUIRED)]
    if f.isna().any().any():
        raise ValueError("the arrival frame has missing values; every moment needs all columns.")
    y = pd.to_numeric(f["outcome"]).to_numpy(dtype=float)
    if not np.isin(y, [0.0, 1.0]).all():
        raise ValueError("outcome must be 0 or 1.")
    t = f["offered"].astype(bool).to_numpy()
    n1, n0 = int(t.sum()), int((~t).sum())
    fixed = pd.get_dummies(
        f[["trigger_kind", "arrival_day"]].astype(str), drop_first=True, dtype=float
    )
    x = pd.concat([pd.Series(t.astype(float), name="offered", index=f.index), fixed], axis=1)
    x.insert(0, "const", 1.0)
    persons = pd.factorize(f["person_id"])[0]
    if min(n1, n0) < 2 or len(y) <= x.shape[1] + 2 or np.unique(persons).size < 10:
        return not_estimable(
            method=METHOD,
            evidence="consistent with",
            reason=f"Too few moments ({n1} offered, {n0} not) for day and trigger effects.",
            n_won=n1,
            n_lost=n0,
        )
    with warnings.catch_warnings():
        # a day with a single moment makes its dummy's leverage 1: harmless for the offered
        # coefficient, but numpy warns on the degenerate column
        warnings.simplefilter("ignore", RuntimeWarning)
        fit = sm.OLS(y, x.to_numpy()).fit(cov_type="cluster", cov_kwds={"groups": persons})
    est, se = float(fit.params[1]), float(fit.bse[1])
    if not math.isfinite(se) or se <= 0:
        return not_estimable(
            method=METHOD,
            evidence="consistent with",
            reason="Being offered is fully explained by day and trigger kind: nothing to compare.",
            n_won=n1,
            n_lost=n0,
        )
    z = float(stats.norm.ppf(0.5 + level / 2.0))
    return Estimate(
        estimate=est,
        low=est - z * se,
        high=est + z * se,
        p_value=float(2.0 * stats.norm.sf(abs(est / se))),
        n_won=n1,
        n_lost=n0,
        take_up_won=math.nan,
        take_up_lost=math.nan,
        method=METHOD,
        assumptions=ASSUMPTIONS,
        evidence="consistent with",
        se=se,
        level=level,
    )
