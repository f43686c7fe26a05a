"""Exclusive locks between processes on a lock file (``flock``): the one way the review log, the
audit log's files and process, and ``vru flags load`` serialise their writers.

The lock is held on an open descriptor of the lock file, created owner-only if missing and
never written; closing the descriptor releases it, so a killed process never leaves a lock
behind. A failure says which step failed: :class:`LockFileError` (the file cannot be opened)
or :class:`LockFailedError` (it was opened and cannot be locked), both ``OSError`` whose text is
the system's; without waiting, a lock another process holds raises ``BlockingIOError``.

Example
-------
>>> import pathlib, tempfile
>>> path = pathlib.Path(tempfile.mkdtemp()) / "sub" / "x.lock"
>>> with exclusive_lock(path):
...     with exclusive_lock(path, wait=False):
...         pass
Traceback (most recent call last):
...
BlockingIOError: [Errno 11] Resource temporarily unavailable
"""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


class LockFileError(OSError):
    """The lock file cannot be opened (or created, or its folder made)."""


class LockFailedError(OSError):
    """The lock file was opened but cannot be locked (other than held by another process)."""


@contextmanager
def exclusive_lock(path: Path, *, wait: bool = True) -> Iterator[None]:
    """Hold an exclusive ``flock`` on ``path`` (its folder and the file made if missing, the
    file owner-only) until the block ends; wait for it, or with ``wait=False`` raise
    ``BlockingIOError`` at once when another process holds it."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_RDONLY | os.O_CREAT, 0o600)
    except OSError as exc:
        raise LockFileError(exc.errno, exc.strerror, exc.filename) from None
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX if wait else fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise
        except OSError as exc:
            raise LockFailedError(exc.errno, exc.strerror) from None
        yield
    finally:
        os.close(fd)  # closing releases the lock
