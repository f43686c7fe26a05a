"""What each stage of the audit cannot assess, and the notes that say so.

The rules behind :mod:`vru_risk.fairness_reports.notes`' words: which groups have one outcome
only (re-weighing and ``ThresholdOptimizer`` cannot use them), which of a group's rates are
withheld or undefined (the audit's ``cannot_assess`` columns), and why a 95% interval is missing
(the bootstrap's ``reason`` column). Each gives one :class:`~.notes.GroupNote` per group.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pandas as pd

from vru_risk.fairness_reports.metrics import PEOPLE_COLUMNS
from vru_risk.fairness_reports.notes import (
    CANNOT_ASSESS,
    METRIC_WORDS,
    STAGE_INTERVALS,
    STAGE_RATES,
    GroupNote,
    join_reasons,
    metric_list,
    too_few,
    undefined_reasons,
)


def one_outcome_groups(groups: npt.ArrayLike, y: npt.ArrayLike) -> dict[str, tuple[int, int]]:
    """Groups whose rows all have the same outcome (0/1) → (count, positives), sorted by group.

    Re-weighing cannot balance them and Fairlearn's ``ThresholdOptimizer`` cannot be fitted on
    them ("Degenerate labels").

    >>> one_outcome_groups(["a", "a", "b", "c", "c"], [1, 0, 1, 0, 0])
    {'b': (1, 1), 'c': (2, 0)}
    """
    frame = pd.DataFrame({"g": np.asarray(groups, dtype=object), "y": np.asarray(y, dtype=float)})
    cells = frame.groupby("g", sort=True)["y"].agg(["size", "sum", "nunique"])
    return {
        str(group): (int(row["size"]), int(row["sum"]))
        for group, row in cells.iterrows()
        if int(row["nunique"]) < 2
    }


# ------------------------------------------------------------------------------ group rates


def assess_rates(
    by_group: pd.DataFrame,
    *,
    rates: Sequence[str],
    thresholds: Mapping[str, int],
    calibration_audited: bool,
) -> pd.DataFrame:
    """The audit's ``by_group`` with ``cannot_assess`` (the values that cannot be assessed, in
    words) and ``cannot_assess_reason`` (why), both None for a group assessed in full.

    A group too small to judge has all its rates withheld; otherwise each undefined value is
    named with its reason. The calibration error of scores that are not probabilities is
    undefined for every group alike: that is a note about the audit, not about a group, so it
    is left out here (``calibration_audited=False``).
    """
    out = by_group.copy()
    what: list[str | None] = []
    why: list[str | None] = []
    for row in out.to_dict(orient="records"):
        count, positives, flagged = int(row["count"]), int(row["positives"]), int(row["flagged"])
        if bool(row["suppressed"]):  # judged on distinct people
            people = (int(row.get(c, 0)) for c in PEOPLE_COLUMNS)
            what.append("its rates")
            why.append(too_few(*people, **thresholds))
            continue
        columns = [*rates, "composition_ratio"]
        undefined = [
            m
            for m in columns
            if _missing(row.get(m)) and (m != "calibration_error" or calibration_audited)
        ]
        if not undefined:
            what.append(None)
            why.append(None)
            continue
        known = undefined_reasons(count, positives, flagged)
        reasons = [
            known.get(m)
            or (
                "nobody at all was flagged"
                if m == "composition_ratio"
                else f"its {METRIC_WORDS.get(m, m)} is undefined for these counts"
            )
            for m in undefined
        ]
        what.append(metric_list(undefined))
        why.append(join_reasons(reasons))
    out["cannot_assess"] = pd.Series(what, index=out.index, dtype=object)
    out["cannot_assess_reason"] = pd.Series(why, index=out.index, dtype=object)
    return out


def rate_notes(by_group: pd.DataFrame) -> list[GroupNote]:
    """One note per group of :func:`assess_rates`' output that is not assessed in full."""
    notes = []
    for row in by_group.to_dict(orient="records"):
        if row.get("cannot_assess") is None:
            continue
        if bool(row["suppressed"]):
            meaning = (
                f"Its rates are withheld and shown as '{CANNOT_ASSESS}' (its counts are shown); "
                "the fairness gate has no evidence on it."
            )
        else:
            meaning = (
                f"Its {row['cannot_assess']} {'are' if ' and ' in row['cannot_assess'] else 'is'}"
                f" shown as '{CANNOT_ASSESS}', never as 0; its other rates are shown."
            )
        notes.append(
            GroupNote(
                STAGE_RATES,
                str(row["attribute"]),
                str(row["group"]),
                str(row["cannot_assess_reason"]),
                meaning,
            )
        )
    return notes


