"""Check a data folder against the data contract (v1) and report *every* problem at once.

Each problem names the file, the column, what is wrong, how many rows, the first five offending
rows numbered as a spreadsheet user numbers them (the header is row 1, the first record row 2)
with their values, and what to do about it. Validation only reads: nothing is written to the
folder, ever.

Large tables are checked inside DuckDB: one aggregate pass per table counts every row-level rule
at once, and only offending rows are brought into Python, so an 80M-row attendance file is
checked in bounded memory.

Usage::

    from datetime import date
    report = validate_folder(Path("data"), today=date(2026, 8, 31))
    report.ok, len(report.problems)
"""

from __future__ import annotations

import csv
import hashlib
import json
import os
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any, Literal

import duckdb

from vru_risk.data.contract import (
    AUDIT_ONLY_COLUMNS,
    BOOL_FALSE,
    BOOL_TRUE,
    CONTRACT_VERSION,
    EVENT_TABLES,
    FORMATS,
    MANIFEST_NAME,
    MAX_AGE_AT_EXTRACT_YEARS,
    MIN_AGE_AT_EXTRACT_YEARS,
    TABLES,
    Column,
    Kind,
    Table,
)
from vru_risk.data.validate_files import (
    CHUNK,
    MAX_LINE_BYTES,
    manifest_file_problem,
    path_problem,
    text_problem,
)
from vru_risk.data.validate_problems import MAX_EXAMPLES, Example, Problem
from vru_risk.data.validate_rules import Rule, identifier_rules

PEOPLE_BIRTH = TABLES["people"].column("birth_date")

ExtractDateSource = Literal["option", "manifest", "today"]


@dataclass(frozen=True)
class TableInfo:
    """A table found in the folder."""

    name: str
    file: str
    format: Literal["csv", "parquet"]
    rows: int | None
    columns: tuple[str, ...]
    sha256: str


@dataclass(frozen=True)
class ValidationReport:
    """The outcome of :func:`validate_folder`: ``ok`` when there is no problem."""

    folder: Path
    extract_date: date
    extract_date_source: ExtractDateSource
    tables: dict[str, TableInfo]
    problems: tuple[Problem, ...]
    fingerprint: str
    manifest: dict[str, Any] | None = None

    @property
    def ok(self) -> bool:
        return not self.problems

    @property
    def missing_sources(self) -> tuple[str, ...]:
        return tuple(t for t in EVENT_TABLES if t not in self.tables)

    def to_dict(self) -> dict[str, Any]:
        return {
            "folder": str(self.folder),
            "ok": self.ok,
            "contract_version": CONTRACT_VERSION,
            "extract_date": self.extract_date.isoformat(),
            "extract_date_source": self.extract_date_source,
            "fingerprint": self.fingerprint,
            "tables": {
                n: {"file": t.file, "format": t.format, "rows": t.rows, "sha256": t.sha256}
                for n, t in self.tables.items()
            },
            "missing_sources": list(self.missing_sources),
            "problems": [p.to_dict() for p in self.problems],
        }


class FolderNotFoundError(ValueError):
    """The data folder does not exist, is not a folder, or cannot be read safely."""


#: Characters DuckDB would expand as a file pattern in a path.
GLOB_CHARACTERS = frozenset("*?[]{}")


def check_plain_path(path: Path, what: str) -> None:
    """Refuse a path DuckDB would read as a glob pattern (it could pull in other folders)."""
    bad = sorted(set(str(path)) & GLOB_CHARACTERS)
    if bad:
        raise FolderNotFoundError(
            f"{what} {path} contains {' '.join(bad)}, which the reader would treat as a file "
            "pattern; rename or move it to a path without these characters"
        )


def _unreadable(path: Path, fmt: str, exc: Exception) -> Problem:
    message = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    return Problem(
        path.name,
        None,
        "unreadable_file",
        f"cannot be read as {fmt.upper()}: {message}",
        "re-export the table as a well-formed UTF-8 CSV with a header row (comma separated, "
        "double quotes) or as Parquet; check the file is complete and readable",
    )


# --------------------------------------------------------------------------------------------
# Small helpers
# --------------------------------------------------------------------------------------------


def file_sha256(path: Path) -> str:
    """sha256 of a file's bytes, read in chunks."""
    h = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(CHUNK):
            h.update(chunk)
    return h.hexdigest()


def folder_fingerprint(file_hashes: Sequence[str]) -> str:
    """The data fingerprint of DESIGN.md: sha256 of the sorted per-file sha256s."""
    return hashlib.sha256("\n".join(sorted(file_hashes)).encode()).hexdigest()


def quote_ident(name: str) -> str:
    """Quote an identifier for DuckDB."""
    return '"' + name.replace('"', '""') + '"'


def quote_literal(value: str) -> str:
    """Quote a string literal for DuckDB."""
    return "'" + value.replace("'", "''") + "'"


def _parse_iso_date(text: object) -> date | None:
    if not isinstance(text, str) or len(text) != 10:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        return None


def _years_before(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year - years)
    except ValueError:  # 29 February
        return day.replace(year=day.year - years, day=28)


# --------------------------------------------------------------------------------------------
# Files
# --------------------------------------------------------------------------------------------


