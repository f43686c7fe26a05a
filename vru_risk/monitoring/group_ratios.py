"""A rate per audit-only group and its ratio to the attribute's reference group, with
person-level bootstrap intervals, for the monitoring report's groups section.

The rate of a group is ``numerator / denominator`` over its rows (moments): the selection rate is
offered moments over all moments; recall is offered positives over positive moments not given
support. A young person has many moments, so the bootstrap resamples *people* (all of a person's
moments together), and a cell is sized by its distinct people among the denominator's rows:
suppression is :func:`~vru_risk.monitoring.groups.group_rates`'s (cells under ``min_people``,
and the next smallest when exactly one is, so no cell is recovered by subtraction).

**Nothing here can be differenced.** A shown cell gives its rate, its ratio and interval and a
*band* of its number of people (:func:`people_band`), never a count: last month's figures and
this month's, or one attribute's and another's, cannot be subtracted to reveal a suppressed cell.

Besides the ratio (``rate / reference rate``), the difference ``reference rate - rate`` is
estimated with its interval: for recall, that is the group's miss-rate (false-negative rate)
difference from the reference group.

Example
-------
>>> import numpy as np
>>> labels = ["a"] * 40 + ["b"] * 40
>>> person = [f"p{i}" for i in range(80)]
>>> offered = np.arange(80) % 2 == 0
>>> rows = ratio_intervals(labels, person, offered, np.ones(80, bool), reference="a",
...                        min_people=10, replicates=50, seed=0)
>>> [(r.group, r.rate, r.ratio, r.people) for r in rows]
[('a', 0.5, 1.0, '10 to 49'), ('b', 0.5, 1.0, '10 to 49')]
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Final

import numpy as np
import numpy.typing as npt
import pandas as pd

from vru_risk.monitoring.groups import group_rates

#: upper ends of the people bands a shown cell is described by (the last band is open)
PEOPLE_BANDS: Final = (50, 200, 1000)
#: the bootstrap's replicates are drawn this many at a time (memory: chunk x people)
_CHUNK: Final = 50


@dataclass(frozen=True)
class GroupRatio:
    """One group's rate, its ratio and difference to the reference group with intervals, and
    a band of its number of people; every figure None when the cell is suppressed (and the
    ratio None when the reference group's is, or its rate is 0)."""

    group: str
    suppressed: bool
    people: str | None = None
    rate: float | None = None
    ratio: float | None = None
    ratio_low: float | None = None
    ratio_high: float | None = None
    difference: float | None = None
    difference_low: float | None = None
    difference_high: float | None = None

    def to_dict(self) -> dict[str, object]:
        return {k: getattr(self, k) for k in self.__dataclass_fields__}


def people_band(people: int, min_people: int) -> str:
    """A band of a cell's number of people, e.g. ``"50 to 199"``.

    >>> people_band(12, 10), people_band(60, 10), people_band(5000, 10)
    ('10 to 49', '50 to 199', '1000 or more')
    """
    low = min_people
    for high in PEOPLE_BANDS:
        if people < high:
            return f"{low} to {high - 1}"
        low = max(low, high)
    return f"{low} or more"


def _round(x: float) -> float:
    return round(float(x), 3)


def ratio_intervals(
    labels: npt.ArrayLike,
    person_id: npt.ArrayLike,
    numerator: npt.ArrayLike,
    denominator: npt.ArrayLike,
    *,
    reference: str,
    min_people: int,
    replicates: int,
    seed: int,
    confidence: float = 0.95,
) -> tuple[GroupRatio, ...]:
    """Per group (sorted): rate over the ``denominator`` rows, ratio and difference to
    ``reference`` with percentile intervals over ``replicates`` person-level bootstrap samples.
    A numerator row outside the denominator is not counted."""
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must be in (0, 1), e.g. 0.95; got {confidence!r}")
    den = np.asarray(denominator, dtype=bool)
    num = np.asarray(numerator, dtype=bool) & den
    group = np.asarray(labels, dtype=object)[den]
    person = np.asarray(person_id, dtype=object)[den]
    cells = {r.group: r for r in group_rates(group, person, num[den], min_people=min_people)}
    if not cells:
        return ()
    names = sorted(cells)
    g_code = np.searchsorted(names, group.astype(str))
    p_code, people = pd.factorize(person)
    n = len(people)
    num_pg = np.zeros((n, len(names)))
    den_pg = np.zeros((n, len(names)))
    np.add.at(den_pg, (p_code, g_code), 1.0)
    np.add.at(num_pg, (p_code, g_code), num[den].astype(float))
    ref = cells.get(reference)
    judged = ref is not None and not ref.suppressed and (ref.selection_rate or 0.0) > 0
    ratios = np.full((0, len(names)), np.nan)
    diffs = np.full((0, len(names)), np.nan)
    if judged and replicates > 0:
        rng = np.random.default_rng(seed)
        k = names.index(reference)
        parts_r, parts_d = [], []
        for start in range(0, replicates, _CHUNK):
            size = min(_CHUNK, replicates - start)
            weights = rng.multinomial(n, np.full(n, 1.0 / n), size=size).astype(float)
            with np.errstate(divide="ignore", invalid="ignore"):
                rate = (weights @ num_pg) / (weights @ den_pg)
                parts_r.append(rate / rate[:, [k]])
            parts_d.append(rate[:, [k]] - rate)
        ratios, diffs = np.vstack(parts_r), np.vstack(parts_d)
    tail = (1 - confidence) / 2
    out = []
    for j, name in enumerate(names):
        cell = cells[name]
        if cell.suppressed or cell.people is None or cell.selection_rate is None:
            out.append(GroupRatio(group=name, suppressed=True))
            continue
        row = GroupRatio(
            group=name,
            suppressed=False,
            people=people_band(cell.people, min_people),
            rate=_round(cell.selection_rate),
        )
        if judged and ref is not None and ref.selection_rate:
            r, d = ratios[:, j], diffs[:, j]
            r, d = r[np.isfinite(r)], d[np.isfinite(d)]
            row = replace(
                row,
                ratio=_round(cell.selection_rate / ref.selection_rate),
                difference=_round(ref.selection_rate - cell.selection_rate),
                ratio_low=_round(np.quantile(r, tail)) if len(r) else None,
                ratio_high=_round(np.quantile(r, 1 - tail)) if len(r) else None,
                difference_low=_round(np.quantile(d, tail)) if len(d) else None,
                difference_high=_round(np.quantile(d, 1 - tail)) if len(d) else None,
            )
        out.append(row)
    return tuple(out)
