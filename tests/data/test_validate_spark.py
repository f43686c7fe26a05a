"""`vru data validate --engine spark`: the same problem report as DuckDB's (same problems, same
messages, same row numbers, same order) on the small hand-written folder of tests/folders.py
corrupted in many ways at once, as CSV and as Parquet; a clean folder passes on both.

One Spark session per test process (the shared ``spark`` fixture); the folders have a few rows.
"""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from tests.conftest import RunVru
from tests.folders import ROWS, write_table, write_valid_folder
from vru_risk.data.engine import SparkEngine
from vru_risk.data.validate import ValidationReport, validate_folder

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

pytestmark = pytest.mark.spark

TODAY = date(2026, 11, 25)


def rows(name: str) -> list[dict[str, str]]:
    return [dict(r) for r in ROWS[name]]


def corrupt(folder: Path, fmt: str) -> None:
    """Break the valid folder in many ways (in Parquet, the broken columns stored as text)."""
    people = rows("people")
    people[0]["sex"] = "femail"  # a category not in the contract
    people[1]["birth_date"] = "0000-07-01"  # year 0
    people[2]["imd_decile"] = "ten"  # not a whole number
    people[3]["birth_date"] = "1912-01-01"  # the wrong century
    people.append(dict(people[0], sex="male"))  # P001 again: a duplicate key
    text = frozenset({"sex", "birth_date", "imd_decile"})
    write_table(folder, "people", people, fmt, as_text=text)

    attendance = rows("attendance")
    attendance[0]["known_date"] = "2025-09-01"  # known before the event (2025-09-08)
    attendance.append(dict(attendance[1]))  # a duplicate key
    for i in range(7):  # more orphans than a problem shows
        attendance.append(dict(attendance[2], person_id=f"P9{i:02d}"))
    attendance.append(dict(attendance[3], status="present!"))
    write_table(folder, "attendance", attendance, fmt)

    visits = rows("ae_visits")
    visits[0]["hospital"] = "Musgrove\nPark"  # a quoted line break: still one row
    visits.append(dict(visits[0], hospital="Yeovil", arrival="2026-02-14T24:00:00"))
    visits.append(dict(visits[0], hospital="Yeovil", arrival="2126-02-14T10:00:00"))
    write_table(folder, "ae_visits", visits, fmt, as_text=frozenset({"arrival"}))

    exclusions = rows("exclusions")
    exclusions[0]["days"] = "2.7"  # not whole half days
    exclusions[1]["start_date"] = "2025-13-01"  # no 13th month
    write_table(folder, "exclusions", exclusions, fmt, as_text=frozenset({"start_date"}))

    police = rows("police_contacts")
    police[0]["outcome_known_date"] = "2025-10-01"  # before the contact
    police[1]["outcome_known_date"] = "2026-03-01"  # without an outcome
    write_table(folder, "police_contacts", police, fmt)


def report_of(folder: Path, spark: SparkSession | None) -> ValidationReport:
    engine = None if spark is None else SparkEngine(spark)
    return validate_folder(folder, today=TODAY, engine=engine)


#: the one rendering that differs: a stored date before the year 1, which DuckDB prints as
#: ``0222-09-04 (BC)`` and Spark as ``-0221-09-04`` (same problem, same row)
BC_DATES = {"-0221-09-04": "0222-09-04 (BC)"}


