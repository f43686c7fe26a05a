"""`vru data validate` on hostile and careless input (security review, finding 14).

Every case must exit 2 with a message naming the file (and the column and rows where there are
any), never exit 1, never block, and leave the folder exactly as it was.
"""

from __future__ import annotations

import os
import re
import socket
import threading
import tracemalloc
from collections.abc import Callable, Iterator
from datetime import date
from pathlib import Path
from typing import NamedTuple

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.conftest import CliResult, RunVru
from tests.folders import ROWS, snapshot, write_manifest, write_table, write_valid_folder
from vru_risk.data.validate import validate_folder

TODAY = date(2026, 11, 25)
#: Seconds a validation of the small folder may take before a test calls it blocked.
BLOCKED_AFTER = 60.0


def rows(name: str) -> list[dict[str, str]]:
    return [dict(r) for r in ROWS[name]]


class Field(NamedTuple):
    """One field of the valid folder, ``ROWS[table][index][column]``, given ``value``; the
    refusal names it as ``row`` (the header is row 1)."""

    table: str
    index: int
    column: str
    value: str
    row: int


def field_id(value: object) -> str | None:
    """A field's part of a test id, ``table.column`` (other parameters keep pytest's ids)."""
    return f"{value.table}.{value.column}" if isinstance(value, Field) else None


def validate(vru: RunVru, folder: Path) -> CliResult:
    """Run `vru data validate` and check what every refusal must satisfy."""
    before = snapshot(folder)
    result = vru("data", "validate", folder)
    assert result.code == 2, result.output
    assert "Traceback" not in result.output
    assert snapshot(folder) == before, "validation must never write to the folder"
    return result


def assert_line(output: str, start: str, *needles: str) -> None:
    lines = [line for line in output.splitlines() if line.startswith(start)]
    assert any(all(n in line for n in needles) for line in lines), (start, needles, output)


def assert_match(output: str, pattern: str) -> None:
    assert any(re.match(pattern, line) for line in output.splitlines()), (pattern, output)


def refused_field(vru: RunVru, tmp_path: Path, fmt: str, field: Field) -> str:
    """The output of `vru data validate` refusing the valid folder with ``field`` changed (in
    Parquet, its column stored as text; in CSV every column is)."""
    folder = write_valid_folder(tmp_path / "extract", fmt)
    changed = rows(field.table)
    changed[field.index][field.column] = field.value
    write_table(folder, field.table, changed, fmt, as_text=frozenset({field.column}))
    return validate(vru, folder).stdout


# ---- a file with no line break, or a row longer than any contract row ----------------------


def test_a_file_with_no_line_break_is_refused_by_name(vru: RunVru, tmp_path: Path) -> None:
    folder = write_valid_folder(tmp_path / "extract")
    (folder / "attendance.csv").write_bytes(b"person_id," + b"x" * (3 << 20))
    result = validate(vru, folder)
    assert_match(
        result.stdout,
        r"attendance\.csv: row 1 \(the header\) is longer than [\d,]+ bytes, with no line "
        r"break: is this the right file\?",
    )


def test_a_row_longer_than_the_limit_is_named(vru: RunVru, tmp_path: Path) -> None:
    folder = write_valid_folder(tmp_path / "extract")
    ae = rows("ae_visits")
    ae.append({**ae[0], "arrival": "2026-02-15T10:00:00"})
    ae.append({**ae[0], "arrival": "2026-02-16T10:00:00", "hospital": "H" * (3 << 20)})
    write_table(folder, "ae_visits", ae, "csv")
    result = validate(vru, folder)
    assert_match(
        result.stdout,
        r"ae_visits\.csv: row 4 is longer than [\d,]+ bytes: is this the right file\?",
    )


