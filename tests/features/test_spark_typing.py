"""A source is typed the same way on Spark as on DuckDB, hostile values included.

:func:`~vru_risk.data.validate.columns.typed_column`'s SQL (the typed value, NULL where the raw
value is invalid, and the invalid test) is run on both engines over the same files: a CSV read
as text (impossible dates, year 0, 24:00, numbers with spaces or in words, a line break inside a
quoted value) and a Parquet file stored with types (NaN and infinities, a date-time at and after
midnight, whole and fractional numbers stored as DOUBLE, 0/1/2 stored as integers). Every answer
is the same. The day-of-week form refused as non-portable answers differently on Spark, and the
portable form written instead does not.
"""

from __future__ import annotations

import csv
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import sqlglot

from vru_risk.data.contract import Column, Kind
from vru_risk.data.engine import DuckDBEngine, Engine, SparkEngine
from vru_risk.data.sql import quote_ident
from vru_risk.data.validate.columns import typed_column

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

pytestmark = pytest.mark.spark

COLUMNS = {
    "d": Column("d", Kind.DATE, "a date"),
    "t": Column("t", Kind.DATETIME, "a date and time"),
    "b": Column("b", Kind.BOOL, "a flag"),
    "i": Column("i", Kind.INT, "a whole number"),
    "f": Column("f", Kind.FLOAT, "a number"),
    "c": Column("c", Kind.CATEGORY, "a category", categories=("am", "pm")),
    "m": Column("m", Kind.DATE, "a date stored as a date and time (Parquet only)"),
}

CSV_ROWS = [
    ("1", "2024-02-29", "2024-02-29T23:59:59.123456", "TRUE", "+12", "1.", "am"),
    ("2", "2023-02-29", "2024-03-01 24:00", "yes", " 12", ".5", "AM"),
    ("3", "0000-01-01", "0000-01-01T00:00", "0", "1234567890", "1e5", "pm "),
    ("4", "0001-01-01", "2024-13-01T10:00", "1", "-0", "-2.5E-3", "pm"),
    ("5", "01/03/2024", "2024-03-01T10:60", "False", "12.0", "NaN", ""),
    ("6", "9999-12-31", "9999-12-31T23:59:59", "f", "١٢", "inf", "am"),
    ("7", "2024-1-05", "2024-03-01T10:00:00.1234567", "", "", "1,5", "pm"),
    ("8", "2024-01-05\n", "2024-03-01", "true", "007", "0x10", "am"),
]


def _csv(path: Path) -> Path:
    with path.open("w", newline="") as f:
        writer = csv.writer(f, lineterminator="\n")
        writer.writerow(["id", "d", "t", "b", "i", "f", "c"])
        writer.writerows(CSV_ROWS)
        f.write('9,"","","","","",""\n')  # quoted empty values: NULL, as unquoted ones
    return path


#: 31 December of the year 0, in days from 1970 (DuckDB would read it as 1 BC)
YEAR_0 = (date(1, 1, 1) - date(1970, 1, 1)).days - 1
DAY_US = 86_400_000_000
DATES = [date(2024, 2, 29), date(1, 1, 1), date(9999, 12, 31)]
TIMES = [datetime(2024, 3, 1), datetime(2024, 3, 1, 0, 0, 0, 1), datetime(1, 1, 1)]
TIMES += [datetime(9999, 12, 31, 23, 59), datetime(2024, 3, 1, 22)]


def _days(day: date) -> int:
    return (day - date(1970, 1, 1)).days


def _us(moment: datetime) -> int:
    return (moment - datetime(1970, 1, 1)) // timedelta(microseconds=1)


def _parquet(path: Path) -> Path:
    table = pa.table(
        {
            "id": pa.array([str(n) for n in range(1, 7)]),
            "d": pa.array(
                [*map(_days, DATES), None, 0, YEAR_0],
                pa.int32(),
            ).cast(pa.date32()),
            "t": pa.array([*map(_us, TIMES), YEAR_0 * DAY_US], pa.int64()).cast(pa.timestamp("us")),
            "m": pa.array([*map(_us, TIMES), YEAR_0 * DAY_US], pa.int64()).cast(pa.timestamp("us")),
            "b": pa.array([0, 1, 2, None, -1, 1], pa.int64()),
            "i": pa.array([2.0, 2.5, float("nan"), float("inf"), -3.0, 1e300], pa.float64()),
            "f": pa.array([1.5, float("nan"), float("inf"), float("-inf"), None, -0.0]),
        }
    )
    pq.write_table(table, path)
    return path


def _typed_rows(engine: Engine, path: Path) -> tuple[dict[str, str], list[tuple[object, ...]]]:
    raw = engine.source(path)
    stored = engine.columns(raw)
    parts = ["id"]
    for name, stored_type in stored.items():
        if name == "id":
            continue
        typed = typed_column(COLUMNS[name], stored_type)
        parts.append(f"{typed.typed} AS {quote_ident(name)}")
        if typed.invalid is not None:
            parts.append(f"coalesce({typed.invalid}, false) AS {quote_ident(name + '_invalid')}")
    rows = engine.rows(f"SELECT {', '.join(parts)} FROM {raw} ORDER BY id", f"typed {path.name}")
    return stored, rows


@pytest.mark.parametrize("kind", ["csv", "parquet"])
def test_every_value_is_typed_the_same_on_both_engines(
    spark: SparkSession, tmp_path: Path, kind: str
) -> None:
    path = _csv(tmp_path / "t.csv") if kind == "csv" else _parquet(tmp_path / "t.parquet")
    duck_stored, duck_rows = _typed_rows(DuckDBEngine(duckdb.connect()), path)
    engine = SparkEngine(spark)
    try:
        spark_stored, spark_rows = _typed_rows(engine, path)
    finally:
        engine.close()
    assert spark_stored == duck_stored  # the stored types, named as DuckDB names them
    assert spark_rows == duck_rows
    # the comparison covers valid and invalid values of every column
    invalid = [i for i, name in enumerate(_names(duck_stored)) if name.endswith("_invalid")]
    assert invalid and all({r[i] for r in duck_rows} == {True, False} for i in invalid)
    if kind == "csv":
        assert (duck_rows[0][1], duck_rows[0][3]) == (
            date(2024, 2, 29),
            datetime(2024, 2, 29, 23, 59, 59, 123456),
        )


def _names(stored: dict[str, str]) -> list[str]:
    names = ["id"]
    for name, stored_type in stored.items():
        if name != "id":
            names.append(name)
            if typed_column(COLUMNS[name], stored_type).invalid is not None:
                names.append(name + "_invalid")
    return names


def test_the_refused_day_of_week_differs_on_spark_and_the_portable_form_does_not(
    spark: SparkSession,
) -> None:
    days = ", ".join(f"(DATE '{date(2024, 3, d).isoformat()}')" for d in range(4, 11))
    query = (
        "SELECT isodow(d), date_diff('day', DATE '0001-01-01', d) % 7 "
        f"FROM (VALUES {days}) v(d) ORDER BY d"
    )
    duck = duckdb.connect().execute(query).fetchall()
    assert duck == [(n + 1, n) for n in range(7)]  # Monday 4 March 2024 to Sunday 10 March
    on_spark = spark.sql(sqlglot.transpile(query, read="duckdb", write="spark")[0]).collect()
    assert [r[1] for r in on_spark] == [n for _, n in duck]
    assert [r[0] for r in on_spark] != [n for n, _ in duck]  # why isodow is refused
