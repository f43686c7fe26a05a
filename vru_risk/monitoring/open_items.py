"""The panel's open items: the findings of the latest run of each version in service that no
panel decision on that version has answered since the run was written (the review log records
every decision with its time), and each finding's figures in plain words.

Example
-------
>>> figure_lines({"allowed": 21, "days": 41, "share": 0.125})
[('Days without new records', '41'), ('Days allowed', '21'), ('Share referred', '12.5%')]
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final

from vru_risk.models.review_log import ReviewEntry
from vru_risk.monitoring.history import RunSummary, timestamp

__all__ = ["OpenItem", "figure_lines", "open_items"]

#: a finding's figure keys in plain words (keys not listed keep their name, underscores as spaces)
FIGURE_WORDS: Final = {
    "days": "Days without new records",
    "allowed": "Days allowed",
    "features": "Inputs from the source",
    "drifted": "Inputs that moved beyond the threshold",
    "worst_feature": "Most-changed input",
    "psi": "Population stability index (0 is no change)",
    "js": "Jensen-Shannon distance (0 is no change)",
    "missing_reference": "Share missing in the reference",
    "missing_current": "Share missing now",
    "referred": "Flags referred",
    "decided": "Flags decided",
    "share": "Share referred",
    "too_low": "Lowest acceptable share",
    "too_high": "Highest acceptable share",
    "slope": "Calibration slope (1 is well calibrated)",
    "low": "Interval from",
    "high": "Interval to",
    "moments": "Moments judged",
    "slope_low": "Acceptable from",
    "slope_high": "Acceptable to",
    "floor": "Floor (latest month)",
    "expected_precision": "Precision the reference expects",
    "estimate": "Estimate",
    "band_low": "Acceptable from",
    "band_high": "Acceptable to",
    "reference": "Compared with group",
    "approved": "What the panel approved",
    "now": "What is in force",
}
#: figures that are shares (shown as percentages)
SHARES: Final = frozenset({"missing_reference", "missing_current", "share", "too_low", "too_high"})
MONTHLY: Final = re.compile(r"(precision|floor)_([0-9]{4}-[0-9]{2})")


#: figures that are codes (a feature, a column, a recorded value, a group): the finding's
#: sentence already says them in words, so the page does not repeat them as codes (the report's
#: JSON keeps them)
SAID_IN_WORDS: Final = frozenset({"worst_feature", "column", "value", "reference"})


def _value(key: str, value: Any) -> str:
    if value is None:
        return "not available"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        return f"{100 * value:.1f}%" if key in SHARES else f"{value:.3f}"
    text = str(value)
    return text[:16] if key in ("approved", "now") else text


def _order(key: str) -> tuple[int, str, int]:
    """Named figures first (in :data:`FIGURE_WORDS` order), then each month's realised
    precision beside its floor, then the rest."""
    order = list(FIGURE_WORDS)
    if key in FIGURE_WORDS:
        return (order.index(key), "", 0)
    monthly = MONTHLY.fullmatch(key)
    if monthly:
        return (len(order), monthly.group(2), monthly.group(1) != "precision")
    return (len(order) + 1, key, 0)


def figure_lines(figures: Mapping[str, Any]) -> list[tuple[str, str]]:
    """A finding's figures as (plain label, value) pairs, in a fixed order (:func:`_order`; a
    report's JSON keeps them sorted by key)."""
    out = []
    for key in sorted(figures, key=_order):
        value = figures[key]
        if key in SAID_IN_WORDS:
            continue
        monthly = MONTHLY.fullmatch(key)
        if monthly:
            what = "Realised precision" if monthly.group(1) == "precision" else "Floor"
            label = f"{what}, {monthly.group(2)}"
        else:
            label = FIGURE_WORDS.get(key, key.replace("_", " ").capitalize())
        out.append((label, _value(key, value)))
    return out


@dataclass(frozen=True)
class OpenItem:
    """The latest run of a version in service found something, and the panel has recorded no
    decision on that version since the run was written."""

    run: RunSummary
    #: the panel's latest decision on the version (made before the run), if any
    last_decision: ReviewEntry | None

    @property
    def version(self) -> int:
        return self.run.version


def _time(entry: ReviewEntry) -> datetime:
    stamp = timestamp(entry.time)
    return stamp if stamp is not None else datetime.min.replace(tzinfo=UTC)


def open_items(latest: Iterable[RunSummary], reviews: Sequence[ReviewEntry]) -> list[OpenItem]:
    """For each run in ``latest`` (the newest run of each version in service) whose verdict asks
    the panel to act, an item unless a decision on its version (any action) was recorded after
    the run was written; suspensions first, then by version."""
    items = []
    for run in latest:
        if not run.actionable:
            continue
        mine = [e for e in reviews if e.version == run.version]
        if any(_time(e) > run.written for e in mine):
            continue
        items.append(OpenItem(run=run, last_decision=mine[-1] if mine else None))
    return sorted(items, key=lambda i: (i.run.level != "suspension_recommended", i.version))
