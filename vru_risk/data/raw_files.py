"""SQL over the raw files of a validated data folder: a table's file as a DuckDB relation, a
column's typed value read exactly as the validator and the loader read it
(:func:`~vru_risk.data.validate.columns.typed_column`), a table's event and known dates, and a
query written back to a file of the same format (CSV stays text as it was; Parquet keeps its
types). The loader (:mod:`vru_risk.data.load`) and the fault injector
(:mod:`vru_risk.data.faults`) read files through it.

Example
-------
>>> from pathlib import Path
>>> raw_relation(Path("/data/exclusions.parquet"))
"read_parquet('/data/exclusions.parquet')"
"""

from __future__ import annotations

from pathlib import Path

import duckdb

from vru_risk.data.contract import TABLES, Kind
from vru_risk.data.sql import quote_literal, read_csv_sql
from vru_risk.data.validate.columns import typed_column
from vru_risk.data.validate.files import csv_header


def raw_relation(path: Path) -> str:
    """The relation of a table's file: CSV read strictly as text, Parquet as stored."""
    if path.suffix.lower() == ".csv":
        return read_csv_sql(path, csv_header(path))
    return f"read_parquet({quote_literal(str(path))})"


def typed_value(con: duckdb.DuckDBPyConnection, path: Path, table: str, column: str) -> str:
    """The SQL of ``column``'s typed value in ``table``'s file at ``path`` (a date and time
    as its DATE)."""
    described = con.execute(f"DESCRIBE SELECT * FROM {raw_relation(path)}").fetchall()
    stored = {str(r[0]): str(r[1]) for r in described}
    col = TABLES[table].column(column)
    expr = typed_column(col, stored[column]).typed
    return f"CAST({expr} AS DATE)" if col.kind is Kind.DATETIME else expr


def event_date(con: duckdb.DuckDBPyConnection, path: Path, table: str) -> str:
    """The SQL of the event date of ``table``'s rows (an A&E arrival's day)."""
    event = TABLES[table].event_date
    if event is None:
        raise ValueError(f"{table} has no event date")
    return typed_value(con, path, table, event)


def known_date(
    con: duckdb.DuckDBPyConnection, path: Path, table: str, columns: tuple[str, ...]
) -> str:
    """The SQL of the day a row became known: its ``known_date`` where the file has one (of
    ``columns``, the file's), else its event date."""
    event = event_date(con, path, table)
    if "known_date" in columns:
        return f"coalesce({typed_value(con, path, table, 'known_date')}, {event})"
    return event


def count_rows(con: duckdb.DuckDBPyConnection, query: str) -> int:
    row = con.execute(f"SELECT count(*) FROM ({query})").fetchone()
    return int(row[0]) if row else 0


def copy_to(con: duckdb.DuckDBPyConnection, query: str, path: Path) -> int:
    """Write ``query`` to ``path`` in the format of its suffix (CSV with its header); return
    its row count."""
    options = "FORMAT csv, HEADER true" if path.suffix.lower() == ".csv" else "FORMAT parquet"
    con.execute(f"COPY ({query}) TO {quote_literal(str(path))} ({options})")
    return count_rows(con, query)
