"""The users list (administrators): who has access, with which role and programmes."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from vru_risk.serving.deps import Db, State, page_roles
from vru_risk.serving.routes.common import ROLE_NAMES, render
from vru_risk.store.users import UserInfo, list_users

router = APIRouter(tags=["users"], include_in_schema=False)


@router.get("/users")
def users_page(
    request: Request,
    state: State,
    db: Db,
    _user: Annotated[UserInfo, Depends(page_roles("admin"))],
) -> Response:
    """Every account; changes are made with `vru users add|disable|reset-password`."""
    names = {p.id: p.name for p in state.programmes.programmes}
    return render(
        request,
        "users.html.j2",
        {
            "title": "Users",
            "nav": "users",
            "users": list_users(db),
            "names": names,
            "roles": ROLE_NAMES,
        },
    )