def comparable(report: ValidationReport) -> dict[str, Any]:
    doc = report.to_dict()
    for problem in doc["problems"]:
        for example in problem["examples"]:
            values = example["values"]
            example["values"] = {k: BC_DATES.get(v, v) for k, v in values.items()}
    return doc


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_a_corrupted_folder_gets_the_same_report_on_both_engines(
    tmp_path: Path, spark: SparkSession, fmt: str, capfd: pytest.CaptureFixture[str]
) -> None:
    folder = write_valid_folder(tmp_path / "extract", fmt)
    corrupt(folder, fmt)
    if fmt == "parquet":  # a stored date about 220 BC
        path = folder / "people.parquet"
        table = pq.read_table(path)
        i = table.schema.get_field_index("left_area_date")
        days = pa.array([None, None, -800_000, None, None], pa.date32())
        pq.write_table(table.set_column(i, "left_area_date", days), path)
    duck = report_of(folder, None)
    capfd.readouterr()
    on_spark = report_of(folder, spark)
    logged = capfd.readouterr()
    assert comparable(on_spark) == comparable(duck)
    # Spark's own output (its logs, on this process's stdout and stderr) holds no value
    for value in ("femail", "0000-07-01", "P900", "present!", "Musgrove", "2126-02-14"):
        assert value not in logged.out + logged.err
    checks = {(p.file.split(".")[0], p.column, p.check) for p in duck.problems}
    assert {
        ("people", "sex", "unknown_category"),
        ("people", "birth_date", "bad_date"),
        ("people", "birth_date", "implausible_birth_date"),
        ("people", "imd_decile", "wrong_type"),
        ("people", "person_id", "duplicate_key"),
        ("attendance", "person_id", "unknown_person"),
        ("attendance", "known_date", "known_before_event"),
        ("attendance", "status", "unknown_category"),
        ("ae_visits", "hospital", "control_character"),
        ("ae_visits", "arrival", "bad_date"),
        ("ae_visits", "arrival", "after_extract_date"),
        ("exclusions", "days", "not_whole_steps"),
        ("exclusions", "start_date", "bad_date"),
        ("police_contacts", "outcome_known_date", "known_before_event"),
        ("police_contacts", "outcome_known_date", "date_without_outcome"),
    } <= checks
    shown = {(p.file.split(".")[0], p.check): p for p in on_spark.problems}
    orphans = shown["attendance", "unknown_person"]
    assert orphans.count == 7
    assert [e.row for e in orphans.examples] == [9, 10, 11, 12, 13]
    assert [e.row for e in shown["people", "duplicate_key"].examples] == [6]
    # the record after the quoted line break is row 3, as a spreadsheet shows it
    assert [e.row for e in shown["ae_visits", "after_extract_date"].examples] == [4]
    assert [e.row for e in shown["people", "implausible_birth_date"].examples] == [5]


def test_a_clean_parquet_folder_passes_on_both_engines(tmp_path: Path, spark: SparkSession) -> None:
    folder = write_valid_folder(tmp_path / "extract", "parquet")
    duck, on_spark = report_of(folder, None), report_of(folder, spark)
    assert duck.ok and on_spark.ok, on_spark.problems
    assert comparable(on_spark) == comparable(duck)
    assert on_spark.tables["attendance"].rows == len(ROWS["attendance"])


def test_a_csv_row_with_too_many_fields_is_named_by_row_without_its_values(
    tmp_path: Path, spark: SparkSession
) -> None:
    folder = write_valid_folder(tmp_path / "extract", "csv")
    path = folder / "interventions.csv"
    path.write_text(path.read_text() + "P001,Secret Programme,2025-01-01,,2025-01-01,extra\n")
    report = report_of(folder, spark)
    (problem,) = [p for p in report.problems if p.file == "interventions.csv"]
    assert problem.check == "unreadable_file"
    assert "rows 3)" in problem.message
    assert "Secret" not in json.dumps(report.to_dict())
    assert not report_of(folder, None).ok  # DuckDB refuses the file too


def test_the_cli_validates_a_clean_csv_folder_on_spark(
    vru: RunVru, tmp_path: Path, spark: SparkSession, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`vru data validate` on Spark (chosen by VRU_ENGINE) passes a clean CSV folder with the
    same report as DuckDB's (the corrupted folder's reports are compared above)."""
    folder = write_valid_folder(tmp_path / "extract", "csv")
    monkeypatch.setenv("VRU_ENGINE", "spark")
    on_duckdb = vru("data", "validate", folder, "--json", "--engine", "duckdb")
    on_spark = vru("data", "validate", folder, "--json")  # VRU_ENGINE
    assert on_duckdb.code == on_spark.code == 0, on_spark.output
    report = json.loads(on_spark.stdout)
    assert report == json.loads(on_duckdb.stdout)
    assert report["tables"]["attendance"]["rows"] == len(ROWS["attendance"])
    assert [t.name for t in spark.catalog.listTables() if t.name.startswith("src_")] == []
    bad = vru("data", "validate", folder, "--engine", "postgres")
    assert bad.code == 2
    assert "--engine 'postgres': choose one of duckdb, spark" in bad.stderr
