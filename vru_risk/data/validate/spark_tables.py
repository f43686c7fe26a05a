"""A table file registered on Spark with the same spreadsheet row numbers DuckDB gives.

The validator numbers rows as a spreadsheet user does (the header is row 1, the first record
row 2). DuckDB gives the number (``rowid`` of a CSV read, ``file_row_number`` of a Parquet
file); Spark has none, so it is carried from the reader:

- **CSV**: read with ``multiLine`` (so a quoted line break is part of its field, as DuckDB
  reads it: a row is a *record*, not a line, on both engines) and numbered by
  ``RDD.zipWithIndex``, which follows the partitions' order and each partition's order. A
  ``multiLine`` CSV file is never split, so its records are read in file order by one task:
  the index is the record's position in the file (``monotonically_increasing_id`` would be
  too, in one partition, but is not documented to be). The price at national scale: one task
  per CSV file; a Parquet extract is read in parallel.
  A record whose number of fields is not the header's is not an error raised inside Spark
  (whose message would hold the record's values, and end up in the cluster's logs): it is read
  ``PERMISSIVE`` into a corrupt-record column, and the file is reported by row numbers only.
- **Parquet**: Spark 4's hidden ``_metadata.row_index``, the row's position within its file.

Every CSV column is text, named positionally (``c0, c1...``) while read, so that a header name
can never collide with the reader's own columns.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from vru_risk.data.engine import duckdb_type_name
from vru_risk.data.validate.problems import MAX_EXAMPLES, Problem

if TYPE_CHECKING:
    from vru_risk.data.engine import SparkEngine

#: the column a record Spark cannot split into the header's fields is kept in (never shown)
CORRUPT = "__corrupt"


def spark_csv(engine: SparkEngine, path: Path, header: list[str], relation: str) -> None:
    """Register ``path`` as ``relation`` (persisted): columns ``c0, c1...`` (text),
    ``__corrupt`` and ``__row``."""
    from pyspark.sql.types import LongType, StringType, StructField, StructType

    fields = [StructField(f"c{i}", StringType(), True) for i in range(len(header))]
    read = StructType([*fields, StructField(CORRUPT, StringType(), True)])
    frame = engine.session.read.csv(
        str(path),
        schema=read,
        header=True,
        enforceSchema=True,  # the header was read and checked on the driver
        sep=",",
        quote='"',
        escape='"',
        mode="PERMISSIVE",
        columnNameOfCorruptRecord=CORRUPT,
        multiLine=True,
        encoding="UTF-8",
    )
    numbered = frame.rdd.zipWithIndex().map(lambda pair: (*pair[0], pair[1] + 2))
    schema = StructType([*read.fields, StructField("__row", LongType(), False)])
    engine.register(relation, engine.session.createDataFrame(numbered, schema))


def malformed_problem(engine: SparkEngine, path: Path, relation: str) -> Problem | None:
    """The problem of the records of ``relation`` whose fields are not the header's, by row
    number (their values stay in the file)."""
    rows = engine.rows(
        f"SELECT __row FROM {relation} WHERE {CORRUPT} IS NOT NULL ORDER BY __row", "a CSV check"
    )
    if not rows:
        return None
    shown = ", ".join(str(r[0]) for r in rows[:MAX_EXAMPLES])
    more = f" and {len(rows) - MAX_EXAMPLES:,} more" if len(rows) > MAX_EXAMPLES else ""
    return Problem(
        path.name,
        None,
        "unreadable_file",
        f"cannot be read as CSV: {len(rows):,} row(s) do not have the header's number of "
        f"fields (rows {shown}{more})",
        "re-export the table as a well-formed UTF-8 CSV with a header row (comma separated, "
        "double quotes) or as Parquet; check the file is complete and readable",
    )


def spark_parquet_types(engine: SparkEngine, path: Path) -> dict[str, str]:
    """The columns of a Parquet file and their types, named as DuckDB names them."""
    schema = engine.session.read.parquet(str(path)).schema
    return {f.name: duckdb_type_name(f.dataType.simpleString()) for f in schema.fields}


def spark_parquet(engine: SparkEngine, path: Path, known: list[str], relation: str) -> None:
    """Register the ``known`` columns of ``path`` as ``relation``, with ``__row``."""
    from pyspark.sql import functions as sf

    frame = engine.session.read.parquet(str(path))
    columns = [sf.col(f"`{c}`") for c in known]
    row = (sf.col("_metadata.row_index").cast("bigint") + 2).alias("__row")
    engine.register(relation, frame.select(*columns, row))


def spark_view(engine: SparkEngine, relation: str, sql: str) -> None:
    """Register the DuckDB query ``sql`` as the view ``relation`` (not persisted: it projects a
    persisted relation)."""
    frame = engine.session.sql(engine.transpile(sql, f"the view {relation}"))
    engine.register(relation, frame, persist=False)
