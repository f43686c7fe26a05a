"""The feedback watch: the share of a version's flags whose main reason comes from police
contacts, by month over its service and by audit-only group.

Police-delivered support (the Early Intervention Team's officers and PCSOs) brings young people
into contact with the police, and recorded contact is what the model reads as risk: a loop that
would show as more and more flags whose *main reason* (the largest reason for, by its
contribution to the score: :func:`main_reason_source`) is a police record.

The monitoring reference holds no baseline of flags' reasons, so the baseline is the first
``baseline_months`` calendar months of the version's service (from its first flag), and the
report says so. The flags of the ``window_days`` days up to the as-of date are compared with it:
a rise of more than ``max_rise`` whose 90% interval (young people resampled, all of a person's
flags together, in each period) lies wholly above zero asks for review, judged only with
``min_flags`` flags in each and once the window lies after the baseline.

Like the groups section, this section shows **shares and bands of people, never counts**: a
month or a group of fewer than ``min_people`` distinct young people is withheld, and no figure
can be subtracted from another (the baseline from its months, this run from the last) to reveal
one.

Example
-------
>>> main_reason_source([{"source": "attendance", "contribution": 0.2},
...                     {"source": "police_contacts", "contribution": 0.9}])
'police_contacts'
>>> main_reason_source([]) is None
True
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from datetime import date, timedelta
from typing import Any, Final

import numpy as np
import pandas as pd

from vru_risk.models.groups import INTERSECTION_SEP
from vru_risk.models.person_bootstrap import person_weights
from vru_risk.monitoring.criteria import MonitoringCriteria
from vru_risk.monitoring.decision_groups import ReferenceOf
from vru_risk.monitoring.group_ratios import people_band, ratio_intervals
from vru_risk.monitoring.groups import attribute_labels
from vru_risk.monitoring.verdict import Finding

#: sources whose records are police contacts
POLICE_SOURCES: Final = frozenset({"police_contacts"})
FLAG_COLUMNS: Final = ("flag_id", "person_id", "as_of", "main_source")
LEVEL: Final = 0.9
SEED: Final = 6
BASELINE_NOTE: Final = (
    "The model's monitoring reference holds no baseline of flags' main reasons, so the first "
    "{n} month(s) of this version's service ({first} to {last}) are the baseline."
)


def main_reason_source(reasons_for: Sequence[Mapping[str, Any]]) -> str | None:
    """The source of a flag's main reason: its largest reason for (by contribution to the
    score), or None when it has none."""
    if not reasons_for:
        return None
    top = max(reasons_for, key=lambda r: float(r.get("contribution", 0.0)))
    source = top.get("source")
    return None if source is None else str(source)


def _month(day: Any) -> str:
    return pd.Timestamp(day).strftime("%Y-%m")


def months_after(first: str, n: int) -> list[str]:
    """``first`` (``YYYY-MM``) and the months after it, ``n`` in all.

    >>> months_after("2025-11", 3)
    ['2025-11', '2025-12', '2026-01']
    """
    index = int(first[:4]) * 12 + int(first[5:]) - 1
    return [f"{(index + k) // 12:04d}-{(index + k) % 12 + 1:02d}" for k in range(n)]


@dataclass(frozen=True)
class Period:
    """The share of a period's flags whose main reason is police contact, with a band of its
    young people; None when withheld."""

    label: str
    suppressed: bool
    people: str | None = None
    police_share: float | None = None


def _period(label: str, rows: pd.DataFrame, min_people: int) -> Period:
    n = int(rows["person_id"].nunique())
    if n < min_people:
        return Period(label, True)
    return Period(label, False, people_band(n, min_people), round(float(rows["police"].mean()), 3))


def _rise(base: pd.DataFrame, now: pd.DataFrame, replicates: int) -> tuple[float, float, float]:
    """The rise of the police share from ``base`` to ``now`` and its interval (people resampled
    in each period)."""
    b, n = base["police"].to_numpy(float), now["police"].to_numpy(float)
    draws = zip(
        person_weights(base["person_id"], replicates, SEED),
        person_weights(now["person_id"], replicates, SEED + 1),
        strict=True,
    )
    reps = np.array([np.sum(wn * n) / wn.sum() - np.sum(wb * b) / wb.sum() for wb, wn in draws])
    tail = (1 - LEVEL) / 2
    rise = float(n.mean() - b.mean())
    return rise, float(np.quantile(reps, tail)), float(np.quantile(reps, 1 - tail))


def _groups(
    rows: pd.DataFrame,
    attributes: Sequence[tuple[str, ...]],
    reference_of: ReferenceOf,
    criteria: MonitoringCriteria,
) -> list[dict[str, Any]]:
    """Per attribute: the police share of each group and its ratio to the reference group's."""
    if rows.empty:
        return []
    person = rows["person_id"].to_numpy(dtype=object)
    every = np.ones(len(rows), dtype=bool)
    out = []
    for attribute in attributes:
        name = INTERSECTION_SEP.join(attribute)
        labels = attribute_labels(rows, attribute)
        reference = reference_of(name, pd.Series(person).groupby(labels).nunique())
        found = ratio_intervals(
            labels,
            person,
            rows["police"].to_numpy(dtype=bool),
            every,
            reference=reference,
            min_people=criteria.groups.min_people_per_cell,
            replicates=criteria.groups.bootstrap_replicates,
            seed=SEED,
        )
        groups = [
            {k: v for k, v in r.to_dict().items() if not k.startswith("difference")} for r in found
        ]
        out.append({"attribute": name, "reference": reference, "groups": groups})
    return out


