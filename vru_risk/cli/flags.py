"""``vru flags``: the daily flags, from the job that writes them to the service that shows them.

``vru flags load FILE.jsonl`` puts a flags file into the application database: idempotent (a
flag already stored with the same content is counted, not added again), all or nothing (one bad
line, named with its line number, and nothing is loaded).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from vru_risk.cli.common import UserError, console
from vru_risk.cli.serving_admin import app_engine, transaction
from vru_risk.serving.flag_store import FlagStoreError, load_flags, read_flags_jsonl

app = typer.Typer(help="Daily flags: load them into the service", no_args_is_help=True)


@app.command("load")
def load(
    file: Annotated[Path, typer.Argument(help="A flags .jsonl file (vru flags generate)")],
) -> None:
    """Load a flags file into the application database (idempotent; all or nothing)."""
    try:
        flags = read_flags_jsonl(file)
    except FlagStoreError as exc:
        raise UserError(str(exc)) from None
    engine = app_engine()
    try:
        with transaction(engine) as session:
            result = load_flags(session, flags)
    finally:
        engine.dispose()
    console.print(
        f"{file}: {result.inserted} flag(s) inserted, {result.already_present} already present"
    )
