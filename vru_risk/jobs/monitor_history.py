"""The monitoring runs on disk, for the pages: each version's runs over time, the file of one
run's full report, and the panel's open items.

``vru monitor`` writes ``VRU_HOME/monitoring/vru-risk-v{N}/{as-of}/report.json`` (and
``report.html``); this module finds them and parses them with
:func:`vru_risk.monitoring.history.parse_report`. A run folder whose report cannot be read is
listed as unreadable with why, never a server error. A run is named by its as-of date: any other
name (``..``, a path, a date that does not exist) is refused before a path is made, and a path
that resolves outside ``VRU_HOME/monitoring`` (a symbolic link) is never served.

Example
-------
>>> run_day("2026-06-30").isoformat()
'2026-06-30'
>>> try:
...     run_day("../../etc")
... except BadRunError as exc:
...     print(str(exc)[:60])
'../../etc' is not a monitoring run: a run is named by its a
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Final

from vru_risk.jobs.common import JobError
from vru_risk.jobs.monitor_data import monitoring_dir, version_monitoring_dir
from vru_risk.models.registry import CHAMPION, Registry, RegistryError
from vru_risk.models.review_log import ReviewEntry, ReviewLog, ReviewLogError, service_status
from vru_risk.models.tags import CONTENT_HASH_TAG
from vru_risk.monitoring.history import ReportFormatError, RunSummary, parse_report
from vru_risk.monitoring.open_items import OpenItem, open_items
from vru_risk.settings import Settings

RUN_NAME: Final = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
VERSION_FOLDER: Final = re.compile(r"vru-risk-v([1-9][0-9]{0,8})")


class BadRunError(JobError):
    """A run named by something that is not a date (the request is wrong: 422)."""


class NoRunError(JobError):
    """No such run, or nothing to show (404)."""


def run_day(text: str) -> date:
    """The as-of date a run's name stands for, or :class:`BadRunError`."""
    try:
        if RUN_NAME.fullmatch(text):
            return date.fromisoformat(text)
    except ValueError:
        pass
    raise BadRunError(
        f"{text[:40]!r} is not a monitoring run: a run is named by its as-of date, YYYY-MM-DD "
        "(for example 2026-06-30)"
    )


def monitor_command(version: int) -> str:
    return f"`vru monitor --version {version} --data DATA_DIR`"


@dataclass(frozen=True)
class UnreadableRun:
    as_of: str
    problem: str


@dataclass(frozen=True)
class VersionHistory:
    version: int
    #: the runs that could be read, oldest first
    runs: tuple[RunSummary, ...]
    unreadable: tuple[UnreadableRun, ...]

    @property
    def latest(self) -> RunSummary | None:
        return self.runs[-1] if self.runs else None


def _read(path: Path, version: int, day: date) -> RunSummary:
    """One run's summary; ReportFormatError or OSError/ValueError when it cannot be read."""
    written = datetime.fromtimestamp(path.stat().st_mtime, tz=UTC)
    run = parse_report(json.loads(path.read_text(encoding="utf-8")), written_at=written)
    if run.version != version or run.as_of != day:
        raise ReportFormatError(
            f"it describes version {run.version} as of {run.as_of}, but is filed as version "
            f"{version} as of {day}: it was moved by hand; run `vru monitor` again"
        )
    return run


def version_history(settings: Settings, version: int) -> VersionHistory:
    """Every run of ``version`` on disk (folders that are not dates are ignored)."""
    folder = version_monitoring_dir(settings, version)
    runs: list[RunSummary] = []
    unreadable: list[UnreadableRun] = []
    children = sorted(folder.iterdir()) if folder.is_dir() else []
    for child in children:
        try:
            day = run_day(child.name)
        except BadRunError:
            continue
        if not child.is_dir():
            continue
        path = child / "report.json"
        try:
            runs.append(_read(path, version, day))
        except FileNotFoundError:
            unreadable.append(UnreadableRun(child.name, "its report.json is missing"))
        except (OSError, ValueError) as exc:  # ReportFormatError and bad JSON are ValueErrors
            unreadable.append(UnreadableRun(child.name, f"its report.json cannot be read: {exc}"))
    return VersionHistory(version, tuple(runs), tuple(unreadable))


def versions_with_runs(settings: Settings) -> list[int]:
    """The versions that have a monitoring folder, in order."""
    root = settings.home / "monitoring"
    found = []
    for child in root.iterdir() if root.is_dir() else []:
        m = VERSION_FOLDER.fullmatch(child.name)
        if m and child.is_dir():
            found.append(int(m.group(1)))
    return sorted(found)


def run_report(settings: Settings, version: int, run: str) -> Path:
    """The ``report.html`` of ``version``'s run named ``run`` (its as-of date)."""
    day = run_day(run)
    root = (settings.home / "monitoring").resolve()
    path = monitoring_dir(settings, version, day) / "report.html"
    resolved = path.resolve()
    if not resolved.is_relative_to(root) or not resolved.is_file():
        raise NoRunError(
            f"version {version} has no monitoring run as of {day.isoformat()}: runs are made "
            f"with {monitor_command(version)} --as-of {day.isoformat()}"
        )
    return resolved


@dataclass(frozen=True)
class Agenda:
    """What the panel has to act on: open items of the versions in service."""

    items: tuple[OpenItem, ...]
    in_service: tuple[int, ...]
    #: why the review log or the registry could not be read ("" when they could)
    problem: str = ""


def in_service(registry: Registry, entries: list[ReviewEntry]) -> tuple[int, ...]:
    """The versions in service: the champion, while the review log approves its content hash
    and has not suspended it."""
    champion = registry.alias(CHAMPION)
    if champion is None:
        return ()
    status = service_status(entries, champion.version, champion.tags.get(CONTENT_HASH_TAG, ""))
    return (champion.version,) if status.usable else ()


def agenda(settings: Settings) -> Agenda:
    """The open items of every version in service (see :func:`open_items`)."""
    try:
        entries = ReviewLog(settings.review_log_path).entries()
        serving = in_service(Registry(settings.tracking_uri), entries)
    except (ReviewLogError, RegistryError) as exc:
        return Agenda((), (), f"open items cannot be worked out: {exc}")
    latest = [h.latest for v in serving if (h := version_history(settings, v)).latest]
    return Agenda(tuple(open_items(latest, entries)), serving)
