"""The training job: features (built or reused), the experiment, MLflow and the registry.

:func:`train` runs one experiment on a data folder (its feature table cached under
``VRU_HOME/features/``, :mod:`vru_risk.features.cache`) or on a feature table: temporal folds,
baselines, LightGBM, the performance gate and the leakage tripwire, every run logged and the
final model registered with the state its gates give it. From a data folder, the test moments'
context (:func:`~vru_risk.features.context.moment_context`, one query for every fold's test
window) and the programmes file let the evaluation replay the places the service would have
offered (:func:`service_allocation`); from a table alone it reports the hindsight lists only.
Runs a killed training left RUNNING are marked FAILED first (:func:`close_abandoned_runs`).
:func:`check_plan` validates an experiment's fold plan without fitting anything (``vru train
--check``).
"""

from __future__ import annotations

import getpass
import hashlib
from dataclasses import dataclass
from datetime import date, timedelta
from importlib import resources
from pathlib import Path

import pyarrow.parquet as pq
from mlflow.exceptions import MlflowException

from vru_risk.data.load import DataFolder, InvalidDataError, open_folder
from vru_risk.data.validate import FolderNotFoundError
from vru_risk.features.cache import FeatureCacheError, build_table, find_table
from vru_risk.features.catalog import CatalogError
from vru_risk.features.context import moment_context
from vru_risk.features.table_metadata import EXTRACT_DATE_KEY, LABEL_LAG_DAYS_KEY
from vru_risk.flags.programmes import ProgrammeConfigError, Programmes, load_programmes
from vru_risk.jobs.common import JobError, Progress, engine_options
from vru_risk.jobs.events import (
    EventDatesUsed,
    FeaturesBuilt,
    FeaturesReused,
    FeaturesStale,
    Listener,
    RunClosed,
    RunsUncheckable,
    ignore,
)
from vru_risk.models.registry import Registry, RegistryError
from vru_risk.settings import Settings
from vru_risk.training.abandoned_runs import AbandonedRun, fail_abandoned_runs
from vru_risk.training.allocation import ServiceAllocation
from vru_risk.training.config import ExperimentConfig
from vru_risk.training.data import (
    FeatureTableError,
    TrainingData,
    load_feature_table,
    with_oracle,
)
from vru_risk.training.pipeline import run_experiment
from vru_risk.training.results import ExperimentResult
from vru_risk.training.splits import Fold, FoldPlanError, SliceCount, fold_plan, slice_counts
from vru_risk.training.splits import thin_slices as thin_slice_problems
from vru_risk.training.tracking import TrainOutcome, log_and_register


@dataclass(frozen=True)
class TrainRequest:
    """One training: the experiment (and its file, whose folder holds a custom catalog), and
    either a data folder (``data``: features built or reused) or a feature ``table``; a
    synthetic ``truth`` folder adds the oracle and the true labels."""

    config: ExperimentConfig
    config_path: Path | None = None
    data: Path | None = None
    table: Path | None = None
    truth: Path | None = None
    trained_by: str | None = None
    demo: bool = False


@dataclass(frozen=True)
class TrainResult:
    """The experiment (metrics side by side, folds, final model) and the registered version."""

    experiment: ExperimentResult
    outcome: TrainOutcome
    table: Path


@dataclass(frozen=True)
class PlanCheck:
    """An experiment's fold plan for the data, with each slice's examples and positives when
    a table is at hand; ``problems`` name the slices too thin to judge a model on."""

    extract_date: date
    label_lag_days: int
    plan: tuple[Fold, ...]
    counts: tuple[SliceCount, ...]
    problems: list[str]


def _spec_base(config_path: Path | None) -> Path | None:
    return config_path.parent if config_path else None


def feature_table(
    settings: Settings,
    config: ExperimentConfig,
    config_path: Path | None,
    data: Path | DataFolder,
    truth: Path | None = None,
    *,
    progress: Progress | None = None,
    on_event: Listener = ignore,
) -> Path:
    """The feature table of ``data`` under the experiment's spec and build settings: reused
    from the cache when it was built the same way, else built there. ``data``: a folder's path
    (opened and checked here) or a folder a job has already opened and checked."""
    return _feature_table(
        settings,
        config,
        config_path,
        data if isinstance(data, DataFolder) else _open(settings, data),
        truth,
        progress=progress,
        on_event=on_event,
    )


def _open(settings: Settings, data: Path) -> DataFolder:
    try:
        return open_folder(data, today=date.today(), **engine_options(settings))
    except (InvalidDataError, FolderNotFoundError) as exc:
        raise JobError(str(exc)) from None


def _feature_table(
    settings: Settings,
    config: ExperimentConfig,
    config_path: Path | None,
    folder: DataFolder,
    truth: Path | None = None,
    *,
    progress: Progress | None = None,
    on_event: Listener = ignore,
) -> Path:
    spec = config.feature_spec(_spec_base(config_path))
    engine = engine_options(settings)
    entry = find_table(
        settings.features_dir, folder, spec, config.features, with_truth=truth is not None
    )
    if entry.reusable:
        on_event(FeaturesReused(entry.path))
        return entry.path
    if entry.stale:
        on_event(FeaturesStale(entry.path))
    try:
        summary = build_table(
            entry, folder, spec, config.features, truth=truth, progress=progress, **engine
        )
    except (FeatureCacheError, CatalogError) as exc:
        raise JobError(str(exc)) from None
    on_event(FeaturesBuilt(summary))
    return entry.path


def close_abandoned_runs(
    tracking_uri: str, experiment: str, *, on_event: Listener = ignore
) -> tuple[AbandonedRun, ...]:
    """Mark FAILED the runs a killed training left RUNNING in ``experiment``; a store that
    cannot be checked is reported (:class:`RunsUncheckable`), never a reason not to train."""
    try:
        closed = tuple(fail_abandoned_runs(tracking_uri, experiment))
    except MlflowException as exc:
        on_event(RunsUncheckable(str(exc)))
        return ()
    for run in closed:
        on_event(RunClosed(run))
    return closed