def _missing(value: object) -> bool:
    if value is None:
        return True
    try:
        return math.isnan(float(value))  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return False


# ---------------------------------------------------------------------------- 95% intervals


@dataclass(frozen=True)
class Cell:
    """A group's counts in distinct people and whether its rates are withheld."""

    group: str
    count: int
    positives: int
    flagged: int
    suppressed: bool


def base_metric(metric: str) -> str:
    """``"tpr"`` for ``"tpr"``, ``"tpr_difference"`` and ``"tpr_ratio"``."""
    return metric.removesuffix("_difference").removesuffix("_ratio")


def _own_reason(metric: str, cell: Cell, value: float, thresholds: Mapping[str, int]) -> str | None:
    if cell.suppressed:
        return too_few(cell.count, cell.positives, cell.flagged, **thresholds)
    if math.isnan(value):
        return undefined_reasons(cell.count, cell.positives, cell.flagged).get(
            metric, f"its {METRIC_WORDS.get(metric, metric)} is undefined"
        )
    return None


def interval_reason(
    metric: str,
    group: Cell,
    reference: Cell,
    values: tuple[float, float],
    thresholds: Mapping[str, int],
) -> str:
    """Why ``group`` has no 95% interval for ``metric`` (a rate, or its ``_difference`` or
    ``_ratio`` to the reference group); ``values`` are the rate's point estimates for the group
    and for the reference group."""
    base = base_metric(metric)
    own = _own_reason(base, group, values[0], thresholds)
    if own is not None:
        return own
    if base != metric:
        theirs = _own_reason(base, reference, values[1], thresholds)
        if theirs is not None:
            return f"the reference group {reference.group} cannot be assessed ({theirs})"
        if metric.endswith("_ratio") and values[1] == 0:
            return (
                f"the reference group {reference.group}'s {METRIC_WORDS.get(base, base)} is 0, "
                "so a ratio to it is undefined"
            )
    return "it is undefined in every bootstrap resample (too few to resample)"


def interval_notes(table: pd.DataFrame) -> list[GroupNote]:
    """One note per group of a ``bootstrap_intervals`` table that lacks an interval."""
    notes = []
    missing = table[table["low"].isna() | table["high"].isna()]
    for (attribute, group), rows in missing.groupby(["attribute", "group"], sort=False):
        metrics = [str(m) for m in rows["metric"]]
        reasons = rows["reason"].dropna() if "reason" in rows else pd.Series(dtype=object)
        notes.append(
            GroupNote(
                STAGE_INTERVALS,
                str(attribute),
                str(group),
                join_reasons(str(r) for r in reasons) or "no interval could be drawn",
                f"No 95% interval for {_interval_words(metrics)}: the report shows none, and "
                "the fairness gate cannot judge what needs one.",
            )
        )
    return notes


def _interval_words(metrics: Sequence[str]) -> str:
    own = [m for m in metrics if base_metric(m) == m]
    compared = list(dict.fromkeys(base_metric(m) for m in metrics if base_metric(m) != m))
    parts = []
    if own:
        parts.append(f"its {metric_list(own)}")
    if compared == own:
        parts.append(
            f"how {'it compares' if len(own) == 1 else 'they compare'} with the reference group"
        )
    elif compared:
        verb = "compares" if len(compared) == 1 else "compare"
        parts.append(f"how its {metric_list(compared)} {verb} with the reference group")
    return ", nor for ".join(parts)
