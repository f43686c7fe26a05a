"""``vru audit-log``: verify the audit log, rotate its key, prune rows past their retention.

The new key of ``rotate-key`` is read from standard input (or a hidden prompt, typed twice),
never from the command line. ``prune`` deletes rows older than VRU_AUDIT_RETENTION_MONTHS and
leaves a checkpoint row from which ``verify`` checks the rest; on PostgreSQL it runs as the
tables' owner (the service's role may not delete audit rows).
"""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from vru_risk.cli.admin import app_engine, audit_log, operator_name
from vru_risk.cli.common import EXIT_INVALID, UserError, console, parse_today, state

audit_app = typer.Typer(help="The keyed audit log of every view of an individual")


@audit_app.command("verify")
def audit_verify() -> None:
    """Check every row's keyed MAC, the numbering, the key segments, head.json and the anchor
    outside the data folder; exit 2 if anything was altered or cannot be checked."""
    from vru_risk.serving.access_log.log import AuditLogError

    engine = app_engine()
    try:
        report = audit_log(engine, check=False).verify()
    except AuditLogError as exc:
        raise UserError(str(exc)) from None
    finally:
        engine.dispose()
    for line in report.lines():
        console.print(line, markup=False)
    if not report.ok:
        raise typer.Exit(EXIT_INVALID)


def read_new_key() -> bytes:
    """The new audit key: the first line of standard input, or a hidden prompt (twice)."""
    from vru_risk.secret_rules import check_audit_key

    if sys.stdin.isatty():
        text = str(typer.prompt("New audit key", hide_input=True, confirmation_prompt=True))
    else:
        line = sys.stdin.readline()
        text = line[:-1] if line.endswith("\n") else line
        text = text[:-1] if text.endswith("\r") else text
        if not text:
            raise UserError(
                "standard input had no key line: pipe the new key in, e.g. from your secret "
                "store (keys are never taken as command-line arguments)"
            )
    try:
        return check_audit_key(text).encode()
    except ValueError as exc:
        raise UserError(f"the new audit key {exc}") from None


@audit_app.command("rotate-key")
def audit_rotate_key() -> None:
    """Start a new key segment keyed by a new key (read from standard input): a row MAC'd
    with the new key and endorsed by the old one. Then replace VRU_AUDIT_KEY everywhere."""
    from vru_risk.serving.access_log.log import AuditLogError
    from vru_risk.serving.access_log.maintenance import rotate_key
    from vru_risk.serving.access_log.records import short

    new_key = read_new_key()
    engine = app_engine()
    try:
        log = audit_log(engine)
        rotation = rotate_key(log, new_key, operator=operator_name())
    except AuditLogError as exc:
        raise UserError(str(exc)) from None
    finally:
        engine.dispose()
    new, old = rotation.segment, rotation.retired
    console.print(
        f"audit key rotated: key segment {new.segment} (fingerprint {short(new.fingerprint)}) "
        f"begins at row {new.first_seq}, endorsed by the key of segment {old.segment} "
        f"(fingerprint {short(old.fingerprint)}).\n"
        "Now: 1. replace VRU_AUDIT_KEY with the new key everywhere it is set (the server, "
        "scheduled commands, the secret store) and restart the server: until then it refuses "
        "to show individuals; 2. keep the old key: add it to VRU_AUDIT_PREVIOUS_KEYS "
        "(comma-separated) where `vru audit-log verify` runs, until `vru audit-log prune` has "
        f"deleted every row before row {new.first_seq}.",
        markup=False,
    )


@audit_app.command("prune")
def audit_prune(
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Only count the rows that would be deleted")
    ] = False,
    today: Annotated[
        str | None,
        typer.Option("--today", help="The day to count back from (default: today; not later)"),
    ] = None,
) -> None:
    """Delete audit rows older than VRU_AUDIT_RETENTION_MONTHS, leaving a checkpoint row from
    which `verify` checks the rest; refuses a log that does not verify. PostgreSQL: run it as
    the tables' owner."""
    from vru_risk.serving.access_log.log import AuditLogError
    from vru_risk.serving.access_log.maintenance import prune
    from vru_risk.serving.retention import months_before

    settings = state.get_settings()
    months = settings.audit_retention_months
    cutoff = months_before(parse_today(today), months)
    engine = app_engine()
    try:
        log = audit_log(engine)
        result = prune(log, cutoff=cutoff, operator=operator_name(), dry_run=dry_run)
    except AuditLogError as exc:
        raise UserError(str(exc)) from None
    finally:
        engine.dispose()
    period = f"retention {months} months: rows written before {cutoff.isoformat()}"
    if dry_run:
        console.print(f"{period}: {result.deleted} row(s) would be deleted (dry run)")
        return
    kept = f"; the chain is checked from row {result.through + 1}" if result.through else ""
    console.print(
        f"{period}: deleted {result.deleted} row(s){kept}; recorded as audit-log row "
        f"{result.checkpoint_seq}"
    )
