"""The app's state and its ``Annotated`` dependencies: database sessions, the signed-in user,
roles, CSRF, the audit log and the model in service (:mod:`~vru_risk.serving.model_service`;
the materialised moments it scores are in :mod:`~vru_risk.serving.moment_store`).

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
>>> CSRF_FIELD  # the form field of every page POST, checked by check_csrf
'csrf_token'
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from typing import Annotated

import anyio
import anyio.to_thread
from fastapi import Depends, Form, HTTPException, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from fastapi.templating import Jinja2Templates
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from vru_risk.flags.programmes import Programme, Programmes
from vru_risk.models.review_log import ReviewLog
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
from vru_risk.serving.login_limits import LoginRateLimiter
from vru_risk.serving.model_service import LoadedModel, ModelService, ScoringUnavailableError
from vru_risk.serving.moment_store import MomentStore
from vru_risk.serving.rate_limit import IdentifierRateLimiter
from vru_risk.settings import Settings
from vru_risk.store.review_mirror import mirror_review_log as mirror_review_log
from vru_risk.store.users import Role, UserInfo

log = logging.getLogger("vru_risk.serving")


class LoginRequiredError(Exception):
    """A page needs a signed-in user: the app redirects to /login."""


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
