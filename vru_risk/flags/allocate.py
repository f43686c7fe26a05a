"""Matching scored moments to programmes, within each programme's capacity.

Day by day, each programme takes the highest scores it is eligible for (age, trigger kinds,
hospitals, schools, a lowest percentile), within the capacity left in its period (a week from
Monday, or a calendar month): offers made earlier in the period, in flags passed as ``issued``,
use it up (:func:`issued_counts`). A programme never re-offers support to a young person it
already supports (``interventions``): the flag shows that programme as ``already_supported``
instead; nor to someone it offered support to in a flag still valid. Eligibility is computed
with array operations, so a million moments cost about as much as scoring them.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import date, timedelta

import numpy as np
import pandas as pd

from vru_risk.features.moments import Moments
from vru_risk.flags.flag import Flag, ProgrammeOffer
from vru_risk.flags.ledger import capacity_used, offer_dates
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


def _row_positions(frame: pd.DataFrame, other: pd.DataFrame, day_column: str) -> np.ndarray:
    """For each row of ``other`` (person_id, ``day_column``), its row position in ``frame``
    (person_id, as_of), or -1."""
    if len(other) == 0:
        return np.zeros(0, dtype=np.int64)
    keys = pd.MultiIndex.from_arrays(
        [frame["person_id"].astype(str).to_numpy(), pd.Index(frame["as_of"])]
    )
    wanted = pd.MultiIndex.from_arrays(
        [other["person_id"].astype(str).to_numpy(), pd.Index(other[day_column])]
    )
    return np.asarray(keys.get_indexer(wanted), dtype=np.int64)


def _eligible(
    programme: Programme,
    scored: pd.DataFrame,
    moments: Moments,
    trigger_rows: np.ndarray,
    supported_rows: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """Boolean masks over ``scored``: eligible for ``programme``; already supported by it."""
    n = len(scored)
    ages = scored["age_completed"].to_numpy(dtype="float64", na_value=np.nan)
    mask = (ages >= programme.min_age) & (ages <= programme.max_age)
    trig = moments.triggers
    ok = np.array(trig["trigger_kind"].isin(programme.trigger_kinds), dtype=bool)
    if programme.hospitals is not None:
        at_hospital = np.array(trig["detail"].isin(programme.hospitals), dtype=bool)
        ok = ok & (np.array(trig["trigger_kind"] != "ae_visit", dtype=bool) | at_hospital)
    by_trigger = np.zeros(n, dtype=bool)
    by_trigger[trigger_rows[ok & (trigger_rows >= 0)]] = True
    mask &= by_trigger
    if programme.schools is not None:
        mask &= scored["school_id"].isin(programme.schools).to_numpy()
    supports = np.array(
        [programme.supports(str(p)) for p in moments.supported["programme"]], dtype=bool
    )
    already = np.zeros(n, dtype=bool)
    if len(supports):
        already[supported_rows[supports & (supported_rows >= 0)]] = True
    return mask & ~already, mask & already


def allocate(
    scored: pd.DataFrame,
    moments: Moments,
    programmes: Programmes,
    *,
    issued: Iterable[Flag] = (),
    seed: int = 0,
    valid_days: int = 90,
) -> dict[int, tuple[ProgrammeOffer, ...]]:
    """Match moments to programmes, day by day, highest scores first, within capacity.

    Returns, per row position of ``scored`` that becomes a flag, its programme entries: the
    programmes that offer support (``rank``: its place among the programme's offers in the
    period, 1 = the period's first) and those
    already supporting the young person. A row offered by no programme is not a flag. A
    programme does not offer support again to someone it offered it to in a flag still valid
    (``issued`` flags, or earlier days of this batch, valid for ``valid_days``). Eligibility is
    computed with array operations, so a million moments cost about as much as scoring them.
    """
    scored = scored.reset_index(drop=True)
    earlier = list(issued)
    used: dict[tuple[str, date], int] = defaultdict(int, issued_counts(earlier, programmes))
    offered_until: dict[tuple[str, str], date] = {}
    for flag in earlier:
        for offer in flag.programmes:
            if offer.status == "offered":
                key = (offer.programme, flag.person_id)
                offered_until[key] = max(flag.expires, offered_until.get(key, flag.expires))
    trigger_rows = _row_positions(scored, moments.triggers, "as_of")
    supported_rows = _row_positions(scored, moments.supported, "day")
    persons = scored["person_id"].astype(str).to_numpy(dtype=object)
    days = scored["as_of"].to_numpy(dtype=object)
    probability = scored["probability"].to_numpy(dtype="float64")
    percentile = scored["percentile"].to_numpy(dtype="float64")
    tie = pd.util.hash_array(persons, hash_key=f"vru-flags-{seed:06d}"[:16].ljust(16, "0"))
    entries: dict[int, list[ProgrammeOffer]] = defaultdict(list)
    for programme in programmes.programmes:
        eligible, already = _eligible(programme, scored, moments, trigger_rows, supported_rows)
        eligible &= percentile >= programme.min_percentile
        for i in np.flatnonzero(already):
            entries[int(i)].append(
                ProgrammeOffer(
                    programme=programme.id,
                    name=programme.name,
                    status="already_supported",
                    capacity=programme.capacity,
                )
            )
        for day in sorted(set(days[eligible])) if eligible.any() else ():
            rows = np.flatnonzero(eligible & (days == day))
            order = rows[np.lexsort((tie[rows], -probability[rows]))]
            period = (programme.id, programme.period_start(day))
            for i in order:
                if used[period] >= programme.capacity:
                    break
                key = (programme.id, str(persons[i]))
                if offered_until.get(key, day - timedelta(days=1)) >= day:
                    continue  # offered already, in a flag still valid
                used[period] += 1
                offered_until[key] = day + timedelta(days=valid_days)
                entries[int(i)].append(
                    ProgrammeOffer(
                        programme=programme.id,
                        name=programme.name,
                        status="offered",
                        rank=used[period],
                        capacity=programme.capacity,
                    )
                )
    return {
        i: tuple(e) for i, e in sorted(entries.items()) if any(x.status == "offered" for x in e)
    }
