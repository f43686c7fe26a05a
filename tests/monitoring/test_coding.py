"""Coding changes: a source recording a share of one value as another is a review naming the
source and the value; the same mix is nothing; a mix judged on too few records, or a value
outside the watched ones (not_required), is never a finding; the reference's months are
weighted by the days of the window."""

from __future__ import annotations

import pandas as pd
import pytest

from vru_risk.monitoring.coding import category_mixes, coding_check
from vru_risk.monitoring.criteria import CriteriaError, criteria_from, load_criteria

CRITERIA = load_criteria()
SHARES = {"present": 0.90, "late": 0.02, "authorised_absence": 0.05, "unauthorised_absence": 0.03}


def _counts(month: str, total: int, shares: dict[str, float]) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "source": "attendance",
            "column": "status",
            "month": month,
            "value": list(shares),
            "rows": [round(total * s) for s in shares.values()],
        }
    )


def _recoded(share: float) -> dict[str, float]:
    moved = SHARES["unauthorised_absence"] * share
    return {
        **SHARES,
        "unauthorised_absence": SHARES["unauthorised_absence"] - moved,
        "authorised_absence": SHARES["authorised_absence"] + moved,
    }


MIXES = category_mixes(pd.concat([_counts("03", 400_000, SHARES), _counts("08", 1_000, SHARES)]))
MARCH = ["03"] * 28


def test_unauthorised_absence_recorded_as_authorised_is_a_review_naming_attendance() -> None:
    rows, findings = coding_check(MIXES, _counts("03", 60_000, _recoded(0.3)), MARCH, CRITERIA)
    assert [(f.criterion, f.level, f.subject) for f in findings] == [
        ("coding_change", "review", "attendance")
    ]
    assert "“unauthorised absence”" in findings[0].sentence and "-30%" in findings[0].sentence
    assert findings[0].figures["value"] == "unauthorised_absence"
    assert rows[0]["judged"] and rows[0]["changed"] and rows[0]["rows"] == 60_000


def test_the_same_mix_or_a_small_wobble_is_nothing() -> None:
    assert coding_check(MIXES, _counts("03", 60_000, SHARES), MARCH, CRITERIA)[1] == []
    wobble = coding_check(MIXES, _counts("03", 60_000, _recoded(0.1)), MARCH, CRITERIA)
    assert wobble[1] == [] and not wobble[0][0]["changed"]  # within the 15% limit


def test_too_few_records_or_an_unwatched_value_is_never_a_finding() -> None:
    rows, findings = coding_check(MIXES, _counts("03", 5_000, _recoded(0.5)), MARCH, CRITERIA)
    assert findings == [] and not rows[0]["judged"]
    exams = {**SHARES, "not_required": 0.30}  # Year 11 on exam leave: not a coding change
    assert coding_check(MIXES, _counts("03", 60_000, exams), MARCH, CRITERIA)[1] == []


def test_the_reference_months_are_weighted_by_the_days_of_the_window() -> None:
    # August's mix differs; a window of 27 days of March and 1 of August is judged on March's
    summer = {
        "present": 0.88,
        "late": 0.0,
        "authorised_absence": 0.06,
        "unauthorised_absence": 0.06,
    }
    mixes = category_mixes(
        pd.concat([_counts("03", 40_000, SHARES), _counts("08", 40_000, summer)])
    )
    window = ["03"] * 27 + ["08"]
    assert coding_check(mixes, _counts("03", 60_000, SHARES), window, CRITERIA)[1] == []
    halves = ["03", "08"]  # the two months as equal parts: March's mix then looks changed
    assert coding_check(mixes, _counts("03", 60_000, SHARES), halves, CRITERIA)[1]


def test_a_watched_column_that_is_not_a_categorical_column_is_refused() -> None:
    with pytest.raises(CriteriaError, match=r"attendance\.date"):
        criteria_from({"coding": {"attendance.date": {}}})
    with pytest.raises(CriteriaError, match="holiday"):
        criteria_from({"coding": {"attendance.status": {"among": ["holiday"]}}})
