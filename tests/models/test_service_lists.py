"""The monthly service-list rule and the expected calibration error (one home for both):
seeded tie-breaking, the frame and array forms agreeing row for row, the calibration gap."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from vru_risk.models.service_lists import (
    expected_calibration_error,
    monthly_lists,
    monthly_selection,
)


def frame(rows: list[tuple[str, str, float, float]]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["person_id", "as_of", "score", "label"]).assign(
        as_of=lambda f: pd.to_datetime(f["as_of"])
    )


def test_ties_are_broken_by_a_seeded_random_order_not_row_order() -> None:
    f = frame([(f"p{i}", "2024-03-01", 1.0, float(i % 2)) for i in range(200)])
    first = monthly_lists(f, capacity=50, seed=1)
    again = monthly_lists(f, capacity=50, seed=1)
    other = monthly_lists(f, capacity=50, seed=2)
    flagged = set(first.loc[first["flagged"], "person_id"])
    assert flagged == set(again.loc[again["flagged"], "person_id"])
    assert flagged != set(other.loc[other["flagged"], "person_id"])
    assert flagged != {f"p{i}" for i in range(50)}  # not the first rows


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_the_frame_and_array_forms_flag_the_same_rows(seed: int) -> None:
    rng = np.random.default_rng(seed)
    n = 600
    f = pd.DataFrame(
        {
            "person_id": rng.integers(0, 120, n).astype(str),
            "as_of": pd.Timestamp("2024-01-01") + pd.to_timedelta(rng.integers(0, 100, n), "D"),
            "score": rng.integers(0, 4, n) / 4,  # many ties, between rows and between people
            "label": rng.integers(0, 2, n).astype(float),
        }
    )
    expected = monthly_lists(f, capacity=15, seed=seed).sort_index()
    selection = monthly_selection(f["score"], f["person_id"], f["as_of"], capacity=15, seed=seed)
    assert selection.rows.tolist() == expected.index.tolist()
    assert selection.flagged.tolist() == expected["flagged"].tolist()


def test_expected_calibration_error() -> None:
    y = np.array([0, 0, 1, 1, 1, 0, 1, 0])
    p = np.array([0.1, 0.1, 0.1, 0.1, 0.9, 0.9, 0.9, 0.9])
    # bin 0.1: observed 0.5 vs 0.1; bin 0.9: observed 0.5 vs 0.9 -> mean gap 0.4
    assert expected_calibration_error(y, p) == pytest.approx(0.4)