def train(
    settings: Settings,
    request: TrainRequest,
    *,
    progress: Progress | None = None,
    on_event: Listener = ignore,
) -> TrainResult:
    """Build or read features, run the experiment, log it and register the model."""
    config, config_path = request.config, request.config_path
    if (request.data is None) == (request.table is None):
        raise JobError("a training needs a data folder or a feature table, not both or neither")
    try:
        Registry(settings.tracking_uri).check()  # before the long work, not after it
    except RegistryError as exc:
        raise JobError(str(exc)) from None
    close_abandoned_runs(settings.tracking_uri, config.name, on_event=on_event)
    programmes, programmes_hash = _programmes(settings)
    table, folder = request.table, None
    if request.data is not None:
        folder = _open(settings, request.data)
        table = _feature_table(
            settings,
            config,
            config_path,
            folder,
            request.truth,
            progress=progress,
            on_event=on_event,
        )
    assert table is not None
    try:
        inputs = load_feature_table(
            table, config.feature_spec(_spec_base(config_path)), config.features
        )
        if request.truth is not None:
            inputs = with_oracle(inputs, request.truth, config.features.label)
    except FeatureTableError as exc:
        raise JobError(str(exc)) from None
    if inputs.knowledge_dates != "known":
        on_event(EventDatesUsed(table, inputs.knowledge_dates))
    try:
        allocation = service_allocation(
            settings, config, inputs, folder, programmes, programmes_hash, progress=progress
        )
        result = run_experiment(config, inputs, allocation=allocation, progress=progress)
        outcome = log_and_register(
            result,
            tracking_uri=settings.tracking_uri,
            artifact_root=settings.artifact_root,
            config_text=config_path.read_text(encoding="utf-8")
            if config_path
            else config.canonical_json(),
            trained_by=request.trained_by or getpass.getuser(),
            demo=request.demo,
            progress=progress,
        )
    except FoldPlanError as exc:
        raise JobError(str(exc)) from None
    return TrainResult(experiment=result, outcome=outcome, table=table)


def _programmes(settings: Settings) -> tuple[Programmes, str]:
    """The programmes the daily job allocates with, and the sha256 of their file."""
    path = settings.programmes_path
    try:
        programmes = load_programmes(path)
    except ProgrammeConfigError as exc:
        raise JobError(str(exc)) from None
    text = (
        path.read_bytes()
        if path is not None
        else resources.files("vru_risk.flags").joinpath("programmes.yaml").read_bytes()
    )
    return programmes, hashlib.sha256(text).hexdigest()


def service_allocation(
    settings: Settings,
    config: ExperimentConfig,
    inputs: TrainingData,
    folder: DataFolder | None,
    programmes: Programmes,
    programmes_hash: str,
    *,
    progress: Progress | None = None,
) -> ServiceAllocation:
    """What replaying the service's allocation over the test folds needs: the moments' context
    of the whole test span (one query over the data folder), or, without a folder or without
    any moment in it, none (``missing`` says why): training then reports the hindsight lists
    alone."""

    def without(missing: str) -> ServiceAllocation:
        return ServiceAllocation(
            programmes, programmes_hash, None, settings.flag_visible_days, missing
        )

    if folder is None:
        return without("trained from a feature table: the moments' context is not known")
    plan = fold_plan(
        config.temporal, extract_date=inputs.extract_date, label_lag_days=inputs.label_lag_days
    )
    start = min(f.test_start for f in plan)
    end = max(f.test_end for f in plan) - timedelta(days=1)  # test windows end before test_end
    if progress:
        progress("reading the test moments' context", 0, 1)
    context = moment_context(
        folder,
        inputs.spec,
        config.features,
        start,
        end,
        **engine_options(settings),
    )
    if progress:
        progress("reading the test moments' context", 1, 1)
    if context.frame.empty:
        return without(
            f"the data folder holds no teachable moment between {start} and {end} "
            "(no trigger source)"
        )
    return ServiceAllocation(programmes, programmes_hash, context, settings.flag_visible_days)


def check_plan(
    settings: Settings,
    config: ExperimentConfig,
    config_path: Path | None,
    *,
    data: Path | None = None,
    table: Path | None = None,
    extract_date: date | None = None,
    progress: Progress | None = None,
    on_event: Listener = ignore,
) -> PlanCheck:
    """The experiment's fold plan: for the data folder (its table built or reused) or the
    feature table when given (their extract date and label lag), else for ``extract_date``
    (default today) and the configured lag."""
    if data is not None:
        table = feature_table(
            settings, config, config_path, data, progress=progress, on_event=on_event
        )
    elif table is not None:
        try:
            load_feature_table(table, config.feature_spec(_spec_base(config_path)), config.features)
        except FeatureTableError as exc:
            raise JobError(str(exc)) from None
    lag = config.features.label_lag_days
    day = extract_date or date.today()
    if table is not None:
        meta = pq.read_metadata(table).metadata or {}
        day = date.fromisoformat(meta[EXTRACT_DATE_KEY].decode())
        lag = int(meta.get(LABEL_LAG_DAYS_KEY, str(lag).encode()).decode())
    try:
        plan = fold_plan(config.temporal, extract_date=day, label_lag_days=lag)
    except FoldPlanError as exc:
        raise JobError(str(exc)) from None
    counts = slice_counts(table, plan) if table is not None else ()
    problems = thin_slice_problems(counts, config.gates.min_positives_per_slice)
    return PlanCheck(day, lag, plan, counts, problems)
