"""The app's state and its ``Annotated`` dependencies: database sessions, the signed-in user,
roles, CSRF, the audit log and the model in service.

Dependencies that do no blocking I/O (at most a stat of the review log) are ``async def``
(FastAPI runs them on the event loop, not in a worker thread: a thread hop per dependency costs
more than the check itself); those that query the database stay plain ``def``, and a model
(re)load runs in a worker thread on its own limiter.

Two ways in, never mixed: the JSON API (``/api/...``) authenticates only with a bearer token
(``Authorization: Bearer ...``; anonymous -> 401 JSON), the pages only with the session cookie
(anonymous -> 303 to ``/login``). A cookie never authorises an API call, so the API needs no CSRF
token; every page POST checks one.

Example
-------
>>> ScoringUnavailableError("no champion", "approve one").args[0]
'no champion'
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import logging
import threading
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Final

import anyio
import anyio.to_thread
from fastapi import Depends, Form, HTTPException, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from fastapi.templating import Jinja2Templates
from sqlalchemy import Engine
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from vru_risk.features.moments import MomentsError, load_moments
from vru_risk.flags.flagging import MomentRows
from vru_risk.flags.programmes import Programme, Programmes
from vru_risk.models.registry import Registry, RegistryError, VersionInfo
from vru_risk.models.review_log import ReviewLog, ReviewLogError, service_status
from vru_risk.models.risk_model import MODEL_NAME, FrameMismatchError, RiskModel
from vru_risk.models.tags import CONTENT_HASH_TAG
from vru_risk.serving.access_log.log import AuditLog
from vru_risk.serving.auth import (
    CSRF_FIELD,
    SESSION_COOKIE,
    SessionCodec,
    SessionData,
    SignedOut,
    csrf_matches,
)
from vru_risk.serving.credentials import (
    API_USER,
    PAGE_SESSION,
    PAGE_USER,
    found,
    remember,
    session_user,
    token_user,
)
from vru_risk.serving.db.review_mirror import sync_review_log
from vru_risk.serving.login_limits import LoginRateLimiter
from vru_risk.serving.rate_limit import IdentifierRateLimiter
from vru_risk.serving.users import Role, UserInfo
from vru_risk.settings import Settings

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


class LoginRequiredError(Exception):
    """A page needs a signed-in user: the app redirects to /login."""


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


@dataclass
class AppState:
    """Everything the routes share, built once in the app's lifespan."""

    settings: Settings
    engine: Engine
    sessions: sessionmaker[Session]
    write_sessions: sessionmaker[Session]
    programmes: Programmes
    models: ModelService
    registry_uri: str
    review_log: ReviewLog
    reports_dir: Path
    audit: AuditLog | None
    audit_problem: str
    codec: SessionCodec
    limiter: LoginRateLimiter
    #: requests naming an individual, per user (``routes.limits``)
    identifiers: IdentifierRateLimiter
    signed_out: SignedOut
    templates: Jinja2Templates
    moments: MomentStore
    #: requests waiting for the model to be (re)loaded (one load at a time)
    model_loads: anyio.CapacityLimiter

    def programme(self, programme_id: str) -> Programme | None:
        try:
            return self.programmes.by_id(programme_id)
        except KeyError:
            return None


def mirror_review_log(sessions: sessionmaker[Session], review_log: ReviewLog) -> None:
    """Copy new review-log entries into the database mirror; a broken log is reported, and the
    champion loader (which checks the same chain) has refused it already."""
    for attempt in (1, 2):
        try:
            with sessions.begin() as session:
                sync_review_log(session, review_log)
            return
        except ReviewLogError as exc:
            log.warning("the review log cannot be mirrored: %s", exc)
            return
        except IntegrityError:
            # another server process (``vru serve --workers N``) mirrored the same entries at
            # the same moment: the second pass finds them there
            if attempt == 2:
                raise


async def get_state(request: Request) -> AppState:
    state = request.app.state.vru
    assert isinstance(state, AppState)
    return state


State = Annotated[AppState, Depends(get_state)]


def get_db(state: State) -> Iterator[Session]:
    """A read session (callers that write use :data:`WriteDb`)."""
    with state.sessions() as session:
        yield session


def get_write_db(state: State) -> Iterator[Session]:
    """A session whose transaction takes the write lock first; committed by the route."""
    with state.write_sessions() as session:
        yield session


