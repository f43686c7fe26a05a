"""Which moments each programme may be offered to: age, trigger kinds, hospitals, schools, and
support already under way (``interventions``).

One rule for every allocation (:mod:`~vru_risk.flags.allocate`): the daily job applies it to the
moments it materialised (:class:`~vru_risk.features.moments.Moments`); training and the fairness
audit apply it to the labelled examples of their test and audit windows, with the same context
(:func:`vru_risk.features.moments.moment_context`). Computed with array operations, so a million
moments cost about as much as scoring them.

Example
-------
>>> import pandas as pd
>>> from datetime import date
>>> from vru_risk.flags.programmes import load_programmes
>>> day = date(2026, 3, 2)
>>> frame = pd.DataFrame({"person_id": ["a", "b"], "as_of": [day, day],
...     "age_completed": [9, 14], "school_id": ["s1", "s1"]})
>>> triggers = pd.DataFrame({"person_id": ["a", "b"], "as_of": [day, day],
...     "trigger_kind": ["police_contact", "police_contact"], "detail": [None, None]})
>>> supported = pd.DataFrame(columns=["person_id", "day", "programme"])
>>> masks = eligibility(load_programmes(), frame, triggers, supported)
>>> masks["early_intervention"].eligible.tolist()  # ages 10-17
[False, True]
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from vru_risk.flags.programmes import Programme, Programmes

#: the columns :func:`eligibility` reads of each table
FRAME_COLUMNS = ("person_id", "as_of", "age_completed", "school_id")
TRIGGER_COLUMNS = ("person_id", "as_of", "trigger_kind", "detail")
SUPPORTED_COLUMNS = ("person_id", "day", "programme")


@dataclass(frozen=True)
class Eligibility:
    """Boolean masks over the moments: may be offered the programme; already supported by it
    (shown as such, never offered)."""

    eligible: np.ndarray
    already: np.ndarray


def row_positions(frame: pd.DataFrame, other: pd.DataFrame, day_column: str) -> np.ndarray:
    """For each row of ``other`` (person_id, ``day_column``), its row position in ``frame``
    (person_id, as_of), or -1."""
    if len(other) == 0:
        return np.zeros(0, dtype=np.int64)
    keys = pd.MultiIndex.from_arrays(
        [frame["person_id"].astype(str).to_numpy(), pd.Index(frame["as_of"])]
    )
    wanted = pd.MultiIndex.from_arrays(
        [other["person_id"].astype(str).to_numpy(), pd.Index(other[day_column])]
    )
    return np.asarray(keys.get_indexer(wanted), dtype=np.int64)


def eligibility(
    programmes: Programmes,
    frame: pd.DataFrame,
    triggers: pd.DataFrame,
    supported: pd.DataFrame,
) -> dict[str, Eligibility]:
    """Per programme id, the masks over the rows of ``frame`` (person_id, as_of,
    age_completed, school_id); ``triggers`` (person_id, as_of, trigger_kind, detail: the
    hospital of an A&E visit) open a referral, ``supported`` (person_id, day, programme) is
    support under way on a day."""
    missing = [
        f"{name}.{c}"
        for name, table, cols in (
            ("frame", frame, FRAME_COLUMNS),
            ("triggers", triggers, TRIGGER_COLUMNS),
            ("supported", supported, SUPPORTED_COLUMNS),
        )
        for c in cols
        if c not in table.columns
    ]
    if missing:
        raise ValueError(f"eligibility needs the column(s) {', '.join(missing)}")
    frame = frame.reset_index(drop=True)
    trigger_rows = row_positions(frame, triggers, "as_of")
    supported_rows = row_positions(frame, supported, "day")
    return {
        p.id: _masks(p, frame, triggers, supported, trigger_rows, supported_rows)
        for p in programmes.programmes
    }


def _masks(
    programme: Programme,
    frame: pd.DataFrame,
    triggers: pd.DataFrame,
    supported: pd.DataFrame,
    trigger_rows: np.ndarray,
    supported_rows: np.ndarray,
) -> Eligibility:
    n = len(frame)
    ages = pd.to_numeric(frame["age_completed"]).to_numpy(dtype="float64", na_value=np.nan)
    mask = (ages >= programme.min_age) & (ages <= programme.max_age)
    ok = np.array(triggers["trigger_kind"].isin(programme.trigger_kinds), dtype=bool)
    if programme.hospitals is not None:
        at_hospital = np.array(triggers["detail"].isin(programme.hospitals), dtype=bool)
        ok = ok & (np.array(triggers["trigger_kind"] != "ae_visit", dtype=bool) | at_hospital)
    by_trigger = np.zeros(n, dtype=bool)
    by_trigger[trigger_rows[ok & (trigger_rows >= 0)]] = True
    mask &= by_trigger
    if programme.schools is not None:
        mask &= frame["school_id"].isin(programme.schools).to_numpy()
    supports = np.array([programme.supports(str(p)) for p in supported["programme"]], dtype=bool)
    already = np.zeros(n, dtype=bool)
    if len(supports):
        already[supported_rows[supports & (supported_rows >= 0)]] = True
    return Eligibility(eligible=mask & ~already, already=mask & already)
