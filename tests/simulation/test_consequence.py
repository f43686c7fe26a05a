"""What the service changes in the records: its known support added to ``interventions``, and a
label event removed only when every involvement behind it was prevented."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

from vru_risk.simulation.consequence import interventions_with, prevented_by, without_prevented

D = dt.date


def potential() -> pd.DataFrame:
    """Three involvements: two of p1 on one day with one offence (one police row between
    them), one of p2 with a police row and an A&E visit."""
    return pd.DataFrame(
        {
            "person_id": ["p1", "p1", "p2"],
            "date": [D(2025, 3, 1)] * 3,
            "kind": ["victim", "victim", "perpetrator"],
            "offence": ["robbery", "robbery", "violence_with_injury"],
            "u_prevent": [0.9, 0.2, 0.9],
            "happened": [True, True, True],
            "police_recorded": [True, True, True],
            "police_role": ["victim", "victim", "suspect"],
            "ae_arrival": [pd.NaT, pd.NaT, pd.Timestamp("2025-03-01 22:10:00")],
        }
    )


def records() -> tuple[pd.DataFrame, pd.DataFrame]:
    police = pd.DataFrame(
        {
            "person_id": ["p1", "p2", "p2"],
            "date": [D(2025, 3, 1), D(2025, 3, 1), D(2025, 4, 1)],
            "role": ["victim", "suspect", "witness"],
            "offence": ["robbery", "violence_with_injury", "theft"],
        }
    )
    ae = pd.DataFrame(
        {
            "person_id": ["p2", "p2"],
            "arrival": pd.to_datetime(["2025-03-01 22:10:00", "2025-05-01 10:00:00"]),
            "reason": ["assault", "accident"],
        }
    )
    return police, ae


def support(*people: str) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "person_id": list(people),
            "start_date": [D(2025, 2, 1)] * len(people),
            "end_date": [D(2025, 6, 30)] * len(people),
        }
    )


def test_a_label_event_goes_only_when_every_involvement_behind_it_was_prevented() -> None:
    police, ae = records()
    gone = prevented_by(potential(), support("p1", "p2"), effect=0.5)
    assert gone.tolist() == [True, False, True]  # p1's second draw is kept at 0.5
    kept_police, kept_ae, n_police, n_ae = without_prevented(police, ae, potential(), gone)
    assert (n_police, n_ae) == (1, 1)  # p2's suspect row and assault visit; p1's row stays
    assert kept_police["role"].tolist() == ["victim", "witness"]
    assert kept_ae["reason"].tolist() == ["accident"]
    everything = prevented_by(potential(), support("p1", "p2"), effect=1.0)
    assert without_prevented(police, ae, potential(), everything)[2] == 2
    unsupported = prevented_by(potential(), support("p3"), effect=1.0)
    assert not unsupported.any()


def test_what_did_not_happen_cannot_be_prevented_again() -> None:
    frame = potential().assign(happened=[False, True, True])
    gone = prevented_by(frame, support("p1"), effect=1.0)
    assert gone.tolist() == [False, True, False]


def test_support_known_by_the_extract_date_is_added_and_support_still_running_has_no_end() -> None:
    existing = pd.DataFrame(
        {
            "person_id": ["b", "a"],
            "programme": ["Admit A&E", "Jump Start Mentoring"],
            "start_date": [D(2025, 1, 2), D(2025, 6, 1)],
            "end_date": [D(2025, 2, 1), None],
            "known_date": [D(2025, 1, 3), D(2025, 6, 2)],
        }
    )
    added = pd.DataFrame(
        {
            "person_id": ["a", "c", "c"],
            "programme": ["Early Intervention Team", "Admit A&E", "Admit A&E"],
            "start_date": [D(2025, 3, 1), D(2025, 7, 1), D(2025, 8, 25)],
            "end_date": [D(2025, 5, 1), D(2025, 9, 30), D(2025, 10, 1)],
            "known_date": [D(2025, 3, 5), D(2025, 7, 3), D(2025, 9, 2)],
        }
    )
    out = interventions_with(existing, added, extract_date=D(2025, 8, 31))
    assert list(zip(out["person_id"], out["programme"], strict=True)) == [
        ("a", "Early Intervention Team"),
        ("a", "Jump Start Mentoring"),
        ("b", "Admit A&E"),
        ("c", "Admit A&E"),
    ]
    assert out["end_date"].tolist()[-1] is None  # under way on the extract date
    assert np.array_equal(out["start_date"].to_numpy()[-1:], np.array([D(2025, 7, 1)]))