def read_csv_sql(path: Path, header: Sequence[str], *, positional: bool = False) -> str:
    """DuckDB ``read_csv`` of a contract CSV: strict, every column as text, no type sniffing.

    With ``positional`` the columns are named ``c0, c1, ...`` instead of by the header.
    """
    names = [f"c{i}" for i in range(len(header))] if positional else list(header)
    columns = "{" + ", ".join(f"{quote_literal(h)}: 'VARCHAR'" for h in names) + "}"
    return (
        f"read_csv({quote_literal(str(path))}, header = true, delim = ',', quote = '\"', "
        f"escape = '\"', columns = {columns}, auto_detect = false, strict_mode = true, "
        "null_padding = false)"
    )


def csv_header(path: Path) -> list[str]:
    with path.open("r", encoding="utf-8-sig", newline="") as f:
        return next(csv.reader(f), [])


@dataclass
class _Source:
    """A table file registered in DuckDB as a relation with a ``__row`` column."""

    table: Table
    path: Path
    format: Literal["csv", "parquet"]
    relation: str
    types: dict[str, str] = field(default_factory=dict)
    rows: int | None = None


# --------------------------------------------------------------------------------------------
# Column typing: SQL for the raw text shown, the null test, and the typed value
# --------------------------------------------------------------------------------------------

_INT_TYPES = frozenset(
    {"TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT"}
    | {"UTINYINT", "USMALLINT", "UINTEGER", "UBIGINT"}
)
_FLOAT_TYPES = frozenset(("FLOAT", "DOUBLE", "REAL"))


def _is_int_type(t: str) -> bool:
    return t in _INT_TYPES


def _is_numeric_type(t: str) -> bool:
    return t in _INT_TYPES or t in _FLOAT_TYPES or t.startswith("DECIMAL")


@dataclass(frozen=True)
class TypedColumn:
    """How one column is read: the typed expression (NULL when invalid) and its checks."""

    typed: str
    invalid: str | None  # raw present but not a valid value of the kind
    invalid_message: str
    invalid_hint: str
    wrong_type: bool = False  # the stored type can never hold this kind


#: ISO dates and local date-times as the contract writes them (RE2). The year 0000 is refused
#: (DuckDB would read it as 1 BC), and so are hours past 23 (DuckDB reads 24:00 as the next
#: day's midnight), minutes and seconds past 59; impossible days fail the parse that follows.
DATE_PATTERN = "(000[1-9]|00[1-9]\\d|0[1-9]\\d{2}|[1-9]\\d{3})-\\d{2}-\\d{2}"
DATETIME_PATTERN = DATE_PATTERN + "[T ]([01]\\d|2[0-3]):[0-5]\\d(:[0-5]\\d(\\.\\d{1,6})?)?"


def _expected(col: Column) -> str:
    return {
        Kind.STRING: "text",
        Kind.DATE: "an ISO date (YYYY-MM-DD)",
        Kind.DATETIME: "an ISO date and time (YYYY-MM-DDTHH:MM:SS)",
        Kind.CATEGORY: "one of " + ", ".join(col.categories),
        Kind.BOOL: "true or false",
        Kind.FLOAT: "a number",
        Kind.INT: "a whole number",
    }[col.kind]


