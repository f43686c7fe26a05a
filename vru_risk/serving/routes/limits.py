"""The rate limit of requests naming an individual (a flag, its decisions, a person to score):
dependencies that authenticate, check the role, then count the request
(:class:`~vru_risk.serving.rate_limit.IdentifierRateLimiter`) before the route does any work."""

# no ``from __future__ import annotations``: the dependencies' annotations name a local
# dependency (``Depends(allowed)``), which FastAPI can only see when they are evaluated here
import logging
from collections.abc import Awaitable, Callable
from typing import Annotated

from fastapi import Depends, HTTPException, Request
from sqlalchemy.exc import SQLAlchemyError

from vru_risk.serving.deps import AppState, State, api_roles, page_roles
from vru_risk.serving.routes.common import route_name
from vru_risk.store.users import Role, UserInfo

log = logging.getLogger("vru_risk.serving")


def count_request(state: AppState, request: Request, user: UserInfo) -> None:
    """Count a request naming an individual against ``user``'s limits before its route does
    any work: past a limit 429 with ``Retry-After`` (logged); a count that cannot be written
    refuses the request (503)."""
    try:
        counted = state.identifiers.count(user.id)
    except SQLAlchemyError as exc:
        log.error("request of %s on %s not counted: %s", user.username, route_name(request), exc)
        raise HTTPException(
            503,
            "the request could not be counted against your request limit, so nothing was "
            "shown; try again in a moment, and tell an administrator if it persists",
        ) from None
    if counted.allowed:
        return
    limiter = state.identifiers
    log.warning(
        "request limit: refused %s (%s) on %s: %d requests naming an individual this minute "
        "(limit %d), %d this hour (limit %d)",
        user.username,
        user.role,
        route_name(request),
        counted.minute,
        limiter.per_minute,
        counted.hour,
        limiter.per_hour,
    )
    raise HTTPException(
        429,
        "too many requests naming a young person, flag or decision: each user may make "
        f"{limiter.per_minute} a minute and {limiter.per_hour} an hour. Wait "
        f"{counted.retry_after} seconds and try again; if you did not expect this in your "
        "normal work, tell an administrator",
        headers={"Retry-After": str(counted.retry_after)},
    )


def limited_api_roles(*roles: Role) -> Callable[..., UserInfo]:
    """A dependency: :func:`~vru_risk.serving.deps.api_roles`, then :func:`count_request`."""
    return _counted(api_roles(*roles))


def limited_page_roles(*roles: Role) -> Callable[..., UserInfo]:
    """A dependency: :func:`~vru_risk.serving.deps.page_roles`, then :func:`count_request`."""
    return _counted(page_roles(*roles))


def _counted(allowed: Callable[..., Awaitable[UserInfo]]) -> Callable[..., UserInfo]:
    """A dependency: the user ``allowed`` lets in, counted by :func:`count_request`."""

    def dependency(
        request: Request, state: State, user: Annotated[UserInfo, Depends(allowed)]
    ) -> UserInfo:
        count_request(state, request, user)
        return user

    return dependency
