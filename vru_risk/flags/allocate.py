"""The one allocation of places: which scored moments each programme offers support to.

Every consumer calls :func:`replay`: the daily job (through :func:`allocate`, on the day's
moments), training's evaluation and the fairness audit (on their test and audit windows) and
the benchmark. Day by day, per programme, among the moments it may be offered to
(:mod:`~vru_risk.flags.eligibility`) whose percentile is at least its floor
(``min_percentile``), highest scores first, within the places left in its period (a week from
Monday, or a calendar month). The programme's ``policy`` decides how the period's places are
spent:

- ``first_come``: every day offers to everyone above the floor until the places run out (at
  county scale they run out in the first days of a month);
- ``paced``: every day offers only above a threshold set from recent moments and the places and
  days left (:mod:`~vru_risk.flags.pacing`), so the places go to about the period's
  highest-scored moments wherever in the period they fall.

A programme whose fair lottery is enabled (:mod:`~vru_risk.flags.lottery`) gives the last
places of a day its places run out to moments drawn among those equally ranked at the cut.

A programme never offers support to someone it already supports (shown as ``already_supported``
instead) nor again while an offer it made is still valid. What earlier days used (offers made,
people offered, the pacing history) is an :class:`AllocationState`, built from the issued flags
by the daily job and empty at the start of a replay.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta

import numpy as np
import pandas as pd

from vru_risk.features.moments import Moments
from vru_risk.flags.eligibility import Eligibility, eligibility
from vru_risk.flags.flag import Flag, ProgrammeOffer
from vru_risk.flags.ledger import capacity_used, offer_dates
from vru_risk.flags.lottery import LotteryBook, choose
from vru_risk.flags.pacing import PacingHistory
from vru_risk.flags.programmes import Programme, Programmes


def issued_counts(flags: Iterable[Flag], programmes: Programmes) -> dict[tuple[str, date], int]:
    """Offers already made per (programme, period start), from earlier flags (the capacity
    they use, counted by :func:`vru_risk.flags.ledger.capacity_used`)."""
    earlier = list(flags)
    counts: dict[tuple[str, date], int] = {}
    for programme in programmes.programmes:
        offers = offer_dates(earlier, programme.id)
        for start in {programme.period_start(day) for day in offers}:
            counts[(programme.id, start)] = capacity_used(offers, programme, start)
    return counts


@dataclass
class AllocationState:
    """What earlier days left: places used per (programme, period start), until when each
    (programme, person) has a valid offer, the pacing history, and the lotteries drawn (those
    recorded before, replayed, and those this allocation drew)."""

    used: dict[tuple[str, date], int] = field(default_factory=lambda: defaultdict(int))
    offered_until: dict[tuple[str, str], date] = field(default_factory=dict)
    pacing: PacingHistory = field(default_factory=PacingHistory)
    lottery: LotteryBook = field(default_factory=LotteryBook)

    @classmethod
    def from_issued(
        cls,
        issued: Iterable[Flag],
        programmes: Programmes,
        pacing: PacingHistory | None = None,
        lottery: LotteryBook | None = None,
    ) -> AllocationState:
        earlier = list(issued)
        state = cls(pacing=pacing or PacingHistory(), lottery=lottery or LotteryBook())
        state.used.update(issued_counts(earlier, programmes))
        for flag in earlier:
            for offer in flag.programmes:
                if offer.status == "offered":
                    key = (offer.programme, flag.person_id)
                    until = state.offered_until.get(key, flag.expires)
                    state.offered_until[key] = max(flag.expires, until)
        return state


@dataclass(frozen=True)
class Candidates:
    """Scored moments to allocate (one row each) and, per programme id, who may be offered it."""

    person_id: np.ndarray
    day: np.ndarray
    probability: np.ndarray
    percentile: np.ndarray
    eligible: Mapping[str, Eligibility]

    def __len__(self) -> int:
        return len(self.person_id)


@dataclass(frozen=True)
class Offer:
    """One place offered: the row of the candidates, the programme, its day, its place among
    the period's offers (1 = first), the percentile the day's offers had to clear, and whether
    the place was drawn by the programme's lottery (:mod:`vru_risk.flags.lottery`)."""

    row: int
    programme: str
    day: date
    rank: int
    threshold: float
    lottery: bool = False


