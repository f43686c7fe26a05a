"""The person-level files retention deletes besides database rows.

- The issued-flags ledger ``VRU_HOME/flags/issued/issued-<day>.jsonl`` (``vru flags generate``
  keeps it to count capacity): a file whose every flag is past the period is deleted; one with
  some is rewritten without them, atomically (a temporary file renamed over it).
- The materialised moments ``VRU_HOME/flags/moments-<day>/`` (and a leftover
  ``.moments-<day>.tmp/``): deleted when ``<day>``, the last day they hold, is past the period.
- Cached feature tables: ``vru train``'s ``VRU_HOME/features/*.parquet`` and DuckDB's scratch
  files under ``VRU_HOME/cache``, deleted when last written before the cut-off (they are
  rebuilt when needed).
- Person-level predictions of training runs: ``predictions.parquet`` under the MLflow artifact
  root when it is a local folder (``VRU_HOME/mlartifacts`` by default): every test fold's young
  people with their day, scores, outcome labels and whether they were flagged (the fairness
  audit's data, logged by :mod:`~vru_risk.training.tracking`). A file is deleted when the newest
  as_of it holds is before the cut-off: its version can then no longer be re-audited, but its
  fairness report (aggregates) and the model (no person-level rows) stay.

:func:`plan_files` finds them and checks that each can be read and deleted, before anything is;
:func:`delete_files` deletes, counting as it goes.

Example
-------
>>> day_of("moments-2026-03-02"), day_of(".moments-2026-03-02.tmp"), day_of("notes")
(datetime.date(2026, 3, 2), datetime.date(2026, 3, 2), None)
"""

from __future__ import annotations

import datetime as dt
import os
import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Final
from urllib.parse import urlparse
from urllib.request import url2pathname

from vru_risk.flags.ledger import ISSUED_GLOB, line_as_of, write_lines
from vru_risk.models.artifacts import PREDICTIONS_FILE
from vru_risk.store.users import UserInputError

if TYPE_CHECKING:
    from vru_risk.settings import Settings

_DAY: Final = re.compile(r"(\d{4}-\d{2}-\d{2})")
MOMENTS_PREFIX: Final = "moments-"


class RetentionError(UserInputError):
    """A retention run that cannot go ahead (or stopped); the message says what to do."""


def day_of(name: str) -> dt.date | None:
    """The ISO date in a file or folder name, if any."""
    found = _DAY.search(name)
    if found is None:
        return None
    try:
        return dt.date.fromisoformat(found.group(1))
    except ValueError:
        return None


def local_folder(uri: str | None) -> Path | None:
    """The folder of a ``file:`` URI or plain path; None for a remote store (or none).

    >>> local_folder("file:///srv/vru/mlartifacts"), local_folder("s3://bucket/vru")
    (PosixPath('/srv/vru/mlartifacts'), None)
    """
    if not uri:
        return None
    parsed = urlparse(uri)
    if parsed.scheme == "file":
        return Path(url2pathname(parsed.path))
    return Path(uri) if parsed.scheme == "" else None


@dataclass(frozen=True)
class RetentionFolders:
    """Where the person-level files are."""

    issued: Path
    moments: Path
    caches: tuple[Path, ...]
    #: the MLflow artifact root, when it is a local folder
    artifacts: Path | None = None

    @classmethod
    def of(cls, settings: Settings) -> RetentionFolders:
        """The folders of ``settings`` (under VRU_HOME, and the MLflow artifact root)."""
        return cls(
            issued=settings.issued_dir,
            moments=settings.flags_dir,
            caches=(settings.features_dir, settings.cache_dir),
            artifacts=local_folder(settings.artifact_root),
        )


@dataclass(frozen=True)
class LedgerChange:
    """A ledger file with expired lines: deleted (``keep`` None) or rewritten with ``keep``."""

    path: Path
    expired: int
    keep: tuple[str, ...] | None


@dataclass(frozen=True)
class FilePlan:
    """The files a retention run deletes or rewrites."""

    ledgers: tuple[LedgerChange, ...] = ()
    moments: tuple[Path, ...] = ()
    cached: tuple[Path, ...] = ()
    predictions: tuple[Path, ...] = ()


@dataclass
class FileCounts:
    """What :func:`delete_files` did (or a plan would do)."""

    ledger_lines: int = 0
    ledger_files_deleted: int = 0
    ledger_files_rewritten: int = 0
    moments_folders: int = 0
    cached_files: int = 0
    prediction_files: int = 0
    problems: list[str] = field(default_factory=list)

    @classmethod
    def of(cls, plan: FilePlan) -> FileCounts:
        return cls(
            ledger_lines=sum(c.expired for c in plan.ledgers),
            ledger_files_deleted=sum(c.keep is None for c in plan.ledgers),
            ledger_files_rewritten=sum(c.keep is not None for c in plan.ledgers),
            moments_folders=len(plan.moments),
            cached_files=len(plan.cached),
            prediction_files=len(plan.predictions),
        )

    def summary(self) -> str:
        return (
            f"{self.ledger_lines} ledger line(s) ({self.ledger_files_deleted} file(s) deleted, "
            f"{self.ledger_files_rewritten} rewritten), {self.moments_folders} moments "
            f"folder(s), {self.cached_files} cached feature file(s), {self.prediction_files} "
            "MLflow prediction file(s)"
        )


