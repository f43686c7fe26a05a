"""Selection rates by audit-only group, with small cells suppressed by DISTINCT people.

A group's selection rate is the share of its teachable moments that were offered a place. A
young person can have many moments, so a cell's size is its number of distinct people, never its
rows: a cell of one person with forty moments is one person, and is suppressed below
``min_people`` like any other small cell.

**Secondary suppression.** When exactly one group of an attribute is suppressed, the shown
groups' counts and the total would give it away by subtraction, so the next smallest group is
suppressed too. A suppressed cell shows no count and no rate, only that it was suppressed.

Group labels follow the fairness audit's rule (a missing value is the explicit group
``unknown``; booleans ``true``/``false``; whole floats their integer); an intersection of
attributes ``ethnicity*sex`` has groups such as ``black*male``.

Example
-------
>>> import pandas as pd, numpy as np
>>> frame = pd.DataFrame({"person_id": ["a"] * 5 + ["b", "c", "d"],
...                       "sex": ["female"] * 5 + ["male"] * 3})
>>> offered = np.array([1, 0, 0, 0, 0, 1, 0, 0], dtype=bool)
>>> rates = selection_rates(frame, offered, ["sex"], min_people=2)
>>> [(r.group, r.suppressed, r.selection_rate) for r in rates["sex"]]
[('female', True, None), ('male', True, None)]
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt
import pandas as pd
from pydantic import BaseModel, ConfigDict

from vru_risk.models.groups import INTERSECTION_SEP, group_labels


class GroupRate(BaseModel):
    """One group's moments, distinct people, offers and selection rate; all None when the cell
    is suppressed."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    group: str
    suppressed: bool
    moments: int | None = None
    people: int | None = None
    offered: int | None = None
    selection_rate: float | None = None


def attribute_labels(frame: pd.DataFrame, attribute: Sequence[str]) -> np.ndarray:
    """Each row's group label of ``attribute`` (one column, or several for an intersection)."""
    parts = [group_labels(frame[c]) for c in attribute]
    out = parts[0]
    for p in parts[1:]:
        out = np.char.add(np.char.add(out.astype(str), INTERSECTION_SEP), p.astype(str))
    return np.asarray(out, dtype=object)


def group_rates(
    labels: npt.ArrayLike, person_id: npt.ArrayLike, offered: npt.ArrayLike, *, min_people: int
) -> tuple[GroupRate, ...]:
    """Selection rate per group label, suppressed by distinct people (see the module docstring)."""
    data = pd.DataFrame(
        {
            "group": np.asarray(labels, dtype=object),
            "person": np.asarray(person_id, dtype=object),
            "offered": np.asarray(offered, dtype=bool),
        }
    )
    if data.empty:
        return ()
    cells = data.groupby("group", sort=True).agg(
        moments=("offered", "size"), people=("person", "nunique"), offered=("offered", "sum")
    )
    suppressed = set(cells.index[cells["people"] < min_people])
    shown = cells[~cells.index.isin(suppressed)]
    if len(suppressed) == 1 and len(shown):
        suppressed.add(shown.sort_values(["people", "moments"]).index[0])
    out = []
    for group, row in cells.iterrows():
        if group in suppressed:
            out.append(GroupRate(group=str(group), suppressed=True))
            continue
        moments = int(row["moments"])
        out.append(
            GroupRate(
                group=str(group),
                suppressed=False,
                moments=moments,
                people=int(row["people"]),
                offered=int(row["offered"]),
                selection_rate=int(row["offered"]) / moments,
            )
        )
    return tuple(out)


def selection_rates(
    frame: pd.DataFrame,
    offered: npt.ArrayLike,
    attributes: Sequence[str],
    *,
    min_people: int,
    intersections: Sequence[Sequence[str]] = (),
) -> dict[str, tuple[GroupRate, ...]]:
    """Selection rates of ``frame``'s rows (with ``person_id`` and the attribute columns) by
    each attribute and each intersection (keyed ``a*b``)."""
    wanted = [*((a,) for a in attributes), *(tuple(i) for i in intersections)]
    absent = sorted({c for w in wanted for c in w if c not in frame.columns})
    if absent or "person_id" not in frame.columns:
        raise ValueError(
            f"selection rates need the column(s) {', '.join(absent or ['person_id'])}: join the "
            "audit-only attributes of people to the scored moments first"
        )
    flags = np.asarray(offered, dtype=bool)
    if len(flags) != len(frame):
        raise ValueError(f"{len(flags)} offer marks for {len(frame)} moments")
    person = frame["person_id"].astype(str).to_numpy(dtype=object)
    return {
        INTERSECTION_SEP.join(w): group_rates(
            attribute_labels(frame, w), person, flags, min_people=min_people
        )
        for w in wanted
    }