@dataclass(frozen=True)
class DayRule:
    """How a programme chose one day's offers: the threshold cleared and why."""

    programme: str
    day: date
    policy: str
    threshold: float
    places_left: int
    paced: bool  # False: a paced programme without history fell back to its floor


def how_chosen(
    programme: Programme, policy: str | None, threshold: float | None, places_left: int
) -> str:
    """How a programme chose a day's offers, in words (the practitioner's list, ``vru flags
    generate``): its policy, the percentile the offers cleared and the places left."""
    period = programme.period
    left = f"{places_left} of {programme.capacity} places left this {period}"
    floor = f"{programme.min_percentile:g}"
    if policy == "paced" and threshold is not None and threshold > programme.min_percentile:
        return (
            f"places are spread across the {period}: the day's offers went to moments at or "
            f"above the {threshold:g}th percentile of the model's scores (the programme's "
            f"floor is the {floor}th), highest first; {left}"
        )
    if policy == "paced":
        return (
            f"places are spread across the {period}; on this day every moment at or above the "
            f"programme's floor, the {floor}th percentile, could be offered (places to spare, "
            f"the {period}'s last day, or less than a week of history yet), highest first; "
            f"{left}"
        )
    return (
        f"first come: each day's moments at or above the {floor}th percentile are offered, "
        f"highest first, until the {period}'s places are used; {left}"
    )


@dataclass(frozen=True)
class _Arrays:
    persons: np.ndarray
    probability: np.ndarray
    percentile: np.ndarray
    tie: np.ndarray


def tiebreaks(persons: np.ndarray, seed: int) -> np.ndarray:
    """The seeded order that breaks ties between equal scores (per person, the same every day)."""
    key = f"vru-flags-{seed:06d}"[:16].ljust(16, "0")
    return np.asarray(pd.util.hash_array(np.asarray(persons, dtype=object), hash_key=key))


def replay(
    candidates: Candidates,
    programmes: Programmes,
    state: AllocationState | None = None,
    *,
    seed: int = 0,
    valid_days: int = 90,
    rules: list[DayRule] | None = None,
) -> list[Offer]:
    """The offers each programme makes, day by day in date order (see the module docstring);
    ``state`` (updated in place) carries what earlier days used; each programme-day's rule is
    appended to ``rules`` when given."""
    state = state if state is not None else AllocationState()
    persons = np.asarray(candidates.person_id).astype(str).astype(object)
    days = np.asarray(candidates.day, dtype=object)
    probability = np.asarray(candidates.probability, dtype="float64")
    percentile = np.asarray(candidates.percentile, dtype="float64")
    tie = tiebreaks(persons, seed)
    arrays = _Arrays(persons, probability, percentile, tie)
    by_day: dict[date, np.ndarray] = {}
    if len(days):
        order = np.argsort(days, kind="stable")
        sorted_days = days[order]
        starts = np.flatnonzero(np.r_[True, sorted_days[1:] != sorted_days[:-1]])
        for start, rows in zip(starts, np.split(order, starts[1:]), strict=True):
            by_day[sorted_days[start]] = rows
    offers: list[Offer] = []
    for day in sorted(by_day):
        rows = by_day[day]
        for programme in programmes.programmes:
            masks = candidates.eligible[programme.id]
            above = rows[masks.eligible[rows] & (percentile[rows] >= programme.min_percentile)]
            offers.extend(_programme_day(programme, day, above, state, rules, valid_days, arrays))
    return offers


