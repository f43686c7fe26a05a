"""The hindsight bound beside the replayed allocation, on a hand-made month of moments."""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import pandas as pd

from vru_risk.features.context import MomentContext
from vru_risk.flags.programmes import Programmes
from vru_risk.flags.replay import allocation_metrics, hindsight, replay_window

START = date(2026, 3, 1)


def one_programme(policy: str = "first_come") -> Programmes:
    return Programmes.model_validate(
        {
            "programmes_version": 1,
            "programmes": [
                {
                    "id": "mentoring",
                    "name": "Mentoring",
                    "min_age": 10,
                    "max_age": 17,
                    "trigger_kinds": ["police_contact"],
                    "capacity": 2,
                    "period": "month",
                    "min_percentile": 90,
                    "policy": policy,
                    "shared_sources": ["attendance"],
                    "intervention_names": ["Mentoring"],
                }
            ],
        }
    )


def month(
    moments: list[tuple[str, int, float]], supported: tuple[tuple[str, int], ...] = ()
) -> tuple[pd.DataFrame, MomentContext]:
    """Rows and context of ``(person, day of March, percentile)`` moments (probability =
    percentile / 100), all police contacts at 14; ``supported``: (person, day) under way."""
    person = [p for p, _, _ in moments]
    day = [START + timedelta(days=d - 1) for _, d, _ in moments]
    pct = np.array([q for _, _, q in moments], dtype="float64")
    rows = pd.DataFrame(
        {"person_id": person, "as_of": day, "probability": pct / 100, "percentile": pct}
    )
    n = len(moments)
    context = MomentContext(
        frame=pd.DataFrame(
            {"person_id": person, "as_of": day, "age_completed": [14] * n, "school_id": ["s"] * n}
        ),
        triggers=pd.DataFrame(
            {
                "person_id": person,
                "as_of": day,
                "trigger_kind": ["police_contact"] * n,
                "trigger_date": day,
                "source": ["police_contacts"] * n,
                "detail": ["suspect"] * n,
            }
        ),
        supported=pd.DataFrame(
            {
                "person_id": [p for p, _ in supported],
                "day": [START + timedelta(days=d - 1) for _, d in supported],
                "programme": ["Mentoring"] * len(supported),
            }
        ),
    )
    return rows, context


def test_hindsight_takes_the_periods_highest_scores_once_per_person_without_floor() -> None:
    rows, context = month(
        [
            ("early", 1, 91.0),  # first come: takes a place on day 1
            ("early2", 2, 92.0),  # and the second on day 2
            ("best", 20, 99.0),  # the month's highest, too late for first come
            ("best", 25, 98.0),  # the same person again: once per period
            ("second", 28, 97.0),
            ("held", 10, 99.5),  # already supported: never offered, by either
            ("quiet", 31, 10.0),  # the month's last day: the window covers the whole period
        ],
        supported=(("held", 10),),
    )
    programmes = one_programme()
    first = replay_window(rows, context, programmes)
    bound = hindsight(rows, context, programmes)
    assert rows["person_id"][first.offered].tolist() == ["early", "early2"]
    assert rows["person_id"][bound.offered].tolist() == ["best", "second"]
    assert [(o.rank, o.threshold) for o in bound.offers] == [(1, 97.0), (2, 97.0)]
    # the list's two places were both still open until day 20, one until day 28
    left = {r.day.day: r.places_left for r in bound.rules}
    assert (left[1], left[25], left[28]) == (2, 1, 1)
    label = np.array([0, 0, 1, 0, 1, 1, 0], dtype="float64")
    worth = allocation_metrics(bound, label)
    assert (worth.precision, worth.places_used_share) == (1.0, 1.0)
    assert allocation_metrics(first, label).precision == 0.0


def test_hindsight_has_no_floor_and_periods_are_separate() -> None:
    rows, context = month([("low", 3, 40.0), ("low", 40, 50.0)])  # 40 days: March and April
    bound = hindsight(rows, context, one_programme())
    assert bound.offered.tolist() == [True, True]
    assert [o.day.month for o in bound.offers] == [3, 4]
    assert not replay_window(rows, context, one_programme()).offered.any()


def test_hindsight_with_valid_days_does_not_choose_a_person_again_while_an_offer_is_valid() -> None:
    rows, context = month([("a", 5, 99.0), ("a", 40, 99.0), ("b", 41, 95.0), ("a", 130, 99.0)])
    programmes = one_programme()
    every_period = hindsight(rows, context, programmes)
    as_service = hindsight(rows, context, programmes, valid_days=90)
    assert every_period.offered.tolist() == [True, True, True, True]
    assert as_service.offered.tolist() == [True, False, True, True]  # day 130: 125 days later
