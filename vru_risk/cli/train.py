"""``vru train``: train, evaluate, gate and register a model; ``--check`` validates only (the job
is :mod:`vru_risk.jobs.train`)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from vru_risk.cli.common import EXIT_INVALID, UserError, console, parse_date, progress_bar, state
from vru_risk.cli.printing import Narrator, narrated, print_result

if TYPE_CHECKING:
    from vru_risk.jobs.train import PlanCheck


def train(
    config_path: Annotated[
        Path | None,
        typer.Option("--config", help="Experiment YAML (default: the packaged default.yaml)"),
    ] = None,
    check: Annotated[
        bool,
        typer.Option("--check", help="Validate the experiment and print the fold plan only"),
    ] = False,
    data: Annotated[
        Path | None,
        typer.Option("--data", help="Data folder: features are built and cached under VRU_HOME"),
    ] = None,
    features: Annotated[
        Path | None,
        typer.Option("--features", help="A feature table from `vru features build` instead"),
    ] = None,
    truth: Annotated[
        Path | None,
        typer.Option("--truth", help="Synthetic truth folder: adds the oracle and true labels"),
    ] = None,
    extract_date: Annotated[
        str | None,
        typer.Option("--extract-date", help="With --check and no data: plan for this date"),
    ] = None,
    trained_by: Annotated[
        str | None,
        typer.Option(
            "--trained-by",
            help="Who trains (recorded; they cannot clear a leakage block). Default: OS user",
        ),
    ] = None,
) -> None:
    """Train, evaluate side by side, gate and register a model (or --check the experiment)."""
    from vru_risk.jobs import train as job
    from vru_risk.training.config import ExperimentConfigError, load_experiment

    try:
        config = load_experiment(config_path)
    except ExperimentConfigError as exc:
        raise UserError(str(exc)) from None
    console.print(f"experiment {config.name!r}: valid; hash {config.hash}")
    if data is not None and features is not None:
        raise UserError("give --data or --features, not both")
    settings = state.get_settings()
    if check:
        day = parse_date(extract_date, "--extract-date")
        with narrated() as (bars, narrator):
            plan = job.check_plan(
                settings,
                config,
                config_path,
                data=data,
                table=features,
                extract_date=day,
                progress=bars,
                on_event=narrator,
            )
        print_plan(plan)
        return
    if data is None and features is None:
        raise UserError(
            "vru train needs --data DIR (a data folder) or --features FILE.parquet (a table from "
            "`vru features build`); add --check to only validate the experiment"
        )
    if extract_date is not None:
        raise UserError("--extract-date only applies to --check; the data carries its own date")
    request = job.TrainRequest(
        config, config_path, data=data, table=features, truth=truth, trained_by=trained_by
    )
    with narrated() as (bars, narrator):
        result = job.train(settings, request, progress=bars, on_event=narrator)
    print_result(result)


def close_abandoned_runs(tracking_uri: str, experiment: str) -> None:
    """Mark FAILED the runs a killed ``vru train`` left RUNNING in ``experiment``, saying so
    as ``vru train`` does before it trains."""
    from vru_risk.jobs.train import close_abandoned_runs as close

    with progress_bar() as bars:
        close(tracking_uri, experiment, on_event=Narrator(bars))


def print_plan(check: PlanCheck) -> None:
    """The fold plan with each slice's counts; exit 2 when a slice is too thin to judge on."""
    view = Table(
        title=f"Fold plan (extract date {check.extract_date}, label lag "
        f"{check.label_lag_days} days)"
    )
    for col in ("fold", "slice", "as-of from", "as-of before", "examples", "positives"):
        view.add_column(col, justify="right" if col in ("examples", "positives") else "left")
    by_key = {(c.fold, c.slice): c for c in check.counts}
    for fold in check.plan:
        for name, (start, end) in fold.slices().items():
            c = by_key.get((fold.index, name))
            view.add_row(
                str(fold.index),
                name,
                str(start),
                str(end),
                f"{c.examples:,}" if c else "",
                f"{c.positives:,}" if c else "",
            )
    console.print(view)
    if check.problems:
        listed = "\n".join(f"  - {p}" for p in check.problems)
        console.print(f"[bold red]plan rejected[/]:\n{listed}")
        raise typer.Exit(EXIT_INVALID)
    console.print("plan accepted: every training and calibration label closes before its test")
