"""``vru users tokens NAME`` and ``vru users revoke-token TOKEN_ID``: a user's API tokens, listed
(never the token itself) and ended one at a time. Each is recorded in the audit log.

They join the ``vru users`` group of :mod:`vru_risk.cli.serving_admin` (``vru users token NAME``
issues one); the ``vru`` entry point takes that group from here.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from vru_risk.cli.admin import AUDIT_KEY_HELP, app_engine, record_admin_act, transaction
from vru_risk.cli.common import UserError, console, state
from vru_risk.cli.serving_admin import users_app

if TYPE_CHECKING:
    from vru_risk.serving.tokens import TokenInfo

__all__ = ["users_app"]


def _when(at: dt.datetime | None) -> str:
    return "" if at is None else f"{at:%Y-%m-%d %H:%M}"


def _needs_audit_key() -> None:
    """Refuse before acting: these commands are recorded in the audit log."""
    if state.get_settings().audit_key is None:
        raise UserError(AUDIT_KEY_HELP)


@users_app.command("tokens")
def users_tokens(username: Annotated[str, typer.Argument(help="Login name")]) -> None:
    """List a user's API tokens: id, label, created, expires, last used, state (times UTC)."""
    from vru_risk.serving.tokens import list_tokens
    from vru_risk.store import session_factory
    from vru_risk.store.users import UserInputError

    _needs_audit_key()
    engine = app_engine()
    try:
        try:
            with session_factory(engine)() as session:
                tokens = list_tokens(session, username)
        except UserInputError as exc:
            raise UserError(str(exc)) from None
        record_admin_act(engine, "users tokens", f"listed {len(tokens)} token(s) of {username}")
    finally:
        engine.dispose()
    if not tokens:
        console.print(f"{username} has no API tokens; `vru users token {username}` issues one")
        return
    view = Table(title=f"API tokens of {username} (times UTC; the tokens themselves are not kept)")
    for col in ("id", "label", "created", "expires", "last used", "state"):
        view.add_column(col, justify="right" if col == "id" else "left")
    for t in tokens:
        view.add_row(
            str(t.id),
            t.label or "",
            _when(t.created_at),
            _when(t.expires_at),
            _when(t.last_used_at) or "never",
            _state(t),
        )
    console.print(view)


def _state(token: TokenInfo) -> str:
    status = token.status()
    if status == "revoked":
        return f"revoked {_when(token.revoked_at)}"
    return status


@users_app.command("revoke-token")
def users_revoke_token(
    token_id: Annotated[int, typer.Argument(help="The token's id (`vru users tokens NAME`)")],
) -> None:
    """Revoke one API token at once (the user's other tokens keep working)."""
    from vru_risk.serving.tokens import revoke_token_id

    _needs_audit_key()
    engine = app_engine()
    try:
        with transaction(engine) as session:
            token, was_live = revoke_token_id(session, token_id)
        label = f" ({token.label})" if token.label else ""
        record_admin_act(
            engine,
            "users revoke-token",
            f"token {token.id}{label} of {token.username}"
            + ("" if was_live else ": already revoked"),
        )
    finally:
        engine.dispose()
    if was_live:
        console.print(f"revoked API token {token.id}{label} of {token.username}")
    else:
        console.print(
            f"API token {token.id}{label} of {token.username} was already revoked on "
            f"{_when(token.revoked_at)} UTC; nothing changed"
        )
