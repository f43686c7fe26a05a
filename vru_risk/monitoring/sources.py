"""Per-source weekly summaries (rows, people covered, reporting lag) and their seasonal profile.

A week is an ISO week (Monday to Sunday) of the *event* date; its reporting lag is the known date
minus the event date, in days (median and 90th percentile). :func:`weekly_source_rows` computes
the weekly rows from event rows (the job may compute the same columns, :data:`WEEK_COLUMNS`, in
SQL at county scale); :func:`source_profile` turns a reference period's weeks into what later
weeks are compared with: the same ISO week number and the same calendar month of the reference
period (so the summer holidays, when schools send no attendance, are expected and not an
outage), and per calendar month the longest run of days with no event at all.

Example
-------
>>> import pandas as pd
>>> from datetime import date
>>> events = pd.DataFrame({"source": ["attendance"] * 3, "person_id": ["a", "a", "b"],
...     "event_date": [date(2024, 1, 1), date(2024, 1, 2), date(2024, 1, 9)],
...     "known_date": [date(2024, 1, 8), date(2024, 1, 8), date(2024, 1, 16)]})
>>> weeks = weekly_source_rows(events)
>>> weeks[["iso_week", "rows", "people", "lag_median"]].values.tolist()
[['2024-W01', 2, 1, 6.5], ['2024-W02', 1, 1, 7.0]]
>>> profile = source_profile(weeks[weeks.source == "attendance"], events.event_date)
>>> profile.by_month["01"].rows_mean, profile.gap_days_by_month["01"]
(1.5, 6)
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable
from datetime import date, timedelta
from typing import Final

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict

#: The columns of a weekly source summary.
WEEK_COLUMNS: Final = (
    "source",
    "week_start",
    "iso_week",
    "month",
    "rows",
    "people",
    "lag_median",
    "lag_p90",
    "last_known",
)


def weekly_source_rows(events: pd.DataFrame) -> pd.DataFrame:
    """Per source and ISO week of the event date: rows, distinct people, reporting lag (median,
    90th percentile, in days) and the last known date. ``events``: source, person_id,
    event_date, known_date."""
    need = ["source", "person_id", "event_date", "known_date"]
    absent = [c for c in need if c not in events.columns]
    if absent:
        raise ValueError(f"weekly source rows need the column(s) {', '.join(absent)}")
    if events.empty:
        return pd.DataFrame(columns=list(WEEK_COLUMNS))
    e = events[need].copy()
    e["event_date"] = pd.to_datetime(e["event_date"])
    e["known_date"] = pd.to_datetime(e["known_date"])
    e["lag"] = (e["known_date"] - e["event_date"]).dt.days.astype("float64")
    e["week_start"] = (
        e["event_date"] - pd.to_timedelta(e["event_date"].dt.day_of_week, unit="D")
    ).dt.date
    grouped = e.groupby(["source", "week_start"], sort=True)
    out = grouped.agg(
        rows=("person_id", "size"),
        people=("person_id", "nunique"),
        lag_median=("lag", "median"),
        lag_p90=("lag", lambda s: float(np.quantile(s, 0.9))),
        last_known=("known_date", "max"),
    ).reset_index()
    out["iso_week"] = [week_key(d) for d in out["week_start"]]
    out["month"] = [f"{(d + timedelta(days=3)).month:02d}" for d in out["week_start"]]
    out["last_known"] = out["last_known"].dt.date
    out["rows"] = out["rows"].astype("int64")
    out["people"] = out["people"].astype("int64")
    return out[list(WEEK_COLUMNS)]


def week_key(week_start: date) -> str:
    """``YYYY-Www`` of the ISO week holding ``week_start``.

    >>> week_key(date(2024, 12, 30))
    '2025-W01'
    """
    year, week, _ = week_start.isocalendar()
    return f"{year}-W{week:02d}"


class SourceSeason(BaseModel):
    """What the reference period's weeks of one season (an ISO week number or a calendar month,
    the month of a week's Thursday) looked like."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    weeks: int
    rows_mean: float
    rows_min: int
    rows_max: int
    people_mean: float
    lag_median: float | None
    lag_p90: float | None


class SourceProfile(BaseModel):
    """A source's seasonal profile over the reference period."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    weeks: int
    by_iso_week: dict[str, SourceSeason]
    by_month: dict[str, SourceSeason]
    #: per calendar month, the longest run of days with no event overlapping it (summer holidays
    #: for attendance): an outage is silence longer than this plus the allowed days
    gap_days_by_month: dict[str, int]


def _season(weeks: pd.DataFrame) -> SourceSeason:
    def mean_or_none(s: pd.Series) -> float | None:
        s = s.dropna()
        return round(float(s.mean()), 6) if len(s) else None

    return SourceSeason(
        weeks=len(weeks),
        rows_mean=round(float(weeks["rows"].mean()), 6),
        rows_min=int(weeks["rows"].min()),
        rows_max=int(weeks["rows"].max()),
        people_mean=round(float(weeks["people"].mean()), 6),
        lag_median=mean_or_none(weeks["lag_median"]),
        lag_p90=mean_or_none(weeks["lag_p90"]),
    )


def gap_days_by_month(event_days: Iterable[date]) -> dict[str, int]:
    """Per calendar month (``"01"``..``"12"``), the longest run of days without an event that
    overlaps it, between the first and the last event day (0 where none overlaps).

    >>> gap_days_by_month([date(2024, 7, 20), date(2024, 9, 4)])["08"]
    45
    """
    days = sorted({pd.Timestamp(d).date() for d in event_days})
    out = {f"{m:02d}": 0 for m in range(1, 13)}
    for a, b in itertools.pairwise(days):
        gap = (b - a).days - 1
        if gap <= 0:
            continue
        d = a + timedelta(days=1)
        last = b - timedelta(days=1)
        while d <= last:
            key = f"{d.month:02d}"
            out[key] = max(out[key], gap)
            d = (d.replace(day=1) + timedelta(days=32)).replace(day=1)
    return out


def source_profile(weeks: pd.DataFrame, event_days: Iterable[date]) -> SourceProfile:
    """The seasonal profile of one source from its reference weeks (:data:`WEEK_COLUMNS`) and
    the days it had events on."""
    if weeks.empty:
        by_week: dict[str, SourceSeason] = {}
        by_month: dict[str, SourceSeason] = {}
    else:
        number = weeks["iso_week"].astype(str).str[-2:]
        by_week = {str(k): _season(g) for k, g in weeks.groupby(number)}
        by_month = {str(m): _season(g) for m, g in weeks.groupby("month")}
    return SourceProfile(
        weeks=len(weeks),
        by_iso_week=by_week,
        by_month=by_month,
        gap_days_by_month=gap_days_by_month(event_days),
    )
