"""Administration of the service: ``vru users``, ``vru audit-log``, ``vru retention``, ``vru db``.

Every command opens the application database named by the settings (``VRU_DATABASE_URL``,
default SQLite under ``VRU_HOME``) and migrates it first. Passwords are never taken on the
command line: they are prompted for (twice when set) or read from standard input with
``--password-stdin``.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from typing import Annotated

import typer
from rich.table import Table
from sqlalchemy import Engine
from sqlalchemy.exc import OperationalError, SQLAlchemyError
from sqlalchemy.orm import Session

from vru_risk.cli.common import EXIT_INVALID, UserError, console, parse_date, state
from vru_risk.models.programmes import ProgrammeConfigError, Programmes, load_programmes
from vru_risk.models.review_log import ReviewLog, ReviewLogError
from vru_risk.serving.audit_log import AuditEvent, AuditLog, AuditLogError
from vru_risk.serving.db import grant_app_role, open_database, session_factory
from vru_risk.serving.db.engine import DatabaseError
from vru_risk.serving.db.review_mirror import sync_review_log
from vru_risk.serving.retention import apply_retention
from vru_risk.serving.tokens import MAX_TOKEN_DAYS, new_token
from vru_risk.serving.users import (
    ROLES,
    UserInfo,
    UserInputError,
    add_user,
    disable_user,
    list_users,
    reset_password,
)

#: `vru users tokens` and `vru users revoke-token` are added by vru_risk.cli.user_tokens
users_app = typer.Typer(help="Users of the service: add, disable, reset a password, tokens")
audit_app = typer.Typer(help="The keyed audit log of every view of an individual")
retention_app = typer.Typer(help="Delete flags and decisions past the retention period")
db_app = typer.Typer(help="The application database: migrations and PostgreSQL's app role")

PasswordStdin = Annotated[
    bool,
    typer.Option(
        "--password-stdin",
        help="Read the password from the first line of standard input instead of a prompt",
    ),
]

AUDIT_KEY_HELP = (
    "VRU_AUDIT_KEY is not set: the audit log is keyed with a secret kept outside the "
    "database. Generate one with `python -c 'import secrets; print(secrets.token_urlsafe(32))'`, "
    "keep it in your secret store (losing it means old rows can no longer be verified) and "
    "export VRU_AUDIT_KEY before running the service and this command."
)


def app_engine() -> Engine:
    """The application database of the settings, migrated to the newest schema."""
    settings = state.get_settings()
    try:
        return open_database(settings.app_database_url)
    except DatabaseError as exc:
        raise UserError(f"VRU_DATABASE_URL: {exc}") from None
    except OperationalError as exc:
        reason = str(exc.orig).strip().splitlines()[0] if exc.orig else str(exc)
        raise UserError(
            f"cannot open the application database ({reason}); check VRU_DATABASE_URL and "
            "that the database server is running"
        ) from None


@contextmanager
def transaction(engine: Engine) -> Iterator[Session]:
    """One write transaction; a refused input rolls everything back and becomes a UserError."""
    try:
        with session_factory(engine, write=True).begin() as session:
            yield session
    except UserInputError as exc:
        raise UserError(str(exc)) from None


def configured_programmes() -> Programmes:
    try:
        return load_programmes(state.get_settings().programmes_path)
    except ProgrammeConfigError as exc:
        raise UserError(str(exc)) from None


def audit_log(engine: Engine) -> AuditLog:
    """The audit log with the key from the settings; refuses to go on without the key."""
    settings = state.get_settings()
    if settings.audit_key is None:
        raise UserError(AUDIT_KEY_HELP)
    key = settings.audit_key.get_secret_value().encode()
    try:
        return AuditLog(engine, key, settings.audit_dir / "head.json")
    except AuditLogError as exc:
        raise UserError(str(exc)) from None


def operator_name() -> str:
    """Who runs an administrative command: the operating-system account (the audit row's
    username; administrative commands have no sign-in of their own)."""
    import getpass

    try:
        return getpass.getuser()[:64] or "unknown"
    except (KeyError, OSError):  # no passwd entry for the uid (containers)
        return "unknown"


def record_admin_act(
    engine: Engine, action: str, detail: str, *, person_id: str | None = None
) -> int:
    """One audit-log row for an administrative command (``vru users add``, ``vru flags load``,
    ...): who ran it (the operating-system account, role ``operator``), purpose ``admin:
    ACTION`` and what it did (``detail``, cut to the column). Returns the row's number; refuses
    to go on without the audit key (UserError), so no administrative act goes untraced."""
    log = audit_log(engine)
    event = AuditEvent(
        username=operator_name(),
        role="operator",
        person_id=person_id,
        model_version=None,
        purpose=f"admin: {action}"[:64],
        route=f"vru {action}: {detail}"[:255],
    )
    try:
        [seq] = log.append([event])
    except AuditLogError as exc:
        raise UserError(f"the audit log could not record `vru {action}`: {exc}") from None
    finally:
        log.close()
    return seq


def read_password(*, from_stdin: bool, confirm: bool, prompt: str = "Password") -> str:
    """A password from stdin's first line, or an interactive prompt (typed twice to set one)."""
    if from_stdin:
        line = sys.stdin.readline()
        password = line.rstrip("\r\n")
        if not password:
            raise UserError("--password-stdin: standard input had no password line")
        return password
    if not sys.stdin.isatty():
        raise UserError(
            "no terminal to ask for the password on; pipe it in with --password-stdin "
            "(passwords are never taken as command-line arguments)"
        )
    return str(typer.prompt(prompt, hide_input=True, confirmation_prompt=confirm))


