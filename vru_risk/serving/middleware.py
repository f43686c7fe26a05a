"""The app's pure ASGI middleware: security headers on every response, and the request guard
(a body-size limit, and authentication of any request that may carry a body before that body is
read: an anonymous 500 MB POST once grew a worker from 370 MB to 1.74 GB before its 401).

Example
-------
>>> api_path("/api/v1/flags"), api_path("/flags")
(True, False)
"""

from __future__ import annotations

from typing import Final

import anyio
import anyio.to_thread
from fastapi import Request
from fastapi.responses import JSONResponse, RedirectResponse, Response
from starlette.datastructures import Headers
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import cookie_parser
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from vru_risk.serving.auth import SESSION_COOKIE, SessionData
from vru_risk.serving.credentials import (
    API_USER,
    PAGE_SESSION,
    PAGE_USER,
    bearer_token,
    remember,
    session_user,
    token_user,
)
from vru_risk.serving.deps import AppState
from vru_risk.serving.routes.common import render_error
from vru_risk.store.users import UserInfo

SECURITY_HEADERS: Final = (
    (
        b"content-security-policy",
        b"default-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
        b"script-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'",
    ),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"same-origin"),
    (b"x-frame-options", b"DENY"),
    (b"cache-control", b"no-store"),
)


#: sent when cookies are Secure (the service is behind TLS): browsers use https only, a year
HSTS: Final = (b"strict-transport-security", b"max-age=31536000")


class SecurityHeaders:
    """Pure ASGI middleware: CSP, no sniffing, no framing, no caching of responses (and HSTS
    behind TLS), on every response: it wraps the whole application, so the 500 of an unhandled
    exception and the answers of every other middleware carry them too.

    Nothing the app serves may be cached by a browser or proxy (it may show an individual);
    static assets are small.
    """

    def __init__(self, app: ASGIApp, *, hsts: bool = False) -> None:
        self.app = app
        self.headers = (*SECURITY_HEADERS, HSTS) if hsts else SECURITY_HEADERS

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                present = {k.lower() for k, _ in headers}
                headers.extend((k, v) for k, v in self.headers if k not in present)
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_with_headers)


class BodyTooLargeError(StarletteHTTPException):
    """A request body past ``VRU_MAX_BODY_BYTES`` (413), raised as soon as it is known."""

    def __init__(self, limit: int) -> None:
        super().__init__(
            413,
            f"the request body is larger than {limit:,} bytes, the most this service reads "
            "(decisions and forms are small): send a smaller one",
        )


#: methods whose requests carry no body the app reads; every other request is authenticated
#: before its body is read, except the sign-in form
_NO_BODY: Final = frozenset({"GET", "HEAD", "OPTIONS"})
_ANONYMOUS_POSTS: Final = frozenset({"/login"})


class RequestGuard:
    """Pure ASGI middleware, before any parsing: a body-size limit and authentication before a
    body is read.

    A request whose ``Content-Length`` is past ``max_body_bytes`` is answered 413 at once; a
    body streamed without a length is counted chunk by chunk and refused (413) as soon as it
    passes the limit. A request that may carry a body (any method but GET, HEAD, OPTIONS;
    except the sign-in form) is authenticated first, without reading it: the API by its bearer
    token (else 401), the pages by the session cookie (else 303 to the sign-in page). What it
    found is kept for the routes' dependencies. A signed-in user whose role may not use the
    route is refused (403) after the body (at most ``max_body_bytes``) was read.
    """

    def __init__(self, app: ASGIApp, *, max_body_bytes: int) -> None:
        self.app = app
        self.limit = max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        length = headers.get("content-length", "")
        if length.isdigit() and int(length) > self.limit:  # (the server checked its syntax)
            await _refuse(scope, receive, send, BodyTooLargeError(self.limit))
            return
        if scope["method"] not in _NO_BODY and scope["path"] not in _ANONYMOUS_POSTS:
            refusal = await _authenticate(scope, headers)
            if refusal is not None:
                await refusal(scope, receive, send)
                return
        read = 0
        started = False

        async def counted() -> Message:
            nonlocal read
            message = await receive()
            if message["type"] == "http.request":
                read += len(message.get("body", b""))
                if read > self.limit:
                    raise BodyTooLargeError(self.limit)
            return message

        async def tracked(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counted, tracked)
        except BodyTooLargeError as exc:  # read outside the routes' exception handlers
            if started:
                raise
            await _refuse(scope, receive, send, exc)


def api_path(path: str) -> bool:
    """Whether a path is the JSON API's (answered in JSON, authenticated by bearer token)."""
    return path.startswith("/api/") or path == "/openapi.json"


async def _refuse(scope: Scope, receive: Receive, send: Send, exc: StarletteHTTPException) -> None:
    """Answer ``exc`` as the app's own handlers would: JSON for the API, a page otherwise."""
    response: Response
    if api_path(scope["path"]):
        response = JSONResponse({"detail": exc.detail}, exc.status_code, headers=exc.headers)
    else:
        response = render_error(Request(scope, receive), exc.status_code, str(exc.detail))
    await response(scope, receive, send)


async def _authenticate(scope: Scope, headers: Headers) -> Response | None:
    """Who sent the request (kept in its state), or the answer refusing it."""
    state = scope["app"].state.vru
    assert isinstance(state, AppState)
    if api_path(scope["path"]):
        token = bearer_token(headers.get("authorization"))
        try:
            user = await anyio.to_thread.run_sync(
                token_user, state.sessions, state.write_sessions, token
            )
        except StarletteHTTPException as exc:
            return JSONResponse({"detail": exc.detail}, exc.status_code, headers=exc.headers)
        remember(scope, **{API_USER: user})
        return None
    cookie = cookie_parser(headers.get("cookie", "")).get(SESSION_COOKIE)

    def check() -> tuple[SessionData | None, UserInfo | None]:
        with state.sessions() as db:
            return session_user(db, state.codec, state.signed_out, cookie)

    session, signed_in = await anyio.to_thread.run_sync(check)
    if signed_in is None:
        return RedirectResponse("/login?next=/", status_code=303)
    remember(scope, **{PAGE_SESSION: session, PAGE_USER: signed_in})
    return None
