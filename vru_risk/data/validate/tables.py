"""A table file of the folder registered on an engine, with spreadsheet row numbers.

:func:`register_table` hashes the file (for the fingerprint: its bytes, or its metadata),
refuses what cannot be parsed (an
empty file, a CSV that is not clean UTF-8 text or whose header repeats a name, a file no reader
accepts), and creates the relation ``src_<table>_known``: the contract's columns present in the
file, as stored (every CSV column as text), plus ``__row``, the row number a spreadsheet user
sees (the header is row 1, the first record row 2). Missing and unexpected columns are reported
here; the values are checked by :mod:`vru_risk.data.validate.rows`. On DuckDB the reader
numbers the rows; on Spark they are carried from the reader by
:mod:`vru_risk.data.validate.spark_tables`.

Example
-------
>>> from vru_risk.data.contract import TABLES
>>> Source(TABLES["people"], Path("people.csv"), "csv", "src_people_known").rows is None
True
"""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Literal, cast

import duckdb

from vru_risk.data.contract import Table
from vru_risk.data.fingerprint import FingerprintKind, file_identity
from vru_risk.data.sql import quote_ident, quote_literal, read_csv_sql
from vru_risk.data.validate.columns import column_problems
from vru_risk.data.validate.files import csv_header, text_problem, unreadable_problem
from vru_risk.data.validate.problems import Problem

if TYPE_CHECKING:
    from vru_risk.data.engine import DuckDBEngine, Engine, SparkEngine


@dataclass(frozen=True)
class TableInfo:
    """A table found in the folder."""

    name: str
    file: str
    format: Literal["csv", "parquet"]
    rows: int | None
    columns: tuple[str, ...]
    sha256: str


@dataclass
class Findings:
    """What validation has found so far: every problem, the tables, the file hashes."""

    problems: list[Problem] = field(default_factory=list)
    tables: dict[str, TableInfo] = field(default_factory=dict)
    #: The sha256 of every file read (tables and manifest): the folder's fingerprint.
    hashes: list[str] = field(default_factory=list)


@dataclass
class Source:
    """A table file registered in DuckDB as a relation with a ``__row`` column."""

    table: Table
    path: Path
    format: Literal["csv", "parquet"]
    relation: str
    types: dict[str, str] = field(default_factory=dict)
    rows: int | None = None


def _empty_file(path: Path, message: str) -> Problem:
    return Problem(
        path.name,
        None,
        "empty_file",
        message,
        "re-export the table; if the source has no records, leave the file out",
    )


def register_table(
    engine: Engine,
    found: Findings,
    table: Table,
    path: Path,
    *,
    max_line_bytes: int,
    fingerprint: FingerprintKind = "content",
) -> Source | None:
    """Register ``path`` as ``table``'s relation on ``engine``; ``None`` when its rows cannot be
    checked.

    The file's hash (of ``fingerprint``'s kind) and :class:`TableInfo` are recorded in ``found``
    first, so they stand even when reading the file fails; every problem found is added to
    ``found.problems``.
    """
    from vru_risk.data.engine import engine_errors

    fmt: Literal["csv", "parquet"] = "csv" if path.suffix.lower() == ".csv" else "parquet"
    digest = file_identity(path, fingerprint)
    found.hashes.append(digest)
    found.tables[table.name] = TableInfo(table.name, path.name, fmt, None, (), digest)
    if path.stat().st_size == 0:
        found.problems.append(_empty_file(path, "the file is empty (no header, no rows)"))
        return None
    relation = f"src_{table.name}"
    errors: tuple[type[Exception], ...] = (*engine_errors(engine), csv.Error)
    try:
        if fmt == "csv":
            registered = _register_csv(engine, found, table, path, relation, max_line_bytes)
        else:
            registered = _register_parquet(engine, found, table, path, relation)
        if registered is None:
            return None
        types, known = registered
        rows_row = engine.rows(f"SELECT count(*) FROM {relation}_known", "counting rows")
    except errors as exc:
        found.problems.append(unreadable_problem(path, fmt, exc))
        return None
    rows = int(rows_row[0][0]) if rows_row else 0
    found.tables[table.name] = TableInfo(table.name, path.name, fmt, rows, tuple(types), digest)
    source = Source(table, path, fmt, f"{relation}_known", {c: types[c] for c in known}, rows)
    if rows == 0:
        found.problems.append(_empty_file(path, "the file has a header but no rows"))
        return None
    found.problems += column_problems(table, path.name, set(types))
    return source


