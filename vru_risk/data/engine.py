"""The one place a statement meets an engine: DuckDB (the embedded default) or Spark.

Every statement this project writes is DuckDB SQL. :class:`DuckDBEngine` runs it as it is
(through :func:`~vru_risk.data.portable.execute_portable`, exactly as before: same connection,
same speed). :class:`SparkEngine` refuses the same non-portable forms, then transpiles it with
SQLGlot (``read="duckdb", write="spark"``) and runs it on a Spark session, so that one feature
catalog gives one feature table on either engine (tests/features/test_spark_equality.py).

DuckDB's session objects map onto Spark's as follows:

- ``CREATE OR REPLACE TEMP TABLE x AS q``: the query becomes a temporary view ``x`` that is
  persisted (memory, spilling to disk) on first use, because every temp table of a build is
  read again by later statements; replacing ``x`` unpersists the old one;
- ``CREATE OR REPLACE VIEW x AS q``: a temporary view ``x`` (never a catalog view: it lives as
  long as the engine, like DuckDB's in-memory view);
- a raw file (:meth:`Engine.source`): DuckDB's ``read_csv``/``read_parquet``; on Spark a
  temporary view of ``spark.read``, CSV strictly as text columns named by its header, Parquet as
  stored (any path or URI Spark reads);
- a column's stored type (:meth:`Engine.columns`) is named as DuckDB names it (``VARCHAR``,
  ``BIGINT``, ``TIMESTAMP``...), so that :func:`~vru_risk.data.validate.columns.typed_column`
  types a source the same way on both engines.

Results come back as rows (tuples, dates as :class:`datetime.date`) or as a pandas DataFrame.
On Spark the DataFrame is made from Spark's Arrow batches by DuckDB's own conversion, so a
nullable integer, a date or a NULL becomes in pandas exactly what it becomes on DuckDB.
A table is written to one Parquet file atomically (a temporary file, then a rename) with its
key-value metadata; Spark's rows are collected on the driver through Arrow for that, so the
driver needs memory for the output table (a feature table, not the sources).

pyspark is imported only by :func:`spark_engine` and :class:`SparkEngine`'s methods: the DuckDB
path never loads it.

Example
-------
>>> import duckdb
>>> engine = DuckDBEngine(duckdb.connect())
>>> engine.execute("CREATE OR REPLACE TEMP TABLE t AS SELECT 1 AS a", "an example")
>>> engine.rows("SELECT a + 1 FROM t", "an example"), engine.columns("t")
([(2,)], {'a': 'INTEGER'})
"""

from __future__ import annotations

import csv
import os
import re
import warnings
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, Protocol, cast

import duckdb
import pandas as pd
import sqlglot
from pandas.errors import Pandas4Warning
from sqlglot import exp

from vru_risk.data.portable import check_portable, execute_portable
from vru_risk.data.raw_files import raw_relation
from vru_risk.data.sql import quote_literal
from vru_risk.data.validate.files import csv_header

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

    from vru_risk.data.spark_session import SparkOptions

EngineName = Literal["duckdb", "spark"]
ENGINES: tuple[EngineName, ...] = ("duckdb", "spark")


def engine_name(text: str, option: str) -> EngineName:
    """``text`` as an engine's name (any case); a :class:`ValueError` naming ``option`` and the
    engines otherwise."""
    for name in ENGINES:
        if text.strip().lower() == name:
            return name
    raise ValueError(f"{option} {text!r}: choose one of {', '.join(ENGINES)}")


class Engine(Protocol):
    """What the loader and the feature build need of an engine (DuckDB SQL in)."""

    name: EngineName

    def execute(self, sql: str, what: str) -> None:
        """Run a statement (``what`` names it in errors)."""

    def rows(self, sql: str, what: str) -> list[tuple[Any, ...]]:
        """The rows of a query."""

    def to_pandas(self, sql: str, what: str) -> pd.DataFrame:
        """A query's result as pandas (as DuckDB's ``.df()`` converts it)."""

    def columns(self, relation: str) -> dict[str, str]:
        """A relation's columns and their types, named as DuckDB names them."""

    def source(self, path: Path) -> str:
        """The relation of a table's raw file: CSV as text with its header, Parquet as stored."""

    def write_parquet(self, relation: str, path: Path, metadata: Mapping[bytes, str]) -> None:
        """Write ``relation`` to one Parquet file at ``path`` atomically, with ``metadata``."""


def _temp_path(path: Path) -> Path:
    return path.with_name(f".{path.name}.{os.getpid()}.tmp")


