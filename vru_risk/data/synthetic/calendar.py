"""The window of the synthetic county and its school-term calendar.

A school year runs from September to August. Each has exactly 190 school days (380 sessions):
the weekdays from the first weekday on or after 3 September, skipping the October half term
(the week from the Monday on or after 21 October), Christmas (20 December to 3 January), the
February half term (the week from the Monday on or after 12 February), Easter (the two weeks
around Easter Monday), the early May bank holiday and the spring half term (the week of the
last Monday of May), until 190 days are counted (mid-to-late July).

Example
-------
>>> from datetime import date
>>> from vru_risk.data.synthetic.calendar import make_window
>>> w = make_window(date(2026, 8, 31), years=2)
>>> w.start, len(w.school_days)
(datetime.date(2024, 9, 1), 380)
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np

from vru_risk.data.synthetic.model import (
    BoolArray,
    IntArray,
    day_number,
    month_number,
    month_start,
    school_year,
    weekday,
)

SCHOOL_DAYS_PER_YEAR = 190
#: Year 11 pupils are not required to attend from this day of June on (after their exams).
YEAR11_LEAVE_JUNE_DAY = 20


def easter_sunday(year: int) -> date:
    """Return Easter Sunday of a year (the anonymous Gregorian algorithm)."""
    a = year % 19
    b, c = divmod(year, 100)
    d, e = divmod(b, 4)
    f = (b + 8) // 25
    g = (b - f + 1) // 3
    h = (19 * a + b - d - g + 15) % 30
    i, k = divmod(c, 4)
    el = (32 + 2 * e + 2 * i - h - k) % 7
    m = (a + 11 * h + 22 * el) // 451
    month, day = divmod(h + el - 7 * m + 114, 31)
    return date(year, month, day + 1)


def _monday_on_or_after(d: date) -> date:
    return d + timedelta(days=(7 - d.weekday()) % 7)


def _week(monday: date) -> set[date]:
    return {monday + timedelta(days=i) for i in range(5)}


def school_days_of_year(year: int) -> list[date]:
    """Return the 190 school days of the school year starting in September of ``year``.

    Parameters
    ----------
    year
        Calendar year of the September in which the school year starts.

    Returns
    -------
    list of datetime.date
        Sorted school days.
    """
    nxt = year + 1
    holidays: set[date] = set()
    holidays |= _week(_monday_on_or_after(date(year, 10, 21)))
    day = date(year, 12, 20)
    while day <= date(nxt, 1, 3):
        holidays.add(day)
        day += timedelta(days=1)
    holidays |= _week(_monday_on_or_after(date(nxt, 2, 12)))
    easter = easter_sunday(nxt)
    holidays |= _week(easter - timedelta(days=6)) | _week(easter + timedelta(days=1))
    holidays.add(_monday_on_or_after(date(nxt, 5, 1)))
    last_may_monday = _monday_on_or_after(date(nxt, 5, 25))
    holidays |= _week(last_may_monday)
    days: list[date] = []
    day = date(year, 9, 3)
    while len(days) < SCHOOL_DAYS_PER_YEAR:
        if day.weekday() < 5 and day not in holidays:
            days.append(day)
        day += timedelta(days=1)
    return days


@dataclass(frozen=True)
class Window:
    """The simulated period and its calendar, as day and month numbers.

    Attributes
    ----------
    start, end
        First day (1 September of the first school year) and the extract date.
    start_day, end_day
        The same as day numbers.
    first_month, n_months
        Month number of ``start`` and the count of months up to and including ``end``'s.
    school_days
        Day numbers of the school days in the window, up to ``end``.
    school_day_year
        The school year (September's calendar year) of each school day.
    school_day_month
        Month index (0 = ``first_month``) of each school day.
    school_day_y11_leave
        Whether the day falls in Year 11's leave after its exams (from 20 June).
    """

    start: date
    end: date
    start_day: int
    end_day: int
    first_month: int
    n_months: int
    school_days: IntArray
    school_day_year: IntArray
    school_day_month: IntArray
    school_day_y11_leave: BoolArray

    @property
    def months(self) -> IntArray:
        """Month numbers of the window."""
        return np.arange(self.first_month, self.first_month + self.n_months, dtype=np.int64)

    @property
    def month_starts(self) -> IntArray:
        """First day (day number) of each month of the window."""
        return month_start(self.months)

    @property
    def month_ends(self) -> IntArray:
        """Last day (day number) of each month of the window."""
        return month_start(self.months + 1) - 1

    @property
    def school_years(self) -> IntArray:
        """The school years of the window, in order."""
        return np.unique(self.school_day_year)

    def school_day_rank(self, day: IntArray) -> IntArray:
        """Return how many school days of the window fall before each day."""
        return np.asarray(np.searchsorted(self.school_days, day, side="left"), dtype=np.int64)


def make_window(end: date, years: int) -> Window:
    """Build the window of ``years`` school years ending with the one that contains ``end``.

    Parameters
    ----------
    end
        The extract date.
    years
        Number of school years (the last one may be partial).

    Returns
    -------
    Window
        The window and its school calendar.
    """
    last_year = int(school_year(np.array([month_number(end)]))[0])
    first_year = last_year - years + 1
    start = date(first_year, 9, 1)
    days: list[date] = []
    for y in range(first_year, last_year + 1):
        days += [d for d in school_days_of_year(y) if d <= end]
    school = np.array([day_number(d) for d in days], dtype=np.int64)
    year = np.array([d.year if d.month >= 9 else d.year - 1 for d in days], dtype=np.int64)
    first_month = month_number(start)
    month = np.array([month_number(d) - first_month for d in days], dtype=np.int64)
    leave = np.array(
        [d.month in (6, 7) and (d.month == 7 or d.day >= YEAR11_LEAVE_JUNE_DAY) for d in days],
        dtype=np.bool_,
    )
    return Window(
        start=start,
        end=end,
        start_day=day_number(start),
        end_day=day_number(end),
        first_month=first_month,
        n_months=month_number(end) - first_month + 1,
        school_days=school,
        school_day_year=year,
        school_day_month=month,
        school_day_y11_leave=leave,
    )


def next_monday(day: IntArray) -> IntArray:
    """Return the Monday after each day (a weekly return sent at the start of the next week)."""
    return np.asarray(day - weekday(day) + 7, dtype=np.int64)


def ae_refreshed_on(extract: date, refresh_day: int) -> date:
    """Return the last monthly A&E refresh on or before the extract date.

    The A&E feed is refreshed on day ``refresh_day`` of each month with the previous month's
    visits.
    """
    this_month = date(extract.year, extract.month, refresh_day)
    if this_month <= extract:
        return this_month
    if extract.month == 1:
        return date(extract.year - 1, 12, refresh_day)
    return date(extract.year, extract.month - 1, refresh_day)
