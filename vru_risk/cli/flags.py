"""``vru flags``: the daily flags, from the job that writes them to the service that shows them.

``vru flags load FILE.jsonl`` puts a flags file into the application database: idempotent (a
flag already stored with the same content is counted, not added again), all or nothing (one bad
line, named with its line number, and nothing is loaded; a load stopped half-way publishes
nothing). Flags are staged in short transactions and published together, so the service keeps
recording decisions meanwhile; one load runs at a time.

``vru flags withdraw FLAG_ID --reason TEXT`` takes a flag out of every programme's list at once.

Both are administrative acts: each writes one audit-log row (and refuses to run without the
audit key, or while the audit log could not record it).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from vru_risk.cli.admin import (
    app_engine,
    operator_name,
    record_admin_act,
    require_audit_log,
    transaction,
)
from vru_risk.cli.common import UserError, console, progress_bar
from vru_risk.vocabulary import WITHDRAWAL_REASON_LENGTH

if TYPE_CHECKING:
    from sqlalchemy import Engine

    from vru_risk.flags.flag import Flag
    from vru_risk.store.flag_loader import LoadResult

app = typer.Typer(
    help="Daily flags: load them into the service, withdraw one", no_args_is_help=True
)


@app.command("load")
def load(
    file: Annotated[Path, typer.Argument(help="A flags .jsonl file (vru flags generate)")],
) -> None:
    """Load a flags file into the application database (idempotent; all or nothing)."""
    from vru_risk.store.flag_checks import FlagStoreError
    from vru_risk.store.flag_loader import read_flags_jsonl

    try:
        flags = read_flags_jsonl(file, today=date.today())
    except FlagStoreError as exc:
        raise UserError(str(exc)) from None
    engine = app_engine()
    try:
        require_audit_log(engine)  # no key, or an audit log that cannot record: nothing is loaded
        result = _load(engine, flags, file)
        present = f"{result.already_present} already present"
        if result.withdrawn_present:
            present += f" ({result.withdrawn_present} of them withdrawn: they stay withdrawn)"
        seq = record_admin_act(
            engine,
            "flags load",
            f"{file.name}: {result.inserted} flag(s) inserted, {present}"
            + (f", load {result.load_id}" if result.load_id is not None else "")
            + (
                f", {result.discarded} staged flag(s) of unfinished loads discarded"
                if result.discarded
                else ""
            ),
        )
    finally:
        engine.dispose()
    if result.discarded:
        console.print(
            f"discarded {result.discarded} flag(s) that an earlier, unfinished load had staged "
            "(never shown)"
        )
    console.print(
        f"{file}: {result.inserted} flag(s) inserted, {present}; recorded as audit-log row {seq}"
    )


def _load(engine: Engine, flags: list[Flag], file: Path) -> LoadResult:
    """Stage and publish, with a progress bar for files of more than one batch."""
    from vru_risk.serving.flag_staging import BATCH, load_flags_staged
    from vru_risk.store.flag_checks import FlagStoreError

    def run(progress: Callable[[int, int], None] | None) -> LoadResult:
        return load_flags_staged(
            engine,
            flags,
            source=str(file.resolve()),
            operator=operator_name(),
            today=date.today(),
            progress=progress,
        )

    try:
        if len(flags) <= BATCH:
            return run(None)
        with progress_bar() as bar:
            return run(lambda done, total: bar("staging flags", done, total))
    except FlagStoreError as exc:
        raise UserError(str(exc)) from None


@app.command("withdraw")
def withdraw(
    flag_id: Annotated[
        str, typer.Argument(help="The flag's id (in its page address and the flags file)")
    ],
    reason: Annotated[
        str,
        typer.Option(
            "--reason",
            help=f"Why, in plain words (at most {WITHDRAWAL_REASON_LENGTH} characters): "
            "practitioners who were offered the flag read it",
            show_default=False,
        ),
    ],
) -> None:
    """Withdraw a flag: it leaves every programme's list at once and takes no new decision
    (decisions already recorded stay). Audit-logged; cannot be undone."""
    from vru_risk.serving.withdrawal import withdraw_flag
    from vru_risk.store.flag_checks import LIMITS

    if not flag_id.strip() or len(flag_id) > LIMITS["flag_id"]:
        raise UserError(
            f"{flag_id[:80]!r} is not a flag id (1 to {LIMITS['flag_id']} characters); copy it "
            "from the flag's page address or the flags file"
        )
    engine = app_engine()
    try:
        require_audit_log(engine)
        with transaction(engine) as session:  # a refusal (FlagStoreError) -> exit 2
            done = withdraw_flag(session, flag_id, reason=reason, by=operator_name())
        person = done.person_id if len(done.person_id) <= LIMITS["person_id"] else None
        seq = record_admin_act(
            engine,
            "flags withdraw",
            f"{flag_id}: {done.withdrawal.reason}",
            person_id=person,
        )
    finally:
        engine.dispose()
    console.print(
        f"{done.withdrawal.sentence(flag_id)}\nIt has left every programme's list; its "
        f"decisions stay. Recorded as audit-log row {seq}."
    )
