"""The figures and tables of ``benchmarks/allocation.py``: a replay seen over the measured months,
per programme, per group and per month."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

import numpy as np
import pandas as pd

from vru_risk.flags.programmes import Programmes
from vru_risk.flags.replay import AllocationMetrics, WindowReplay, allocation_metrics

#: the audit-only attributes (never features) whose selection rates are compared
ATTRIBUTES = ("sex", "ethnicity", "sen", "fsm", "looked_after")


@dataclass(frozen=True)
class Measured:
    """A replay over the measured months: overall and per programme (recall among the moments
    the programme may be offered to), the rows offered, and how long offers waited."""

    overall: AllocationMetrics
    by_programme: dict[str, AllocationMetrics]
    offered: np.ndarray
    in_window: np.ndarray
    never_moments: int
    never_people: int
    waits: np.ndarray

    def summary(self) -> dict[str, Any]:
        def one(m: AllocationMetrics) -> dict[str, float]:
            return {
                "precision": round(m.precision, 4),
                "recall": round(m.recall, 4),
                "offered": m.offered,
                "places_used": round(m.places_used_share, 4),
                "days_with_place": round(m.days_with_place_share, 4),
            }

        return {
            **one(self.overall),
            "never_offered_above_floor": self.never_moments,
            "never_offered_people": self.never_people,
            "wait_days_max": int(self.waits.max()) if len(self.waits) else 0,
            "programmes": {p: one(m) for p, m in self.by_programme.items()},
        }


def above_floor(
    rows: pd.DataFrame, eligible: dict[str, np.ndarray], programmes: Programmes
) -> np.ndarray:
    """Moments some programme may be offered to at or above its floor."""
    pct = rows["percentile"].to_numpy(dtype="float64")
    out = np.zeros(len(rows), dtype=bool)
    for p in programmes.programmes:
        out |= eligible[p.id] & (pct >= p.min_percentile)
    return out


def measured(
    result: WindowReplay,
    rows: pd.DataFrame,
    label: np.ndarray,
    eligible: dict[str, np.ndarray],
    start: date,
    end: date,
) -> Measured:
    """``result`` over the days ``start`` to ``end`` (earlier days: the warm-up; later ones:
    labels mostly censored)."""
    in_window = ((rows["as_of"] >= start) & (rows["as_of"] <= end)).to_numpy()
    offers = tuple(o for o in result.offers if start <= o.day <= end)
    offered = np.zeros(len(rows), dtype=bool)
    offered[[o.row for o in offers]] = True
    rules = tuple(r for r in result.rules if start <= r.day <= end)
    days = tuple(d for d in result.days if start <= d <= end)
    kept = WindowReplay(offered, offers, rules, days, result.programmes)
    y = np.where(in_window, label, np.nan)
    by_programme = {}
    for p in result.programmes.programmes:
        alone = result.programmes.model_copy(update={"programmes": (p,)})
        sub = WindowReplay(
            kept.offered_by(p.id),
            tuple(o for o in offers if o.programme == p.id),
            tuple(r for r in rules if r.programme == p.id),
            days,
            alone,
        )
        by_programme[p.id] = allocation_metrics(sub, np.where(eligible[p.id], y, np.nan))
    never = in_window & above_floor(rows, eligible, result.programmes) & ~offered
    as_of = rows["as_of"].to_numpy(dtype=object)
    waits = np.array([(o.day - as_of[o.row]).days for o in offers], dtype=np.int64)
    return Measured(
        overall=allocation_metrics(kept, y),
        by_programme=by_programme,
        offered=offered,
        in_window=in_window,
        never_moments=int(never.sum()),
        never_people=int(rows["person_id"][never].nunique()),
        waits=waits,
    )


def policy_table(views: dict[str, Measured]) -> str:
    """Per policy, overall and per programme: precision, recall, places used, programme-days
    with a place, the wait from moment to offer, and moments above a floor never offered."""
    head = (
        f"{'policy':<11} {'programme':<19} {'offered':>7} {'precision':>9} {'recall':>7} "
        f"{'places used':>17} {'days w/ place':>13} {'wait (days)':>11} {'never offered':>15}"
    )
    lines = ["", head, "-" * len(head)]
    for name, view in views.items():
        parts = [("all", view.overall), *view.by_programme.items()]
        for programme, m in parts:
            never = f"{view.never_moments:,} ({view.never_people:,})" if programme == "all" else ""
            wait = f"0-{int(view.waits.max())}" if programme == "all" and len(view.waits) else ""
            used = f"{m.places_used:,}/{m.places:,} {m.places_used_share:6.1%}"
            lines.append(
                f"{name:<11} {programme:<19} {m.offered:>7,} {m.precision:>9.3f} {m.recall:>7.3f} "
                f"{used:>17} {m.days_with_place_share:>13.1%} {wait:>11} {never:>15}".rstrip()
            )
    lines.append(
        "recall: all = among every labelled moment, a programme = among the moments it may be "
        "offered to; wait: days from the moment to its offer (an offer is made on the moment's "
        "day or never); never offered: moments (young people) some programme may be offered "
        "to at or above its floor that no programme offered"
    )
    return "\n".join(lines)


def group_rates(
    views: dict[str, Measured], groups: pd.DataFrame, attributes: tuple[str, ...]
) -> str:
    """Offers per 1,000 moments of each group of the audit-only attributes, per policy."""
    names = list(views)
    head = f"{'attribute':<13} {'group':<12} {'moments':>8} " + " ".join(f"{n:>11}" for n in names)
    lines = ["", "selection rate (offers per 1,000 moments) by audit-only attribute", head]
    lines.append("-" * len(head))
    window = next(iter(views.values())).in_window
    for attribute in attributes:
        values = groups[attribute].astype(str).to_numpy()
        for group in sorted(set(values[window])):
            member = window & (values == group)
            rates = " ".join(f"{1000 * views[n].offered[member].mean():>11.2f}" for n in names)
            lines.append(f"{attribute:<13} {group:<12} {int(member.sum()):>8,} {rates}")
    return "\n".join(lines)


def month_table(
    name: str,
    view: Measured,
    result: WindowReplay,
    rows: pd.DataFrame,
    eligible: dict[str, np.ndarray],
    programmes: Programmes,
    months: list[date],
) -> str:
    """Per month: the day each monthly programme's last place went (or places left), how many
    of a weekly programme's weeks filled, and the moments above a floor never offered."""
    month_of = np.array([d.replace(day=1) for d in rows["as_of"]], dtype=object)
    never = view.in_window & above_floor(rows, eligible, programmes) & ~view.offered
    persons = rows["person_id"].to_numpy(dtype=object)
    ids = [p.id for p in programmes.programmes]
    head = f"{'month':<8} " + " ".join(f"{i[:18]:>18}" for i in ids) + f" {'never offered':>15}"
    lines = ["", f"{name}: the day of the month the last place went, per month", head]
    lines.append("-" * len(head))
    for month in months:
        cells = []
        for p in programmes.programmes:
            last = [o.day for o in result.offers if o.programme == p.id and o.rank == p.capacity]
            if p.period == "month":
                days = [d.day for d in last if d.replace(day=1) == month]
                cells.append(f"day {days[0]}" if days else "places left")
            else:
                starts = {p.period_start(d) for d in rows["as_of"] if d.replace(day=1) == month}
                weeks = [s for s in starts if s.replace(day=1) == month]
                full = [d for d in last if p.period_start(d) in weeks]
                mean = np.mean([(d - p.period_start(d)).days + 1 for d in full]) if full else 0
                cells.append(f"{len(full)}/{len(weeks)} wk, day {mean:.1f}")
        here = never & (month_of == month)
        count = f"{int(here.sum()):,} ({len(set(persons[here])):,})"
        lines.append(f"{month:%Y-%m}  " + " ".join(f"{c:>18}" for c in cells) + f" {count:>15}")
    lines.append(
        "a weekly programme: weeks (starting that month) whose places all went, and the mean "
        "day of the week (1 = Monday) the last one went; never offered: moments (young people)"
    )
    return "\n".join(lines)
