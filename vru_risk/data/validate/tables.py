"""A table file of the folder registered in DuckDB, with spreadsheet row numbers.

:func:`register_table` hashes the file (for the fingerprint), refuses what cannot be parsed (an
empty file, a CSV that is not clean UTF-8 text or whose header repeats a name, a file no reader
accepts), and creates the relation ``src_<table>_known``: the contract's columns present in the
file, as stored (every CSV column as text), plus ``__row``, the row number a spreadsheet user
sees (the header is row 1, the first record row 2). Missing and unexpected columns are reported
here; the values are checked by :mod:`vru_risk.data.validate.rows`.

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
from typing import Literal

import duckdb

from vru_risk.data.contract import Table
from vru_risk.data.fingerprint import file_sha256
from vru_risk.data.sql import quote_ident, quote_literal, read_csv_sql
from vru_risk.data.validate.columns import column_problems
from vru_risk.data.validate.files import csv_header, text_problem, unreadable_problem
from vru_risk.data.validate.problems import Problem


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
    con: duckdb.DuckDBPyConnection,
    found: Findings,
    table: Table,
    path: Path,
    *,
    max_line_bytes: int,
) -> Source | None:
    """Register ``path`` as ``table``'s relation; ``None`` when its rows cannot be checked.

    The file's hash and :class:`TableInfo` are recorded in ``found`` first, so they stand even
    when reading the file fails; every problem found is added to ``found.problems``.
    """
    fmt: Literal["csv", "parquet"] = "csv" if path.suffix.lower() == ".csv" else "parquet"
    digest = file_sha256(path)
    found.hashes.append(digest)
    found.tables[table.name] = TableInfo(table.name, path.name, fmt, None, (), digest)
    if path.stat().st_size == 0:
        found.problems.append(_empty_file(path, "the file is empty (no header, no rows)"))
        return None
    relation = f"src_{table.name}"
    try:
        if fmt == "csv":
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
            # Positional column names (c0, c1...) keep the user's header from colliding
            # with DuckDB's rowid or the validator's own names.
            con.execute(
                f"CREATE TABLE {relation}_text AS SELECT * FROM "
                f"{read_csv_sql(path, header, positional=True)}"
            )
            types = dict.fromkeys(header, "VARCHAR")
            known = [c for c in header if c in table.column_names]
            cols = "".join(f"c{header.index(c)} AS {quote_ident(c)}, " for c in known)
            con.execute(
                f"CREATE VIEW {relation}_known AS SELECT {cols}"
                f"CAST(rowid AS BIGINT) + 2 AS __row FROM {relation}_text"
            )
        else:
            raw = f"read_parquet({quote_literal(str(path))})"
            described = con.execute(f"DESCRIBE SELECT * FROM {raw}").fetchall()
            types = {str(r[0]): str(r[1]) for r in described}
            if "file_row_number" in types:
                found.problems.append(
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
            con.execute(
                f"CREATE VIEW {relation}_known AS SELECT {cols}"
                f"CAST(file_row_number AS BIGINT) + 2 AS __row FROM "
                f"read_parquet({quote_literal(str(path))}, file_row_number = true)"
            )
        rows_row = con.execute(f"SELECT count(*) FROM {relation}_known").fetchone()
    except (duckdb.Error, csv.Error) as exc:
        found.problems.append(unreadable_problem(path, fmt, exc))
        return None
    rows = int(rows_row[0]) if rows_row else 0
    found.tables[table.name] = TableInfo(table.name, path.name, fmt, rows, tuple(types), digest)
    source = Source(table, path, fmt, f"{relation}_known", {c: types[c] for c in known}, rows)
    if rows == 0:
        found.problems.append(_empty_file(path, "the file has a header but no rows"))
        return None
    found.problems += column_problems(table, path.name, set(types))
    return source