def typed_column(col: Column, stored: str) -> TypedColumn:
    """How to read ``col`` stored as DuckDB type ``stored``: SQL for the typed value and checks.

    The typed expression is NULL where the raw value is not valid; the loader of a validated
    folder (:mod:`vru_risk.data.load`) uses the same expressions, so validation and feature
    building read every value the same way.
    """
    c = quote_ident(col.name)
    text = stored == "VARCHAR"
    wrong = TypedColumn(
        "NULL",
        None,
        f"is stored as {stored}, expected {_expected(col)}",
        "store the column as text or the matching Parquet type (see docs/data-contract.md)",
        wrong_type=True,
    )
    if col.kind is Kind.STRING:
        return TypedColumn(c, None, "", "") if text else wrong
    if col.kind is Kind.CATEGORY:
        if not text:
            return wrong
        allowed = ", ".join(quote_literal(v) for v in col.categories)
        return TypedColumn(
            f"CASE WHEN {c} IN ({allowed}) THEN {c} END",
            f"{c} NOT IN ({allowed})",
            "unknown category value; allowed: " + ", ".join(col.categories),
            "map the source's codes to the contract's values (docs/data-contract.md); values "
            "are lower case and exact",
        )
    # Year 0 and earlier (DuckDB reads '0000-01-01' as 1 BC) and infinities are out of range.
    ts = f"CAST({c} AS TIMESTAMP)"
    in_range = f"isfinite({c}) AND {c} >= DATE '0001-01-01'"
    ts_in_range = f"isfinite({ts}) AND {ts} >= DATE '0001-01-01'"
    out_of_range = "out of range date (before the year 1, or infinite)", "check the source's dates"
    if col.kind is Kind.DATE:
        if stored == "DATE":
            return TypedColumn(
                f"CASE WHEN {in_range} THEN {c} END", f"NOT ({in_range})", *out_of_range
            )
        if stored.startswith("TIMESTAMP") and "TIME ZONE" not in stored:
            return TypedColumn(
                f"CASE WHEN CAST({c} AS TIME) = TIME '00:00:00' AND {ts_in_range} "
                f"THEN CAST({c} AS DATE) END",
                f"CAST({c} AS TIME) <> TIME '00:00:00' OR NOT ({ts_in_range})",
                "holds a time of day, or is out of range; expected a date",
                "store the column as a date",
            )
        if not text:
            return wrong
        parsed = f"CAST(try_strptime({c}, '%Y-%m-%d') AS DATE)"
        valid = f"regexp_full_match({c}, '{DATE_PATTERN}') AND {parsed} IS NOT NULL"
        return TypedColumn(
            f"CASE WHEN {valid} THEN {parsed} END",
            f"NOT ({valid})",
            "unparsable date; expected an ISO date YYYY-MM-DD",
            "write dates as YYYY-MM-DD (e.g. 2024-03-01), not 01/03/2024",
        )
    if col.kind is Kind.DATETIME:
        if stored.startswith("TIMESTAMP") and "TIME ZONE" not in stored:
            return TypedColumn(
                f"CASE WHEN {ts_in_range} THEN {ts} END", f"NOT ({ts_in_range})", *out_of_range
            )
        if not text:
            return wrong
        parsed = f"try_cast(replace({c}, 'T', ' ') AS TIMESTAMP)"
        valid = f"regexp_full_match({c}, '{DATETIME_PATTERN}') AND {parsed} IS NOT NULL"
        return TypedColumn(
            f"CASE WHEN {valid} THEN {parsed} END",
            f"NOT ({valid})",
            "unparsable date and time; expected YYYY-MM-DDTHH:MM[:SS] with hours 00 to 23 "
            "(midnight is 00:00 of the next day)",
            "write local date and time as ISO 8601, e.g. 2024-03-01T22:15:00",
        )
    if col.kind is Kind.BOOL:
        if stored == "BOOLEAN":
            return TypedColumn(c, None, "", "")
        if _is_int_type(stored):
            return TypedColumn(
                f"CASE WHEN {c} IN (0, 1) THEN {c} = 1 END",
                f"{c} NOT IN (0, 1)",
                "not a boolean; expected 0 or 1",
                "use true/false (or 1/0)",
            )
        if not text:
            return wrong
        trues = ", ".join(quote_literal(v) for v in sorted(BOOL_TRUE))
        falses = ", ".join(quote_literal(v) for v in sorted(BOOL_FALSE))
        low = f"lower({c})"
        return TypedColumn(
            f"CASE WHEN {low} IN ({trues}) THEN true WHEN {low} IN ({falses}) THEN false END",
            f"{low} NOT IN ({trues}, {falses})",
            "not a boolean; accepted: true, false, 1, 0 (any case)",
            "write true or false; values such as 'yes', 'Y' or 'maybe' are never guessed",
        )
    if col.kind is Kind.FLOAT:
        if _is_numeric_type(stored):
            return TypedColumn(
                f"CASE WHEN isfinite(CAST({c} AS DOUBLE)) THEN CAST({c} AS DOUBLE) END",
                f"NOT isfinite(CAST({c} AS DOUBLE))",
                "not a finite number",
                "write a plain decimal number",
            )
        if not text:
            return wrong
        parsed = f"try_cast({c} AS DOUBLE)"
        pattern = "[+-]?(\\d+\\.?\\d*|\\.\\d+)([eE][+-]?\\d+)?"
        return TypedColumn(
            f"CASE WHEN regexp_full_match({c}, '{pattern}') THEN {parsed} END",
            f"NOT regexp_full_match({c}, '{pattern}')",
            "not a number",
            "write a plain decimal number with a point, e.g. 2.5",
        )
    # Kind.INT
    if _is_int_type(stored):
        return TypedColumn(
            f"try_cast({c} AS BIGINT)",
            f"try_cast({c} AS BIGINT) IS NULL",
            "not a whole number in range",
            "write a whole number",
        )
    if stored in _FLOAT_TYPES:
        return TypedColumn(
            f"CASE WHEN isfinite({c}) AND {c} = round({c}) THEN try_cast({c} AS BIGINT) END",
            f"NOT isfinite({c}) OR {c} <> round({c}) OR try_cast({c} AS BIGINT) IS NULL",
            "not a whole number",
            "write a whole number",
        )
    if not text:
        return wrong
    return TypedColumn(
        f"CASE WHEN regexp_full_match({c}, '[+-]?\\d{{1,9}}') THEN CAST({c} AS BIGINT) END",
        f"NOT regexp_full_match({c}, '[+-]?\\d{{1,9}}')",
        "not a whole number",
        "write a whole number",
    )


# --------------------------------------------------------------------------------------------
# Row rules
# --------------------------------------------------------------------------------------------


def _null_condition(stored: str, column: str) -> str:
    c = quote_ident(column)
    return f"({c} IS NULL OR {c} = '')" if stored == "VARCHAR" else f"{c} IS NULL"


