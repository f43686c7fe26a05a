"""``vru flags generate``: the daily job: score the moments known on a day, write explained flags
(the job is :mod:`vru_risk.jobs.flags`; only a model the ethics panel approved scores)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from vru_risk.cli.common import UserError, parse_date, state
from vru_risk.cli.printing import print_flags, print_top


def generate(
    data_dir: Annotated[Path, typer.Argument(help="Validated data folder (the daily extract)")],
    day: Annotated[str, typer.Option("--date", help="Score the moments known on this day")],
    out: Annotated[Path, typer.Option("--out", help="Flags file to write (.jsonl)")],
    days: Annotated[
        int, typer.Option("--days", help="Replay this many days ending at --date, in order")
    ] = 1,
    alias: Annotated[
        str, typer.Option("--model-alias", help="Registry alias of an approved model")
    ] = "champion",  # models.registry.CHAMPION, named here so that --help imports no MLflow
    programmes: Annotated[
        Path | None, typer.Option("--programmes", help="Programmes file (default: settings)")
    ] = None,
    issued: Annotated[
        list[Path] | None,
        typer.Option("--issued", help="Flags already issued this period (uses up capacity)"),
    ] = None,
    top: Annotated[int, typer.Option("--top", help="Print this many flags with reasons")] = 0,
    engine: Annotated[
        str | None,
        typer.Option(
            "--engine",
            help="duckdb or spark (default VRU_ENGINE, else duckdb): spark builds and scores "
            "the moments on VRU_SPARK_MASTER (default local[2]); the flags are the same",
            case_sensitive=False,
        ),
    ] = None,
) -> None:
    """Score the teachable moments known on a day and write explained flags, one per line."""
    from vru_risk.data.engine import engine_name
    from vru_risk.jobs import flags as job

    try:
        chosen = None if engine is None else engine_name(engine, "--engine")
    except ValueError as exc:
        raise UserError(str(exc)) from None
    parsed = parse_date(day, "--date")
    assert parsed is not None
    request = job.FlagsRequest(
        data_dir,
        parsed,
        out,
        days=days,
        alias=alias,
        programmes_path=programmes,
        issued_paths=issued or [],
        engine=chosen,
    )
    result = job.run(state.get_settings(), request)
    print_flags(result)
    if top:
        print_top(result.batch.flags, top)
