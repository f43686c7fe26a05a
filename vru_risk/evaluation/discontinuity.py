"""Regression discontinuity at a programme's score floor, on days when places were spare.

On such a day every young person at or above the floor (``min_percentile``) is offered a place
and no one below it is, so those just above and just below differ in the offer and, if scores
carry no jump of their own there, in little else. ``rdrobust`` (Calonico, Cattaneo & Titiunik
2014) fits local linear regressions on each side within a data-driven bandwidth and gives the
robust bias-corrected interval, the one with correct coverage at that bandwidth. The estimate
is the jump in the outcome rate at the floor, above − below: the effect of an offer for young
people near the floor only.

Its evidence is "consistent with": it is local, and it relies on nothing else changing at the
floor (e.g. practitioners treating flagged young people differently whether or not a place is
offered). With too few young people on either side it says "not estimable" rather than fit.
``rdrobust`` prints notes and may warn; both are silenced here and only here.
"""

from __future__ import annotations

import contextlib
import io
import math
import warnings

import numpy as np
import pandas as pd
from rdrobust import rdrobust

from vru_risk.evaluation.estimate import Estimate, not_estimable

METHOD = "regression discontinuity at the score floor (local linear, robust bias-corrected)"
ASSUMPTIONS = (
    "On days with spare places, everyone at or above the floor was offered and no one below.",
    "Nothing else changes at the floor: young people just below are like those just above.",
    "Scores were not nudged across the floor.",
    "The effect applies to young people near the floor, not to all who were offered.",
)
MIN_EACH_SIDE = 30


def discontinuity_estimate(
    frame: pd.DataFrame, *, floor: float, level: float = 0.95, min_each_side: int = MIN_EACH_SIDE
) -> Estimate:
    """The jump in the outcome rate at ``floor`` (above − below).

    Parameters
    ----------
    frame
        One row per moment: ``score`` (the number the floor applies to), ``outcome`` (0/1) and,
        optionally, ``spare_places`` (bool: the day had places left; other rows are dropped).
    floor
        The programme's score floor.
    min_each_side
        Fewer moments than this below or above the floor: not estimable.
    """
    for col in ("score", "outcome"):
        if col not in frame.columns:
            raise ValueError(f"the discontinuity frame lacks column {col!r}.")
    f = (
        frame
        if "spare_places" not in frame.columns
        else frame.loc[frame["spare_places"].astype(bool)]
    )
    f = f.loc[:, ["score", "outcome"]]
    if f.isna().any().any():
        raise ValueError("the discontinuity frame has missing scores or outcomes.")
    x = f["score"].to_numpy(dtype=float)
    y = pd.to_numeric(f["outcome"]).to_numpy(dtype=float)
    if not np.isin(y, [0.0, 1.0]).all():
        raise ValueError("outcome must be 0 or 1.")
    above, below = int((x >= floor).sum()), int((x < floor).sum())
    if min(above, below) < min_each_side or np.unique(x).size < 10:
        return not_estimable(
            method=METHOD,
            evidence="consistent with",
            reason=(
                f"Not estimable: {below} moment(s) below and {above} at or above the floor on "
                f"days with spare places; at least {min_each_side} on each side are needed."
            ),
            n_won=above,
            n_lost=below,
        )
    try:
        with contextlib.redirect_stdout(io.StringIO()), warnings.catch_warnings():
            warnings.filterwarnings("ignore", module=r"rdrobust(\..*)?$")
            fit = rdrobust(y, x, c=floor, level=level * 100)
    except (ValueError, ArithmeticError, np.linalg.LinAlgError) as err:
        return not_estimable(
            method=METHOD,
            evidence="consistent with",
            reason=f"Not estimable: the local fits failed near the floor ({err}).",
            n_won=above,
            n_lost=below,
        )
    est = float(fit.coef.iloc[0, 0])
    low, high = (float(v) for v in fit.ci.iloc[2, :2])
    se_rb = float(fit.se.iloc[2, 0])
    if not all(math.isfinite(v) for v in (est, low, high, se_rb)):
        return not_estimable(
            method=METHOD,
            evidence="consistent with",
            reason="Not estimable: the local fits near the floor gave no finite interval.",
            n_won=above,
            n_lost=below,
        )
    n_left, n_right = (int(v) for v in fit.N_h)
    return Estimate(
        estimate=est,
        low=low,
        high=high,
        p_value=float(fit.pv.iloc[2, 0]),
        n_won=n_right,
        n_lost=n_left,
        take_up_won=math.nan,
        take_up_lost=math.nan,
        method=METHOD,
        assumptions=ASSUMPTIONS,
        evidence="consistent with",
        se=se_rb,
        level=level,
        notes=(
            f"{n_left} below and {n_right} above the floor within the bandwidth "
            f"(±{float(fit.bws.iloc[0, 0]):.3g} of the score).",
        ),
    )
