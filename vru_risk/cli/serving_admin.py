"""Administration of the service: ``vru users``, ``vru retention``, ``vru db`` (``vru
audit-log`` is :mod:`vru_risk.cli.access_log`).

Every command opens the application database named by the settings (``VRU_DATABASE_URL``,
default SQLite under ``VRU_HOME``) and migrates it first. Passwords are never taken on the
command line: they are prompted for (twice when set) or read from standard input with
``--password-stdin``. Each administrative act is one audit-log row (:func:`record_admin_act`);
a command refuses to act when its row could not be written.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated

import typer
from rich.table import Table

from vru_risk.cli.admin import (
    PasswordStdin,
    app_engine,
    audit_log,
    configured_programmes,
    mirror_review_log,
    operator_name,
    read_password,
    record_admin_act,
    require_audit_log,
    show_user,
    transaction,
)
from vru_risk.cli.common import UserError, console, parse_date, state
from vru_risk.vocabulary import MAX_TOKEN_DAYS, ROLES

#: `vru users tokens` and `vru users revoke-token` are added by vru_risk.cli.user_tokens
users_app = typer.Typer(help="Users of the service: add, disable, reset a password, tokens")
retention_app = typer.Typer(
    help="Delete flags, decisions and person-level files past the retention period"
)
db_app = typer.Typer(help="The application database: migrations and PostgreSQL's app role")


@users_app.command("add")
def users_add(
    username: Annotated[str, typer.Argument(help="Login name (letters, digits, . _ @ -)")],
    role: Annotated[
        str, typer.Option("--role", help=f"One of: {', '.join(ROLES)}", show_default=False)
    ],
    programme: Annotated[
        list[str] | None,
        typer.Option("--programme", help="A programme a practitioner works for (repeatable)"),
    ] = None,
    password_stdin: PasswordStdin = False,
) -> None:
    """Add a user; the password is prompted for twice (or read with --password-stdin)."""
    from vru_risk.store.users import add_user

    if role not in ROLES:
        raise UserError(f"unknown role {role!r}; one of {', '.join(ROLES)}")
    known = configured_programmes()
    engine = app_engine()
    try:
        password = read_password(from_stdin=password_stdin, confirm=True)
        require_audit_log(engine)
        with transaction(engine) as session:
            user = add_user(
                session,
                username=username,
                role=role,
                password=password,
                programmes=programme or (),
                known_programmes=known,
            )
        seq = record_admin_act(engine, "users add", f"added {show_user(user)}")
    finally:
        engine.dispose()
    console.print(f"added {show_user(user)} (audit-log row {seq})")


@users_app.command("disable")
def users_disable(username: Annotated[str, typer.Argument(help="Login name")]) -> None:
    """Disable a user at once: no login, API tokens revoked (decisions and audit rows stay)."""
    from vru_risk.store.users import disable_user

    engine = app_engine()
    try:
        require_audit_log(engine)
        with transaction(engine) as session:
            user = disable_user(session, username)
        seq = record_admin_act(
            engine, "users disable", f"disabled {show_user(user)}; API tokens revoked"
        )
    finally:
        engine.dispose()
    console.print(f"disabled {show_user(user)}; their API tokens are revoked (audit-log row {seq})")


@users_app.command("reset-password")
def users_reset_password(
    username: Annotated[str, typer.Argument(help="Login name")],
    password_stdin: PasswordStdin = False,
) -> None:
    """Set a new password for a user; their web sessions end and their API tokens are revoked."""
    from vru_risk.store.users import reset_password

    engine = app_engine()
    try:
        password = read_password(from_stdin=password_stdin, confirm=True, prompt="New password")
        require_audit_log(engine)
        with transaction(engine) as session:
            user = reset_password(session, username, password)
        seq = record_admin_act(
            engine, "users reset-password", f"new password for {show_user(user)}"
        )
    finally:
        engine.dispose()
    console.print(
        f"password changed for {show_user(user)}; every web session of theirs has ended (at its "
        f"next request) and every API token of theirs is revoked (audit-log row {seq})"
    )


@users_app.command("list")
def users_list() -> None:
    """Every user with role, programmes and state (never a password or token)."""
    from vru_risk.store import session_factory
    from vru_risk.store.users import list_users

    engine = app_engine()
    try:
        with session_factory(engine)() as session:
            users = list_users(session)
    finally:
        engine.dispose()
    if not users:
        console.print("no users yet; add one with `vru users add NAME --role admin`")
        return
    view = Table(title="Users")
    for col in ("username", "role", "programmes", "active"):
        view.add_column(col)
    for u in users:
        view.add_row(u.username, u.role, ", ".join(u.programmes), "yes" if u.active else "no")
    console.print(view)


@users_app.command("token")
def users_token(
    username: Annotated[str, typer.Argument(help="Login name")],
    days: Annotated[
        int | None,
        typer.Option(
            "--days",
            min=1,
            max=MAX_TOKEN_DAYS,
            help="Days the token works (default VRU_TOKEN_DAYS)",
            show_default=False,
        ),
    ] = None,
    label: Annotated[
        str | None, typer.Option("--label", help="What the token is for (listed with it)")
    ] = None,
) -> None:
    """Issue an API bearer token; it is printed once and only its SHA-256 is kept."""
    from vru_risk.serving.tokens import new_token

    lifetime = days or state.get_settings().token_days
    engine = app_engine()
    try:
        require_audit_log(engine)
        with transaction(engine) as session:
            issued = new_token(session, username, days=lifetime, label=label)
        seq = record_admin_act(
            engine, "users token", f"API token {issued.info.id} issued for {username}"
        )
    finally:
        engine.dispose()
    console.print(
        f"API token {issued.info.id} for {username}, valid until "
        f"{issued.info.expires_at:%Y-%m-%d %H:%M} UTC (shown once; send it as "
        "'Authorization: Bearer <token>'; `vru users revoke-token "
        f"{issued.info.id}` ends it sooner; audit-log row {seq}):"
    )
    typer.echo(issued.token)


@retention_app.command("apply")
def retention_apply(
    today: Annotated[
        str | None,
        typer.Option(
            "--today", help="Count back from this day (default: today; never a later day)"
        ),
    ] = None,
    dry_run: Annotated[
        bool,
        typer.Option(
            "--dry-run", help="Print the cut-off and what would be deleted; change nothing"
        ),
    ] = False,
    force: Annotated[
        bool,
        typer.Option(
            "--force",
            help="Delete even flags still within the newest flag's display period, or decisions "
            "recorded recently (refused otherwise; noted in the audit row)",
        ),
    ] = False,
) -> None:
    """Delete flags, their decisions, ledger lines, moments and cached feature tables older
    than VRU_RETENTION_MONTHS; audit-logged."""
    from vru_risk.serving.access_log.log import AuditLogError
    from vru_risk.serving.retention import (
        RetentionError,
        RetentionFolders,
        apply_retention,
        plan_retention,
    )

    settings = state.get_settings()
    real = date.today()
    day = parse_date(today, "--today") or real
    months = settings.retention_months
    folders = RetentionFolders.of(settings)
    engine = app_engine()
    try:
        if dry_run:
            plan = plan_retention(
                engine,
                today=day,
                months=months,
                visible_days=settings.flag_visible_days,
                folders=folders,
                real_today=real,
            )
            console.print(
                f"dry run: retention ({months} months) counting back from {day} would delete "
                f"everything with as_of before {plan.cutoff}: {plan.summary()}. Nothing was "
                "deleted."
            )
            if plan.hazards:
                console.print(
                    f"{'With' if force else 'Without'} --force the run would be "
                    f"{'forced past' if force else 'refused'}: {'; '.join(plan.hazards)}",
                    markup=False,
                )
            return
        log = audit_log(engine, check=False)  # apply_retention checks it before deleting
        try:
            result = apply_retention(
                engine,
                log,
                today=day,
                months=months,
                visible_days=settings.flag_visible_days,
                folders=folders,
                real_today=real,
                username=operator_name(),
                role="operator",
                force=force,
            )
        except AuditLogError as exc:
            raise UserError(f"the audit log could not record the retention run: {exc}") from None
        finally:
            log.close()
    except RetentionError as exc:
        raise UserError(str(exc)) from None
    finally:
        engine.dispose()
    console.print(
        f"retention ({months} months, as_of before {result.cutoff}): deleted "
        f"{result.flags_deleted} flag(s), {result.decisions_deleted} decision(s) and "
        f"{result.views_deleted} flag view(s), "
        f"{result.files.summary()}; recorded as audit-log row {result.audit_seq}"
    )


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Create or upgrade the application database's tables; mirror the review log into it."""
    engine = app_engine()
    try:
        added = mirror_review_log(engine)
    finally:
        engine.dispose()
    url = engine.url.render_as_string(hide_password=True)
    console.print(f"application database at the newest schema: {url}")
    console.print(f"review log mirrored ({added} new entr{'y' if added == 1 else 'ies'})")


