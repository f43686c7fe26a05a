"""Check a data folder against the data contract (v1) and report *every* problem at once.

The entry point of the validator. Each problem names the file, the column, what is wrong, how
many rows, the first five offending rows numbered as a spreadsheet user numbers them (the header
is row 1, the first record row 2) with their values, and what to do about it. Validation only
reads: nothing is written to the folder, ever.

The steps, each in its own module: which files are the tables (:mod:`.files`), the manifest and
the extract date (:mod:`.manifest`), each table registered in DuckDB (:mod:`.tables`) with its
columns typed (:mod:`.columns`), and its rows checked against the rules (:mod:`.rules`,
:mod:`.rows`). Large tables are checked inside DuckDB: one aggregate pass per table counts every
row-level rule at once, and only offending rows are brought into Python, so an 80M-row
attendance file is checked in bounded memory.

The rows can be checked on Spark instead (``engine``): the same statements through the
:class:`~vru_risk.data.engine.Engine` protocol, the same report; the file-level checks above
stay in Python on the driver. The fingerprint is made from the files' bytes or, for national
extracts, their metadata (``fingerprint``; :mod:`vru_risk.data.fingerprint`).

Usage::

    from datetime import date
    report = validate_folder(Path("data"), today=date(2026, 8, 31))
    report.ok, len(report.problems)
"""

from __future__ import annotations

import os
import tempfile
import time
from collections import OrderedDict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final, Literal, cast

from vru_risk.data.contract import CONTRACT_VERSION, EVENT_TABLES, TABLES
from vru_risk.data.fingerprint import FingerprintKind, folder_fingerprint
from vru_risk.data.sql import connect
from vru_risk.data.validate.files import (
    MAX_LINE_BYTES,
    FolderNotFoundError,
    check_plain_path,
    discover_tables,
    unreadable_problem,
)
from vru_risk.data.validate.manifest import extract_date_option_problems, read_manifest
from vru_risk.data.validate.problems import Problem
from vru_risk.data.validate.rows import check_rows
from vru_risk.data.validate.tables import Findings, Source, TableInfo, register_table

if TYPE_CHECKING:
    from vru_risk.data.engine import Engine

ExtractDateSource = Literal["option", "manifest", "today"]


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
    #: how ``fingerprint`` was made: from the files' bytes or from their metadata
    fingerprint_kind: FingerprintKind = "content"

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
            "fingerprint_kind": self.fingerprint_kind,
            "tables": {
                n: {"file": t.file, "format": t.format, "rows": t.rows, "sha256": t.sha256}
                for n, t in self.tables.items()
            },
            "missing_sources": list(self.missing_sources),
            "problems": [p.to_dict() for p in self.problems],
        }


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
    engine: Engine | None = None,
    fingerprint: FingerprintKind = "content",
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
    engine
        Where the rows are checked: ``None`` (or a DuckDB engine) for a DuckDB database of its
        own, limited by ``threads`` and ``memory_limit``; a Spark engine for its session. The
        report is the same on both (tests/data/test_validate_spark.py).
    fingerprint
        ``content`` (every byte hashed) or ``metadata`` (names, sizes, modification times):
        see :mod:`vru_risk.data.fingerprint`; the report records which.

    Returns
    -------
    ValidationReport
        ``report.ok`` is true when there is no problem. A folder this process has already
        validated on DuckDB without a problem, with the same options and unchanged since (no
        file written, added or removed: :func:`_unchanged`), gets the same report back without
        its rows being checked again.

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
    started = time.time_ns()
    on_duckdb = engine is None or engine.name == "duckdb"
    key = (
        _unchanged(folder, extract_date, today, max_line_bytes, fingerprint) if on_duckdb else None
    )
    if key is not None and key in _PASSED:
        _PASSED.move_to_end(key)
        return _PASSED[key]
    report = _validate(
        folder,
        extract_date=extract_date,
        today=today,
        threads=threads,
        memory_limit=memory_limit,
        scratch_dir=scratch_dir,
        max_line_bytes=max_line_bytes,
        engine=engine,
        fingerprint=fingerprint,
    )
    if (
        key is not None
        and report.ok
        and _settled(key, started)
        and key == _unchanged(folder, *key[3:])
    ):
        _PASSED[key] = report
        while len(_PASSED) > _PASSED_MAX:
            _PASSED.popitem(last=False)
    return report