class DuckDBEngine:
    """DuckDB, the default: statements run as written on ``con`` (the caller closes it)."""

    name: EngineName = "duckdb"

    def __init__(self, con: duckdb.DuckDBPyConnection) -> None:
        self.con = con

    def execute(self, sql: str, what: str) -> None:
        execute_portable(self.con, sql, what)

    def rows(self, sql: str, what: str) -> list[tuple[Any, ...]]:
        return execute_portable(self.con, sql, what).fetchall()

    def to_pandas(self, sql: str, what: str) -> pd.DataFrame:
        return execute_portable(self.con, sql, what).df()

    def columns(self, relation: str) -> dict[str, str]:
        described = self.con.execute(f"DESCRIBE SELECT * FROM {relation}").fetchall()
        return {str(r[0]): str(r[1]) for r in described}

    def source(self, path: Path) -> str:
        return raw_relation(path)

    def write_parquet(self, relation: str, path: Path, metadata: Mapping[bytes, str]) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = _temp_path(path)
        kv = ", ".join(
            f"{quote_literal(k.decode())}: {quote_literal(v)}" for k, v in metadata.items()
        )
        try:
            self.con.execute(
                f"COPY {relation} TO {quote_literal(str(tmp))} "
                f"(FORMAT parquet, COMPRESSION zstd, KV_METADATA {{{kv}}})"
            )
            tmp.replace(path)
        finally:
            tmp.unlink(missing_ok=True)


#: Spark's simple type names (``DataType.simpleString``) as DuckDB names the same type
_DUCKDB_TYPES = {
    "string": "VARCHAR",
    "boolean": "BOOLEAN",
    "tinyint": "TINYINT",
    "smallint": "SMALLINT",
    "int": "INTEGER",
    "bigint": "BIGINT",
    "float": "FLOAT",
    "double": "DOUBLE",
    "date": "DATE",
    "timestamp_ntz": "TIMESTAMP",
    "timestamp": "TIMESTAMP WITH TIME ZONE",
    "binary": "BLOB",
}


def duckdb_type_name(spark_type: str) -> str:
    """DuckDB's name of a Spark type (``decimal(10,2)`` -> ``DECIMAL(10,2)``); the upper-cased
    Spark name for a type DuckDB names differently (an array, a struct)."""
    if spark_type.startswith("decimal"):
        return spark_type.upper()
    return _DUCKDB_TYPES.get(spark_type, spark_type.upper())


@contextmanager
def quiet_pandas_warnings() -> Iterator[None]:
    """pyspark 4.3 warns that it 'does not yet fully support pandas >= 3.0.0' on every pandas
    conversion (and that a ``copy=`` keyword is deprecated); the project needs pandas 3, and the
    conversions it uses are tested (tests/features/test_spark_arrow.py), so users are not
    shown them."""
    with warnings.catch_warnings():
        warnings.filterwarnings(
            "ignore", "PySpark does not yet fully support pandas", FutureWarning, module="pyspark"
        )
        warnings.filterwarnings(
            "ignore", "The copy keyword is deprecated", Pandas4Warning, module="pyspark"
        )
        yield


_SAFE_NAME = re.compile(r"[^A-Za-z0-9_]")


