"""Temporal splits that replay the service: rolling origin, labels closed before each test.

Vocabulary (triage's timechop): ``feature_start_time`` is the first as-of date used;
``label_timespan`` the length of a label window; ``model_update_frequency`` the span of as-of
dates (calendar months) each test fold covers; an ``as_of_date`` is an example's date.

For every fold, each training and calibration example's label window, plus the longest reporting
lag of the label sources, closes on or before the fold's first test as-of date: the model is
fitted only on outcomes that would have been known when it was put into service.

Example
-------
>>> from datetime import date
>>> from vru_risk.training.config import TemporalConfig
>>> plan = fold_plan(TemporalConfig(), extract_date=date(2026, 8, 31), label_lag_days=31)
>>> [f.test_start.isoformat() for f in plan]
['2024-01-01', '2024-07-01', '2025-01-01']
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import duckdb

from vru_risk.training.config import TemporalConfig


class FoldPlanError(ValueError):
    """The data's time span cannot hold the configured folds; ``problems`` lists why."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = tuple(problems)
        super().__init__("fold plan rejected:\n" + "\n".join(f"  - {p}" for p in problems))


@dataclass(frozen=True)
class Fold:
    """One rolling-origin fold. Every slice holds as-of dates in ``[start, end)``."""

    index: int
    train_start: date
    train_end: date
    calibration_start: date
    calibration_end: date
    test_start: date
    test_end: date

    def slice_of(self, as_of: date) -> str | None:
        """Which slice an example dated ``as_of`` belongs to in this fold (None: none)."""
        if self.train_start <= as_of < self.train_end:
            return "train"
        if self.calibration_start <= as_of < self.calibration_end:
            return "calibration"
        if self.test_start <= as_of < self.test_end:
            return "test"
        return None

    def slices(self) -> dict[str, tuple[date, date]]:
        return {
            "train": (self.train_start, self.train_end),
            "calibration": (self.calibration_start, self.calibration_end),
            "test": (self.test_start, self.test_end),
        }


def fold_plan(
    temporal: TemporalConfig, *, extract_date: date, label_lag_days: int
) -> tuple[Fold, ...]:
    """The folds for data extracted on ``extract_date``; raise :class:`FoldPlanError`.

    Test folds are whole calendar months (lists are made per month). The last one ends at the
    start of the month in which labels stop being complete (as-of dates after the extract date
    minus the label timespan and the lag); earlier folds step back by the update frequency.
    """
    span = timedelta(days=temporal.label_timespan_days + label_lag_days)
    step = temporal.model_update_frequency_months
    complete_until = extract_date - span  # the last as-of date with a complete label
    last_end = month_start(complete_until)
    folds: list[Fold] = []
    problems: list[str] = []
    for i in range(temporal.test_folds):
        test_end = add_months(last_end, -step * (temporal.test_folds - 1 - i))
        test_start = add_months(test_end, -step)
        calibration_end = test_start - span + timedelta(days=1)
        calibration_start = calibration_end - timedelta(days=temporal.calibration_days)
        train_start, train_end = temporal.feature_start_time, calibration_start
        days = (train_end - train_start).days
        if days < temporal.min_training_days:
            problems.append(
                f"fold {i + 1}: training would span {max(days, 0)} days "
                f"({train_start} to {train_end}), fewer than min_training_days "
                f"{temporal.min_training_days}; the data from {temporal.feature_start_time} to "
                f"{extract_date} is too short for {temporal.test_folds} folds of "
                f"{temporal.model_update_frequency_months} months with a "
                f"{temporal.label_timespan_days}-day label"
            )
        folds.append(
            Fold(
                index=i + 1,
                train_start=train_start,
                train_end=train_end,
                calibration_start=calibration_start,
                calibration_end=calibration_end,
                test_start=test_start,
                test_end=test_end,
            )
        )
    if problems:
        raise FoldPlanError(problems)
    return tuple(folds)


def month_start(day: date) -> date:
    return day.replace(day=1)


def add_months(day: date, months: int) -> date:
    """The first of the month ``months`` after (or before) the month of ``day``."""
    index = day.year * 12 + day.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


def label_closes_by(as_of: date, temporal: TemporalConfig, label_lag_days: int) -> date:
    """The day an example's label is complete: as_of + label timespan + lag."""
    return as_of + timedelta(days=temporal.label_timespan_days + label_lag_days)


@dataclass(frozen=True)
class SliceCount:
    fold: int
    slice: str
    start: date
    end: date
    examples: int
    positives: int


def slice_counts(
    table: Path, plan: tuple[Fold, ...], *, label: str = "label_serious_violence"
) -> tuple[SliceCount, ...]:
    """Examples with a label (censored ones excluded) and positives per fold and slice."""
    con = duckdb.connect()
    try:
        con.execute("SET enable_progress_bar = false")
        rel = f"read_parquet('{str(table).replace(chr(39), chr(39) * 2)}')"
        out: list[SliceCount] = []
        for fold in plan:
            for name, (start, end) in fold.slices().items():
                row = con.execute(
                    f"SELECT count({label}), coalesce(sum({label}), 0) FROM {rel} "
                    f"WHERE as_of >= DATE '{start}' AND as_of < DATE '{end}'"
                ).fetchone()
                examples, positives = (int(row[0]), int(row[1])) if row else (0, 0)
                out.append(SliceCount(fold.index, name, start, end, examples, positives))
        return tuple(out)
    finally:
        con.close()


def thin_slices(counts: tuple[SliceCount, ...], min_positives: int) -> list[str]:
    """A problem for every slice with fewer positives than a model can be judged on."""
    return [
        f"fold {c.fold} {c.slice} slice ({c.start} to {c.end}) has {c.positives} positive(s) "
        f"among {c.examples} labelled examples, fewer than gates.min_positives_per_slice "
        f"{min_positives}"
        for c in counts
        if c.positives < min_positives
    ]
