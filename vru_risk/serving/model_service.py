"""The model in service: the champion loaded through the registry, reloaded when the ethics
panel's review log changes, or why there is none (degraded mode).

A champion is loaded only through :meth:`~vru_risk.models.registry.Registry.load_champion`,
which refuses one without a matching review record or one that was suspended. The review log
is re-read whenever it changes on disk (a stat per request), so a suspension or a new approval
recorded by the CLI takes effect on the next request.

Example
-------
>>> ScoringUnavailableError("no champion", "approve one").args[0]
'no champion'
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from typing import Final

from vru_risk.models.registry import Registry, RegistryError, VersionInfo
from vru_risk.models.review_log import ReviewLog, ReviewLogError, service_status
from vru_risk.models.risk_model import MODEL_NAME, RiskModel
from vru_risk.models.tags import CONTENT_HASH_TAG

log = logging.getLogger("vru_risk.serving")

FIX_CHAMPION: Final = (
    "the ethics panel puts a model into service: read its fairness report, then approve it on "
    "the Model versions page or with `vru review approve --version N --reviewer NAME --reason "
    "TEXT` (a failing fairness gate needs two overrides); the server picks the change up on "
    "the next request"
)


class ScoringUnavailableError(Exception):
    """No usable champion: the message says why, ``fix`` what to do."""

    def __init__(self, reason: str, fix: str) -> None:
        super().__init__(reason)
        self.reason = reason
        self.fix = fix


@dataclass(frozen=True)
class LoadedModel:
    model: RiskModel
    info: VersionInfo
    review_state: str


class ModelService:
    """The champion in service, or why there is none (degraded mode).

    Loaded at startup through :meth:`Registry.load_champion` (refused without a matching review
    record or when suspended). The review log is re-read whenever it changes on disk, so a
    suspension or a new approval recorded by the CLI takes effect on the next request.
    """

    def __init__(self, tracking_uri: str, review_log: ReviewLog) -> None:
        self.tracking_uri = tracking_uri
        self.review_log = review_log
        self._lock = threading.Lock()
        self._loaded: LoadedModel | None = None
        self._problem = "not loaded yet"
        self._seen: tuple[int, int] | None = None

    def _stamp(self) -> tuple[int, int]:
        try:
            stat = self.review_log.path.stat()
        except FileNotFoundError:
            return (0, 0)
        return (stat.st_mtime_ns, stat.st_size)

    def load(self) -> None:
        """(Re)load the champion; on failure keep the reason (never raises)."""
        with self._lock:
            self._load_locked()

    def _load_locked(self) -> None:
        self._seen = self._stamp()
        try:
            registry = Registry(self.tracking_uri)
            model, info = registry.load_champion(self.review_log, threads=1)
            status = service_status(
                self.review_log.entries(), info.version, info.tags.get(CONTENT_HASH_TAG, "")
            )
        except (RegistryError, ReviewLogError) as exc:
            self._loaded, self._problem = None, str(exc)
            log.warning("scoring unavailable (degraded mode): %s. To fix: %s", exc, FIX_CHAMPION)
            return
        self._loaded = LoadedModel(model, info, status.reason)
        self._problem = ""
        log.info("scoring with %s version %s (%s)", MODEL_NAME, info.version, status.reason)

    def current(self) -> LoadedModel:
        """The model in service, or raise :class:`ScoringUnavailableError`."""
        with self._lock:
            if self._stamp() != self._seen:
                self._load_locked()
            if self._loaded is None:
                raise ScoringUnavailableError(self._problem, FIX_CHAMPION)
            return self._loaded

    def cached(self) -> LoadedModel | None:
        """The model in service if it is loaded and the review log has not changed since; None
        otherwise, or while another thread holds the lock (e.g. loading): then use
        :meth:`current`. Never blocks."""
        if not self._lock.acquire(blocking=False):
            return None
        try:
            if self._loaded is None or self._stamp() != self._seen:
                return None
            return self._loaded
        finally:
            self._lock.release()

    def status(self) -> LoadedModel | ScoringUnavailableError:
        try:
            return self.current()
        except ScoringUnavailableError as exc:
            return exc
