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


def costliest_files_first(items: list[pytest.Item]) -> None:
    """Order the test files (keeping each file's tests together, in order) by the costliest
    session fixture any of their tests uses, those using none last.

    pytest-xdist (``--dist loadfile --no-loadscope-reorder``) hands the files out in this order
    as workers free up: the files that wait for the county and the trained version start first
    instead of being handed out last, when the other worker has nothing left to do.
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