#: This process's last successful DuckDB validations, by what their outcome depends on
#: (:func:`_unchanged`): a job that opens a folder already validated, unchanged, in the same
#: process (the demo's stages; a pipeline run from Python) reuses the report instead of checking
#: every row again. A folder with problems is checked again every time.
_PASSED: OrderedDict[tuple[object, ...], ValidationReport] = OrderedDict()
_PASSED_MAX: Final = 8


def _unchanged(folder: Path, *options: object) -> tuple[object, ...] | None:
    """What a validation's outcome depends on, read cheaply: the folder (as given and resolved),
    each of its entries with its device, inode, size, and modification and change times in
    nanoseconds (any write to a file, or its replacement, changes its change time, which no
    user can set back), and the options. None when the folder cannot be listed."""
    try:
        entries = []
        with os.scandir(folder) as listing:
            for entry in listing:
                st = entry.stat()
                entries.append(
                    (entry.name, st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns)
                )
        return (str(folder), str(folder.resolve()), tuple(sorted(entries)), *options)
    except OSError:
        return None


def _settled(key: tuple[object, ...], started: int) -> bool:
    """Whether every entry of ``key`` was last changed over a second before ``started``: a file
    system stamps change times in ticks of a few milliseconds, so a file rewritten within the
    tick of its last change could keep its change time; one changed a second earlier cannot."""
    entries = cast(tuple[tuple[object, ...], ...], key[2])
    return all(cast(int, e[5]) < started - 1_000_000_000 for e in entries)


def _validate(
    folder: Path,
    *,
    extract_date: date | None,
    today: date,
    threads: int,
    memory_limit: str,
    scratch_dir: Path | None,
    max_line_bytes: int,
    engine: Engine | None,
    fingerprint: FingerprintKind,
) -> ValidationReport:
    """:func:`validate_folder` itself, every time."""
    found = Findings()
    files, refused, problems = discover_tables(folder)
    found.problems += problems
    reading = read_manifest(folder, files, today=today, refused=refused)
    found.problems += reading.problems
    if reading.sha256 is not None:
        found.hashes.append(reading.sha256)
    found.problems += extract_date_option_problems(
        extract_date, today=today, manifest=reading.manifest
    )
    extract = extract_date or reading.extract_date or today
    source_of_date: ExtractDateSource = (
        "option" if extract_date else "manifest" if reading.extract_date else "today"
    )
    from vru_risk.data.engine import engine_errors

    with _work_dir(scratch_dir) as work, _engine(engine, work, threads, memory_limit) as run:
        errors: tuple[type[Exception], ...] = (*engine_errors(run), OSError)
        people: Source | None = None
        for name in ("people", *EVENT_TABLES):
            if name not in files:
                continue
            try:
                source = register_table(
                    run,
                    found,
                    TABLES[name],
                    files[name],
                    max_line_bytes=max_line_bytes,
                    fingerprint=fingerprint,
                )
                if source is not None:
                    others = people if name != "people" else None
                    # one by one: what is found before a reader fails is still reported
                    for problem in check_rows(run, source, others, extract_date=extract):
                        found.problems.append(problem)
            except errors as exc:
                # e.g. a Parquet file whose footer reads but whose pages are corrupt
                found.problems.append(
                    unreadable_problem(files[name], files[name].suffix.lstrip("."), exc)
                )
                source = None
            if name == "people":
                people = source
    return ValidationReport(
        folder=folder,
        extract_date=extract,
        extract_date_source=source_of_date,
        tables=found.tables,
        problems=tuple(found.problems),
        fingerprint=folder_fingerprint(found.hashes),
        manifest=reading.manifest,
        fingerprint_kind=fingerprint,
    )


@contextmanager
def _engine(engine: Engine | None, work: Path, threads: int, memory_limit: str) -> Iterator[Engine]:
    """The engine a validation runs on: a new DuckDB database in ``work`` (closed after), or
    ``engine``'s Spark session with views of its own (dropped after; the session stays)."""
    from vru_risk.data.engine import DuckDBEngine, SparkEngine

    if engine is None or engine.name == "duckdb":
        con = connect(
            str(work / "validate.duckdb"),
            threads=threads,
            memory_limit=memory_limit,
            temp_directory=work / "spill",
            preserve_insertion_order=True,
        )
        try:
            yield DuckDBEngine(con)
        finally:
            con.close()
        return
    spark = SparkEngine(cast(SparkEngine, engine).session)
    try:
        yield spark
    finally:
        spark.close()