class _Validator:
    def __init__(
        self,
        folder: Path,
        *,
        extract_date: date | None,
        today: date,
        threads: int,
        memory_limit: str,
        work_dir: Path,
        max_line_bytes: int = MAX_LINE_BYTES,
    ) -> None:
        self.folder = folder
        self.max_line_bytes = max_line_bytes
        #: Tables named by something that is not a regular file in the folder (reported once).
        self.refused: set[str] = set()
        self.problems: list[Problem] = []
        self.tables: dict[str, TableInfo] = {}
        self.hashes: list[str] = []
        self.manifest: dict[str, Any] | None = None
        self.option_extract_date = extract_date
        self.today = today
        self.extract_date = extract_date or today
        self.extract_date_source: ExtractDateSource = "option" if extract_date else "today"
        self.con = duckdb.connect(str(work_dir / "validate.duckdb"))
        self.con.execute(f"SET threads = {int(threads)}")
        self.con.execute(f"SET memory_limit = {quote_literal(memory_limit)}")
        self.con.execute(f"SET temp_directory = {quote_literal(str(work_dir / 'spill'))}")
        self.con.execute("SET preserve_insertion_order = true")
        self.con.execute("SET enable_progress_bar = false")
        self.sources: dict[str, _Source] = {}

    def add(self, problem: Problem) -> None:
        self.problems.append(problem)

    # ---- folder level -------------------------------------------------------------------

    def discover(self) -> dict[str, Path]:
        found: dict[str, list[Path]] = {}
        for path in sorted(self.folder.iterdir()):
            if path.name.startswith("."):
                continue
            if path.name == MANIFEST_NAME:
                continue
            stem, suffix = path.stem, path.suffix.lower()
            if suffix in FORMATS and stem in TABLES:
                problem = path_problem(path, self.folder)  # never opens a pipe or a device
                if problem is None:
                    found.setdefault(stem, []).append(path)
                else:
                    self.add(problem)
                    self.refused.add(stem)
                continue
            allowed = ", ".join(f"{t}.csv|.parquet" for t in TABLES)
            self.add(
                Problem(
                    file=path.name,
                    column=None,
                    check="unexpected_file",
                    message="is not a table of the data contract (data minimisation: only "
                    f"contract tables may be shared); allowed: {allowed}, {MANIFEST_NAME}",
                    hint="remove the file from the extract folder, or rename it if it is one "
                    "of the contract's tables",
                )
            )
        files: dict[str, Path] = {}
        for name, paths in found.items():
            if len(paths) > 1:
                self.add(
                    Problem(
                        file=", ".join(p.name for p in paths),
                        column=None,
                        check="ambiguous_table",
                        message=f"table {name!r} is supplied more than once",
                        hint="keep exactly one file per table (CSV or Parquet)",
                    )
                )
            files[name] = paths[0]
        if "people" not in files and "people" not in self.refused:
            self.add(
                Problem(
                    file=f"people.csv|people.parquet in {self.folder}",
                    column=None,
                    check="missing_people",
                    message="the people table is required and was not found",
                    hint="add people.csv or people.parquet (one row per young person)",
                )
            )
        return files

    def read_manifest(self, files: dict[str, Path]) -> None:
        path = self.folder / MANIFEST_NAME
        if not os.path.lexists(path):
            return
        problem = path_problem(path, self.folder, check="bad_manifest")
        if problem is not None:
            self.add(problem)
            return
        try:
            self.hashes.append(file_sha256(path))
        except OSError as exc:
            self.add(
                Problem(MANIFEST_NAME, None, "bad_manifest", f"cannot be read: {exc}", "fix it")
            )
            return

        def bad(message: str, hint: str, column: str | None = None) -> None:
            self.add(Problem(MANIFEST_NAME, column, "bad_manifest", message, hint))

        try:
            manifest = json.loads(path.read_text(encoding="utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            bad(f"is not valid UTF-8 JSON: {exc}", "fix the JSON or remove manifest.json")
            return
        if not isinstance(manifest, dict):
            bad("must be a JSON object", "see docs/data-contract.md for the manifest's fields")
            return
        self.manifest = manifest
        version = manifest.get("contract_version")
        if str(version) != CONTRACT_VERSION:
            bad(
                f"contract_version is {version!r}; this software reads version "
                f"{CONTRACT_VERSION!r}",
                "produce the extract under contract v1 or upgrade vru-risk",
                "contract_version",
            )
        extract = _parse_iso_date(manifest.get("extract_date"))
        if extract is None:
            bad(
                f"extract_date {manifest.get('extract_date')!r} is missing or not YYYY-MM-DD",
                "set extract_date to the day the extract was taken",
                "extract_date",
            )
        elif self.option_extract_date is None:
            self.extract_date, self.extract_date_source = extract, "manifest"
        if extract is not None and extract > self.today:
            bad(
                f"extract_date {extract} is after today ({self.today})",
                "set extract_date to the day the extract was taken",
                "extract_date",
            )
        tables = manifest.get("tables", {})
        if not isinstance(tables, dict):
            bad("'tables' must be an object keyed by table name", "see docs/data-contract.md")
            return
        for name, entry in sorted(tables.items()):
            if name not in TABLES:
                bad(
                    f"lists unknown table {name!r}; tables: {', '.join(TABLES)}",
                    "remove the entry",
                    "tables",
                )
                continue
            if isinstance(entry, dict) and "file" in entry:
                wrong = manifest_file_problem(self.folder, name, entry["file"], files.get(name))
                if wrong:
                    bad(
                        wrong,
                        f'give the name of the table\'s file in the data folder, e.g. "{name}.csv" '
                        "(no folders, no absolute paths)",
                        f"tables.{name}.file",
                    )
            if name not in files:
                if name in self.refused:  # already reported as not a file
                    continue
                bad(
                    f"lists table {name!r} but no {name}.csv or {name}.parquet is in the folder",
                    "add the file, or remove the entry if the source is not shared",
                    "tables",
                )
                continue
            if not isinstance(entry, dict):
                bad(f"entry for {name!r} must be an object", "see docs/data-contract.md")
                continue
            refreshed = _parse_iso_date(entry.get("refreshed"))
            if refreshed is None:
                bad(
                    f"tables.{name}.refreshed {entry.get('refreshed')!r} is missing or not "
                    "YYYY-MM-DD",
                    "give the day the table was last refreshed",
                    "tables",
                )
            elif extract is not None and refreshed > extract:
                bad(
                    f"tables.{name}.refreshed {refreshed} is after the extract date {extract}",
                    "a table cannot be refreshed after the extract was taken",
                    "tables",
                )
            expected_hash = entry.get("sha256")
            if expected_hash is not None and expected_hash != file_sha256(files[name]):
                bad(
                    f"{files[name].name} does not match the sha256 recorded in the manifest "
                    "(the file changed after the extract was written)",
                    "re-take the extract, or rewrite the manifest if the change is intended",
                    "tables",
                )
        for name in files:
            if name not in tables:
                bad(
                    f"does not list table {name!r} (its refresh date is unknown)",
                    f"add tables.{name} with its 'refreshed' date",
                    "tables",
                )

    def check_extract_date_option(self) -> None:
        """An extract date given on the command line must be possible."""
        option = self.option_extract_date
        if option is None:
            return
        if option > self.today:
            self.add(
                Problem(
                    "--extract-date",
                    None,
                    "bad_extract_date",
                    f"{option} is after today ({self.today}); an extract cannot be taken in the "
                    "future, and a later date would treat unfinished label windows as complete",
                    "give the day the extract was taken",
                )
            )
        written = _parse_iso_date((self.manifest or {}).get("extract_date"))
        if written is not None and option > written:
            self.add(
                Problem(
                    "--extract-date",
                    None,
                    "bad_extract_date",
                    f"{option} is after the extract date {written} in manifest.json; the data "
                    "cannot hold what happened after it was taken",
                    "leave --extract-date out, or give a date on or before the manifest's",
                )
            )

    # ---- table level --------------------------------------------------------------------

    def register(self, table: Table, path: Path) -> _Source | None:
        fmt: Literal["csv", "parquet"] = "csv" if path.suffix.lower() == ".csv" else "parquet"
        digest = file_sha256(path)
        self.hashes.append(digest)
        info = TableInfo(table.name, path.name, fmt, None, (), digest)
        self.tables[table.name] = info
        if path.stat().st_size == 0:
            self.add(
                Problem(
                    path.name,
                    None,
                    "empty_file",
                    "the file is empty (no header, no rows)",
                    "re-export the table; if the source has no records, leave the file out",
                )
            )
            return None
        relation = f"src_{table.name}"
        try:
            if fmt == "csv":
                text = text_problem(path, self.max_line_bytes)
                if text is not None:
                    self.add(text)
                    return None
                header = csv_header(path)
                dupes = sorted({h for h in header if header.count(h) > 1})
                if dupes or any(not h.strip() for h in header):
                    self.add(
                        Problem(
                            path.name,
                            ", ".join(dupes) or None,
                            "duplicate_column",
                            "column names must be unique and not empty",
                            "give each column one unique name in the header row",
                        )
                    )
                    return None
                # Positional column names (c0, c1...) keep the user's header from colliding
                # with DuckDB's rowid or the validator's own names.
                self.con.execute(
                    f"CREATE TABLE {relation}_text AS SELECT * FROM "
                    f"{read_csv_sql(path, header, positional=True)}"
                )
                types = dict.fromkeys(header, "VARCHAR")
                known = [c for c in header if c in table.column_names]
                cols = "".join(f"c{header.index(c)} AS {quote_ident(c)}, " for c in known)
                self.con.execute(
                    f"CREATE VIEW {relation}_known AS SELECT {cols}"
                    f"CAST(rowid AS BIGINT) + 2 AS __row FROM {relation}_text"
                )
            else:
                raw = f"read_parquet({quote_literal(str(path))})"
                described = self.con.execute(f"DESCRIBE SELECT * FROM {raw}").fetchall()
                types = {str(r[0]): str(r[1]) for r in described}
                if "file_row_number" in types:
                    self.add(
                        Problem(
                            path.name,
                            "file_row_number",
                            "unexpected_column",
                            "is not in the data contract (and is a name the reader reserves)",
                            "remove the column from the extract",
                        )
                    )
                    return None
                known = [c for c in types if c in table.column_names]
                cols = "".join(quote_ident(c) + ", " for c in known)
                self.con.execute(
                    f"CREATE VIEW {relation}_known AS SELECT {cols}"
                    f"CAST(file_row_number AS BIGINT) + 2 AS __row FROM "
                    f"read_parquet({quote_literal(str(path))}, file_row_number = true)"
                )
            rows_row = self.con.execute(f"SELECT count(*) FROM {relation}_known").fetchone()
        except (duckdb.Error, csv.Error) as exc:
            self.add(_unreadable(path, fmt, exc))
            return None
        rows = int(rows_row[0]) if rows_row else 0
        self.tables[table.name] = TableInfo(table.name, path.name, fmt, rows, tuple(types), digest)
        source = _Source(table, path, fmt, f"{relation}_known", {c: types[c] for c in known}, rows)
        if rows == 0:
            self.add(
                Problem(
                    path.name,
                    None,
                    "empty_file",
                    "the file has a header but no rows",
                    "re-export the table; if the source has no records, leave the file out",
                )
            )
            return None
        self._check_columns(table, path.name, set(types))
        return source

    def _check_columns(self, table: Table, name: str, present: set[str]) -> None:
        for col in table.columns:
            if col.required and col.name not in present:
                self.add(
                    Problem(
                        name,
                        col.name,
                        "missing_column",
                        f"required column is missing ({col.doc})",
                        f"add the column; {table.name} needs: {', '.join(table.required_columns)}",
                    )
                )
        for extra in sorted(present - set(table.column_names)):
            if extra in AUDIT_ONLY_COLUMNS and table.name != "people":
                self.add(
                    Problem(
                        name,
                        extra,
                        "audit_column_outside_people",
                        f"{extra!r} is an audit-only attribute and may appear only in people",
                        f"remove {extra!r} from {table.name}; it is joined from people for "
                        "fairness audits only",
                    )
                )
            else:
                self.add(
                    Problem(
                        name,
                        extra,
                        "unexpected_column",
                        "is not in the data contract (data minimisation); allowed: "
                        + ", ".join(table.column_names),
                        "remove the column from the extract",
                    )
                )

    # ---- rows ---------------------------------------------------------------------------

    def check_rows(self, source: _Source, people: _Source | None) -> None:
        table = source.table
        cols = [c for c in table.columns if c.name in source.types]
        typed = {c.name: typed_column(c, source.types[c.name]) for c in cols}
        rules: list[Rule] = []
        for col in cols:
            t = typed[col.name]
            stored = source.types[col.name]
            null = _null_condition(stored, col.name)
            if t.wrong_type:
                rules.append(
                    Rule(
                        col.name,
                        "wrong_type",
                        f"NOT {null}",
                        t.invalid_message,
                        t.invalid_hint,
                        (col.name,),
                    )
                )
                continue
            if not col.nullable:
                rules.append(
                    Rule(
                        col.name,
                        "null_value",
                        null,
                        "is empty in a required field",
                        f"every {table.name} row needs {col.name} ({col.doc})",
                        (col.name,),
                    )
                )
            if t.invalid is not None:
                check = {
                    Kind.CATEGORY: "unknown_category",
                    Kind.BOOL: "bad_boolean",
                    Kind.DATE: "bad_date",
                    Kind.DATETIME: "bad_date",
                }.get(col.kind, "wrong_type")
                rules.append(
                    Rule(
                        col.name,
                        check,
                        f"NOT {null} AND ({t.invalid})",
                        t.invalid_message,
                        t.invalid_hint,
                        (col.name,),
                    )
                )
            if col.kind is Kind.STRING:
                quoted = quote_ident(col.name)
                rules += identifier_rules(
                    self.con, source.relation, col.name, quoted, col.max_length
                )
            if col.min_value is not None or col.max_value is not None:
                v = f"__t_{col.name}"
                rules.append(
                    Rule(
                        col.name,
                        "out_of_range",
                        f"{v} < {col.min_value} OR {v} > {col.max_value}",
                        f"outside the allowed range {col.min_value:g} to {col.max_value:g}",
                        f"check the source ({col.doc})",
                        (col.name,),
                    )
                )
        rules += self._date_rules(source, typed)
        self._run_rules(source, typed, rules, people)
        self._check_duplicates(source, typed)

    def _date_rules(self, source: _Source, typed: dict[str, TypedColumn]) -> list[Rule]:
        table = source.table
        have = {n for n, t in typed.items() if not t.wrong_type}
        extract = f"DATE '{self.extract_date.isoformat()}'"
        rules: list[Rule] = []

        def d(name: str) -> str:
            kind = table.column(name).kind
            return f"CAST(__t_{name} AS DATE)" if kind is Kind.DATETIME else f"__t_{name}"

        future_ok = {"end_date"}
        for col in table.columns:
            if col.name in have and col.kind in (Kind.DATE, Kind.DATETIME):
                if col.name in future_ok:
                    continue
                rules.append(
                    Rule(
                        col.name,
                        "after_extract_date",
                        f"{d(col.name)} > {extract}",
                        f"date after the extract date {self.extract_date}",
                        "check the extract date (--extract-date or manifest.json) and the "
                        "source's dates; future dates are not allowed",
                        (col.name,),
                    )
                )
        event = table.event_date
        if event and event in have and "known_date" in have:
            rules.append(
                Rule(
                    "known_date",
                    "known_before_event",
                    f"__t_known_date < {d(event)}",
                    f"known_date is before the event's {event}",
                    "known_date is the day the VRU learned of the event: on or after it",
                    (event, "known_date"),
                )
            )
        if table.name == "people":
            if "birth_date" in have:
                youngest = _years_before(self.extract_date, MIN_AGE_AT_EXTRACT_YEARS)
                oldest = _years_before(self.extract_date, MAX_AGE_AT_EXTRACT_YEARS)
                rules.append(
                    Rule(
                        "birth_date",
                        "implausible_birth_date",
                        f"__t_birth_date > DATE '{youngest}' OR __t_birth_date < DATE '{oldest}'",
                        f"implausible birth date: the person would be under "
                        f"{MIN_AGE_AT_EXTRACT_YEARS} or over {MAX_AGE_AT_EXTRACT_YEARS} at the "
                        f"extract date {self.extract_date}",
                        "check the birth date and the date format (YYYY-MM-DD)",
                        ("birth_date",),
                    )
                )
            if {"birth_date", "left_area_date"} <= have:
                rules.append(
                    Rule(
                        "left_area_date",
                        "left_before_birth",
                        "__t_left_area_date < __t_birth_date",
                        "left_area_date is before birth_date",
                        "check both dates",
                        ("birth_date", "left_area_date"),
                    )
                )
        if table.name == "exclusions" and {"kind", "days"} <= have:
            rules.append(
                Rule(
                    "days",
                    "null_value",
                    f"__t_kind = 'suspension' AND {_null_condition(source.types['days'], 'days')}",
                    "is empty for a suspension (its length in school days is required)",
                    "give the suspension's length in school days (0.5 = one session)",
                    ("kind", "days"),
                )
            )
        if table.name == "police_contacts" and {"date", "outcome_known_date"} <= have:
            rules.append(
                Rule(
                    "outcome_known_date",
                    "known_before_event",
                    "__t_outcome_known_date < __t_date",
                    "outcome_known_date is before the contact's date",
                    "an outcome is known on or after the contact",
                    ("date", "outcome_known_date"),
                )
            )
            if "outcome" in have:
                rules.append(
                    Rule(
                        "outcome_known_date",
                        "date_without_outcome",
                        "__t_outcome_known_date IS NOT NULL AND __t_outcome IS NULL",
                        "outcome_known_date is given but outcome is empty",
                        "give the outcome, or leave outcome_known_date empty",
                        ("outcome", "outcome_known_date"),
                    )
                )
        if table.name == "interventions" and {"start_date", "end_date"} <= have:
            rules.append(
                Rule(
                    "end_date",
                    "end_before_start",
                    "__t_end_date < __t_start_date",
                    "end_date is before start_date",
                    "check both dates",
                    ("start_date", "end_date"),
                )
            )
        return rules

    def _typed_relation(self, source: _Source, typed: dict[str, TypedColumn]) -> str:
        parts = [f"{t.typed} AS {quote_ident('__t_' + n)}" for n, t in typed.items()]
        return f"(SELECT s.*, {', '.join(parts)} FROM {source.relation} s)"

    def _run_rules(
        self,
        source: _Source,
        typed: dict[str, TypedColumn],
        rules: list[Rule],
        people: _Source | None,
    ) -> None:
        table = source.table
        base = self._typed_relation(source, typed)
        join = ""
        if (
            table.name != "people"
            and source.types.get("person_id") == "VARCHAR"
            and people is not None
            and people.types.get("person_id") == "VARCHAR"
        ):
            join = (
                "LEFT JOIN (SELECT person_id AS __p_person_id, max(__t_birth) AS __p_birth_date "
                f"FROM (SELECT person_id, {self._birth_expr(people)} AS __t_birth "
                f"FROM {people.relation}) GROUP BY person_id) pp "
                "ON x.person_id = pp.__p_person_id"
            )
            rules.append(
                Rule(
                    "person_id",
                    "unknown_person",
                    "person_id IS NOT NULL AND person_id <> '' AND __p_person_id IS NULL",
                    "person_id is not in people",
                    "every event must refer to a person in people; check the extracts were "
                    "taken on the same day with the same pseudonymisation key",
                    ("person_id",),
                )
            )
            event = table.event_date
            if event and event in typed and not typed[event].wrong_type:
                kind = table.column(event).kind
                ev = f"CAST(__t_{event} AS DATE)" if kind is Kind.DATETIME else f"__t_{event}"
                rules.append(
                    Rule(
                        event,
                        "before_birth",
                        f"{ev} < __p_birth_date",
                        "event before the person's birth_date",
                        "check the event date and the person's birth_date in people",
                        ("person_id", event, "=__p_birth_date AS birth_date"),
                    )
                )
        extra = ", pp.__p_person_id, pp.__p_birth_date" if join else ""
        relation = f"(SELECT x.*{extra} FROM {base} x {join})"
        if not rules:
            return
        counts_sql = ", ".join(
            f"count(*) FILTER (WHERE ({r.condition})) AS c{i}" for i, r in enumerate(rules)
        )
        row = self.con.execute(f"SELECT {counts_sql} FROM {relation}").fetchone()
        counts = [int(v) for v in row] if row else [0] * len(rules)
        for rule, count in zip(rules, counts, strict=True):
            if count == 0:
                continue
            shown = [self._shown_expr(s) for s in rule.show]
            labels = [self._shown_label(s) for s in rule.show]
            select = ", ".join(shown)
            examples = self.con.execute(
                f"SELECT __row, {select} FROM {relation} WHERE ({rule.condition}) "
                f"ORDER BY __row LIMIT {MAX_EXAMPLES}"
            ).fetchall()
            self.add(
                Problem(
                    source.path.name,
                    rule.column,
                    rule.check,
                    rule.message,
                    rule.hint,
                    count,
                    tuple(
                        Example(
                            int(e[0]),
                            tuple(
                                (label, None if v is None else str(v))
                                for label, v in zip(labels, e[1:], strict=True)
                            ),
                        )
                        for e in examples
                    ),
                )
            )

    @staticmethod
    def _shown_expr(spec: str) -> str:
        if spec.startswith("="):
            return spec[1:]
        return f"CAST({quote_ident(spec)} AS VARCHAR)"

    @staticmethod
    def _shown_label(spec: str) -> str:
        return spec.rsplit(" AS ", 1)[1] if spec.startswith("=") else spec

    def _birth_expr(self, people: _Source) -> str:
        stored = people.types.get("birth_date")
        if stored is None:
            return "NULL"
        t = typed_column(PEOPLE_BIRTH, stored)
        return "NULL" if t.wrong_type else t.typed

    def _check_duplicates(self, source: _Source, typed: dict[str, TypedColumn]) -> None:
        key = source.table.key
        if any(k not in typed or typed[k].wrong_type for k in key):
            return
        base = self._typed_relation(source, typed)
        tkey = [f"__t_{k}" for k in key]
        not_null = " AND ".join(f"{k} IS NOT NULL" for k in tkey)
        hashed = f"hash({', '.join(tkey)})"
        # Pass 1: a 64-bit hash per key keeps the group-by small on 80M rows; pass 2 confirms
        # candidates on the exact key, so a hash collision can never be reported.
        self.con.execute(
            f"CREATE OR REPLACE TEMP TABLE dup_hash AS SELECT {hashed} AS __h FROM {base} "
            f"WHERE {not_null} GROUP BY __h HAVING count(*) > 1"
        )
        candidates = (
            f"(SELECT * FROM {base} WHERE {not_null} AND {hashed} IN (SELECT __h FROM dup_hash))"
        )
        ordered = (
            f"(SELECT *, row_number() OVER (PARTITION BY {', '.join(tkey)} ORDER BY __row) AS __k, "
            f"min(__row) OVER (PARTITION BY {', '.join(tkey)}) AS __first_row FROM {candidates})"
        )
        row = self.con.execute(f"SELECT count(*) FROM {ordered} WHERE __k > 1").fetchone()
        count = int(row[0]) if row else 0
        if count == 0:
            return
        shown = ", ".join(f"CAST({quote_ident(k)} AS VARCHAR)" for k in key)
        examples = self.con.execute(
            f"SELECT __row, __first_row, {shown} FROM {ordered} WHERE __k > 1 ORDER BY __row "
            f"LIMIT {MAX_EXAMPLES}"
        ).fetchall()
        self.add(
            Problem(
                source.path.name,
                ", ".join(key),
                "duplicate_key",
                f"duplicate key ({', '.join(key)}): rows repeat a key of an earlier row",
                "remove the repeated rows; each "
                f"({', '.join(key)}) may appear once in {source.table.name}",
                count,
                tuple(
                    Example(
                        int(e[0]),
                        (
                            *(
                                (k, None if v is None else str(v))
                                for k, v in zip(key, e[2:], strict=True)
                            ),
                            ("same key as row", str(e[1])),
                        ),
                    )
                    for e in examples
                ),
            )
        )

    def close(self) -> None:
        self.con.close()


@contextmanager
def _work_dir(parent: Path | None) -> Iterator[Path]:
    with tempfile.TemporaryDirectory(prefix="vru-validate-", dir=parent) as d:
        yield Path(d)


def validate_folder(
    folder: Path,
    *,
    extract_date: date | None = None,
    today: date,
    threads: int = 2,
    memory_limit: str = "2GB",
    scratch_dir: Path | None = None,
    max_line_bytes: int = MAX_LINE_BYTES,
) -> ValidationReport:
    """Check every file of a data folder against the contract; collect every problem.

    Parameters
    ----------
    folder
        The data folder: one file per table (``people.csv`` or ``people.parquet``...) and an
        optional ``manifest.json``.
    extract_date
        The day the extract was taken. When ``None``, the manifest's ``extract_date`` is used,
        else ``today``.
    today
        Today's date (passed in, so that the function is deterministic).
    threads, memory_limit
        DuckDB's limits; work beyond the memory limit spills to ``scratch_dir``.
    scratch_dir
        Where DuckDB may spill (a temporary folder inside it is removed afterwards); never the
        data folder.
    max_line_bytes
        The longest line a CSV file may have; a longer one is reported by its row number and
        the file is not parsed.

    Returns
    -------
    ValidationReport
        ``report.ok`` is true when there is no problem.

    Raises
    ------
    FolderNotFoundError
        When ``folder`` is not an existing folder.
    """
    check_plain_path(folder, "data folder")
    if not folder.is_dir():
        raise FolderNotFoundError(
            f"data folder {folder} does not exist or is not a folder; give the folder that "
            "holds people.csv/.parquet and the event tables"
        )
    with _work_dir(scratch_dir) as work:
        v = _Validator(
            folder,
            extract_date=extract_date,
            today=today,
            threads=threads,
            memory_limit=memory_limit,
            work_dir=work,
            max_line_bytes=max_line_bytes,
        )
        try:
            files = v.discover()
            v.read_manifest(files)
            v.check_extract_date_option()
            people: _Source | None = None
            for name in ("people", *EVENT_TABLES):
                if name not in files:
                    continue
                try:
                    source = v.register(TABLES[name], files[name])
                    if source is not None:
                        v.check_rows(source, people if name != "people" else None)
                except (duckdb.Error, OSError) as exc:
                    # e.g. a Parquet file whose footer reads but whose pages are corrupt
                    v.add(_unreadable(files[name], files[name].suffix.lstrip("."), exc))
                    source = None
                if name == "people":
                    people = source
        finally:
            v.close()
    return ValidationReport(
        folder=folder,
        extract_date=v.extract_date,
        extract_date_source=v.extract_date_source,
        tables=v.tables,
        problems=tuple(v.problems),
        fingerprint=folder_fingerprint(v.hashes),
        manifest=v.manifest,
    )
