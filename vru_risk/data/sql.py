"""DuckDB SQL text shared by validation, loading and feature building.

One home for quoting (identifiers, string literals, lists of literals), for the strict reader of a
contract CSV, and for the settings of a bounded DuckDB connection, so that every query this
project writes quotes and reads values the same way.

Example
-------
>>> quote_literal("O'Brien")
"'O''Brien'"
>>> sql_list(["present", "late"])
"('present', 'late')"
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path

import duckdb


def quote_ident(name: str) -> str:
    """Quote an identifier for DuckDB."""
    return '"' + name.replace('"', '""') + '"'


def quote_literal(value: str) -> str:
    """Quote a string literal for DuckDB."""
    return "'" + value.replace("'", "''") + "'"


def sql_value(value: str | bool) -> str:
    """A string or boolean as a SQL literal.

    >>> sql_value(True), sql_value("suspect")
    ('TRUE', "'suspect'")
    """
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    return quote_literal(value)


def sql_list(values: Iterable[str]) -> str:
    """A SQL list of string literals, for ``IN``."""
    return "(" + ", ".join(quote_literal(v) for v in values) + ")"


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


def connect(
    database: str = ":memory:",
    *,
    threads: int,
    memory_limit: str,
    temp_directory: Path | None = None,
    preserve_insertion_order: bool,
) -> duckdb.DuckDBPyConnection:
    """A DuckDB connection held to ``threads`` and ``memory_limit``, spilling to ``temp_directory``.

    The progress bar is off: progress is reported by the callers.
    """
    con = duckdb.connect(database)
    con.execute(f"SET threads = {int(threads)}")
    con.execute(f"SET memory_limit = {quote_literal(memory_limit)}")
    if temp_directory is not None:
        con.execute(f"SET temp_directory = {quote_literal(str(temp_directory))}")
    con.execute(f"SET preserve_insertion_order = {str(preserve_insertion_order).lower()}")
    con.execute("SET enable_progress_bar = false")
    return con
