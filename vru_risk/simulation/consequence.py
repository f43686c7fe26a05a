"""What the simulated service changes in the records: the support it started is added to
``interventions``, and the serious-violence involvements that support prevented, by the county's
potential outcomes (:mod:`vru_risk.data.synthetic.potential`), leave no label event behind.

Each programme's support prevents by its own true serious-violence multiplier (``truth.json``'s
``programme_effects``, :func:`prevented_by`); a harmful programme (multiplier above 1) is
refused, since the involvements it would cause have no records to add.

Support prevents only serious violence here (the label); the county's smaller effect of support
on offending, street encounters and school incidents is not applied to the service's support, so
those records stay as they were.

Example
-------
>>> import datetime as dt
>>> existing = pd.DataFrame({"person_id": ["b"], "programme": ["Admit A&E"],
...     "start_date": [dt.date(2025, 1, 2)], "end_date": [None],
...     "known_date": [dt.date(2025, 1, 3)]})
>>> support = pd.DataFrame({"person_id": ["a", "a"], "programme": ["Jump Start Mentoring"] * 2,
...     "start_date": [dt.date(2025, 2, 1), dt.date(2025, 8, 20)],
...     "end_date": [dt.date(2025, 9, 30), dt.date(2025, 12, 1)],
...     "known_date": [dt.date(2025, 2, 3), dt.date(2025, 9, 5)]})
>>> out = interventions_with(existing, support, extract_date=dt.date(2025, 8, 31))
>>> out["person_id"].tolist(), out["end_date"].tolist()  # ongoing: no end; known later: absent
(['a', 'b'], [None, None])
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Final

import numpy as np
import pandas as pd

from vru_risk.data.synthetic.potential import (
    prevented_records,
    support_multiplier,
    thresholds,
    would_prevent,
)

INTERVENTION_COLUMNS: Final = (
    "person_id",
    "programme",
    "start_date",
    "end_date",
    "completed",
    "known_date",
)


def interventions_with(
    existing: pd.DataFrame, support: pd.DataFrame, *, extract_date: dt.date
) -> pd.DataFrame:
    """The ``interventions`` table with the service's ``support`` added: the periods the VRU
    knew of by the extract date, an end after it left empty (support still under way, as the
    generator writes it); sorted by person, programme and start. The service's support ends as
    planned (``completed`` true once its end has passed, empty while under way); an existing
    table without ``completed`` (an older extract) has it empty."""
    known = support.loc[np.array([d <= extract_date for d in support["known_date"]], dtype=bool)]
    if "completed" not in existing.columns:
        existing = existing.assign(completed=pd.Series([None] * len(existing), dtype=object))
    added = pd.DataFrame(
        {
            "person_id": known["person_id"].astype(str).to_numpy(),
            "programme": known["programme"].astype(str).to_numpy(),
            "start_date": known["start_date"].to_numpy(),
            "end_date": [None if e > extract_date else e for e in known["end_date"]],
            "completed": [None if e > extract_date else True for e in known["end_date"]],
            "known_date": known["known_date"].to_numpy(),
        }
    )
    parts = [p for p in (existing[list(INTERVENTION_COLUMNS)], added) if len(p)]
    if not parts:
        return existing[list(INTERVENTION_COLUMNS)].copy()
    merged = pd.concat(parts, ignore_index=True)
    order = np.lexsort(
        (
            np.array([str(d) for d in merged["start_date"]], dtype=object),
            merged["programme"].astype(str).to_numpy(),
            merged["person_id"].astype(str).to_numpy(),
        )
    )
    return merged.iloc[order].reset_index(drop=True)


def prevented_by(
    potential: pd.DataFrame,
    support: pd.DataFrame,
    *,
    effect: float,
    multipliers: Mapping[str, float] | None = None,
) -> np.ndarray:
    """Per row of the potential outcomes: an involvement that happened and that ``support``
    (person_id, start_date, end_date, and ``programme`` when ``multipliers`` are given)
    prevented. Each programme's support has its true serious-violence multiplier
    (``multipliers`` by programme name; ``1 - effect`` for one not in it, and for every
    programme without ``multipliers``); on a day with several the smallest applies, as in
    the county (:mod:`~vru_risk.data.synthetic.effects`), so an involvement that happened is
    prevented exactly when the service's multiplier on its day is at most its
    ``support_threshold``. Support counts from the day it started, whether or not the VRU
    knew of it by the extract date.

    A multiplier above 1 would *cause* involvements (whose records the extract does not
    have): the simulated service refuses such a county before it runs
    (:func:`harmful_programmes`); here it raises a ValueError."""
    if not 0.0 <= effect <= 1.0:
        raise ValueError(f"a support effect is a share between 0 and 1, not {effect}")
    harmful = harmful_programmes(multipliers or {})
    if harmful:
        raise ValueError(_HARMFUL.format(", ".join(harmful)))
    happened = potential["happened"].to_numpy(dtype=bool)
    if multipliers is None:
        periods = support[["person_id", "start_date", "end_date"]]
        return np.asarray(would_prevent(potential, periods, effect=effect) & happened, dtype=bool)
    multiplier = support_multiplier(potential, support, multipliers, default=1.0 - effect)
    covered_day = np.isfinite(multiplier)
    return np.asarray(happened & covered_day & (thresholds(potential) >= multiplier), dtype=bool)


_HARMFUL = (
    "the simulated service cannot apply a harmful programme (serious-violence multiplier "
    "above 1: {}): the involvements its support would cause are not in the extract's records. "
    "Give the service only programmes with a multiplier of at most 1, or generate the county "
    "without --programme-effect above 1"
)


def harmful_programmes(multipliers: Mapping[str, float]) -> list[str]:
    """The programmes whose true serious-violence multiplier is above 1, sorted."""
    return sorted(name for name, value in multipliers.items() if value > 1.0)


def refuse_harmful(multipliers: Mapping[str, float]) -> str | None:
    """The message refusing a harmful programme among ``multipliers``, or None."""
    harmful = harmful_programmes(multipliers)
    return _HARMFUL.format(", ".join(harmful)) if harmful else None


def without_prevented(
    police: pd.DataFrame, ae: pd.DataFrame, potential: pd.DataFrame, prevented: np.ndarray
) -> tuple[pd.DataFrame, pd.DataFrame, int, int]:
    """``police_contacts`` and ``ae_visits`` without the label events that only prevented
    involvements left behind; and how many rows of each went."""
    police_gone, ae_gone = prevented_records(potential, prevented)
    keys = ["person_id", "date", "role", "offence"]
    p_key = police[keys].assign(
        person_id=police["person_id"].astype(str), date=pd.to_datetime(police["date"]).dt.date
    )
    gone = police_gone.assign(date=pd.to_datetime(police_gone["date"]).dt.date)
    drop_p = _matched(p_key, gone, keys)
    a_key = ae[["person_id", "arrival"]].assign(
        person_id=ae["person_id"].astype(str), arrival=pd.to_datetime(ae["arrival"])
    )
    drop_a = _matched(a_key, ae_gone.assign(arrival=pd.to_datetime(ae_gone["arrival"])), None)
    return (
        police[~drop_p].reset_index(drop=True),
        ae[~drop_a].reset_index(drop=True),
        int(drop_p.sum()),
        int(drop_a.sum()),
    )


def _matched(rows: pd.DataFrame, keys: pd.DataFrame, on: list[str] | None) -> np.ndarray:
    """Which of ``rows`` have their key among ``keys`` (unique keys; rows keep their order)."""
    columns = list(rows.columns) if on is None else on
    found = rows[columns].merge(
        keys[columns].drop_duplicates(), on=columns, how="left", indicator=True
    )
    return np.asarray(found["_merge"].to_numpy() == "both", dtype=bool)
