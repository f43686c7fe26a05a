"""The Spark engine's test session: one per test process, made on first use (pytest marker
``spark``; ``tests/conftest.py`` shares the fixture).

``local[2]`` with two shuffle partitions and no UI, the driver's memory set before the JVM
starts, executors on this interpreter (``spark.pyspark.python``).
Tests give it counties of at most 1,000 people.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest

from tests.once import spark_file
from vru_risk.data.spark_session import SparkOptions, spark_session

if TYPE_CHECKING:
    from pyspark.sql import SparkSession


def check_spark_files(items: list[pytest.Item]) -> None:
    """Refuse a test outside the Spark files that uses the Spark session."""
    for item in items:
        if "spark" in getattr(item, "fixturenames", ()) and not spark_file(item.nodeid):
            raise pytest.UsageError(
                f"{item.nodeid} uses the Spark session: put it in a file named "
                "test_*spark*.py, which pytest-xdist runs on the one worker holding the session"
            )


@pytest.fixture(scope="session")
def spark(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SparkSession]:
    """The session-scoped local Spark session (Java 17+ is required: `make java`).

    Only tests in files named ``test_*spark*.py`` use it (:func:`check_spark_files` refuses
    others): pytest-xdist runs those files on one worker, in one session
    (:class:`tests.once.LoadFileOneSpark`).
    """
    if shutil.which("java") is None:
        pytest.fail("the Spark tests need Java 17 or newer: run `make java`")
    scratch = tmp_path_factory.mktemp("spark-scratch")
    session = spark_session(
        SparkOptions(
            master="local[2]",
            driver_memory="1g",
            shuffle_partitions=2,
            scratch_dir=str(scratch),
            app_name="vru-risk-tests",
        )
    )
    yield session
    session.stop()