@db_app.command("grant-app-role")
def db_grant_app_role(
    role: Annotated[str, typer.Option("--role", help="PostgreSQL role the service connects as")],
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="Also set its password (from stdin)")
    ] = False,
) -> None:
    """PostgreSQL: create the service's role (idempotent): normal DML on the application's
    tables, but only SELECT and INSERT on the audit log. Run as the tables' owner."""
    from sqlalchemy.exc import SQLAlchemyError

    from vru_risk.store import grant_app_role
    from vru_risk.store.engine import DatabaseError

    password = read_password(from_stdin=True, confirm=False) if password_stdin else None
    engine = app_engine()
    try:
        if engine.dialect.name == "postgresql":  # elsewhere grant_app_role says why not
            require_audit_log(engine)
        grant_app_role(engine, role, password=password)
        record_admin_act(
            engine,
            "db grant-app-role",
            f"role {role} granted the application's rights"
            + (" and a new password" if password is not None else ""),
        )
    except DatabaseError as exc:
        raise UserError(str(exc)) from None
    except SQLAlchemyError as exc:
        raise UserError(f"PostgreSQL refused the grants: {exc.__cause__ or exc}") from None
    finally:
        engine.dispose()
    console.print(
        f"role {role}: SELECT, INSERT, UPDATE, DELETE on the application tables; SELECT and "
        "INSERT only on audit_log. Point VRU_DATABASE_URL of the service at this role."
    )
