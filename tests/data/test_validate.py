"""`vru data validate`: one test per class of bad input, in CSV and Parquet.

Every bad folder must give exit code 2 and a message naming the file, the column and the rows
(spreadsheet numbering: the header is row 1), and the folder must be left exactly as it was.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from tests.conftest import RunVru
from tests.folders import ROWS, snapshot, write_csv, write_manifest, write_valid_folder
from vru_risk.data.fingerprint import folder_fingerprint
from vru_risk.data.validate import validate_folder

TODAY = date(2026, 11, 25)


def rows(name: str) -> list[dict[str, str]]:
    return [dict(r) for r in ROWS[name]]


def rewrite(folder: Path, name: str, table_rows: list[dict[str, str]]) -> None:
    """Rewrite one table of a CSV folder and drop the manifest's hash of it."""
    write_csv(folder / f"{name}.csv", table_rows)


@dataclass(frozen=True)
class Case:
    """A corruption of the valid CSV folder and what the report must say."""

    id: str
    corrupt: Callable[[Path], None]
    file: str
    column: str | None
    needle: str
    rows: tuple[int, ...] = ()  # spreadsheet row numbers that must be named
    count: int | None = None


def _set(name: str, index: int, **values: str) -> Callable[[Path], None]:
    def corrupt(folder: Path) -> None:
        table = rows(name)
        table[index].update(values)
        rewrite(folder, name, table)

    return corrupt


def _drop_column(name: str, column: str) -> Callable[[Path], None]:
    def corrupt(folder: Path) -> None:
        rewrite(folder, name, [{k: v for k, v in r.items() if k != column} for r in rows(name)])

    return corrupt


def _add_column(name: str, column: str, value: str) -> Callable[[Path], None]:
    def corrupt(folder: Path) -> None:
        rewrite(folder, name, [{**r, column: value} for r in rows(name)])

    return corrupt


def _append(name: str, row: dict[str, str]) -> Callable[[Path], None]:
    def corrupt(folder: Path) -> None:
        rewrite(folder, name, [*rows(name), row])

    return corrupt


def _raw(name: str, content: bytes) -> Callable[[Path], None]:
    def corrupt(folder: Path) -> None:
        (folder / f"{name}.csv").write_bytes(content)

    return corrupt


ATT = rows("attendance")[0]

