"""The optional ``completed`` column of ``interventions`` (programme reach, issue 20): a folder
without it is still valid (backwards compatible), one with it is read as a boolean, and a value
that is not one is refused by file, column and row."""

from __future__ import annotations

import copy
from datetime import date
from pathlib import Path

import pytest

from tests.conftest import RunVru
from tests.folders import ROWS, snapshot, write_table, write_valid_folder
from vru_risk.data.validate import validate_folder


def _with_completed(values: list[str]) -> list[dict[str, str]]:
    rows = copy.deepcopy(ROWS["interventions"])
    assert len(rows) >= 1
    for row, value in zip(rows, values * len(rows), strict=False):
        row["completed"] = value
    return rows


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_a_folder_without_completed_stays_valid(tmp_path: Path, fmt: str) -> None:
    folder = write_valid_folder(tmp_path / "extract", fmt)
    report = validate_folder(folder, today=date(2026, 9, 1))
    assert report.ok, [p.render() for p in report.problems]
    assert "completed" not in report.tables["interventions"].columns


def test_completed_is_read_as_a_boolean_and_may_be_empty(tmp_path: Path) -> None:
    folder = write_valid_folder(tmp_path / "extract", "csv")
    write_table(folder, "interventions", _with_completed(["true", ""]), "csv")
    report = validate_folder(folder, today=date(2026, 9, 1))
    assert report.ok, [p.render() for p in report.problems]
    assert "completed" in report.tables["interventions"].columns


def test_a_completed_that_is_not_a_boolean_is_refused_by_row(vru: RunVru, tmp_path: Path) -> None:
    folder = write_valid_folder(tmp_path / "extract", "csv")
    write_table(folder, "interventions", _with_completed(["finished"]), "csv")
    before = snapshot(folder)
    result = vru("data", "validate", folder)
    assert result.code == 2, result.output
    assert "interventions.csv, column 'completed': not a boolean" in result.stdout
    assert "row 2: completed='finished'" in result.stdout
    assert snapshot(folder) == before
