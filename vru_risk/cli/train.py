"""``vru train``: train, evaluate, gate and register a model; ``--check`` validates only."""

from __future__ import annotations

import getpass
import json
from datetime import date
from pathlib import Path
from typing import Annotated

import pyarrow.parquet as pq
import typer
from mlflow.exceptions import MlflowException
from rich.table import Table

from vru_risk.cli.common import (
    EXIT_INVALID,
    UserError,
    console,
    parse_date,
    progress_bar,
    state,
)
from vru_risk.cli.features import print_build, run_build
from vru_risk.data.load import InvalidDataError, open_folder
from vru_risk.data.validate import FolderNotFoundError
from vru_risk.models.registry import Registry, RegistryError
from vru_risk.training.abandoned_runs import fail_abandoned_runs
from vru_risk.training.config import ExperimentConfig, ExperimentConfigError, load_experiment
from vru_risk.training.data import FeatureTableError, load_feature_table, with_oracle
from vru_risk.training.pipeline import run_experiment
from vru_risk.training.results import ExperimentResult
from vru_risk.training.splits import (
    FoldPlanError,
    fold_plan,
    slice_counts,
    thin_slices,
)
from vru_risk.training.tracking import TrainOutcome, log_and_register


def cached_features(
    config: ExperimentConfig, config_path: Path | None, data: Path, truth: Path | None = None
) -> Path:
    """Build (or reuse) the feature table of ``data`` under VRU_HOME/features/.

    The file is named ``<spec_hash>-<data_fingerprint>.parquet`` (16 characters of each); a
    cached table is reused only when its recorded spec hash matches and, when a truth folder is
    given, it carries the true-involvement labels.
    """
    settings = state.get_settings()
    spec = config.feature_spec(config_path.parent if config_path else None)
    try:
        folder = open_folder(data, today=date.today())
    except (InvalidDataError, FolderNotFoundError) as exc:
        raise UserError(str(exc)) from None
    out = settings.features_dir / f"{spec.hash[:16]}-{folder.fingerprint[:16]}.parquet"
    if out.exists():
        try:
            meta = pq.read_metadata(out).metadata or {}
            names = pq.read_schema(out).names
        except (OSError, ValueError):  # a damaged cache file: rebuild it
            meta, names = {}, []
        stored = meta.get(b"vru.build_config", b"").decode()
        same_build = bool(stored) and json.loads(stored) == json.loads(
            config.features.model_dump_json()
        )
        if (
            meta.get(b"vru.spec_hash", b"").decode() == spec.hash
            and same_build
            and (truth is None or "label_true_involvement" in names)
        ):
            console.print(f"features: reusing {out}")
            return out
        console.print(f"features: {out} was built with other settings; rebuilding it")
        out.unlink()
    out.parent.mkdir(parents=True, exist_ok=True)
    print_build(run_build(data, out, as_of=[], triggers=True, config=config.features, truth=truth))
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
    try:
        config = load_experiment(config_path)
    except ExperimentConfigError as exc:
        raise UserError(str(exc)) from None
    console.print(f"experiment {config.name!r}: valid; hash {config.hash}")
    if data is not None and features is not None:
        raise UserError("give --data or --features, not both")
    if check:
        _check(config, config_path, data, features, extract_date)
        return
    if data is None and features is None:
        raise UserError(
            "vru train needs --data DIR (a data folder) or --features FILE.parquet (a table from "
            "`vru features build`); add --check to only validate the experiment"
        )
    if extract_date is not None:
        raise UserError("--extract-date only applies to --check; the data carries its own date")
    run_training(
        config, config_path, data=data, features=features, truth=truth, trained_by=trained_by
    )