def feedback_section(
    flags: pd.DataFrame,
    people: pd.DataFrame,
    *,
    as_of: date,
    attributes: Sequence[tuple[str, ...]],
    reference_of: ReferenceOf,
    criteria: MonitoringCriteria,
) -> tuple[dict[str, Any], list[Finding]]:
    """The report's feedback section and its finding, from the version's flags up to ``as_of``
    (:data:`FLAG_COLUMNS`; later ones are left out) and the audit-only attributes of people."""
    c, least = criteria.feedback, criteria.groups.min_people_per_cell
    start, end = as_of - timedelta(days=c.window_days - 1), as_of
    section: dict[str, Any] = {
        "police_sources": sorted(POLICE_SOURCES),
        "min_people": least,
        "baseline_months": c.baseline_months,
        "max_rise": c.max_rise,
        "min_flags": c.min_flags,
        "window_start": start.isoformat(),
        "window_end": end.isoformat(),
        "window_days": c.window_days,
        "baseline_note": None,
        "by_month": [],
        "baseline": None,
        "window": None,
        "rise": None,
        "judged": False,
        "why_not_judged": None,
        "by_group": {"baseline": [], "window": []},
    }
    rows = flags[[*FLAG_COLUMNS]].copy()
    rows = rows[pd.to_datetime(rows["as_of"]) <= pd.Timestamp(end)]
    if rows.empty:
        section["why_not_judged"] = "no flag of this version up to the as-of date"
        return section, []
    rows["person_id"] = rows["person_id"].astype(str)
    rows["police"] = rows["main_source"].isin(POLICE_SOURCES)
    rows["month"] = [_month(d) for d in rows["as_of"]]
    months = sorted(set(rows["month"]))
    base_months = months_after(months[0], c.baseline_months)
    section["baseline_note"] = BASELINE_NOTE.format(
        n=c.baseline_months, first=base_months[0], last=base_months[-1]
    )
    section["by_month"] = [asdict(_period(mo, rows[rows["month"] == mo], least)) for mo in months]
    base = rows[rows["month"].isin(base_months)]
    now = rows[pd.to_datetime(rows["as_of"]) >= pd.Timestamp(start)]
    section["baseline"] = asdict(_period("baseline", base, least))
    section["window"] = asdict(_period("window", now, least))
    section["by_group"] = {
        name: _groups(
            part.merge(people, on="person_id", how="left"), attributes, reference_of, criteria
        )
        for name, part in (("baseline", base), ("window", now))
    }
    why = None
    if _month(start) <= base_months[-1]:
        why = f"the last {c.window_days} days are not yet after the baseline months"
    elif len(base) < c.min_flags or len(now) < c.min_flags:
        why = f"fewer than {c.min_flags} flags in the baseline or in the last {c.window_days} days"
    elif section["baseline"]["suppressed"] or section["window"]["suppressed"]:
        why = f"fewer than {least} young people in the baseline or in the last {c.window_days} days"
    if why is not None:
        section["why_not_judged"] = why
        return section, []
    rise, low, high = _rise(base, now, criteria.groups.bootstrap_replicates)
    section["judged"] = True
    section["rise"] = {"value": round(rise, 3), "low": round(low, 3), "high": round(high, 3)}
    if rise <= c.max_rise or low <= 0:
        return section, []
    before, after = section["baseline"]["police_share"], section["window"]["police_share"]
    return section, [
        Finding(
            criterion="police_feedback",
            level="review",
            subject="flags' main reasons",
            sentence=(
                f"The share of flags whose main reason is a police record rose from "
                f"{before:.0%} in the first {c.baseline_months} month(s) of service to "
                f"{after:.0%} in the last {c.window_days} days (a rise of {rise:.2f}, interval "
                f"{low:.2f} to "
                f"{high:.2f}; allowed {c.max_rise:.2f}): police-delivered support can raise "
                "recorded police contact, which the model then reads as risk."
            ),
            figures={
                "baseline_share": before,
                "window_share": after,
                "rise": round(rise, 3),
                "low": round(low, 3),
                "high": round(high, 3),
                "max_rise": c.max_rise,
            },
        )
    ]
