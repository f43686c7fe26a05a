"""The teachable moments the daily job materialised, kept in memory for scoring one moment per
request.

``vru flags generate`` writes each day's moments under ``VRU_HOME/flags/moments-<day>/``; the
server reads a folder on first use (:class:`MomentStore`), checks it against the model in
service and indexes it by (person, day), so that scoring a person never scans raw tables and
costs no pandas per request.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import logging
import threading
from collections import OrderedDict
from pathlib import Path
from typing import Final

from vru_risk.features.moments import MomentsError, load_moments
from vru_risk.flags.score import MomentRows
from vru_risk.models.risk_model import FrameMismatchError, RiskModel

log = logging.getLogger("vru_risk.serving")


class MomentStore:
    """The teachable moments the daily job materialised (``VRU_HOME/flags/moments-<day>/``),
    read on first use and kept in memory (the newest few folders) as :class:`MomentRows` checked
    against the model in service, with an index by (person, day): scoring a person never scans
    raw tables, and costs no pandas per request. A folder is re-read when the daily job
    rewrites it, and its rows are rebuilt when the model in service changes.
    """

    PREFIX: Final = "moments-"

    def __init__(self, root: Path, *, keep: int = 4) -> None:
        self.root = root
        self.keep = keep
        self._lock = threading.Lock()
        self._cache: OrderedDict[tuple[Path, str], tuple[int, MomentRows, _Index]] = OrderedDict()
        self._day_cache: dict[Path, tuple[int, tuple[dt.date, ...]]] = {}
        self._folders: tuple[int, tuple[tuple[dt.date, Path], ...]] | None = None
        self._failed: dict[tuple[Path, str], tuple[int, str]] = {}

    def _listing(self, *, fresh: bool = False) -> tuple[tuple[dt.date, Path], ...]:
        """The moments folders, newest last day first (re-listed when the root changes, or
        when ``fresh``: a folder replaced within one tick of the clock leaves the root's time
        unchanged)."""
        try:
            stamp = self.root.stat().st_mtime_ns
        except OSError:
            return ()
        if not fresh and self._folders is not None and self._folders[0] == stamp:
            return self._folders[1]
        found = []
        for directory in self.root.iterdir():
            if not directory.name.startswith(self.PREFIX) or not directory.is_dir():
                continue
            try:
                last = dt.date.fromisoformat(directory.name.removeprefix(self.PREFIX))
            except ValueError:
                continue
            found.append((last, directory))
        listing = tuple(sorted(found, reverse=True))
        self._folders = (stamp, listing)
        return listing

    def _days(self, directory: Path) -> tuple[dt.date, ...]:
        """The days a folder holds (from its moments.json, re-read when it changes)."""
        meta_path = directory / "moments.json"
        try:
            stamp = meta_path.stat().st_mtime_ns
            cached = self._day_cache.get(directory)
            if cached is not None and cached[0] == stamp:
                return cached[1]
            meta = json.loads(meta_path.read_text(encoding="utf-8"))
            days = tuple(dt.date.fromisoformat(d) for d in meta["days"])
        except (OSError, ValueError, KeyError, TypeError):
            return ()
        self._day_cache[directory] = (stamp, days)
        return days

    def _load(self, directory: Path, model: RiskModel) -> tuple[MomentRows, _Index]:
        """The folder's rows checked against ``model`` and their index; raises
        :class:`MomentsUnavailableError` (remembered until the folder changes) when it cannot
        be read or does not fit the model."""
        stamp = (directory / "moments.json").stat().st_mtime_ns
        key = (directory, model.content_hash)
        failed = self._failed.get(key)
        if failed is not None and failed[0] == stamp:
            raise MomentsUnavailableError(failed[1])
        cached = self._cache.get(key)
        if cached is not None and cached[0] == stamp:
            self._cache.move_to_end(key)
            return cached[1], cached[2]
        try:
            rows = MomentRows.of(model, load_moments(directory))
        except (MomentsError, OSError, ValueError, KeyError) as exc:
            why = (
                "its features do not fit the model in service"
                if isinstance(exc, FrameMismatchError | KeyError)
                else "it cannot be read"
            )
            detail = (
                "; ".join(exc.problems)
                if isinstance(exc, FrameMismatchError)
                else str(exc).splitlines()[0]
            )
            reason = f"{directory.name}: {why} ({detail[:300]})"
            log.warning("materialised moments %s", reason)
            self._failed[key] = (stamp, reason)
            raise MomentsUnavailableError(reason) from None
        rows.inputs.x.flags.writeable = False  # shared by every request: never changed
        index = {(p, d): k for k, (p, d) in enumerate(zip(rows.person_id, rows.as_of, strict=True))}
        self._failed.pop(key, None)
        self._cache[key] = (stamp, rows, index)
        while len(self._cache) > self.keep:
            self._cache.popitem(last=False)
        return rows, index

    def preload(self, model: RiskModel) -> None:
        """Read the newest folder for ``model`` now (at startup), so that the first score does
        not load it while other scores wait; a folder that cannot be used is logged."""
        with self._lock:
            for _, directory in self._listing()[:1]:
                # a failure is logged by _load, and said again to whoever asks for that day
                with contextlib.suppress(MomentsUnavailableError, OSError):
                    self._load(directory, model)

    def find(self, model: RiskModel, person_id: str, as_of: dt.date) -> MomentRows | None:
        """The one moment of ``person_id`` known on ``as_of`` (one row, checked against
        ``model``), from the newest folder that holds the day; None when the daily job
        materialised no such moment.

        Raises :class:`MomentsUnavailableError` when the moment was not found and a folder
        holding the day could not be used (unreadable, or features that do not fit ``model``).
        """
        with self._lock:
            problems: list[str] = []
            for fresh in (False, True):
                for last, directory in self._listing(fresh=fresh):
                    if last < as_of or as_of not in self._days(directory):
                        continue
                    try:
                        rows, index = self._load(directory, model)
                    except MomentsUnavailableError as exc:
                        problems.append(str(exc))
                        continue
                    position = index.get((person_id, as_of))
                    if position is not None:
                        return rows.take([position])
                if problems:
                    break
            if problems:
                raise MomentsUnavailableError("; ".join(dict.fromkeys(problems)))
        return None


class MomentsUnavailableError(Exception):
    """A materialised moments folder that holds the day asked for cannot be used."""


_Index = dict[tuple[str, dt.date], int]