CASES = [
    Case(
        "missing required column",
        _drop_column("attendance", "status"),
        "attendance.csv",
        "status",
        "required column is missing",
    ),
    Case(
        "unexpected column",
        _add_column("ae_visits", "postcode", "TA1 2AB"),
        "ae_visits.csv",
        "postcode",
        "not in the data contract",
    ),
    Case(
        "wrong type (not a number)",
        _set("exclusions", 0, days="two"),
        "exclusions.csv",
        "days",
        "not a number",
        (2,),
    ),
    Case(
        "wrong type (not a whole number)",
        _set("people", 1, imd_decile="3.5"),
        "people.csv",
        "imd_decile",
        "not a whole number",
        (3,),
    ),
    Case(
        "null in a required field",
        _set("police_contacts", 1, role=""),
        "police_contacts.csv",
        "role",
        "empty in a required field",
        (3,),
    ),
    Case(
        "null days for a suspension",
        _set("exclusions", 0, days=""),
        "exclusions.csv",
        "days",
        "empty for a suspension",
        (2,),
    ),
    Case(
        "unknown category value",
        _set("attendance", 2, status="Absent"),
        "attendance.csv",
        "status",
        "unknown category value",
        (4,),
    ),
    Case(
        "boolean outside the closed set",
        _set("people", 0, fsm="yes"),
        "people.csv",
        "fsm",
        "not a boolean",
        (2,),
    ),
    Case(
        "boolean 'maybe' is never coerced",
        _set("ae_visits", 0, admitted="maybe"),
        "ae_visits.csv",
        "admitted",
        "not a boolean",
        (2,),
    ),
    Case(
        "unparsable date",
        _set("exclusions", 1, start_date="01/06/2025"),
        "exclusions.csv",
        "start_date",
        "unparsable date",
        (3,),
    ),
    Case(
        "impossible calendar date",
        _set("attendance", 0, date="2025-02-30"),
        "attendance.csv",
        "date",
        "unparsable date",
        (2,),
    ),
    Case(
        "unparsable date and time",
        _set("ae_visits", 0, arrival="14/02/2026 23:40"),
        "ae_visits.csv",
        "arrival",
        "unparsable date and time",
        (2,),
    ),
    Case(
        "date after the extract date",
        _set("police_contacts", 0, date="2026-09-02", known_date="2026-09-03"),
        "police_contacts.csv",
        "date",
        "after the extract date 2026-08-31",
        (2,),
    ),
    Case(
        "known_date before the event",
        _set("exclusions", 0, known_date="2025-09-01"),
        "exclusions.csv",
        "known_date",
        "known_date is before",
        (2,),
    ),
    Case(
        "event before birth",
        _set("attendance", 3, date="2010-09-08", known_date="2010-09-12"),
        "attendance.csv",
        "date",
        "before the person's birth_date",
        (5,),
    ),
    Case(
        "implausible birth date",
        _set("people", 2, birth_date="1901-01-01"),
        "people.csv",
        "birth_date",
        "implausible birth date",
        (4,),
    ),
    Case(
        "duplicate key in people",
        _append("people", {**rows("people")[1], "sex": "female"}),
        "people.csv",
        "person_id",
        "duplicate key",
        (6,),
    ),
    Case(
        "duplicate key in attendance",
        _append("attendance", {**ATT, "status": "late"}),
        "attendance.csv",
        "person_id, date, session",
        "duplicate key",
        (8,),
    ),
    Case(
        "person_id not in people",
        _set("interventions", 0, person_id="P999"),
        "interventions.csv",
        "person_id",
        "not in people",
        (2,),
    ),
    Case("empty file", _raw("exclusions", b""), "exclusions.csv", None, "empty"),
    Case(
        "header but no rows",
        _raw("exclusions", b"person_id,start_date,kind,days,reason,known_date\n"),
        "exclusions.csv",
        None,
        "header but no rows",
    ),
    Case(
        "not UTF-8",
        _raw(
            "ae_visits",
            "person_id,arrival,hospital,reason,admitted,known_date\n"
            "P001,2026-02-14T23:40:00,Musgrove Park,assault,false,2026-03-01\n"
            "P002,2026-02-15T01:10:00,Yeovil District Hôpital,assault,false,2026-03-01\n".encode(
                "cp1252"
            ),
        ),
        "ae_visits.csv",
        None,
        "not UTF-8",
        (3,),
    ),
    Case(
        "audit-only column outside people",
        _add_column("police_contacts", "ethnicity", "black"),
        "police_contacts.csv",
        "ethnicity",
        "audit-only attribute",
    ),
    Case(
        "ragged CSV row",
        _raw(
            "interventions",
            b"person_id,programme,start_date,end_date,known_date\n"
            b"P002,Jump Start Mentoring,2025-11-20,,2025-11-20,extra\n",
        ),
        "interventions.csv",
        None,
        "cannot be read as CSV",
    ),
    Case(
        "end before start",
        _set("interventions", 0, end_date="2025-01-01"),
        "interventions.csv",
        "end_date",
        "end_date is before start_date",
        (2,),
    ),
    Case(
        "imd decile out of range",
        _set("people", 3, imd_decile="0"),
        "people.csv",
        "imd_decile",
        "outside the allowed range",
        (5,),
    ),
    Case(
        "suspension longer than the legal maximum",
        _set("exclusions", 0, days="46"),
        "exclusions.csv",
        "days",
        "outside the allowed range",
        (2,),
    ),
    Case(
        "suspension not a whole number of sessions (steps of 0.5)",
        _set("exclusions", 0, days="1.3"),
        "exclusions.csv",
        "days",
        "not a whole number of steps of 0.5",
        (2,),
    ),
]


@pytest.fixture
def valid_csv(tmp_path: Path) -> Path:
    return write_valid_folder(tmp_path / "extract", "csv")


@pytest.fixture
def valid_parquet(tmp_path: Path) -> Path:
    return write_valid_folder(tmp_path / "extract-pq", "parquet")


def assert_named(output: str, case: Case) -> None:
    lines = [line for line in output.splitlines() if line.startswith(case.file)]
    assert lines, f"no problem names {case.file}:\n{output}"
    if case.column is not None:
        matching = [line for line in lines if f"column {case.column!r}" in line]
        assert matching, f"no problem names column {case.column!r}:\n{output}"
        lines = matching
    assert any(case.needle in line for line in lines), output
    for row in case.rows:
        assert f"row {row}:" in output, f"row {row} not named:\n{output}"


