"""The plumbing of the administrative commands (``vru users``, ``vru flags load``, ``vru
review``, ``vru retention``, ``vru db``, ``vru audit-log``): the application database of the
settings, write transactions, the audit log and the row each administrative act writes in it,
the operator's name and passwords read without echo.

Every command opens the application database named by the settings (``VRU_DATABASE_URL``,
default SQLite under ``VRU_HOME``) and migrates it first. Passwords are never taken on the
command line: they are prompted for (twice when set) or read from standard input with
``--password-stdin``. Each administrative act is one audit-log row (:func:`record_admin_act`);
a command refuses to act when its row could not be written. Importing this module imports no
database library: each function imports what it uses.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Annotated

import typer

from vru_risk.cli.common import UserError, state

if TYPE_CHECKING:
    from sqlalchemy import Engine
    from sqlalchemy.orm import Session

    from vru_risk.flags.programmes import Programmes
    from vru_risk.serving.access_log.log import AuditLog
    from vru_risk.store.users import UserInfo

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
    from sqlalchemy.exc import OperationalError

    from vru_risk.store import open_database
    from vru_risk.store.engine import DatabaseError

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
    from vru_risk.store import session_factory
    from vru_risk.store.users import UserInputError

    try:
        with session_factory(engine, write=True).begin() as session:
            yield session
    except UserInputError as exc:
        raise UserError(str(exc)) from None


def configured_programmes() -> Programmes:
    """The programmes of the settings (UserError when they cannot be read)."""
    from vru_risk.flags.programmes import ProgrammeConfigError, load_programmes

    try:
        return load_programmes(state.get_settings().programmes_path)
    except ProgrammeConfigError as exc:
        raise UserError(str(exc)) from None


def audit_log(engine: Engine, *, check: bool = True) -> AuditLog:
    """The audit log of the settings; refuses to go on (UserError, exit 2) without the key,
    or, with ``check``, when the key is not the log's or the anchor outside the data folder
    is missing or contradicts the database (:meth:`AuditLog.check_ready`)."""
    from vru_risk.serving.access_log.log import AuditLogError, open_audit_log

    settings = state.get_settings()
    if settings.audit_key is None:
        raise UserError(AUDIT_KEY_HELP)
    try:
        log = open_audit_log(settings, engine)
        if check:
            log.check_ready()
    except AuditLogError as exc:
        raise UserError(str(exc)) from None
    return log


def require_audit_log(engine: Engine) -> None:
    """Before an administrative act: refuse it (UserError) unless its audit row could be
    written afterwards (no key, a key that is not the log's, a missing anchor, an unreadable
    head, no right to insert), so that a command either changes and records, or neither."""
    from vru_risk.serving.access_log.log import AuditLogError

    log = audit_log(engine, check=False)
    try:
        log.check_ready()
    except AuditLogError as exc:
        raise UserError(
            f"the audit log cannot record this command ({exc}); nothing changed"
        ) from None
    finally:
        log.close()


def operator_name() -> str:
    """Who runs an administrative command: the operating-system account (the audit row's
    username; administrative commands have no sign-in of their own)."""
    import getpass

    try:
        return getpass.getuser()[:64] or "unknown"
    except (KeyError, OSError):  # no passwd entry for the uid (containers)
        return "unknown"


def show_user(user: UserInfo) -> str:
    """A user as the commands and their audit rows name them: name, role, programmes, state."""
    bound = f", programmes: {', '.join(user.programmes)}" if user.programmes else ""
    state_text = "" if user.active else " (disabled)"
    return f"{user.username} ({user.role}{bound}){state_text}"


def record_admin_act(
    engine: Engine, action: str, detail: str, *, person_id: str | None = None
) -> int:
    """One audit-log row for an administrative command (``vru users add``, ``vru flags load``,
    ...): who ran it (the operating-system account, role ``operator``), purpose ``admin:
    ACTION`` and what it did (``detail``, cut to the column). Returns the row's number; refuses
    to go on without the audit key (UserError), so no administrative act goes untraced.
    Commands call :func:`require_audit_log` before they act, so this rarely fails after."""
    from vru_risk.serving.access_log.log import AuditEvent, AuditLogError

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
        raise UserError(
            f"`vru {action}` was done ({detail}) but the audit log could not record it: {exc}"
        ) from None
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


def mirror_review_log(engine: Engine | None = None) -> int:
    """Copy new review entries into the application database (the pages read them there);
    return how many were added. A broken review log is a UserError."""
    from vru_risk.models.review_log import ReviewLog, ReviewLogError
    from vru_risk.store import session_factory
    from vru_risk.store.review_mirror import mirror_review_log as mirror

    own = engine is None
    target = app_engine() if engine is None else engine
    try:
        log = ReviewLog(state.get_settings().review_log_path)
        return mirror(session_factory(target, write=True), log, raise_broken=True)
    except ReviewLogError as exc:
        raise UserError(str(exc)) from None
    finally:
        if own:
            target.dispose()
