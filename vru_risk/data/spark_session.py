"""The Spark engine's session: one place that says how this project talks to Spark.

DuckDB is the embedded default; ``--engine spark`` (or ``VRU_ENGINE=spark``) runs the same
catalog-compiled SQL on Spark (docs/scale.md). Every session this project makes or adopts is
set the same way, because the answers depend on it:

- ``spark.sql.ansi.enabled=true``: an overflow, a bad cast or a division by zero is an error,
  never a silent NULL (Spark 4's default, set explicitly so that a cluster's own default cannot
  change an answer); the portability check (:mod:`vru_risk.data.portable`) refuses the forms
  that would then differ from DuckDB;
- ``spark.sql.session.timeZone=UTC``: dates and times are read and written as the contract
  writes them, whatever the driver's or the executors' time zone;
- Arrow for pandas conversions (``mapInPandas``, ``toPandas``).

:func:`spark_session` makes a local session (``local[2]`` by default) or connects to a master
(``VRU_SPARK_MASTER``: ``spark://...``, ``yarn``, ``k8s://...``; or Spark Connect's ``sc://...``);
:func:`adopt_session` sets an existing session (a notebook's, ``spark-submit``'s) the same way.
pyspark is imported only here and only when a Spark engine is asked for: the DuckDB path never
loads it.

The driver's memory is a JVM setting: it takes effect only when this process starts the JVM,
so it is given before the first session; a running JVM keeps the memory it started with.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

#: settings every session this project uses must have (checked on an adopted session)
REQUIRED_CONF: Final[dict[str, str]] = {
    "spark.sql.ansi.enabled": "true",
    "spark.sql.session.timeZone": "UTC",
    "spark.sql.execution.arrow.pyspark.enabled": "true",
}


class SparkUnavailableError(RuntimeError):
    """pyspark or a Java runtime is missing, or the session could not start."""


@dataclass(frozen=True)
class SparkOptions:
    """How to make a session: where, with how much driver memory, how many shuffle partitions."""

    #: ``local[N]``, ``spark://host:7077``, ``yarn``, ``k8s://...`` or Spark Connect ``sc://...``
    master: str = "local[2]"
    driver_memory: str = "2g"
    #: partitions of a shuffle (joins, aggregates): about 2-4 per core of the cluster
    shuffle_partitions: int = 8
    #: where local mode spills (``spark.local.dir``); the system's temporary folder when None
    scratch_dir: str | None = None
    app_name: str = "vru-risk"
    ui: bool = False


def spark_session(options: SparkOptions = SparkOptions()) -> SparkSession:
    """A session set as :data:`REQUIRED_CONF` says, made (or reused) from ``options``.

    Raises :class:`SparkUnavailableError` naming what to install when pyspark or Java is
    missing.
    """
    try:
        from pyspark.sql import SparkSession
    except ImportError as e:  # pragma: no cover - the lock installs pyspark
        raise SparkUnavailableError(
            "the Spark engine needs pyspark: install the project with its 'spark' extra "
            "(`make venv` does), or run with --engine duckdb"
        ) from e
    if options.master.startswith("sc://"):
        builder = SparkSession.builder.remote(options.master)
    else:
        builder = (
            SparkSession.builder.master(options.master)
            .config("spark.driver.memory", options.driver_memory)
            .config("spark.ui.enabled", str(options.ui).lower())
            .config("spark.ui.showConsoleProgress", "false")
            # executors run this interpreter (mapInPandas unpickles this project's functions)
            .config("spark.pyspark.python", sys.executable)
            .config("spark.pyspark.driver.python", sys.executable)
        )
        if options.scratch_dir is not None:
            builder = builder.config("spark.local.dir", options.scratch_dir)
    builder = builder.appName(options.app_name).config(
        "spark.sql.shuffle.partitions", str(options.shuffle_partitions)
    )
    for key, value in REQUIRED_CONF.items():
        builder = builder.config(key, value)
    try:
        session = builder.getOrCreate()
    except Exception as e:  # the JVM did not start: say what to do, not py4j's trace
        raise SparkUnavailableError(
            f"could not start Spark ({options.master}): {type(e).__name__}. Spark 4 needs "
            "Java 17 or newer on the PATH or in JAVA_HOME (`make java` installs Debian's "
            "headless JDK); for a cluster, check VRU_SPARK_MASTER"
        ) from e
    if options.master.startswith("local"):
        # PySpark starts Python workers with its context's pythonExec, read from PYSPARK_PYTHON
        # (else `python3`), not from spark.pyspark.python: without this, mapInPandas in local
        # mode runs the system's Python, which lacks this project's packages (and pyarrow)
        session.sparkContext.pythonExec = sys.executable
    return adopt_session(session)


def adopt_session(session: SparkSession) -> SparkSession:
    """Set an existing session (a notebook's, ``spark-submit``'s) as this project needs it.

    The runtime settings of :data:`REQUIRED_CONF` are set on the session; nothing else of the
    caller's session is changed.
    """
    for key, value in REQUIRED_CONF.items():
        session.conf.set(key, value)
    if not _is_connect(session):
        session.sparkContext.setLogLevel("ERROR")
    return session


def _is_connect(session: object) -> bool:
    return type(session).__module__.startswith("pyspark.sql.connect")