def run_training(
    config: ExperimentConfig,
    config_path: Path | None,
    *,
    data: Path | None,
    features: Path | None,
    truth: Path | None,
    trained_by: str | None = None,
    demo: bool = False,
) -> TrainOutcome:
    """Build or read features, run the experiment, log it and register the model."""
    settings = state.get_settings()
    try:
        Registry(settings.tracking_uri).check()  # before the long work, not after it
    except RegistryError as exc:
        raise UserError(str(exc)) from None
    close_abandoned_runs(settings.tracking_uri, config.name)
    table = features if features is not None else None
    if data is not None:
        table = cached_features(config, config_path, data, truth)
    assert table is not None
    spec = config.feature_spec(config_path.parent if config_path else None)
    try:
        inputs = load_feature_table(table, spec, config.features)
        if truth is not None:
            inputs = with_oracle(inputs, truth, config.features.label)
    except FeatureTableError as exc:
        raise UserError(str(exc)) from None
    if inputs.knowledge_dates != "known":
        console.print(
            f"[bold yellow]warning:[/] {table} was built with {inputs.knowledge_dates} dates "
            "instead of known dates: its features can see records before they arrived"
        )
    try:
        with progress_bar() as progress:
            result = run_experiment(config, inputs, progress=progress)
            outcome = log_and_register(
                result,
                tracking_uri=settings.tracking_uri,
                artifact_root=settings.artifact_root,
                config_text=config_path.read_text(encoding="utf-8")
                if config_path
                else config.canonical_json(),
                trained_by=trained_by or getpass.getuser(),
                demo=demo,
                progress=progress,
            )
    except FoldPlanError as exc:
        raise UserError(str(exc)) from None
    print_result(result, outcome)
    return outcome


def close_abandoned_runs(tracking_uri: str, experiment: str) -> None:
    """Mark FAILED the runs a killed ``vru train`` left RUNNING in ``experiment``, saying so."""
    try:
        closed = fail_abandoned_runs(tracking_uri, experiment)
    except MlflowException as exc:  # never a reason not to train
        console.print(f"[yellow]warning:[/] runs left RUNNING could not be checked: {exc}")
        return
    for run in closed:
        console.print(
            f"note: MLflow run {run.run_id} ({run.run_name}) was left RUNNING by a `vru train` "
            f"that did not finish ({run.why}); marked FAILED"
        )


def _fmt(value: float, digits: int = 3) -> str:
    return "" if value != value else f"{value:.{digits}f}"  # NaN -> blank


def print_result(result: ExperimentResult, outcome: TrainOutcome) -> None:
    """The summary table (model, logistic regression, baselines, oracle), gates and version."""
    cap = result.config.capacity.per_month
    view = Table(
        title=f"Test folds pooled ({len(result.folds)} folds, {cap} young people a month)",
        caption="precision/recall/lift: of each month's top-capacity list; AUC etc. over all "
        "test examples; true inv.: precision against true involvement (synthetic only)",
    )
    cols = (
        "model",
        "precision@cap",
        "fold range",
        "recall@cap",
        "lift",
        "AUC",
        "avg prec",
        "Brier",
        "ECE",
        "true inv.",
    )
    for c in cols:
        view.add_column(c, justify="left" if c == "model" else "right")
    for _, r in result.summary.iterrows():
        view.add_row(
            str(r["model"]),
            _fmt(r["precision_at_capacity"]),
            f"{_fmt(r['precision_fold_min'])}-{_fmt(r['precision_fold_max'])}",
            _fmt(r["recall_at_capacity"]),
            _fmt(r["lift_at_capacity"], 1),
            _fmt(r["auc"]),
            _fmt(r["average_precision"]),
            _fmt(r["brier"]),
            _fmt(r["ece"]),
            _fmt(r["true_involvement_precision"]),
        )
    console.print(view)
    for key, interval in result.differences.items():
        console.print(f"  precision at capacity, {key}: {interval.text()}")
    gate = outcome.performance
    console.print(
        "performance gate: "
        + ("[green]pass[/] (beats every baseline on every fold)" if gate.passed else "[red]fail[/]")
    )
    for reason in gate.reasons:
        console.print(f"  - {reason}")
    leak = outcome.leakage
    console.print(
        "leakage tripwire: " + ("[green]clear[/]" if leak.passed else "[bold red]fired[/]")
    )
    for reason in leak.reasons:
        console.print(f"  - {reason}")
    v = outcome.version
    aliases = ", ".join(v.aliases) or "no alias"
    console.print(
        f"registered vru-risk version {v.version}: {outcome.state} ({aliases}); trained "
        f"{result.final_window['train']}, calibrated {result.final_window['calibration']}; "
        f"MLflow run {outcome.run_id}"
    )


def _check(
    config: ExperimentConfig,
    config_path: Path | None,
    data: Path | None,
    features: Path | None,
    extract_date: str | None,
) -> None:
    table = cached_features(config, config_path, data) if data is not None else features
    if table is not None and features is not None:
        spec = config.feature_spec(config_path.parent if config_path else None)
        try:
            load_feature_table(table, spec, config.features)
        except FeatureTableError as exc:
            raise UserError(str(exc)) from None
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
