"""Weekly source rows and the seasonal profile later weeks are compared with."""

from __future__ import annotations

from datetime import date, timedelta

import pandas as pd

from vru_risk.monitoring.sources import gap_days_by_month, source_profile, weekly_source_rows


def test_weekly_rows_people_and_lag() -> None:
    monday = date(2024, 3, 4)
    events = pd.DataFrame(
        {
            "source": ["police_contacts"] * 4 + ["ae_visits"],
            "person_id": ["a", "a", "b", "c", "a"],
            "event_date": [
                monday,
                monday,
                monday + timedelta(days=6),
                monday + timedelta(7),
                monday,
            ],
            "known_date": [monday + timedelta(d) for d in (2, 4, 16, 7, 40)],
        }
    )
    weeks = weekly_source_rows(events)
    police = weeks[weeks["source"] == "police_contacts"].reset_index(drop=True)
    assert police["iso_week"].tolist() == ["2024-W10", "2024-W11"]
    assert police["rows"].tolist() == [3, 1]
    assert police["people"].tolist() == [2, 1]
    assert police.loc[0, "lag_median"] == 4.0
    assert police.loc[0, "last_known"] == monday + timedelta(16)
    assert weeks[weeks["source"] == "ae_visits"]["lag_median"].tolist() == [40.0]


def test_summer_holidays_are_an_expected_gap_of_their_season() -> None:
    term = [date(2023, 7, 21) - timedelta(d) for d in range(30)]
    autumn = [date(2023, 9, 5) + timedelta(d) for d in range(30)]
    gaps = gap_days_by_month(term + autumn)
    assert gaps["08"] == gaps["07"] == gaps["09"] == 45
    assert gaps["03"] == 0
    events = pd.DataFrame(
        {
            "source": "attendance",
            "person_id": "a",
            "event_date": term + autumn,
            "known_date": term + autumn,
        }
    )
    profile = source_profile(weekly_source_rows(events), term + autumn)
    assert "08" not in profile.by_month  # no week of August had a row
    assert profile.by_month["07"].rows_min >= 1
    assert profile.gap_days_by_month["08"] == 45