def test_the_line_limit_is_a_parameter(tmp_path: Path) -> None:
    folder = write_valid_folder(tmp_path / "extract")
    people = rows("people")
    people[2]["school_id"] = "S" * 300
    write_table(folder, "people", people, "csv")
    report = validate_folder(folder, today=TODAY, max_line_bytes=200)
    [problem] = [p for p in report.problems if p.file == "people.csv"]
    assert problem.check == "line_too_long"
    assert problem.message.startswith("row 4 is longer than 200 bytes")
    assert validate_folder(folder, today=TODAY, max_line_bytes=400).ok


def test_a_long_file_without_line_breaks_is_never_read_into_memory(tmp_path: Path) -> None:
    folder = write_valid_folder(tmp_path / "extract")
    size = 48 << 20
    with (folder / "police_contacts.csv").open("wb") as f:
        for _ in range(size >> 20):
            f.write(b"y" * (1 << 20))
    tracemalloc.start()
    try:
        report = validate_folder(folder, today=TODAY)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert [p.check for p in report.problems if p.file == "police_contacts.csv"] == [
        "line_too_long"
    ]
    assert peak < size // 3, f"peak {peak:,} bytes while checking a {size:,}-byte file"


@given(
    lengths=st.lists(st.integers(0, 40), min_size=1, max_size=30),
    cuts=st.lists(st.integers(1, 50), max_size=40),
    final_break=st.booleans(),
    limit=st.integers(0, 30),
)
def test_the_first_long_line_is_found_wherever_the_chunks_split(
    lengths: list[int], cuts: list[int], final_break: bool, limit: int
) -> None:
    from vru_risk.data.validate.files import LineLengths

    data = b"\n".join(b"x" * n for n in lengths) + (b"\n" if final_break else b"")
    expected = next((i + 1 for i, n in enumerate(lengths) if n > limit), None)
    lines, found, start = LineLengths(limit), None, 0
    for size in [*cuts, len(data)]:
        chunk, start = data[start : start + size], start + size
        found = lines.feed(chunk) if chunk else None
        if found is not None:
            break
    assert found == expected


def test_the_documented_line_limit_is_the_code_s() -> None:
    from vru_risk.data.validate.files import MAX_LINE_BYTES

    doc = (Path(__file__).resolve().parents[2] / "docs" / "data-contract.md").read_text()
    assert f"longer than {MAX_LINE_BYTES:,} bytes: is this the right file?" in doc


# ---- things that are not files, named like tables -------------------------------------------


