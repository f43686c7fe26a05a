"""Session folders made once per test run, even when pytest-xdist runs it on several workers.

A session fixture runs once per process: with ``pytest -n 2`` each worker would generate the
county, build its features and train the shared version for itself. :func:`made_once` makes
such a folder once: without workers, in the session's own temporary folder; with workers, in the
run's temporary root that they share (``getbasetemp().parent``, the controller's numbered
``pytest-N`` folder, new for each run), under a file lock. The first worker that needs it makes
it while the others wait for the lock, then every worker reads the same folder. A folder is
complete once its marker is written; one left half-made (its worker failed or was killed) is
removed and made again by the next worker that needs it.

What lives in a shared folder is made before the marker and never written after it: tests copy
what they change (as :func:`tests.trained.copy_home` copies the trained home).
"""

from __future__ import annotations

import fcntl
import os
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
from xdist.scheduler import LoadFileScheduling

#: written last into a folder made by :func:`made_once`: the folder is complete
MARKER = ".made-once"


def xdist_worker() -> str | None:
    """This process's pytest-xdist worker id (``gw0``, ...), or None without workers."""
    return os.environ.get("PYTEST_XDIST_WORKER")


def made_once(factory: pytest.TempPathFactory, name: str, make: Callable[[Path], None]) -> Path:
    """The folder ``name`` filled by ``make(folder)``, made once for this test run."""
    if xdist_worker() is None:
        folder = factory.mktemp(name)
        make(folder)
        return folder
    shared = factory.getbasetemp().parent / "made-once"
    shared.mkdir(exist_ok=True)
    folder = shared / name
    with (shared / f"{name}.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes (or the worker dies)
        if not (folder / MARKER).is_file():
            shutil.rmtree(folder, ignore_errors=True)  # half-made by a worker that failed
            folder.mkdir()
            make(folder)
            (folder / MARKER).touch()
    return folder


#: the session fixtures that take minutes to make, costliest first (each needs the next)
COSTLIEST = ("trained_home", "county_features", "county")


def spark_file(nodeid: str) -> bool:
    """Whether a test id is of a Spark test file: ``test_*spark*.py`` (the ``spark`` fixture
    refuses a test of any other file, :func:`tests.spark.spark`)."""
    name = nodeid.split("::", 1)[0].rsplit("/", 1)[-1]
    return name.startswith("test_") and "spark" in name


class LoadFileOneSpark(LoadFileScheduling):
    """pytest-xdist's ``--dist loadfile``, with every Spark test file in one unit of work.

    Each worker that runs a Spark test starts its own JVM (a local session, about a GiB) and
    warms it up (Spark's first statements of a session take two to three times as long as the
    same statements later): one worker runs them all, in one session.
    """

    def _split_scope(self, nodeid: str) -> str:
        return "spark tests" if spark_file(nodeid) else super()._split_scope(nodeid)


def costliest_files_first(items: list[pytest.Item]) -> None:
    """Order the test files (keeping each file's tests together, in order) by the costliest
    session fixture any of their tests uses, those using none last; the Spark files second.

    pytest-xdist (``--dist loadfile --no-loadscope-reorder``) hands the files out in this order
    as workers free up: the files that wait for the county and the trained version start first
    instead of being handed out last, when the other worker has nothing left to do. The Spark
    files (one unit, :class:`LoadFileOneSpark`, minutes long and needing none of those
    fixtures) go to the second worker at once, while the first makes the county.
    """

    def rank(item: pytest.Item) -> int:
        used = set(getattr(item, "fixturenames", ()))
        return next((i for i, name in enumerate(COSTLIEST) if name in used), len(COSTLIEST))

    def file_of(item: pytest.Item) -> str:
        return item.nodeid.split("::", 1)[0]

    ranks: dict[str, int] = {}
    for item in items:
        ranks[file_of(item)] = min(ranks.get(file_of(item), len(COSTLIEST)), rank(item))
    items.sort(key=lambda item: ranks[file_of(item)])  # stable: collection order within a rank
    first = file_of(items[0]) if items else ""
    spark = [item for item in items if spark_file(item.nodeid)]
    if spark and not spark_file(first):
        rest = [item for item in items if not spark_file(item.nodeid)]
        cut = next((i for i, item in enumerate(rest) if file_of(item) != first), len(rest))
        items[:] = rest[:cut] + spark + rest[cut:]
