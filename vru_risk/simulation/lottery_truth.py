"""The truth behind a lottery: each participant's potential outcomes, so the true
intention-to-treat effect of the realised draw is known.

For every band member of every draw (winner and loser, :func:`~vru_risk.flags.lottery.
draws_frame`), ``y0`` and ``y1`` say whether the young person would have a serious-violence
involvement dated in the label window ``(day + gap, day + horizon]`` after the draw's day:

- ``y0``: without the programme's support, in the county as generated (its own support
  included; the service's other support is not counted): the involvements that ``happened``;
- ``y1``: with the programme's support added, by the county's potential outcomes and the
  programme's true serious-violence multiplier (:mod:`~vru_risk.data.synthetic.effects`; the
  smallest multiplier applies where the county's own support also covers a day).

**Support timing.** A winner whose support of the programme the service started (the first
start after the draw's day) has that period (``period = "service"``). Everyone else — losers,
and winners who did not take up the place or whose support had not started by the extract
date — has the support the service would start: from the day after the draw, for the middle
of the programme's duration range (``period = "assumed"``).

The involvements count whether or not any agency recorded them (the truth, not the label a model
sees). The summary (:func:`lottery_summary`) gives per programme the participants, winners,
the means of ``y0`` and ``y1``, ``effect_if_all_supported`` (mean ``y1 - y0`` over the band),
``true_itt`` (mean over the winners of their realised outcome, ``y1`` when the service's support
started else ``y0``, minus ``y0``: the winners are a random sample of the band, so this is the
realised draw's intention-to-treat effect, uptake as it happened) and ``observed_difference``
(the winners' mean realised outcome minus the losers' mean ``y0``: what comparing winners with
losers estimates, chance imbalance included).

Example
-------
>>> import datetime as dt
>>> draws = pd.DataFrame({"programme": ["jump"] * 2, "day": [dt.date(2025, 1, 1)] * 2,
...     "person_id": ["a", "b"], "won": [True, False]})
>>> potential = pd.DataFrame({"person_id": ["a", "b"], "date": [dt.date(2025, 3, 1)] * 2,
...     "u_prevent": [0.7, 0.2], "support_threshold": [0.7, 0.2],
...     "caused_if_supported": [False, False], "supported": [False, False],
...     "happened": [True, True]})
>>> out = lottery_outcomes(draws, pd.DataFrame(columns=["person_id", "programme_id",
...     "start_date", "end_date"]), potential, names={"jump": "Jump Start Mentoring"},
...     durations={"jump": (120, 240)}, multipliers={"Jump Start Mentoring": 0.6},
...     default=0.6, gap_days=7, horizon_days=365)
>>> out[["person_id", "y0", "y1"]].values.tolist()  # a's draw 0.7 >= 0.6: prevented
[['a', True, False], ['b', True, True]]
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any, Final

import numpy as np
import pandas as pd

from vru_risk.data.synthetic.potential import support_multiplier, thresholds

#: the columns of ``lottery_outcomes.parquet``
OUTCOME_COLUMNS: Final = (
    "programme", "day", "person_id", "won", "period", "support_start", "support_end", "y0", "y1",
)  # fmt: skip
LOTTERY_OUTCOMES_FILE: Final = "lottery_outcomes.parquet"


def _periods(
    draws: pd.DataFrame,
    support: pd.DataFrame,
    durations: Mapping[str, tuple[int, int]],
) -> tuple[list[dt.date], list[dt.date], list[str]]:
    """Each participant's support period for ``y1`` and where it comes from."""
    started: dict[tuple[str, str], list[tuple[dt.date, dt.date]]] = {}
    for person, programme, start, end in zip(
        support["person_id"].astype(str),
        support["programme_id"].astype(str),
        support["start_date"],
        support["end_date"],
        strict=True,
    ):
        started.setdefault((person, programme), []).append((start, end))
    starts: list[dt.date] = []
    ends: list[dt.date] = []
    kinds: list[str] = []
    for programme, day, person, won in zip(
        draws["programme"].astype(str),
        draws["day"],
        draws["person_id"].astype(str),
        draws["won"].astype(bool),
        strict=True,
    ):
        after = sorted(p for p in started.get((person, programme), []) if p[0] > day)
        if won and after:
            start, end = after[0]
            kinds.append("service")
        else:
            low, high = durations[programme]
            start = day + dt.timedelta(days=1)
            end = start + dt.timedelta(days=(low + high) // 2 - 1)
            kinds.append("assumed")
        starts.append(start)
        ends.append(end)
    return starts, ends, kinds


def lottery_outcomes(
    draws: pd.DataFrame,
    support: pd.DataFrame,
    potential: pd.DataFrame,
    *,
    names: Mapping[str, str],
    durations: Mapping[str, tuple[int, int]],
    multipliers: Mapping[str, float],
    default: float,
    gap_days: int,
    horizon_days: int,
) -> pd.DataFrame:
    """``y0`` and ``y1`` per lottery participant (:data:`OUTCOME_COLUMNS`; module docstring).

    Parameters
    ----------
    draws
        The band members: programme (id), day, person_id, won.
    support
        The service's support: person_id, programme_id, start_date, end_date.
    potential
        The county's potential outcomes (:mod:`~vru_risk.data.synthetic.potential`).
    names, durations
        Per programme id: the intervention name its support is recorded under, and its
        shortest and longest support in days.
    multipliers, default
        The true serious-violence multiplier per intervention name; ``default`` for others.
    gap_days, horizon_days
        The label window after the draw's day.
    """
    starts, ends, kinds = _periods(draws, support, durations)
    out = pd.DataFrame(
        {
            "programme": draws["programme"].astype(str).to_numpy(),
            "day": draws["day"].to_numpy(),
            "person_id": draws["person_id"].astype(str).to_numpy(),
            "won": draws["won"].to_numpy(dtype=bool),
            "period": kinds,
            "support_start": starts,
            "support_end": ends,
        }
    )
    y0 = np.zeros(len(out), dtype=bool)
    y1 = np.zeros(len(out), dtype=bool)
    if len(out) and len(potential):
        keyed = out.assign(key=[str(i) for i in range(len(out))])
        pairs = keyed[["key", "person_id", "day"]].merge(
            potential.assign(row=np.arange(len(potential))).astype({"person_id": str}),
            on="person_id",
        )
        offset = np.array([(d - a).days for d, a in zip(pairs["date"], pairs["day"], strict=True)])
        pairs = pairs[(offset > gap_days) & (offset <= horizon_days)].reset_index(drop=True)
        periods = pd.DataFrame(
            {
                "person_id": keyed["key"],
                "programme": [names[p] for p in keyed["programme"]],
                "start_date": keyed["support_start"],
                "end_date": keyed["support_end"],
            }
        )
        as_pairs = pairs.assign(person_id=pairs["key"])
        m = support_multiplier(as_pairs, periods, multipliers, default=default)
        covered = np.isfinite(m)
        threshold = thresholds(pairs)
        happened = pairs["happened"].to_numpy(dtype=bool)
        caused = (
            pairs["caused_if_supported"].to_numpy(dtype=bool)
            if "caused_if_supported" in pairs.columns
            else np.zeros(len(pairs), dtype=bool)
        )
        county = pairs["supported"].to_numpy(dtype=bool)
        with_support = (happened & ~(covered & (threshold >= m))) | (
            ~happened & caused & ~county & covered & (threshold < m)
        )
        index = pairs["key"].astype(int).to_numpy()
        y0[index[happened]] = True
        y1[index[with_support]] = True
    return out.assign(y0=y0, y1=y1)


def lottery_summary(outcomes: pd.DataFrame) -> dict[str, dict[str, Any]]:
    """Per programme: the true effects of its realised draws (module docstring)."""
    summary: dict[str, dict[str, Any]] = {}
    for programme, rows in outcomes.groupby("programme", sort=True):
        won = rows["won"].to_numpy(dtype=bool)
        y0 = rows["y0"].to_numpy(dtype=float)
        y1 = rows["y1"].to_numpy(dtype=float)
        realised = np.where(rows["period"].to_numpy() == "service", y1, y0)

        def mean(values: np.ndarray) -> float | None:
            return float(values.mean()) if values.size else None

        itt = mean(realised[won] - y0[won])
        winners, losers = mean(realised[won]), mean(y0[~won])
        summary[str(programme)] = {
            "participants": len(rows),
            "winners": int(won.sum()),
            "y0_mean": mean(y0),
            "y1_mean": mean(y1),
            "effect_if_all_supported": mean(y1 - y0),
            "true_itt": itt,
            "observed_difference": None if winners is None or losers is None else winners - losers,
        }
    return summary
