"""Replaying the service's allocation over a window of scored, labelled moments: the places it
would really have offered, and how well.

Training's evaluation, the fairness audit, the benchmark and (next) the monitoring reference
judge a model by :func:`replay_window`: the daily job's own :func:`~vru_risk.flags.allocate.replay`
run day by day over the window, with each moment's eligibility from its context
(:func:`vru_risk.features.context.moment_context`), each programme's capacity per period, floor
and policy, and support already under way. :func:`allocation_metrics` then says what those
offers were worth against a label: precision and recall at capacity, the share of places used,
the share of programme-days with a place still available, and group selection rates are the
caller's (they hold the groups). :func:`hindsight` is the bound no daily allocation reaches:
each period's places given to the period's highest scores, chosen after the period ended.

Example
-------
>>> import pandas as pd
>>> from datetime import date
>>> from vru_risk.features.context import MomentContext
>>> from vru_risk.flags.programmes import load_programmes
>>> day = date(2026, 3, 2)
>>> rows = pd.DataFrame({"person_id": ["a", "b"], "as_of": [day, day],
...     "probability": [0.9, 0.2], "percentile": [99.0, 50.0]})
>>> context = MomentContext(
...     frame=pd.DataFrame({"person_id": ["a", "b"], "as_of": [day, day],
...                         "age_completed": [14, 14], "school_id": ["s", "s"]}),
...     triggers=pd.DataFrame({"person_id": ["a", "b"], "as_of": [day, day],
...         "trigger_kind": ["police_contact"] * 2, "trigger_date": [day, day],
...         "source": ["police_contacts"] * 2, "detail": ["suspect"] * 2}),
...     supported=pd.DataFrame(columns=["person_id", "day", "programme"]))
>>> result = replay_window(rows, context, load_programmes())
>>> result.offered.tolist()  # b is below every programme's floor
[True, False]
>>> hindsight(rows, context, load_programmes()).offered.tolist()  # the bound has no floor
[True, True]
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np
import pandas as pd

from vru_risk.features.context import MomentContext
from vru_risk.flags.allocate import (
    AllocationState,
    Candidates,
    DayRule,
    Offer,
    replay,
    tiebreaks,
)
from vru_risk.flags.eligibility import eligibility
from vru_risk.flags.programmes import Programmes

#: what :func:`replay_window` reads of each row
ROW_COLUMNS = ("person_id", "as_of", "probability", "percentile")


@dataclass(frozen=True)
class WindowReplay:
    """The offers made over a window: ``offered[k]``, whether row k was offered a place by any
    programme; the offers and each programme-day's rule; the window's days."""

    offered: np.ndarray
    offers: tuple[Offer, ...]
    rules: tuple[DayRule, ...]
    days: tuple[date, ...]
    programmes: Programmes

    def offered_by(self, programme: str) -> np.ndarray:
        mask = np.zeros(len(self.offered), dtype=bool)
        mask[[o.row for o in self.offers if o.programme == programme]] = True
        return mask


def replay_window(
    rows: pd.DataFrame,
    context: MomentContext,
    programmes: Programmes,
    *,
    seed: int = 0,
    valid_days: int = 90,
    state: AllocationState | None = None,
) -> WindowReplay:
    """The service's offers over ``rows`` (person_id, as_of, probability, percentile; one row
    per moment), each row's eligibility from ``context``; a row without context (not a
    teachable moment the daily job would see) is never offered. ``state`` carries what days
    before the window used (default: nothing, a window starting afresh)."""
    candidates = window_candidates(rows, context, programmes)
    rules: list[DayRule] = []
    offers = replay(candidates, programmes, state, seed=seed, valid_days=valid_days, rules=rules)
    offered = np.zeros(len(candidates), dtype=bool)
    offered[[o.row for o in offers]] = True
    return WindowReplay(
        offered=offered,
        offers=tuple(offers),
        rules=tuple(rules),
        days=tuple(sorted(set(candidates.day))),
        programmes=programmes,
    )


def hindsight(
    rows: pd.DataFrame,
    context: MomentContext,
    programmes: Programmes,
    *,
    seed: int = 0,
    valid_days: int | None = None,
) -> WindowReplay:
    """The hindsight bound: per programme and capacity period, the ``capacity`` highest-scored
    moments of the whole period it may be offered to (the allocation's eligibility and support
    under way, one moment per person per period, no floor, ties in the allocation's seeded
    order), chosen knowing every moment of the period, which no daily allocation can. It is
    what training and the audit used to report (a monthly top-k list), kept as a bound and
    named as such; :func:`allocation_metrics` judges it like a replay. With ``valid_days``,
    periods are chosen in date order and, as in the service, nobody is chosen again by a
    programme while an offer it made is valid (``valid_days`` after it); without, a person may
    be chosen in every period.

    Each offer's ``rank`` is its place in the period's list (1 = the highest score) and its
    ``threshold`` the lowest percentile on that list; each programme-day's rule says how many
    places the list had left that morning (``policy`` ``"hindsight"``)."""
    candidates = window_candidates(rows, context, programmes)
    days = np.asarray(candidates.day, dtype=object)
    persons = np.asarray(candidates.person_id, dtype=object)
    offers: list[Offer] = []
    rules: list[DayRule] = []
    window_days = sorted(set(days.tolist()))
    tie = tiebreaks(persons, seed)
    for programme in programmes.programmes:
        rows_ok = np.flatnonzero(candidates.eligible[programme.id].eligible)
        starts = {d: programme.period_start(d) for d in window_days}
        period = np.array([starts[d] for d in days[rows_ok]], dtype=object)
        order = rows_ok[np.lexsort((tie[rows_ok], -candidates.probability[rows_ok], period))]
        lists: dict[date, list[int]] = {}
        until: dict[str, date] = {}
        for i in order.tolist():
            chosen = lists.setdefault(starts[days[i]], [])
            person = str(persons[i])
            if len(chosen) >= programme.capacity or any(persons[j] == person for j in chosen):
                continue
            if valid_days is not None:
                if until.get(person, date.min) >= days[i]:
                    continue
                until[person] = days[i] + timedelta(days=valid_days)
            chosen.append(i)
        taken: dict[date, list[date]] = {}
        cut: dict[date, float] = {}
        for start, picked in lists.items():
            if not picked:
                continue
            cut[start] = float(candidates.percentile[picked].min())
            taken[start] = [days[i] for i in picked]
            offers.extend(
                Offer(i, programme.id, days[i], rank, cut[start])
                for rank, i in enumerate(picked, start=1)
            )
        for day in window_days:
            start = starts[day]
            before = sum(1 for d in taken.get(start, []) if d < day)
            threshold = cut.get(start, programme.min_percentile)
            left = max(programme.capacity - before, 0)
            rules.append(DayRule(programme.id, day, "hindsight", threshold, left, False))
    offered = np.zeros(len(candidates), dtype=bool)
    offered[[o.row for o in offers]] = True
    return WindowReplay(
        offered=offered,
        offers=tuple(sorted(offers, key=lambda o: (o.day, o.programme, o.rank))),
        rules=tuple(rules),
        days=tuple(window_days),
        programmes=programmes,
    )


def window_candidates(
    rows: pd.DataFrame, context: MomentContext, programmes: Programmes
) -> Candidates:
    """The rows as candidates of the allocation, each with its eligibility from ``context``
    (a row without context is eligible for nothing)."""
    missing = [c for c in ROW_COLUMNS if c not in rows.columns]
    if missing:
        raise ValueError(f"replaying the allocation needs the column(s) {', '.join(missing)}")
    keys = ["person_id", "as_of"]
    frame = rows[keys].reset_index(drop=True).copy()
    frame["person_id"] = frame["person_id"].astype(str)
    frame["as_of"] = pd.to_datetime(frame["as_of"]).dt.date
    if frame.duplicated(keys).any():
        raise ValueError("replaying the allocation needs one row per (person_id, as_of)")
    ctx = context.frame[[*keys, "age_completed", "school_id"]].copy()
    ctx["person_id"] = ctx["person_id"].astype(str)
    frame = frame.merge(ctx.drop_duplicates(keys), on=keys, how="left", validate="one_to_one")
    triggers = context.triggers.assign(person_id=context.triggers["person_id"].astype(str))
    supported = context.supported.assign(person_id=context.supported["person_id"].astype(str))
    return Candidates(
        person_id=frame["person_id"].to_numpy(dtype=object),
        day=frame["as_of"].to_numpy(dtype=object),
        probability=rows["probability"].to_numpy(dtype="float64"),
        percentile=rows["percentile"].to_numpy(dtype="float64"),
        eligible=eligibility(programmes, frame, triggers, supported),
    )


@dataclass(frozen=True)
class AllocationMetrics:
    """What a window's offers were worth against a label (rows without a label left out of
    precision and recall)."""

    offered: int
    offered_positive: int
    positives: int
    places: int
    places_used: int
    programme_days: int
    programme_days_with_place: int

    @property
    def precision(self) -> float:
        return self.offered_positive / self.offered if self.offered else float("nan")

    @property
    def recall(self) -> float:
        return self.offered_positive / self.positives if self.positives else float("nan")

    @property
    def places_used_share(self) -> float:
        return self.places_used / self.places if self.places else float("nan")

    @property
    def days_with_place_share(self) -> float:
        days = self.programme_days
        return self.programme_days_with_place / days if days else float("nan")


def allocation_metrics(result: WindowReplay, label: np.ndarray) -> AllocationMetrics:
    """Precision and recall of the offered rows against ``label`` (1, 0, NaN: unknown), and how
    the places were used: ``places`` counts each programme's capacity once per period the window
    covers entirely (a period cut by the window's ends would understate the share used)."""
    y = np.asarray(label, dtype="float64")
    known = ~np.isnan(y)
    positive = known & (y == 1)
    places = used = 0
    if result.days:
        first, last = result.days[0], result.days[-1]
        for programme in result.programmes.programmes:
            starts = {programme.period_start(d) for d in result.days}
            whole = {p for p in starts if p >= first and programme.period_end(p) <= last}
            places += programme.capacity * len(whole)
            used += sum(
                1
                for o in result.offers
                if o.programme == programme.id and programme.period_start(o.day) in whole
            )
    return AllocationMetrics(
        offered=int((result.offered & known).sum()),
        offered_positive=int((result.offered & positive).sum()),
        positives=int(positive.sum()),
        places=places,
        places_used=used,
        programme_days=len(result.rules),
        programme_days_with_place=sum(1 for r in result.rules if r.places_left > 0),
    )