def _ledger_change(path: Path, cutoff: dt.date) -> LedgerChange | None:
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise RetentionError(
            f"the issued-flags ledger {path} cannot be read ({exc}); nothing was deleted. Fix "
            "or remove the file (it holds flags issued on one day), then run retention again"
        ) from None
    keep: list[str] = []
    expired = 0
    for line in lines:
        if not line.strip():
            continue
        as_of = line_as_of(line)
        if as_of is None:
            keep.append(line)  # not a flag this run can date: kept, and so not lost
            continue
        if as_of < cutoff:
            expired += 1
        else:
            keep.append(line)
    if expired == 0:
        return None
    return LedgerChange(path, expired, tuple(keep) if keep else None)


def newest_as_of(path: Path) -> dt.date | None:
    """The newest as_of in a predictions file (None when it holds no rows); RetentionError
    when it cannot be read or holds no as_of column."""
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    try:
        newest = pc.max(pq.read_table(path, columns=["as_of"])["as_of"]).as_py()
        if newest is None or isinstance(newest, dt.datetime):
            return None if newest is None else newest.date()
        return newest if isinstance(newest, dt.date) else dt.date.fromisoformat(str(newest))
    except (OSError, ValueError) as exc:  # pyarrow's errors derive from these
        raise RetentionError(
            f"the training predictions {path} cannot be dated ({str(exc)[:200]}); nothing was "
            "deleted. They hold young people's scores and labels: remove the file (or its "
            "MLflow run) if it is not a readable Parquet file with an as_of column, then run "
            "retention again"
        ) from None


def _deletable(path: Path) -> None:
    """Refuse (RetentionError) a path this process may not delete."""
    folders = [path.parent, *([path] if path.is_dir() and not path.is_symlink() else [])]
    for folder in folders:
        if not os.access(folder, os.W_OK | os.X_OK):
            raise RetentionError(
                f"{path} is past the retention period but this user may not delete it (no "
                f"write permission on {folder}); nothing was deleted. Run retention as the "
                "account that owns VRU_HOME"
            )


def plan_files(folders: RetentionFolders, cutoff: dt.date) -> FilePlan:
    """The ledger files, moments folders and cached files past ``cutoff``, each checked to be
    readable and deletable (RetentionError naming the first that is not)."""
    ledgers = []
    if folders.issued.is_dir():
        for path in sorted(folders.issued.glob(ISSUED_GLOB)):
            change = _ledger_change(path, cutoff)
            if change is not None:
                ledgers.append(change)
    moments = []
    if folders.moments.is_dir():
        for path in sorted(folders.moments.iterdir()):
            name = path.name.removeprefix(".")
            day = day_of(name)
            if name.startswith(MOMENTS_PREFIX) and path.is_dir() and day and day < cutoff:
                moments.append(path)
    before = dt.datetime.combine(cutoff, dt.time()).timestamp()  # local midnight
    cached: list[Path] = []
    for root in folders.caches:
        if root.is_dir():
            cached.extend(
                p for p in sorted(root.rglob("*")) if p.is_file() and p.stat().st_mtime < before
            )
    predictions: list[Path] = []
    if folders.artifacts is not None and folders.artifacts.is_dir():
        for path in sorted(folders.artifacts.rglob(PREDICTIONS_FILE)):
            newest = newest_as_of(path) if path.is_file() else None
            if newest is not None and newest < cutoff:
                predictions.append(path)
    plan = FilePlan(tuple(ledgers), tuple(moments), tuple(cached), tuple(predictions))
    for change in plan.ledgers:
        _deletable(change.path)
    for path in (*plan.moments, *plan.cached, *plan.predictions):
        _deletable(path)
    return plan


def delete_files(plan: FilePlan, done: FileCounts) -> None:
    """Delete (and rewrite) what ``plan`` names, counting into ``done`` as it goes; an
    OSError stops it (``done`` then says what was deleted before)."""
    for change in plan.ledgers:
        if change.keep is None:
            change.path.unlink(missing_ok=True)
            done.ledger_files_deleted += 1
        else:
            write_lines(change.path, change.keep)
            done.ledger_files_rewritten += 1
        done.ledger_lines += change.expired
    for folder in plan.moments:
        shutil.rmtree(folder)
        done.moments_folders += 1
    for path in plan.cached:
        path.unlink(missing_ok=True)
        done.cached_files += 1
    for path in plan.predictions:
        path.unlink(missing_ok=True)
        done.prediction_files += 1