def test_valid_folders_pass(vru: RunVru, valid_csv: Path, valid_parquet: Path) -> None:
    for folder in (valid_csv, valid_parquet):
        result = vru("data", "validate", folder)
        assert result.code == 0, result.output
        assert "valid" in result.stdout
        assert "2026-08-31 (from manifest)" in result.stdout


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_bad_input_exits_2_naming_file_column_rows(
    vru: RunVru, valid_csv: Path, case: Case
) -> None:
    case.corrupt(valid_csv)
    write_manifest(valid_csv, "csv")  # keep the manifest consistent: only the table is wrong
    before = snapshot(valid_csv)
    result = vru("data", "validate", valid_csv)
    assert result.code == 2, result.output
    assert "Traceback" not in result.output
    assert_named(result.stdout, case)
    assert snapshot(valid_csv) == before, "validation must never write to the folder"


def test_every_problem_is_collected_before_reporting(vru: RunVru, valid_csv: Path) -> None:
    for case in (CASES[0], CASES[1], CASES[2], CASES[7]):
        case.corrupt(valid_csv)
    result = vru("data", "validate", valid_csv, "--json")
    assert result.code == 2
    report = json.loads(result.stdout)
    checks = {(p["file"], p["column"], p["check"]) for p in report["problems"]}
    assert ("attendance.csv", "status", "missing_column") in checks
    assert ("ae_visits.csv", "postcode", "unexpected_column") in checks
    assert ("people.csv", "fsm", "bad_boolean") in checks


def test_examples_are_the_first_five_with_total_count(vru: RunVru, valid_csv: Path) -> None:
    table = rows("attendance")
    extra = [
        {**ATT, "date": f"2025-10-{day:02d}", "status": "holiday", "known_date": "2025-10-31"}
        for day in range(1, 21)
    ]
    rewrite(valid_csv, "attendance", table + extra)
    result = vru("data", "validate", valid_csv, "--json")
    problem = next(p for p in json.loads(result.stdout)["problems"] if p["column"] == "status")
    assert problem["count"] == 20
    assert [e["row"] for e in problem["examples"]] == [8, 9, 10, 11, 12]
    assert problem["examples"][0]["values"] == {"status": "holiday"}


def test_missing_people_is_an_error_but_missing_event_table_is_fine(
    vru: RunVru, valid_csv: Path
) -> None:
    (valid_csv / "ae_visits.csv").unlink()
    write_manifest(
        valid_csv, "csv", tables={n: {"refreshed": "2026-08-31"} for n in ROWS if n != "ae_visits"}
    )
    result = vru("data", "validate", valid_csv)
    assert result.code == 0, result.output
    assert "ae_visits" in result.stdout and "not supplied" in result.stdout
    (valid_csv / "people.csv").unlink()
    (valid_csv / "manifest.json").unlink()
    result = vru("data", "validate", valid_csv)
    assert result.code == 2
    assert "people table is required" in result.stdout


def test_unexpected_file_and_two_formats_of_one_table(vru: RunVru, valid_csv: Path) -> None:
    (valid_csv / "names.csv").write_text("person_id,name\nP001,Alex\n")
    shutil.copy(valid_csv / "exclusions.csv", valid_csv / "exclusions.parquet")
    result = vru("data", "validate", valid_csv)
    assert result.code == 2
    assert "names.csv: is not a table of the data contract" in result.stdout
    assert (
        "exclusions.csv, exclusions.parquet: table 'exclusions' is supplied more" in result.stdout
    )


@pytest.mark.parametrize(
    ("change", "needle"),
    [
        ({"contract_version": "2"}, "contract_version is '2'"),
        ({"extract_date": "31/08/2026"}, "extract_date '31/08/2026' is missing or not YYYY-MM-DD"),
        ({"extract_date": "2027-01-01"}, "is after today"),
        ({"tables": {"people": {"refreshed": "2026-09-30"}}}, "is after the extract date"),
        ({"tables": {"addresses": {"refreshed": "2026-08-01"}}}, "unknown table 'addresses'"),
    ],
)
def test_manifest_problems(
    vru: RunVru, valid_csv: Path, change: dict[str, object], needle: str
) -> None:
    write_manifest(valid_csv, "csv", **change)
    result = vru("data", "validate", valid_csv)
    assert result.code == 2, result.output
    assert "manifest.json" in result.stdout and needle in result.stdout