Db = Annotated[Session, Depends(get_db)]
WriteDb = Annotated[Session, Depends(get_write_db)]

# --- the JSON API: bearer tokens ------------------------------------------------------------

_bearer = HTTPBearer(
    auto_error=False,
    description="An API token: `vru users token USERNAME` issues one (shown once).",
)


async def api_user(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
    state: State,
) -> UserInfo:
    """The user of the request's API token (looked up once: the request guard may have done it
    before reading the body); 401 saying what to do otherwise."""
    known, user = found(request.scope, API_USER)
    if known and isinstance(user, UserInfo):
        return user
    token = None if credentials is None else credentials.credentials
    return await anyio.to_thread.run_sync(token_user, state.sessions, state.write_sessions, token)


def _forbidden(user: UserInfo, roles: tuple[Role, ...]) -> HTTPException:
    allowed = ", ".join(r.replace("_", " ") for r in roles)
    return HTTPException(
        403,
        f"your role ({user.role.replace('_', ' ')}) cannot use this; it is for: {allowed}",
    )


def api_roles(*roles: Role) -> Callable[..., Awaitable[UserInfo]]:
    """A dependency: the token's user, if their role is one of ``roles`` (else 403)."""

    async def dependency(user: Annotated[UserInfo, Depends(api_user)]) -> UserInfo:
        if user.role not in roles:
            raise _forbidden(user, roles)
        return user

    return dependency


# --- the pages: the session cookie ----------------------------------------------------------


def page_session(request: Request, state: State, db: Db) -> SessionData | None:
    """The verified session of the request's cookie (None: missing, forged, expired, ended)."""
    known, session = found(request.scope, PAGE_SESSION)
    if known:
        return session if isinstance(session, SessionData) else None
    session, user = session_user(
        db, state.codec, state.signed_out, request.cookies.get(SESSION_COOKIE)
    )
    remember(request.scope, **{PAGE_USER: user})
    return session


PageSession = Annotated[SessionData | None, Depends(page_session)]


async def page_user(request: Request, session: PageSession) -> UserInfo:
    """The signed-in, still active user of a page request (re-read every request; a session
    issued before the user's last password reset is refused)."""
    known, user = found(request.scope, PAGE_USER)
    if session is None or not known or not isinstance(user, UserInfo):
        raise LoginRequiredError
    request.state.csrf_token = session.csrf
    request.state.user = user
    return user


def page_roles(*roles: Role) -> Callable[..., Awaitable[UserInfo]]:
    """A dependency: the signed-in user, if their role is one of ``roles`` (else 403 page)."""

    async def dependency(user: Annotated[UserInfo, Depends(page_user)]) -> UserInfo:
        if user.role not in roles:
            raise _forbidden(user, roles)
        return user

    return dependency


AnyPageUser = Annotated[UserInfo, Depends(page_user)]


async def check_csrf(session: PageSession, csrf_token: Annotated[str, Form()] = "") -> None:
    """Every page POST: the form's token must be the session's (else 403)."""
    if not csrf_matches(session, csrf_token):
        raise HTTPException(
            403,
            "the form's security token is missing or out of date (the session may have ended): "
            "reload the page and submit the form again",
        )


Csrf = Annotated[None, Depends(check_csrf)]
assert CSRF_FIELD == "csrf_token"  # the parameter name above is the form field's name


# --- the audit log and the model ------------------------------------------------------------


async def get_audit(state: State) -> AuditLog:
    """The audit log; without it individual data is refused (503)."""
    if state.audit is None:
        raise HTTPException(503, state.audit_problem)
    return state.audit


Audit = Annotated[AuditLog, Depends(get_audit)]


async def get_model(state: State) -> LoadedModel:
    """The model in service: on the event loop when it is loaded and its review log has not
    changed (a stat), else (re)loaded in a worker thread."""
    loaded = state.models.cached()
    if loaded is not None:
        return loaded
    try:
        # requests waiting for a (re)load wait here, not in the worker threads every other
        # route needs (there are only VRU_REQUEST_THREADS of those)
        return await anyio.to_thread.run_sync(state.models.current, limiter=state.model_loads)
    except ScoringUnavailableError as exc:
        raise HTTPException(
            503, f"scoring is unavailable: {exc.reason}. To fix: {exc.fix}"
        ) from None


Model = Annotated[LoadedModel, Depends(get_model)]