class SparkEngine:
    """A Spark session running this project's DuckDB SQL, transpiled by SQLGlot.

    ``record`` keeps every statement as Spark runs it (``(what, spark_sql)``, in order) in
    :attr:`statements`, for tests that check that Spark analyses each one.
    :meth:`close` unpersists the engine's tables and drops its views; the session stays (it
    may be shared: a notebook's, the tests').
    """

    name: EngineName = "spark"

    def __init__(self, session: SparkSession, *, record: bool = False) -> None:
        self.session = session
        self.record = record
        self.statements: list[tuple[str, str]] = []
        self._persisted: dict[str, DataFrame] = {}
        self._views: set[str] = set()

    def _note(self, what: str, sql: str) -> str:
        if self.record:
            self.statements.append((what, sql))
        return sql

    def transpile(self, sql: str, what: str) -> str:
        """The Spark SQL of one portable DuckDB statement."""
        return sqlglot.transpile(check_portable(sql, what), read="duckdb", write="spark")[0]

    def _frame(self, sql: str, what: str) -> DataFrame:
        return self.session.sql(self._note(what, self.transpile(sql, what)))

    def execute(self, sql: str, what: str) -> None:
        tree = sqlglot.parse_one(check_portable(sql, what), read="duckdb")
        if isinstance(tree, exp.Create) and tree.kind in ("TABLE", "VIEW"):
            name = tree.this.name
            query = tree.expression.sql("duckdb")
            frame = self._frame(query, what)
            old = self._persisted.pop(name, None)
            # a typed source (a view) is read by many statements: persisted on first use; a
            # table is materialised now, as DuckDB's is
            frame = frame.persist()
            if tree.kind == "TABLE":
                frame.count()
            self._persisted[name] = frame
            frame.createOrReplaceTempView(name)
            self._views.add(name)
            if old is not None:
                old.unpersist()
            return
        self._frame(sql, what).collect()

    def rows(self, sql: str, what: str) -> list[tuple[Any, ...]]:
        return [tuple(r) for r in self._frame(sql, what).collect()]

    def _arrow(self, frame: DataFrame) -> Any:
        with quiet_pandas_warnings():
            return frame.toArrow()

    def to_pandas(self, sql: str, what: str) -> pd.DataFrame:
        arrow = self._arrow(self._frame(sql, what))
        frame: pd.DataFrame = duckdb.from_arrow(arrow).df()
        return frame

    def columns(self, relation: str) -> dict[str, str]:
        frame = self.session.sql(f"SELECT * FROM {relation}")
        return {f.name: duckdb_type_name(f.dataType.simpleString()) for f in frame.schema.fields}

    def source(self, path: Path | str) -> str:
        text = str(path)
        stem = text.rstrip("/").rsplit("/", 1)[-1].split(".", 1)[0]
        name = f"raw_{_SAFE_NAME.sub('_', stem)}"
        reader = self.session.read
        if text.lower().endswith(".csv"):
            from pyspark.sql.types import StringType, StructField, StructType

            header = self._csv_header(text)
            schema = StructType([StructField(h, StringType(), True) for h in header])
            frame = reader.csv(
                text,
                schema=schema,
                header=True,
                enforceSchema=False,  # the header must name the columns as the schema does
                sep=",",
                quote='"',
                escape='"',
                mode="FAILFAST",
                multiLine=True,
            )
        else:
            frame = reader.parquet(text)
        frame.createOrReplaceTempView(name)
        self._views.add(name)
        return name

    def _csv_header(self, text: str) -> list[str]:
        """The column names of a CSV file: a local file's as the validator reads them, a remote
        one's (any URI Spark reads) from its first line."""
        if "://" not in text or text.startswith("file://"):
            return list(csv_header(Path(text.removeprefix("file://"))))
        first = self.session.read.text(text).first()
        line = str(first[0]).removeprefix("\ufeff") if first is not None else ""
        return next(csv.reader([line]))

    def write_parquet(self, relation: str, path: Path, metadata: Mapping[bytes, str]) -> None:
        import pyarrow.parquet as pq

        arrow = self._arrow(self.session.table(relation))
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = _temp_path(path)
        try:
            # the file's key-value metadata exactly as DuckDB's COPY writes it: these keys and
            # no ARROW:schema
            with pq.ParquetWriter(tmp, arrow.schema, compression="zstd", store_schema=False) as w:
                w.write_table(arrow)
                w.add_key_value_metadata({k.decode(): v for k, v in metadata.items()})
            tmp.replace(path)
        finally:
            tmp.unlink(missing_ok=True)

    def register(self, name: str, frame: DataFrame, *, persist: bool = True) -> None:
        """``frame`` as the temporary view ``name``, persisted on first use (a validated source
        is read by many statements) unless ``persist`` is false; released by :meth:`close`."""
        old = self._persisted.pop(name, None)
        if persist:
            frame = frame.persist()
            self._persisted[name] = frame
        frame.createOrReplaceTempView(name)
        self._views.add(name)
        if old is not None:
            old.unpersist()

    def close(self) -> None:
        for frame in self._persisted.values():
            frame.unpersist()
        self._persisted.clear()
        for name in self._views:
            self.session.catalog.dropTempView(name)
        self._views.clear()


def engine_errors(engine: Engine) -> tuple[type[Exception], ...]:
    """The exceptions ``engine`` raises when a file cannot be read or a statement fails."""
    if engine.name == "duckdb":
        return (duckdb.Error,)
    from py4j.protocol import Py4JError  # type: ignore[import-untyped]
    from pyspark.errors import PySparkException

    return (PySparkException, Py4JError)


def as_engine(con: duckdb.DuckDBPyConnection | Engine) -> Engine:
    """``con`` itself when it is an engine; a DuckDB connection (or anything that stands for
    one) wrapped in :class:`DuckDBEngine`."""
    if isinstance(con, DuckDBEngine | SparkEngine):
        return con
    return DuckDBEngine(cast(duckdb.DuckDBPyConnection, con))


def spark_engine(options: SparkOptions, *, record: bool = False) -> SparkEngine:
    """A :class:`SparkEngine` on the session ``options`` make (or the running one)."""
    from vru_risk.data.spark_session import spark_session

    with quiet_pandas_warnings():  # starting a session checks pandas' version too
        session = spark_session(options)
    return SparkEngine(session, record=record)