def test_manifest_hash_mismatch_and_invalid_json(vru: RunVru, valid_csv: Path) -> None:
    tables = {n: {"refreshed": "2026-08-31"} for n in ROWS}
    tables["people"]["sha256"] = "0" * 64
    write_manifest(valid_csv, "csv", tables=tables)
    result = vru("data", "validate", valid_csv)
    assert result.code == 2 and "does not match the sha256" in result.stdout
    (valid_csv / "manifest.json").write_text("{not json")
    result = vru("data", "validate", valid_csv)
    assert result.code == 2 and "manifest.json: is not valid UTF-8 JSON" in result.stdout


def test_extract_date_option_overrides_manifest(vru: RunVru, valid_csv: Path) -> None:
    result = vru("data", "validate", valid_csv, "--extract-date", "2026-01-31")
    assert result.code == 2
    assert "after the extract date 2026-01-31" in result.stdout
    result = vru("data", "validate", valid_csv, "--extract-date", "31-01-2026")
    assert result.code == 2 and "--extract-date '31-01-2026' is not a date" in result.stderr


def test_no_manifest_uses_today(valid_csv: Path) -> None:
    (valid_csv / "manifest.json").unlink()
    report = validate_folder(valid_csv, today=TODAY)
    assert report.ok and report.extract_date == TODAY and report.extract_date_source == "today"


def test_missing_folder(vru: RunVru, tmp_path: Path) -> None:
    result = vru("data", "validate", tmp_path / "nope")
    assert result.code == 2 and "does not exist" in result.stderr


def test_fingerprint_is_sha256_of_sorted_file_hashes(valid_csv: Path) -> None:
    report = validate_folder(valid_csv, today=TODAY)
    hashes = [t.sha256 for t in report.tables.values()]
    from vru_risk.data.fingerprint import file_sha256

    hashes.append(file_sha256(valid_csv / "manifest.json"))
    assert report.fingerprint == folder_fingerprint(hashes)
    assert folder_fingerprint(list(reversed(hashes))) == report.fingerprint
    write_csv(valid_csv / "people.csv", [*rows("people")[:3]])
    assert validate_folder(valid_csv, today=TODAY).fingerprint != report.fingerprint


# ---- Parquet: the same checks apply to typed columns ---------------------------------------


def _rewrite_parquet(folder: Path, name: str, fn: Callable[[pa.Table], pa.Table]) -> None:
    path = folder / f"{name}.parquet"
    pq.write_table(fn(pq.read_table(path)), path)


def test_parquet_wrong_physical_type(vru: RunVru, valid_parquet: Path) -> None:
    def dates_as_ints(t: pa.Table) -> pa.Table:
        i = t.schema.get_field_index("start_date")
        return t.set_column(i, "start_date", pa.array([20251001, 20250601], pa.int64()))

    _rewrite_parquet(valid_parquet, "exclusions", dates_as_ints)
    write_manifest(valid_parquet, "parquet")
    result = vru("data", "validate", valid_parquet)
    assert result.code == 2
    line = next(x for x in result.stdout.splitlines() if "column 'start_date'" in x)
    assert line.startswith("exclusions.parquet") and "stored as BIGINT" in line
    assert "row 2:" in result.stdout and "row 3:" in result.stdout


def test_parquet_row_level_problems_have_row_numbers(vru: RunVru, valid_parquet: Path) -> None:
    def bad_status(t: pa.Table) -> pa.Table:
        i = t.schema.get_field_index("status")
        values = t.column("status").to_pylist()
        values[4] = "EXCLUDED"
        return t.set_column(i, "status", pa.array(values, pa.string()))

    def bad_person(t: pa.Table) -> pa.Table:
        i = t.schema.get_field_index("person_id")
        values = t.column("person_id").to_pylist()
        values[0] = "P404"
        return t.set_column(i, "person_id", pa.array(values, pa.string()))

    _rewrite_parquet(valid_parquet, "attendance", bad_status)
    _rewrite_parquet(valid_parquet, "police_contacts", bad_person)
    write_manifest(valid_parquet, "parquet")
    result = vru("data", "validate", valid_parquet)
    assert result.code == 2
    assert "attendance.parquet, column 'status': unknown category value" in result.stdout
    assert "row 6: status='EXCLUDED'" in result.stdout
    assert (
        "police_contacts.parquet, column 'person_id': person_id is not in people" in result.stdout
    )
    assert "row 2: person_id='P404'" in result.stdout