def _unblock(path: Path) -> None:
    """Open a named pipe's writing end, so that a reader blocked in open() goes on."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_NONBLOCK)
    except OSError:
        return
    os.close(fd)


def within(seconds: float, run: Callable[[], CliResult], unblock: Callable[[], None]) -> CliResult:
    """``run()`` in a thread; fail (after unblocking it) if it has not returned in time."""
    results: list[CliResult] = []
    errors: list[BaseException] = []

    def target() -> None:
        try:
            results.append(run())
        except BaseException as exc:  # re-raised in the test's thread
            errors.append(exc)

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    thread.join(seconds)
    if thread.is_alive():
        unblock()
        thread.join(seconds)
        pytest.fail(f"validation blocked for {seconds:.0f} s (a named pipe was opened)")
    if errors:
        raise errors[0]
    return results[0]


@pytest.fixture
def outside_file(tmp_path: Path) -> Path:
    path = tmp_path / "elsewhere" / "secret.csv"
    path.parent.mkdir()
    path.write_text("person_id,date,session,status\nP001,2025-09-08,am,present\n")
    return path


@pytest.fixture
def unix_socket(monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[[Path], None]]:
    sockets: list[socket.socket] = []

    def make(path: Path) -> None:
        monkeypatch.chdir(path.parent)  # a socket's path is limited to about 100 bytes
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.bind(path.name)
        sockets.append(s)

    yield make
    for s in sockets:
        s.close()


SPECIAL: dict[str, tuple[Callable[[Path, Path], object], str]] = {
    "named pipe": (lambda p, _o: os.mkfifo(p), "is a named pipe (FIFO), not a file"),
    "folder": (lambda p, _o: p.mkdir(), "is a folder, not a file"),
    "symlink loop": (lambda p, _o: p.symlink_to(p.name), "is a symbolic link loop, not a file"),
    "broken symlink": (
        lambda p, _o: p.symlink_to("gone.csv"),
        "is a broken symbolic link (to gone.csv), not a file",
    ),
    "device": (
        lambda p, _o: p.symlink_to("/dev/null"),
        "is a symbolic link to a character device, not a file",
    ),
    "symlink leading outside": (
        lambda p, o: p.symlink_to(o),
        "is a symbolic link to a file outside the data folder",
    ),
}


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
@pytest.mark.parametrize("kind", [*SPECIAL, "socket"])
def test_what_is_not_a_file_is_named_and_never_opened(
    vru: RunVru,
    tmp_path: Path,
    outside_file: Path,
    unix_socket: Callable[[Path], None],
    kind: str,
    fmt: str,
) -> None:
    folder = write_valid_folder(tmp_path / "extract", fmt)
    path = folder / f"attendance.{fmt}"
    path.unlink()
    if kind == "socket":
        unix_socket(path)
        needle = "is a socket, not a file"
    else:
        make, needle = SPECIAL[kind]
        make(path, outside_file)
    result = within(BLOCKED_AFTER, lambda: validate(vru, folder), lambda: _unblock(path))
    assert_line(result.stdout, f"attendance.{fmt}: {needle}", "it was not opened")
    assert "not a table of the data contract" not in result.stdout
    assert "no attendance.csv or attendance.parquet is in the folder" not in result.stdout


@pytest.mark.parametrize(
    ("make", "needle"),
    [
        (lambda p: os.mkfifo(p), "is a named pipe (FIFO), not a file"),
        (lambda p: p.symlink_to(p.name), "is a symbolic link loop, not a file"),
        (lambda p: p.symlink_to("/dev/zero"), "is a symbolic link to a character device"),
    ],
    ids=["named pipe", "symlink loop", "device"],
)
def test_a_manifest_that_is_not_a_file_is_named_and_never_opened(
    vru: RunVru, tmp_path: Path, make: Callable[[Path], None], needle: str
) -> None:
    folder = write_valid_folder(tmp_path / "extract")
    path = folder / "manifest.json"
    path.unlink()
    make(path)
    result = within(BLOCKED_AFTER, lambda: validate(vru, folder), lambda: _unblock(path))
    assert_line(result.stdout, f"manifest.json: {needle}")


def test_a_symlink_inside_the_folder_is_read(vru: RunVru, tmp_path: Path) -> None:
    folder = write_valid_folder(tmp_path / "extract")
    (folder / "attendance.csv").rename(folder / ".attendance-2026-08-31.csv")
    (folder / "attendance.csv").symlink_to(".attendance-2026-08-31.csv")
    assert vru("data", "validate", folder).code == 0


# ---- identifiers with whitespace at either end ----------------------------------------------


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
@pytest.mark.parametrize(
    "field",
    [
        Field("people", 1, "person_id", " P002", 3),
        Field("people", 0, "school_id", "S01 ", 2),
        Field("attendance", 2, "person_id", "P001\t", 4),
        Field("ae_visits", 0, "hospital", "\u00a0Musgrove Park", 2),
        Field("interventions", 0, "programme", "Early Intervention Team ", 2),
    ],
    ids=field_id,
)
def test_identifiers_with_leading_or_trailing_whitespace_are_refused(
    vru: RunVru, tmp_path: Path, fmt: str, field: Field
) -> None:
    table, _, column, value, row = field
    stdout = refused_field(vru, tmp_path, fmt, field)
    assert_line(stdout, f"{table}.{fmt}, column {column!r}: has whitespace at the start or end")
    assert f"row {row}: {column}={value!r}" in stdout
    assert "trim" in stdout


def test_an_id_and_the_same_id_with_a_space_are_not_two_people(vru: RunVru, tmp_path: Path) -> None:
    folder = write_valid_folder(tmp_path / "extract")
    people = rows("people")
    people.append({**people[0], "person_id": "P001 ", "sex": "male"})
    write_table(folder, "people", people, "csv")
    result = validate(vru, folder)
    assert_line(result.stdout, "people.csv, column 'person_id': has whitespace")
    assert "row 6: person_id='P001 '" in result.stdout


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_a_person_id_longer_than_the_service_stores_is_refused(
    vru: RunVru, tmp_path: Path, fmt: str
) -> None:
    """Findings map, gap 1 (issue 15 finding 5): a 301-character person id passed `data
    validate`, although the service and its audit log store at most 128."""
    long_id = "P" * 301
    folder = write_valid_folder(tmp_path / "extract", fmt)
    for name in ROWS:
        changed = [{k: long_id if v == "P001" else v for k, v in r.items()} for r in rows(name)]
        write_table(folder, name, changed, fmt)
    result = validate(vru, folder)
    for table, row in (("people", 2), ("attendance", 2)):
        assert_line(
            result.stdout,
            f"{table}.{fmt}, column 'person_id': is longer than 128 characters, the longest "
            "person_id the service and its audit log store",
        )
        assert f"row {row}: characters='301'" in result.stdout
    assert long_id not in result.stdout


def test_a_person_id_of_128_characters_passes(vru: RunVru, tmp_path: Path) -> None:
    folder = write_valid_folder(tmp_path / "extract")
    for name in ROWS:
        changed = [{k: "P" * 128 if v == "P001" else v for k, v in r.items()} for r in rows(name)]
        write_table(folder, name, changed, "csv")
    assert vru("data", "validate", folder).code == 0


# ---- the manifest's file entries ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("file", "needle"),
    [
        ("../../../etc/passwd", "climbs out of the data folder"),
        ("/etc/passwd", "is an absolute path"),
        ("..\\..\\people.csv", "climbs out of the data folder"),
        ("C:\\extracts\\people.csv", "is an absolute path"),
        (".etc/passwd", "leads outside the data folder"),
        ("people.parquet", "but the people table's file is people.csv"),
        (42, "must be the table's file name"),
    ],
)
def test_a_manifest_file_entry_must_name_the_table_file_in_the_folder(
    vru: RunVru, tmp_path: Path, file: object, needle: str
) -> None:
    folder = write_valid_folder(tmp_path / "extract")
    (folder / ".etc").symlink_to("/etc")
    tables: dict[str, dict[str, object]] = {
        n: {"file": f"{n}.csv", "refreshed": "2026-08-31"} for n in ROWS
    }
    tables["people"]["file"] = file
    write_manifest(folder, "csv", tables=tables)
    result = validate(vru, folder)
    assert_line(result.stdout, "manifest.json, column 'tables.people.file':", needle)


def test_manifest_file_entries_naming_the_files_pass(vru: RunVru, tmp_path: Path) -> None:
    for fmt in ("csv", "parquet"):
        folder = write_valid_folder(tmp_path / f"extract-{fmt}", fmt)
        tables = {n: {"file": f"{n}.{fmt}", "refreshed": "2026-08-31"} for n in ROWS}
        write_manifest(folder, fmt, tables=tables)
        assert vru("data", "validate", folder).code == 0


# ---- invisible and control characters, and impossible times ---------------------------------

INVISIBLE = "contains an invisible formatting character"
CONTROL = "contains a control character"


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
@pytest.mark.parametrize(
    ("field", "problem", "code"),
    [
        (Field("people", 0, "person_id", "P001\u200b", 2), INVISIBLE, "U+200B"),
        (Field("attendance", 1, "person_id", "P\ufeff001", 3), INVISIBLE, "U+FEFF"),
        (Field("people", 1, "school_id", "S0\u00ad2", 3), INVISIBLE, "U+00AD"),
        (Field("ae_visits", 0, "hospital", "Musgrove\u2028Park", 2), INVISIBLE, "U+2028"),
        (Field("ae_visits", 0, "hospital", "Musgrove\x00Park", 2), CONTROL, "U+0000"),
        (Field("interventions", 0, "programme", "Early\tIntervention", 2), CONTROL, "U+0009"),
        (Field("people", 2, "person_id", "P003\x1b", 4), CONTROL, "U+001B"),
        (Field("people", 1, "school_id", "S\u008502", 3), CONTROL, "U+0085"),
    ],
    ids=field_id,
)
def test_invisible_or_control_characters_in_a_field_are_refused(
    vru: RunVru, tmp_path: Path, fmt: str, field: Field, problem: str, code: str
) -> None:
    """Invisible formatting characters: security re-review F8 (a zero-width space in a person id
    passed, so two rows that display as the same young person were two people)."""
    table, _, column, value, row = field
    stdout = refused_field(vru, tmp_path, fmt, field)
    assert_line(stdout, f"{table}.{fmt}, column {column!r}: {problem}")
    assert f"row {row}: {column}={value!r}, character='{code}'" in stdout


def test_a_line_break_inside_a_quoted_csv_field_is_refused(vru: RunVru, tmp_path: Path) -> None:
    stdout = refused_field(
        vru, tmp_path, "csv", Field("ae_visits", 0, "hospital", "Musgrove\nPark", 2)
    )
    assert_line(stdout, "ae_visits.csv, column 'hospital': contains a control character")
    assert "character='U+000A'" in stdout


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
@pytest.mark.parametrize(
    "arrival",
    [
        "2026-02-14T24:00:00",
        "2026-02-14 24:00",
        "2026-02-14T23:60",
        "2026-02-14T23:59:60",
        "0000-02-14T10:00:00",
    ],
)
def test_out_of_range_times_and_dates_in_a_datetime_are_refused(
    vru: RunVru, tmp_path: Path, fmt: str, arrival: str
) -> None:
    stdout = refused_field(vru, tmp_path, fmt, Field("ae_visits", 0, "arrival", arrival, 2))
    assert_line(stdout, f"ae_visits.{fmt}, column 'arrival': unparsable date and time")
    assert f"row 2: arrival={arrival!r}" in stdout


def test_year_zero_in_a_date_is_refused(vru: RunVru, tmp_path: Path) -> None:
    stdout = refused_field(
        vru, tmp_path, "csv", Field("interventions", 0, "end_date", "0000-01-01", 2)
    )
    assert_line(stdout, "interventions.csv, column 'end_date': unparsable date")
    assert "row 2: end_date='0000-01-01'" in stdout


def test_a_parquet_date_before_year_one_is_refused(vru: RunVru, tmp_path: Path) -> None:
    folder = write_valid_folder(tmp_path / "extract", "parquet")
    path = folder / "people.parquet"
    table = pq.read_table(path)
    i = table.schema.get_field_index("left_area_date")
    days = [None, None, -800_000, None]  # about 220 BC
    pq.write_table(table.set_column(i, "left_area_date", pa.array(days, pa.date32())), path)
    write_manifest(folder, "parquet")
    result = validate(vru, folder)
    assert_line(result.stdout, "people.parquet, column 'left_area_date': out of range date")
    assert "row 4:" in result.stdout


@pytest.mark.parametrize("unit", ["s", "ms", "us", "ns"])
def test_parquet_timestamps_of_every_unit_still_pass(
    vru: RunVru, tmp_path: Path, unit: str
) -> None:
    folder = write_valid_folder(tmp_path / "extract", "parquet")
    path = folder / "ae_visits.parquet"
    table = pq.read_table(path)
    i = table.schema.get_field_index("arrival")
    arrival = table.column("arrival").cast(pa.timestamp(unit))
    pq.write_table(table.set_column(i, "arrival", arrival), path)
    write_manifest(folder, "parquet")
    assert vru("data", "validate", folder).code == 0
