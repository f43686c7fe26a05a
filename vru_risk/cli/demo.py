"""``vru demo``: run the whole pipeline, as far as it exists, on an embedded default county."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Annotated

import typer

from vru_risk.cli.common import UserError, console, state
from vru_risk.cli.data import print_generation, print_report, run_generate, run_validate
from vru_risk.cli.features import print_build, run_build
from vru_risk.cli.train import run_training
from vru_risk.training.config import load_experiment

DEMO_MARKER = ".vru-demo"


def demo(
    directory: Annotated[
        Path | None,
        typer.Option("--dir", help="Working folder for the demo (default <VRU_HOME>/demo)"),
    ] = None,
    people: Annotated[int, typer.Option(help="Young people in the demo county")] = 10_000,
    seed: Annotated[int, typer.Option(help="Random seed")] = 0,
) -> None:
    """Generate a demo county, validate it and print a summary (non-interactive)."""
    root = directory if directory is not None else state.get_settings().home / "demo"
    if root.exists():
        if not (root / DEMO_MARKER).exists():
            raise UserError(
                f"{root} exists and was not made by `vru demo`; choose another --dir or remove it"
            )
        shutil.rmtree(root)
    root.mkdir(parents=True)
    (root / DEMO_MARKER).write_text("made by vru demo; safe to delete\n")
    data, truth = root / "data", root / "truth"
    experiment = load_experiment()
    console.rule("1/4 synthetic county")
    summary = run_generate(
        out=data,
        people=people,
        years=6,
        end_date=None,
        seed=seed,
        fmt="parquet",
        truth_out=truth,
        measurement_bias=True,
    )
    print_generation(summary)
    console.rule("2/4 contract check")
    report = run_validate(data, None)
    print_report(report)
    if not report.ok:
        raise typer.Exit(1)  # generated data must always be valid: that is our fault
    console.rule("3/4 as-of features and labels at teachable moments")
    features = root / "features.parquet"
    built = run_build(
        data, features, as_of=[], triggers=True, truth=truth, config=experiment.features
    )
    print_build(built)
    console.print(f"  shape: {built.rows:,} rows x {built.columns} columns")
    console.rule("4/4 training side by side, gates, MLflow registry")
    outcome = run_training(experiment, None, data=None, features=features, truth=truth)
    console.rule("demo done")
    console.print(
        f"data: {data}\ntruth (never shown to models): {truth}\nfeatures: {features}\n"
        f"model: vru-risk version {outcome.version.version}, {outcome.state}; "
        "`vru models list` shows every version, `mlflow ui --backend-store-uri "
        f"{state.get_settings().tracking_uri}` the runs.\n"
        "Next steps of the pipeline (fairness audit, flags, serving) join this demo as they "
        "are built."
    )