def test_parquet_date_with_time_of_day(vru: RunVru, valid_parquet: Path) -> None:
    def with_time(t: pa.Table) -> pa.Table:
        i = t.schema.get_field_index("birth_date")
        values = [f"{d}T00:00:00" for d in t.column("birth_date").to_pylist()]
        values[1] = "2011-07-01T13:30:00"
        return t.set_column(i, "birth_date", pa.array(values).cast(pa.timestamp("us")))

    _rewrite_parquet(valid_parquet, "people", with_time)
    write_manifest(valid_parquet, "parquet")
    result = vru("data", "validate", valid_parquet)
    assert result.code == 2
    assert "people.parquet, column 'birth_date': holds a time of day" in result.stdout
    assert "row 3:" in result.stdout


# ---- paths and values that used to escape as internal errors --------------------------------


def test_extract_date_option_cannot_be_in_the_future_or_after_the_manifest(
    vru: RunVru, valid_csv: Path
) -> None:
    result = vru("data", "validate", valid_csv, "--extract-date", "2099-01-01")
    assert result.code == 2
    assert "--extract-date: 2099-01-01 is after today" in result.stdout
    result = vru("data", "validate", valid_csv, "--extract-date", "2026-09-30")
    assert result.code == 2
    assert "is after the extract date 2026-08-31 in manifest.json" in result.stdout


def test_glob_characters_in_the_folder_are_refused(vru: RunVru, tmp_path: Path) -> None:
    write_valid_folder(tmp_path / "stXar")
    write_valid_folder(tmp_path / "st*ar")
    result = vru("data", "validate", tmp_path / "st*ar")
    assert result.code == 2
    assert "would treat as a file pattern" in result.stderr


@pytest.mark.parametrize(
    ("values", "typ", "needle"),
    [
        ([4.0, float("inf"), None, 10.0], pa.float64(), "not a whole number"),
        ([4.0, 1e30, None, 10.0], pa.float64(), "not a whole number"),
        ([4, 2**64 - 1, None, 10], pa.uint64(), "not a whole number in range"),
    ],
)
def test_parquet_numbers_out_of_range(
    vru: RunVru, valid_parquet: Path, values: list[object], typ: pa.DataType, needle: str
) -> None:
    def change(t: pa.Table) -> pa.Table:
        i = t.schema.get_field_index("imd_decile")
        return t.set_column(i, "imd_decile", pa.array(values, typ))

    _rewrite_parquet(valid_parquet, "people", change)
    write_manifest(valid_parquet, "parquet")
    result = vru("data", "validate", valid_parquet)
    assert result.code == 2, result.output
    assert f"people.parquet, column 'imd_decile': {needle}" in result.stdout
    assert "row 3:" in result.stdout


def test_parquet_timestamp_with_time_zone_is_the_wrong_type(
    vru: RunVru, valid_parquet: Path
) -> None:
    def tz(t: pa.Table) -> pa.Table:
        i = t.schema.get_field_index("birth_date")
        col = t.column("birth_date").cast(pa.timestamp("us")).cast(pa.timestamp("us", tz="UTC"))
        return t.set_column(i, "birth_date", col)

    _rewrite_parquet(valid_parquet, "people", tz)
    write_manifest(valid_parquet, "parquet")
    result = vru("data", "validate", valid_parquet)
    assert result.code == 2
    assert "people.parquet, column 'birth_date': is stored as TIMESTAMP WITH TIME ZONE" in (
        result.stdout
    )


def test_corrupt_parquet_pages_are_reported_not_crashed(vru: RunVru, valid_parquet: Path) -> None:
    path = valid_parquet / "police_contacts.parquet"
    data = bytearray(path.read_bytes())
    data[8:200] = bytes(192)
    path.write_bytes(bytes(data))
    write_manifest(valid_parquet, "parquet")
    result = vru("data", "validate", valid_parquet)
    assert result.code == 2, result.output
    assert "police_contacts.parquet: cannot be read as PARQUET" in result.stdout