def _programme_day(
    programme: Programme,
    day: date,
    above: np.ndarray,
    state: AllocationState,
    rules: list[DayRule] | None,
    valid_days: int,
    arrays: _Arrays,
) -> list[Offer]:
    """One programme's offers on one day, among the rows ``above`` its floor."""
    persons, probability, percentile, tie = (
        arrays.persons,
        arrays.probability,
        arrays.percentile,
        arrays.tie,
    )
    period = (programme.id, programme.period_start(day))
    left = programme.capacity - state.used[period]
    threshold: float | None = programme.min_percentile
    if programme.policy == "paced":
        days_left = (programme.period_end(day) - day).days + 1
        threshold = state.pacing.threshold(
            programme.id, day, floor=programme.min_percentile, places=left, days=days_left
        )
    paced = threshold is not None and programme.policy == "paced"
    cut = programme.min_percentile if threshold is None else threshold
    state.pacing.record(programme.id, day, percentile[above])
    if rules is not None:
        rules.append(DayRule(programme.id, day, programme.policy, cut, max(left, 0), paced))
    chosen = above[percentile[above] >= cut]
    ordered: list[int] = []
    seen: set[str] = set()
    for i in chosen[np.lexsort((tie[chosen], -probability[chosen]))]:
        key = (programme.id, str(persons[i]))
        if key[1] in seen or state.offered_until.get(key, day - timedelta(days=1)) >= day:
            continue  # offered already, in a flag still valid
        seen.add(key[1])
        ordered.append(int(i))
    places = programme.capacity - state.used[period]
    if programme.lottery.enabled:
        picked = choose(
            programme.id,
            day,
            ordered,
            persons,
            probability,
            places=places,
            seed=programme.lottery.seed,
            tolerance=programme.lottery.score_tolerance,
            book=state.lottery,
        )
    else:
        picked = [(i, False) for i in ordered[: max(places, 0)]]
    out: list[Offer] = []
    for i, by_lottery in picked:
        state.used[period] += 1
        state.offered_until[(programme.id, str(persons[i]))] = day + timedelta(days=valid_days)
        out.append(Offer(i, programme.id, day, state.used[period], cut, by_lottery))
    return out


def moment_candidates(scored: pd.DataFrame, moments: Moments, programmes: Programmes) -> Candidates:
    """The daily job's candidates: scored moments (person_id, as_of, probability, percentile,
    age_completed, school_id) with the moments' triggers and support under way."""
    scored = scored.reset_index(drop=True)
    return Candidates(
        person_id=scored["person_id"].astype(str).to_numpy(dtype=object),
        day=scored["as_of"].to_numpy(dtype=object),
        probability=scored["probability"].to_numpy(dtype="float64"),
        percentile=scored["percentile"].to_numpy(dtype="float64"),
        eligible=eligibility(programmes, scored, moments.triggers, moments.supported),
    )


def allocate(
    scored: pd.DataFrame,
    moments: Moments,
    programmes: Programmes,
    *,
    issued: Iterable[Flag] = (),
    seed: int = 0,
    valid_days: int = 90,
    pacing: PacingHistory | None = None,
    rules: list[DayRule] | None = None,
    lottery: LotteryBook | None = None,
) -> dict[int, tuple[ProgrammeOffer, ...]]:
    """The daily job's allocation (:func:`replay` of the day's moments after the ``issued``
    flags; ``pacing`` is updated in place).

    Returns, per row position of ``scored`` that becomes a flag, its programme entries: the
    programmes that offer support (``rank``: its place among the programme's offers in the
    period, 1 = the period's first; ``threshold``: the percentile the day's offers cleared)
    and those already supporting the young person. A row offered by no programme is not a flag.
    ``lottery``: the draws recorded before (replayed), to which the day's new draws are added.
    """
    candidates = moment_candidates(scored, moments, programmes)
    state = AllocationState.from_issued(issued, programmes, pacing, lottery)
    made = replay(candidates, programmes, state, seed=seed, valid_days=valid_days, rules=rules)
    return programme_entries(candidates, made, programmes)


def programme_entries(
    candidates: Candidates, made: Iterable[Offer], programmes: Programmes
) -> dict[int, tuple[ProgrammeOffer, ...]]:
    """Per candidate row offered a place (by :func:`replay`'s ``made``), its flag's programme
    entries: the offers, and the programmes already supporting the young person (in the
    programmes' order). A row offered by no programme is not a flag."""
    entries: dict[int, list[ProgrammeOffer]] = defaultdict(list)
    by_id = {p.id: p for p in programmes.programmes}
    for programme in programmes.programmes:
        for i in np.flatnonzero(candidates.eligible[programme.id].already):
            entries[int(i)].append(
                ProgrammeOffer(
                    programme=programme.id,
                    name=programme.name,
                    status="already_supported",
                    capacity=programme.capacity,
                )
            )
    for offer in made:
        programme = by_id[offer.programme]
        entries[offer.row].append(
            ProgrammeOffer(
                programme=programme.id,
                name=programme.name,
                status="offered",
                rank=offer.rank,
                capacity=programme.capacity,
                policy=programme.policy,
                threshold=offer.threshold,
                lottery=offer.lottery,
            )
        )
    order = {p.id: k for k, p in enumerate(programmes.programmes)}
    return {
        i: tuple(sorted(e, key=lambda x: order[x.programme]))
        for i, e in sorted(entries.items())
        if any(x.status == "offered" for x in e)
    }
