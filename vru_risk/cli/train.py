"""``vru train``: validate an experiment and print its fold plan (``--check``)."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Annotated

import pyarrow.parquet as pq
import typer
from rich.table import Table

from vru_risk.cli.common import EXIT_INVALID, UserError, console, parse_date, state
from vru_risk.cli.features import print_build, run_build
from vru_risk.features.load import InvalidDataError, open_folder
from vru_risk.features.validate import FolderNotFoundError
from vru_risk.training.config import ExperimentConfig, ExperimentConfigError, load_experiment
from vru_risk.training.splits import (
    FoldPlanError,
    fold_plan,
    slice_counts,
    thin_slices,
)


def cached_features(config: ExperimentConfig, config_path: Path | None, data: Path) -> Path:
    """Build (or reuse) the feature table of ``data`` under VRU_HOME/features/."""
    settings = state.get_settings()
    spec = config.feature_spec(config_path.parent if config_path else None)
    try:
        folder = open_folder(data, today=date.today())
    except (InvalidDataError, FolderNotFoundError) as exc:
        raise UserError(str(exc)) from None
    out = settings.home / "features" / f"{spec.hash[:16]}-{folder.fingerprint[:16]}.parquet"
    if out.exists():
        meta = pq.read_metadata(out).metadata or {}
        if meta.get(b"vru.spec_hash", b"").decode() == spec.hash:
            console.print(f"features: reusing {out}")
            return out
    out.parent.mkdir(parents=True, exist_ok=True)
    print_build(run_build(data, out, as_of=[], triggers=True, config=config.features))
    return out


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
        Path | None, typer.Option("--data", help="Data folder: adds example/positive counts")
    ] = None,
    extract_date: Annotated[
        str | None,
        typer.Option("--extract-date", help="Plan for this extract date when no --data"),
    ] = None,
) -> None:
    """Check an experiment: every config problem at once, then the rolling-origin fold plan."""
    if not check:
        raise UserError(
            "this version of vru-risk can check an experiment (vru train --check) but does not "
            "fit models yet; model fitting, evaluation and registration are issue 4's next step"
        )
    try:
        config = load_experiment(config_path)
    except ExperimentConfigError as exc:
        raise UserError(str(exc)) from None
    console.print(f"experiment {config.name!r}: valid; hash {config.hash}")
    table = cached_features(config, config_path, data) if data is not None else None
    lag = config.features.label_lag_days
    day = parse_date(extract_date, "--extract-date") or date.today()
    if table is not None:
        meta = pq.read_metadata(table).metadata or {}
        day = date.fromisoformat(meta[b"vru.extract_date"].decode())
        lag = int(meta.get(b"vru.label_lag_days", str(lag).encode()).decode())
    try:
        plan = fold_plan(config.temporal, extract_date=day, label_lag_days=lag)
    except FoldPlanError as exc:
        raise UserError(str(exc)) from None
    view = Table(title=f"Fold plan (extract date {day}, label lag {lag} days)")
    for col in ("fold", "slice", "as-of from", "as-of before", "examples", "positives"):
        view.add_column(col, justify="right" if col in ("examples", "positives") else "left")
    counts = slice_counts(table, plan) if table is not None else ()
    by_key = {(c.fold, c.slice): c for c in counts}
    for fold in plan:
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
    problems = thin_slices(counts, config.gates.min_positives_per_slice)
    if problems:
        console.print("[bold red]plan rejected[/]:\n" + "\n".join(f"  - {p}" for p in problems))
        raise typer.Exit(EXIT_INVALID)
    console.print("plan accepted: every training and calibration label closes before its test")