Registered = tuple[dict[str, str], list[str]]


def _register_csv(
    engine: Engine,
    found: Findings,
    table: Table,
    path: Path,
    relation: str,
    max_line_bytes: int,
) -> Registered | None:
    text = text_problem(path, max_line_bytes)
    if text is not None:
        found.problems.append(text)
        return None
    header = csv_header(path)
    dupes = sorted({h for h in header if header.count(h) > 1})
    if dupes or any(not h.strip() for h in header):
        found.problems.append(
            Problem(
                path.name,
                ", ".join(dupes) or None,
                "duplicate_column",
                "column names must be unique and not empty",
                "give each column one unique name in the header row",
            )
        )
        return None
    # Positional column names (c0, c1...) keep the user's header from colliding with the
    # reader's or the validator's own names.
    if engine.name == "duckdb":
        _duckdb(engine).execute(
            f"CREATE TABLE {relation}_text AS SELECT * FROM "
            f"{read_csv_sql(path, header, positional=True)}"
        )
        row = "CAST(rowid AS BIGINT) + 2"
    else:
        from vru_risk.data.validate.spark_tables import malformed_problem, spark_csv

        spark = cast("SparkEngine", engine)
        spark_csv(spark, path, list(header), f"{relation}_text")
        malformed = malformed_problem(spark, path, f"{relation}_text")
        if malformed is not None:
            found.problems.append(malformed)
            return None
        row = "__row"
    types = dict.fromkeys(header, "VARCHAR")
    known = [c for c in header if c in table.column_names]
    cols = "".join(f"c{header.index(c)} AS {quote_ident(c)}, " for c in known)
    _view(engine, f"{relation}_known", f"SELECT {cols}{row} AS __row FROM {relation}_text")
    return types, known


def _register_parquet(
    engine: Engine, found: Findings, table: Table, path: Path, relation: str
) -> Registered | None:
    raw = f"read_parquet({quote_literal(str(path))})"
    if engine.name == "duckdb":
        types = engine.columns(raw)
    else:
        from vru_risk.data.validate.spark_tables import spark_parquet_types

        types = spark_parquet_types(cast("SparkEngine", engine), path)
    reserved = [c for c in ("file_row_number", "_metadata") if c in types]
    if reserved:
        found.problems.append(
            Problem(
                path.name,
                reserved[0],
                "unexpected_column",
                "is not in the data contract (and is a name the reader reserves)",
                "remove the column from the extract",
            )
        )
        return None
    known = [c for c in types if c in table.column_names]
    if engine.name == "duckdb":
        cols = "".join(quote_ident(c) + ", " for c in known)
        _duckdb(engine).execute(
            f"CREATE VIEW {relation}_known AS SELECT {cols}"
            f"CAST(file_row_number AS BIGINT) + 2 AS __row FROM "
            f"read_parquet({quote_literal(str(path))}, file_row_number = true)"
        )
    else:
        from vru_risk.data.validate.spark_tables import spark_parquet

        spark_parquet(cast("SparkEngine", engine), path, known, f"{relation}_known")
    return types, known


def _duckdb(engine: Engine) -> duckdb.DuckDBPyConnection:
    return cast("DuckDBEngine", engine).con


def _view(engine: Engine, name: str, sql: str) -> None:
    if engine.name == "duckdb":
        _duckdb(engine).execute(f"CREATE VIEW {name} AS {sql}")
    else:
        from vru_risk.data.validate.spark_tables import spark_view

        spark_view(cast("SparkEngine", engine), name, sql)
