"""What the simulated service changes in the records: the support it started is added to
``interventions``, and the serious-violence involvements that support prevented, by the county's
potential outcomes (:mod:`vru_risk.data.synthetic.potential`), leave no label event behind.

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
from typing import Final

import numpy as np
import pandas as pd

from vru_risk.data.synthetic.potential import prevented_records, would_prevent

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


def prevented_by(potential: pd.DataFrame, support: pd.DataFrame, *, effect: float) -> np.ndarray:
    """Per row of the potential outcomes: an involvement that happened and that ``support``
    (person_id, start_date, end_date) prevented at ``effect``. Support counts from the day it
    started, whether or not the VRU knew of it by the extract date."""
    periods = support[["person_id", "start_date", "end_date"]]
    happened = potential["happened"].to_numpy(dtype=bool)
    return np.asarray(would_prevent(potential, periods, effect=effect) & happened, dtype=bool)


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
