"""Pacing: a paced programme spreads a period's places across it, to about the period's
highest-scored moments, never below its floor and never holding a place past the period's end;
first come gives them to the first days. The history it keeps is counts only, and a file it
cannot read is refused with what to do."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import numpy as np
import pytest

from vru_risk.flags.allocate import AllocationState, Candidates, DayRule, how_chosen, replay
from vru_risk.flags.eligibility import Eligibility
from vru_risk.flags.pacing import MIN_DAYS, PacingHistory, PacingHistoryError
from vru_risk.flags.programmes import Programme, Programmes

START = date(2026, 1, 1)


def one_programme(policy: str, capacity: int = 10) -> Programmes:
    return Programmes(
        programmes_version=1,
        programmes=(
            Programme(
                id="mentoring",
                name="Mentoring",
                min_age=8,
                max_age=18,
                trigger_kinds=("police_contact",),
                capacity=capacity,
                period="month",
                min_percentile=90.0,
                policy=policy,  # type: ignore[arg-type]
                shared_sources=("attendance",),
            ),
        ),
    )


def daily_moments(days: int, per_day: int, seed: int = 3) -> Candidates:
    """``per_day`` moments a day from START, percentiles uniform on [0, 100)."""
    rng = np.random.default_rng(seed)
    n = days * per_day
    percentile = rng.uniform(0, 100, n)
    return Candidates(
        person_id=np.array([f"P{i:06d}" for i in range(n)], dtype=object),
        day=np.array([START + timedelta(days=i // per_day) for i in range(n)], dtype=object),
        probability=percentile / 100,
        percentile=percentile,
        eligible={"mentoring": Eligibility(np.ones(n, dtype=bool), np.zeros(n, dtype=bool))},
    )


def offers_in(policy: str, month: int) -> tuple[list[date], list[float]]:
    """The days and percentiles of the offers made in month ``month`` (1-based) of 62 days."""
    moments = daily_moments(days=31 + 28 + 31, per_day=20)
    made = replay(moments, one_programme(policy), AllocationState())
    chosen = [o for o in made if o.day.month == month]
    return [o.day for o in chosen], [float(moments.percentile[o.row]) for o in chosen]


def test_first_come_fills_the_month_in_its_first_days() -> None:
    days, _ = offers_in("first_come", 2)
    assert len(days) == 10
    assert max(days) <= date(2026, 2, 7)  # about 2 moments a day clear the floor: 5 days


def test_paced_spreads_the_places_and_gives_them_to_higher_scores() -> None:
    paced_days, paced = offers_in("paced", 2)
    _, first = offers_in("first_come", 2)
    assert len(paced_days) == 10  # every place used
    # aimed at the first half of the days left (PACE), re-aimed every day: on steady arrivals
    # the places last about twice as long as first come's, into the month's second week
    assert max(paced_days) >= date(2026, 2, 10)
    assert len({d.isocalendar().week for d in paced_days}) >= 2
    assert np.mean(paced) > np.mean(first) + 2
    assert min(paced) >= 90.0  # never below the floor


def test_paced_without_history_falls_back_to_the_floor_and_says_so() -> None:
    moments = daily_moments(days=MIN_DAYS - 1, per_day=20)
    rules: list[DayRule] = []
    replay(moments, one_programme("paced"), AllocationState(), rules=rules)
    assert rules and all(not r.paced and r.threshold == 90.0 for r in rules)


def test_the_last_day_of_a_period_offers_every_place_left_above_the_floor() -> None:
    history = PacingHistory()
    for k in range(28):
        history.record("mentoring", START + timedelta(days=k), [99.0] * 50)
    day = date(2026, 1, 31)
    assert history.threshold("mentoring", day, floor=90.0, places=5, days=1) == 90.0
    assert history.threshold("mentoring", day, floor=90.0, places=5, days=10) == 99.0
    assert history.threshold("mentoring", day, floor=90.0, places=0, days=10) == 90.0
    # more places than moments expected: the floor
    assert history.threshold("mentoring", day, floor=90.0, places=10_000, days=10) == 90.0


def test_history_round_trips_and_keeps_only_counts(tmp_path: Path) -> None:
    history = PacingHistory()
    for k in range(40):
        history.record("mentoring", START + timedelta(days=k), [91.5, 97.2, 97.9])
    history.prune()
    path = tmp_path / "pacing.json"
    path.write_text(history.to_json(), encoding="utf-8")
    back = PacingHistory.read(path)
    assert set(back.days["mentoring"]) == set(history.days["mentoring"])
    assert len(back.days["mentoring"]) == 29  # the window and the newest day
    counts = back.days["mentoring"][START + timedelta(days=39)]
    assert counts[91] == 1 and counts[97] == 2 and counts.sum() == 3
    assert "P0" not in path.read_text()


@pytest.mark.parametrize(
    "text",
    [
        "not json",
        '{"format": 9, "programmes": {}}',
        '{"format": 1, "programmes": {"p": {"2026-01-01": [1, 2]}}}',
    ],
)
def test_a_history_that_cannot_be_read_is_refused_with_what_to_do(
    tmp_path: Path, text: str
) -> None:
    path = tmp_path / "pacing.json"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(PacingHistoryError, match="delete it"):
        PacingHistory.read(path)
    assert PacingHistory.read(tmp_path / "absent.json").days == {}


def test_how_the_days_offers_were_chosen_is_said_in_words() -> None:
    paced = one_programme("paced").programmes[0]
    first = one_programme("first_come").programmes[0]
    assert how_chosen(paced, "paced", 97.0, 4) == (
        "places are spread across the month: the day's offers went to moments at or above the "
        "97th percentile of the model's scores (the programme's floor is the 90th), highest "
        "first; 4 of 10 places left this month"
    )
    assert how_chosen(paced, "paced", 90.0, 4).startswith(
        "places are spread across the month; on this day every moment at or above the "
        "programme's floor, the 90th percentile, could be offered"
    )
    assert how_chosen(first, "first_come", 90.0, 0) == (
        "first come: each day's moments at or above the 90th percentile are offered, highest "
        "first, until the month's places are used; 0 of 10 places left this month"
    )