@pytest.mark.parametrize("column", ["rowid", "__row", "__t_date"])
def test_user_columns_never_collide_with_internal_names(
    vru: RunVru, valid_csv: Path, column: str
) -> None:
    table = [{**r, column: "abc"} for r in rows("attendance")]
    table[2]["status"] = "holiday"
    rewrite(valid_csv, "attendance", table)
    result = vru("data", "validate", valid_csv)
    assert result.code == 2, result.output
    assert f"attendance.csv, column {column!r}: is not in the data contract" in result.stdout
    assert "row 4: status='holiday'" in result.stdout


def test_manifest_that_is_a_folder(vru: RunVru, valid_csv: Path) -> None:
    (valid_csv / "manifest.json").unlink()
    (valid_csv / "manifest.json").mkdir()
    result = vru("data", "validate", valid_csv)
    assert result.code == 2
    assert "manifest.json: is a folder, not a file: it was not opened" in result.stdout


def test_blank_lines_are_reported_because_they_shift_row_numbers(
    vru: RunVru, valid_csv: Path
) -> None:
    path = valid_csv / "attendance.csv"
    lines = path.read_text().splitlines(keepends=True)
    path.write_text("".join([*lines[:3], "\n", *lines[3:], "\n\n"]))
    write_manifest(valid_csv, "csv")
    result = vru("data", "validate", valid_csv)
    assert result.code == 2
    assert "attendance.csv: has blank lines" in result.stdout
    assert "row 4:" in result.stdout
    assert "(1 row)" in result.stdout  # the trailing blank lines are harmless and not counted


def test_a_trailing_blank_line_is_harmless(vru: RunVru, valid_csv: Path) -> None:
    path = valid_csv / "attendance.csv"
    path.write_text(path.read_text() + "\n")
    write_manifest(valid_csv, "csv")
    assert vru("data", "validate", valid_csv).code == 0


def counting_validations(monkeypatch: pytest.MonkeyPatch) -> list[Path]:
    """Record each validation that checks the rows (not a report reused)."""
    from vru_risk.data.validate import folder as folder_module

    checked: list[Path] = []
    real = folder_module._validate

    def counted(folder: Path, **kwargs: Any) -> Any:
        checked.append(folder)
        return real(folder, **kwargs)

    monkeypatch.setattr(folder_module, "_validate", counted)
    monkeypatch.setattr(folder_module, "_PASSED", type(folder_module._PASSED)())
    return checked


def settle() -> None:
    """Wait until every file just written has been still for over a second (a change time
    cannot be set back, only waited out), as a folder made earlier has."""
    time.sleep(1.1)


def test_an_unchanged_valid_folder_is_checked_once_per_process(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    checked = counting_validations(monkeypatch)
    folder = write_valid_folder(tmp_path / "data")
    settle()
    first = validate_folder(folder, today=TODAY)
    assert first.ok and validate_folder(folder, today=TODAY) is first
    assert len(checked) == 1
    # other options: checked again
    assert validate_folder(folder, today=date(2026, 11, 26)).ok
    assert validate_folder(folder, today=TODAY, fingerprint="metadata").ok
    assert len(checked) == 3
    # the same bytes written again (size and modification time kept): checked again
    people = folder / "people.csv"
    stat = people.stat()
    people.write_bytes(people.read_bytes())
    os.utime(people, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    assert validate_folder(folder, today=TODAY).ok
    # a file added: checked again, and the problem found
    (folder / "notes.txt").write_text("x")
    assert not validate_folder(folder, today=TODAY).ok
    assert len(checked) == 5


def test_a_folder_with_problems_or_just_written_is_checked_every_time(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    checked = counting_validations(monkeypatch)
    folder = write_valid_folder(tmp_path / "data")
    # just written: a rewrite within the file system's time stamp tick could keep its change
    # time, so nothing is reused until every file has been still for a second
    assert validate_folder(folder, today=TODAY).ok and validate_folder(folder, today=TODAY).ok
    assert len(checked) == 2
    (folder / "notes.txt").write_text("x")
    settle()
    assert not validate_folder(folder, today=TODAY).ok
    assert not validate_folder(folder, today=TODAY).ok
    assert len(checked) == 4