def _show(user: UserInfo) -> str:
    bound = f", programmes: {', '.join(user.programmes)}" if user.programmes else ""
    state_text = "" if user.active else " (disabled)"
    return f"{user.username} ({user.role}{bound}){state_text}"


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
    if role not in ROLES:
        raise UserError(f"unknown role {role!r}; one of {', '.join(ROLES)}")
    known = configured_programmes()
    engine = app_engine()
    try:
        password = read_password(from_stdin=password_stdin, confirm=True)
        with transaction(engine) as session:
            user = add_user(
                session,
                username=username,
                role=role,
                password=password,
                programmes=programme or (),
                known_programmes=known,
            )
    finally:
        engine.dispose()
    console.print(f"added {_show(user)}")


@users_app.command("disable")
def users_disable(username: Annotated[str, typer.Argument(help="Login name")]) -> None:
    """Disable a user at once: no login, API tokens revoked (decisions and audit rows stay)."""
    engine = app_engine()
    try:
        with transaction(engine) as session:
            user = disable_user(session, username)
    finally:
        engine.dispose()
    console.print(f"disabled {_show(user)}; their API tokens are revoked")


@users_app.command("reset-password")
def users_reset_password(
    username: Annotated[str, typer.Argument(help="Login name")],
    password_stdin: PasswordStdin = False,
) -> None:
    """Set a new password for a user; their web sessions end and their API tokens are revoked."""
    engine = app_engine()
    try:
        password = read_password(from_stdin=password_stdin, confirm=True, prompt="New password")
        with transaction(engine) as session:
            user = reset_password(session, username, password)
    finally:
        engine.dispose()
    console.print(
        f"password changed for {_show(user)}; every web session of theirs has ended (at its "
        "next request) and every API token of theirs is revoked"
    )


@users_app.command("list")
def users_list() -> None:
    """Every user with role, programmes and state (never a password or token)."""
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
    lifetime = days or state.get_settings().token_days
    engine = app_engine()
    try:
        with transaction(engine) as session:
            issued = new_token(session, username, days=lifetime, label=label)
    finally:
        engine.dispose()
    console.print(
        f"API token {issued.info.id} for {username}, valid until "
        f"{issued.info.expires_at:%Y-%m-%d %H:%M} UTC (shown once; send it as "
        "'Authorization: Bearer <token>'; `vru users revoke-token "
        f"{issued.info.id}` ends it sooner):"
    )
    typer.echo(issued.token)


@audit_app.command("verify")
def audit_verify() -> None:
    """Check every row's keyed MAC, the numbering and head.json; exit 2 if anything was altered."""
    engine = app_engine()
    try:
        report = audit_log(engine).verify()
    finally:
        engine.dispose()
    for line in report.lines():
        console.print(line, markup=False)
    if not report.ok:
        raise typer.Exit(EXIT_INVALID)


@retention_app.command("apply")
def retention_apply(
    today: Annotated[
        str | None, typer.Option("--today", help="The day to count back from (default: today)")
    ] = None,
) -> None:
    """Delete flags (and their decisions) older than VRU_RETENTION_MONTHS; audit-logged."""
    settings = state.get_settings()
    day = parse_date(today, "--today") or date.today()
    engine = app_engine()
    try:
        log = audit_log(engine)
        result = apply_retention(
            engine, log, today=day, months=settings.retention_months, username="vru-cli"
        )
    finally:
        engine.dispose()
    console.print(
        f"retention ({settings.retention_months} months, flags with as_of before "
        f"{result.cutoff}): deleted {result.flags_deleted} flag(s) and "
        f"{result.decisions_deleted} decision(s); recorded as audit-log row {result.audit_seq}"
    )


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Create or upgrade the application database's tables; mirror the review log into it."""
    settings = state.get_settings()
    engine = app_engine()
    try:
        with transaction(engine) as session:
            added = sync_review_log(session, ReviewLog(settings.home / "review_log.jsonl"))
    except ReviewLogError as exc:
        raise UserError(str(exc)) from None
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
    password = read_password(from_stdin=True, confirm=False) if password_stdin else None
    engine = app_engine()
    try:
        grant_app_role(engine, role, password=password)
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
