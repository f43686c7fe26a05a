"""pyspark 4.3 with pandas 3: the conversions this project uses, tested rather than pinned.

pyspark 4.3 warns that it "does not yet fully support pandas >= 3.0.0" (and calls a pandas
``copy=`` keyword pandas 3 deprecates); the project needs pandas 3, so instead of pinning pandas
2 the two warnings are filtered narrowly (pyproject.toml, and
:func:`vru_risk.data.engine.quiet_pandas_warnings` for users) and the conversions are checked
here: string, date, nullable integer and nullable boolean columns through Arrow from pandas to
Spark (``createDataFrame``), back (``toPandas``, ``toArrow``) and through ``mapInPandas``, with
NULLs where they were. The engine's own pandas results equal DuckDB's for the same query.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from datetime import date
from typing import TYPE_CHECKING

import duckdb
import pandas as pd
import pyarrow as pa
import pytest

from vru_risk.data.engine import DuckDBEngine, SparkEngine

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

pytestmark = pytest.mark.spark

BIG = -(2**62) + 1  # a whole number a float64 cannot hold exactly


def _frame() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "s": pd.array(["a", None, "ü"], dtype="str"),
            "d": [date(2024, 2, 29), None, date(1, 1, 1)],
            "i": pd.array([1, None, BIG], dtype="Int64"),
            "b": pd.array([True, None, False], dtype="boolean"),
        }
    )


def _identity(batches: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
    yield from batches


def test_pandas_columns_keep_their_values_and_nulls_through_spark(spark: SparkSession) -> None:
    frame = spark.createDataFrame(_frame())
    assert frame.schema.simpleString() == "struct<s:string,d:date,i:bigint,b:boolean>"
    for name, result in (
        ("toPandas", frame.toPandas()),
        ("mapInPandas", frame.mapInPandas(_identity, frame.schema).toPandas()),
    ):
        assert list(result.columns) == ["s", "d", "i", "b"], name
        assert result.isna().sum().to_dict() == {"s": 1, "d": 1, "i": 1, "b": 1}, name
        assert result["s"].tolist()[0::2] == ["a", "ü"], name
        assert result["d"].tolist()[0::2] == [date(2024, 2, 29), date(1, 1, 1)], name
        assert result["b"].tolist()[0::2] == [True, False], name
        # a nullable integer becomes float64 in pandas (NaN for NULL): exact up to 2**53 only
        assert result["i"].dtype == "float64", name
        assert result["i"].tolist()[0] == 1.0, name


def test_arrow_keeps_nullable_integers_exact_through_spark(spark: SparkSession) -> None:
    frame = spark.createDataFrame(_frame())
    for result in (frame.toArrow(), frame.mapInPandas(_identity, frame.schema).toArrow()):
        assert result.schema.field("i").type == pa.int64()
        assert result.column("i").to_pylist() == [1, None, BIG]
        assert result.column("d").to_pylist() == [date(2024, 2, 29), None, date(1, 1, 1)]
        assert result.column("b").to_pylist() == [True, None, False]
        assert result.column("s").to_pylist() == ["a", None, "ü"]


def test_the_engines_give_pandas_the_same_frame_and_users_no_warning(
    spark: SparkSession,
) -> None:
    query = (
        "SELECT * FROM (VALUES ('a', DATE '2024-02-29', CAST(1 AS BIGINT), true, 0.5), "
        "(NULL, NULL, NULL, NULL, CAST('NaN' AS DOUBLE)), "
        f"('ü', DATE '0001-01-01', CAST({BIG} AS BIGINT), false, NULL)) t(s, d, i, b, x)"
    )
    duck = DuckDBEngine(duckdb.connect()).to_pandas(query, "a query")
    engine = SparkEngine(spark)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # not the test run's filters: what a user would see
        on_spark = engine.to_pandas(query, "a query")
    pd.testing.assert_frame_equal(on_spark, duck)
    assert on_spark["x"].isna().tolist() == [False, True, True]
