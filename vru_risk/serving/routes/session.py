"""Signing in and out (pages): the login form, rate-limited, CSRF-protected.

The sign-in form is the one POST read before anyone is authenticated (its body is small, and
under the same size limit as every other).
"""

from __future__ import annotations

import logging
import math
from typing import Annotated, Final

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.exc import SQLAlchemyError

from vru_risk.serving.auth import (
    clear_session_cookie,
    csrf_matches,
    set_session_cookie,
)
from vru_risk.serving.deps import AnyPageUser, Csrf, Db, PageSession, State
from vru_risk.serving.login_limits import Why
from vru_risk.serving.routes.common import HOME, render, render_error
from vru_risk.store.users import authenticate

router = APIRouter(tags=["session"], include_in_schema=False)
log = logging.getLogger("vru_risk.serving")

#: which limit refused a sign-in, as the 429 page says it
_TOO_MANY: Final[dict[Why, str]] = {
    "username and address": "for this username from this computer",
    "username": "for this username from computers it was never used on",
    "address": "from this computer or its network",
    "": "",
}


def _safe_next(target: str) -> str:
    """Only a path on this site (no scheme, no host, no //host): an open redirect otherwise."""
    if not target.startswith("/") or target.startswith("//") or "\\" in target:
        return ""
    return target


@router.get("/")
def home(user: AnyPageUser) -> RedirectResponse:
    """Each role's start page."""
    return RedirectResponse(HOME[user.role], status_code=303)


@router.get("/login")
def login_page(request: Request, state: State, session: PageSession, next: str = "") -> Response:
    """The sign-in form (with an anonymous session holding its CSRF token)."""
    if session is None:
        session = state.codec.new(None)
    request.state.csrf_token = session.csrf
    response = render(
        request,
        "login.html.j2",
        {"title": "Sign in", "error": "", "username": "", "next_path": _safe_next(next)},
    )
    set_session_cookie(response, state.codec, session, secure=state.settings.secure_cookies)
    return response


@router.post("/login")
def login(
    request: Request,
    state: State,
    db: Db,
    session: PageSession,
    username: Annotated[str, Form(max_length=200)] = "",
    password: Annotated[str, Form(max_length=1000)] = "",
    csrf_token: Annotated[str, Form(max_length=200)] = "",
    next: Annotated[str, Form(max_length=2000)] = "",
) -> Response:
    """Check the password (argon2) unless this username or client failed too often."""
    fresh = session or state.codec.new(None)
    request.state.csrf_token = fresh.csrf
    context = {"title": "Sign in", "username": username, "next_path": _safe_next(next)}

    def again(status: int, error: str) -> Response:
        response = render(request, "login.html.j2", {**context, "error": error}, status_code=status)
        set_session_cookie(response, state.codec, fresh, secure=state.settings.secure_cookies)
        return response

    if not csrf_matches(session, csrf_token):
        return again(
            403,
            "The sign-in form had expired or was not sent from this site. Enter your username "
            "and password again.",
        )
    client = request.client.host if request.client else "unknown"
    try:  # counted before the password is checked: parallel attempts cannot slip past the limit
        attempt = state.limiter.attempt(username, client)
    except SQLAlchemyError:
        log.exception("a sign-in attempt could not be recorded")
        return again(
            503,
            "Signing in is unavailable for a moment (the attempt could not be recorded). Try "
            "again shortly; if it persists, tell your administrator.",
        )
    if not attempt.allowed:
        return again(
            429,
            f"Too many failed sign-in attempts {_TOO_MANY[attempt.why]}. Wait "
            f"{math.ceil(attempt.wait_seconds)} seconds and try again; if you have forgotten "
            "your password, ask your administrator to reset it.",
        )
    # a NUL byte can be in no username (PostgreSQL refuses it in text: a 500 otherwise)
    user = (
        None
        if "\x00" in username
        else authenticate(db, username.strip(), password, rehash_in=state.write_sessions)
    )
    if user is None:
        return again(
            401,
            "The username or password is not right, or the account is disabled. Check them and "
            "try again.",
        )
    try:
        state.limiter.succeeded(attempt)
    except SQLAlchemyError:  # the attempt keeps counting for a minute: not worth refusing for
        log.exception("a successful sign-in's attempt could not be removed")
    if session is not None and session.user_id is not None:
        # signing in over a signed-in session (a shared computer) ends that one for good
        try:
            state.signed_out.add(session)
        except SQLAlchemyError:
            log.exception("the session signed in over could not be ended")
    # a fresh token (no session fixation), under the user's current credentials generation
    signed_in = state.codec.new(user.id, generation=user.generation)
    response = RedirectResponse(_safe_next(next) or HOME[user.role], status_code=303)
    set_session_cookie(response, state.codec, signed_in, secure=state.settings.secure_cookies)
    return response


@router.post("/logout")
def logout(
    request: Request, _user: AnyPageUser, _csrf: Csrf, state: State, session: PageSession
) -> Response:
    """End the session: the cookie is removed and the session refused from now on."""
    response: Response
    try:
        if session is not None:
            state.signed_out.add(session)
    except SQLAlchemyError:
        log.exception("a sign-out could not be recorded")
        response = render_error(
            request,
            503,
            "You are signed out of this browser only: the cookie was removed, but the server "
            "could not record the sign-out, so a copy of the cookie would still work until it "
            "expires. Close the browser if it is shared, and tell your administrator.",
        )
    else:
        response = RedirectResponse("/login", status_code=303)
    clear_session_cookie(response, secure=state.settings.secure_cookies)
    return response
