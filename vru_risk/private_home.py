"""``VRU_HOME`` private to the account that runs vru-risk: it holds person-level data (the
application database with its WAL, the audit head, flags, materialised moments, feature caches,
reports, MLflow's store and artifacts).

The ``vru`` command and each server process set a process-wide umask of 077
(:data:`PRIVATE_UMASK`) before they write anything, so every folder they create is 0700 and
every file 0600, whichever library writes it (SQLite, DuckDB, MLflow, pyarrow). A home that
already exists with looser permissions (made before, or by hand) is tightened at start by
:func:`tighten_home`, which says what it changed.

Example
-------
>>> import os, tempfile
>>> home = Path(tempfile.mkdtemp())
>>> (home / "app.db").write_text("")
0
>>> os.chmod(home, 0o755); os.chmod(home / "app.db", 0o644)
>>> tighten_home(home)[0].endswith("was 0755, now 0700")
True
>>> oct(home.stat().st_mode & 0o777), oct((home / "app.db").stat().st_mode & 0o777)
('0o700', '0o600')
>>> tighten_home(home)
[]
"""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import Final

#: group and others get nothing on what the process creates
PRIVATE_UMASK: Final = 0o077


def current_umask() -> int:
    """The process's umask, read without changing it where the system says it (Linux); else
    set and restored at once.

    >>> current_umask() == (os.umask(current_umask()) & 0o777)
    True
    """
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    mask = os.umask(PRIVATE_UMASK)  # never more open than private, even for that instant
    os.umask(mask)
    return mask


def folder_mode() -> int:
    """The mode ``mkdir`` gives a new folder under the current umask (for folders made by
    ``tempfile.mkdtemp``, always 0700, that become ordinary folders)."""
    return 0o777 & ~current_umask()


def tighten_home(home: Path) -> list[str]:
    """Make an existing ``home`` private: the folder 0700, and group and others' permissions
    removed from everything under it (symbolic links are not followed). Returns what changed,
    one sentence each (nothing when it was private already or does not exist); a permission
    that cannot be changed is reported the same way, with what to run."""
    try:
        mode = stat.S_IMODE(home.stat().st_mode)
    except FileNotFoundError:
        return []
    if not mode & 0o077:
        return []
    try:
        home.chmod((mode & ~0o077) | 0o700)
    except OSError as exc:
        return [
            f"{home} is open to other local users (mode {mode:04o}) and cannot be changed "
            f"({exc.strerror}): run `chmod -R go-rwx {home}` as its owner"
        ]
    changed, failed = 0, 0
    for root, folders, files in os.walk(home):  # (Path.walk is Python 3.12+)
        for name in (*folders, *files):
            path = Path(root) / name
            try:
                info = path.lstat()
                if stat.S_ISLNK(info.st_mode) or not info.st_mode & 0o077:
                    continue
                path.chmod(stat.S_IMODE(info.st_mode) & ~0o077)
                changed += 1
            except OSError:
                failed += 1
    notes = [f"{home} was open to other local users: was {mode:04o}, now 0700"]
    if changed:
        notes.append(
            f"{changed} file(s) and folder(s) under it are no longer open to group or others"
        )
    if failed:
        notes.append(
            f"{failed} file(s) under it could not be changed: run `chmod -R go-rwx {home}` as "
            "their owner"
        )
    return notes
