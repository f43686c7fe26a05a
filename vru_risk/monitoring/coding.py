"""Coding changes: whether a source still records its categories the way it did.

A partner can change how it records something without any row going missing: a school's system
maps code ``O`` (other unauthorised absence) to ``C`` (authorised leave), a police force moves an
offence group. The model's inputs then move only slowly (a 365-day rate takes a year to show
it), but the *mix* of recorded values moves at once. So the reference keeps, for every
categorical column of every event table (:data:`~vru_risk.data.contract.TABLES`), the count of
each value per calendar month of its season (the year up to the calibration window's end,
rows known by then): a :class:`CategoryMix`. A run counts the values of the rows with an event
date in its 28 days (known by the as-of date) and :func:`coding_check` compares, for each column
the criteria watch (``coding:``), each value's share with its share in the same season
(:func:`~vru_risk.monitoring.bins.same_season`: the reference's months weighted by the days
of the window). A value holding at least ``min_share`` of the rows (among the values listed in
``among``, when given) whose share moved by more than ``relative_change`` of itself, on at least
``min_rows`` rows, is a coding change: a ``review`` naming the source and the value. A change
in *who* is recorded moves the mix too (newcomers who miss more school), and the finding says
so: the panel tells the two apart from the other findings (inputs, scores) and the partner.

Example
-------
>>> import pandas as pd
>>> rows = pd.DataFrame({"source": "attendance", "column": "status", "month": ["03", "03"],
...                      "value": ["present", "unauthorised_absence"], "rows": [900, 100]})
>>> mix = category_mixes(rows)["attendance.status"]
>>> mix.values[:4], mix.counts.by_month["03"].counts[:4]
(('present', 'late', 'authorised_absence', 'unauthorised_absence'), (900, 0, 0, 100))
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Final

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict

from vru_risk.data.contract import EVENT_TABLES, TABLES, Kind, source_name
from vru_risk.models.words import plain
from vru_risk.monitoring.bins import Histogram, HistogramSet, same_season
from vru_risk.monitoring.criteria import CodingThresholds, MonitoringCriteria
from vru_risk.monitoring.verdict import Finding

#: The columns of the category counts :func:`category_mixes` reads (month: ``"01"``..``"12"``
#: of the event date; value: None for an empty cell).
COUNT_COLUMNS: Final = ("source", "column", "month", "value", "rows")


def categorical_columns(sources: Sequence[str]) -> dict[str, tuple[str, ...]]:
    """The categorical columns of the contract's event tables among ``sources``.

    >>> categorical_columns(["attendance", "people"])
    {'attendance': ('status', 'session')}
    """
    out: dict[str, tuple[str, ...]] = {}
    for source in sources:
        if source not in EVENT_TABLES:
            continue
        cols = [c for c in TABLES[source].columns if c.kind is Kind.CATEGORY]
        cols.sort(key=lambda c: c.name != "status")  # the register's status first
        if cols:
            out[source] = tuple(c.name for c in cols)
    return out


class CategoryMix(BaseModel):
    """The counts of each value of one column (in the contract's order) per calendar month of
    the reference's season; empty cells are counted as missing."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    values: tuple[str, ...]
    counts: HistogramSet


def _histogram(frame: pd.DataFrame, values: Sequence[str]) -> Histogram:
    rows = frame.groupby(frame["value"].fillna("\0"), sort=False)["rows"].sum()
    return Histogram(
        counts=tuple(int(rows.get(v, 0)) for v in values), missing=int(rows.get("\0", 0))
    )


def category_mixes(counts: pd.DataFrame) -> dict[str, CategoryMix]:
    """One :class:`CategoryMix` per ``source.column`` of ``counts`` (:data:`COUNT_COLUMNS`)."""
    out: dict[str, CategoryMix] = {}
    if counts.empty:
        return out
    for (source, column), part in counts.groupby(["source", "column"], sort=True):
        values = TABLES[str(source)].column(str(column)).categories
        out[f"{source}.{column}"] = CategoryMix(
            values=values,
            counts=HistogramSet(
                all=_histogram(part, values),
                by_month={
                    str(m): _histogram(g, values) for m, g in part.groupby("month", sort=True)
                },
            ),
        )
    return out


def _shares(counts: np.ndarray, values: Sequence[str], among: Sequence[str] | None) -> np.ndarray:
    keep = np.array([among is None or v in among for v in values])
    kept = np.where(keep, counts, 0.0)
    total = kept.sum()
    return kept / total if total else kept


def _judge(
    key: str,
    mix: CategoryMix,
    current: Histogram,
    months: Sequence[str],
    limits: CodingThresholds,
) -> tuple[dict[str, Any], Finding | None]:
    among = limits.among
    expected = same_season(mix.counts, months, min_rows=1)
    now = np.asarray(current.counts, dtype="float64")
    rows = int(now[[among is None or v in among for v in mix.values]].sum())
    p = _shares(np.asarray(expected.counts, dtype="float64"), mix.values, among)
    q = _shares(now, mix.values, among)
    judged = rows >= limits.min_rows
    values = []
    worst: tuple[float, str, float, float] | None = None
    for v, ref, cur in zip(mix.values, p, q, strict=True):
        if among is not None and v not in among:
            continue
        change = (cur - ref) / ref if ref > 0 else None
        watched = ref >= limits.min_share
        values.append(
            {
                "value": v,
                "share": round(float(cur), 6),
                "reference_share": round(float(ref), 6),
                "change": None if change is None else round(float(change), 6),
                "watched": bool(watched),
            }
        )
        if change is None or not (judged and watched) or abs(change) <= limits.relative_change:
            continue
        if worst is None or abs(change) > abs(worst[0]):
            worst = (float(change), v, float(ref), float(cur))
    source, column = key.split(".", 1)
    row = {
        "source": source,
        "column": column,
        "rows": rows,
        "judged": judged,
        "min_rows": limits.min_rows,
        "relative_change": limits.relative_change,
        "among": list(among) if among is not None else None,
        "values": values,
        "changed": worst is not None,
    }
    if worst is None:
        return row, None
    change, value, ref, cur = worst
    finding = Finding(
        criterion="coding_change",
        level="review",
        subject=source,
        sentence=(
            f"Source {source_name(source)}: the share of “{plain(value)}” among its "
            f"{plain(column)} values moved from "
            f"{ref:.2%} (the same season of the reference) to {cur:.2%} ({change:+.0%}; limit "
            f"{limits.relative_change:.0%}) over {rows:,} records: the way it is recorded (a "
            "coding change), or who is recorded, has changed."
        ),
        figures={
            "column": column,
            "value": value,
            "reference_share": ref,
            "share": cur,
            "change": change,
            "rows": rows,
        },
    )
    return row, finding


def coding_check(
    mixes: Mapping[str, CategoryMix],
    current: pd.DataFrame,
    months: Sequence[str],
    criteria: MonitoringCriteria,
) -> tuple[list[dict[str, Any]], list[Finding]]:
    """Each watched column's value shares in the run's rows (``current``:
    :data:`COUNT_COLUMNS`, any month) against the same season of the reference; a review per
    column whose share of a value moved beyond its limit. ``months``: the month of each day of
    the window. A watched column the reference or the folder lacks is reported as not judged."""
    rows: list[dict[str, Any]] = []
    findings: list[Finding] = []
    for key, limits in sorted(criteria.coding.items()):
        source, column = key.split(".", 1)
        mix = mixes.get(key)
        if mix is None:
            rows.append(
                {"source": source, "column": column, "rows": 0, "judged": False, "values": []}
            )
            continue
        mine = (
            current[(current["source"] == source) & (current["column"] == column)]
            if not current.empty
            else current
        )
        now = (
            _histogram(mine, mix.values)
            if not mine.empty
            else Histogram(counts=(0,) * len(mix.values), missing=0)
        )
        row, found = _judge(key, mix, now, months, limits)
        rows.append(row)
        if found is not None:
            findings.append(found)
    return rows, findings
