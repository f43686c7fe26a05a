"""The experiment config: one versioned, commented YAML file validated before any work.

``training/experiments/default.yaml`` is loaded into :class:`ExperimentConfig`; every problem in
the file is reported at once (:class:`ExperimentConfigError`). The experiment hash is the sha256
of the validated config's canonical JSON, and is a tag on every run and model version.

The thresholds of the gates on the way to ``champion`` are two of its sections, ``gates`` and
``fairness_gate`` (:mod:`vru_risk.models.gate_config`): the fairness audit of a version reads
``experiment.fairness_gate`` from the experiment file its training run logged.

Example
-------
>>> cfg = load_experiment()
>>> cfg.temporal.label_timespan_days, cfg.capacity.per_month
(365, 40)
>>> len(cfg.hash)
64
"""

from __future__ import annotations

import hashlib
import json
from datetime import date
from functools import cached_property
from importlib import resources
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from vru_risk.features.catalog import CatalogError, FeatureSpec, load_catalog
from vru_risk.features.config import FeatureBuildConfig
from vru_risk.models.gate_config import FairnessGateConfig, GatesConfig
from vru_risk.pydantic_errors import error_lines
from vru_risk.training.baselines import check_baselines

CONFIG_VERSION = 1


class ExperimentConfigError(ValueError):
    """An experiment file that cannot be used; ``problems`` lists every reason."""

    def __init__(self, problems: list[str], origin: str) -> None:
        self.problems = tuple(problems)
        listed = "\n".join(f"  - {p}" for p in problems)
        super().__init__(f"{origin}: {len(problems)} problem(s):\n{listed}")


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class TemporalConfig(_Frozen):
    """Rolling-origin folds in triage's timechop vocabulary.

    The test folds are whole calendar months; they end where labels stop being complete (the
    extract date minus the label timespan and the longest label reporting lag) and go back
    ``model_update_frequency_months`` each. Before each test fold comes a calibration slice,
    and before that the training slice, both ending early enough that every label window (plus
    lag) closes before the first test ``as_of_date``.
    """

    feature_start_time: date = date(2020, 9, 1)
    label_timespan_days: Annotated[int, Field(ge=30, le=3650)] = 365
    model_update_frequency_months: Annotated[int, Field(ge=1, le=24)] = 6
    test_folds: Annotated[int, Field(ge=3, le=12)] = 3
    calibration_days: Annotated[int, Field(ge=28, le=730)] = 182
    min_training_days: Annotated[int, Field(ge=90)] = 365


class CapacityConfig(_Frozen):
    """How many young people a service can offer support to per calendar month."""

    per_month: Annotated[int, Field(ge=1, le=100_000)] = 40
    curve: tuple[Annotated[int, Field(ge=1, le=100_000)], ...] = (10, 20, 40, 80, 160)


class LightGBMGrid(_Frozen):
    """A small grid; the largest model is capped (explanations cost predictions)."""

    n_estimators: tuple[Annotated[int, Field(ge=10, le=300)], ...] = (100, 300)
    num_leaves: tuple[Annotated[int, Field(ge=2, le=31)], ...] = (7, 31)
    learning_rate: tuple[Annotated[float, Field(gt=0, le=1)], ...] = (0.05,)
    min_child_samples: tuple[Annotated[int, Field(ge=1)], ...] = (50,)


class ModelsConfig(_Frozen):
    baselines: tuple[str, ...] = (
        "pol_suspect_365d",
        "excl_suspensions_365d>=2",
        "ae_assault_365d",
        "persistent_absence",
    )
    logistic_c: Annotated[float, Field(gt=0)] = 0.1
    lightgbm: LightGBMGrid = LightGBMGrid()
    #: a smaller booster wins when its precision at capacity on the calibration slice is within
    #: this of the best (about one standard error of precision over ~240 flagged examples)
    selection_tolerance: Annotated[float, Field(ge=0, le=0.2)] = 0.02
    #: group-blind alternatives for the fairness panel: refitted without these sources
    mitigation_drop_sources: tuple[str, ...] = ("police_contacts",)


class CalibrationConfig(_Frozen):
    method: Literal["sigmoid", "none"] = "sigmoid"


class ExperimentConfig(_Frozen):
    """Everything that decides an experiment; hashed as its identity."""

    config_version: Literal[1]
    name: Annotated[str, Field(pattern=r"^[a-z][a-z0-9_-]{0,63}$")]
    catalog: str = "packaged"
    features: FeatureBuildConfig = FeatureBuildConfig()
    temporal: TemporalConfig = TemporalConfig()
    capacity: CapacityConfig = CapacityConfig()
    models: ModelsConfig = ModelsConfig()
    calibration: CalibrationConfig = CalibrationConfig()
    gates: GatesConfig = GatesConfig()
    fairness_gate: FairnessGateConfig = FairnessGateConfig()
    seed: int = 0

    @model_validator(mode="after")
    def _consistent(self) -> ExperimentConfig:
        if self.features.label.horizon_days != self.temporal.label_timespan_days:
            raise ValueError(
                f"temporal.label_timespan_days ({self.temporal.label_timespan_days}) must equal "
                f"features.label.horizon_days ({self.features.label.horizon_days})"
            )
        return self

    def canonical_json(self) -> str:
        return json.dumps(self.model_dump(mode="json"), sort_keys=True, separators=(",", ":"))

    @cached_property
    def hash(self) -> str:
        return hashlib.sha256(self.canonical_json().encode()).hexdigest()

    def feature_spec(self, base: Path | None = None) -> FeatureSpec:
        """The feature spec of this experiment (refuses audit-only attributes and proxies)."""
        path = None if self.catalog == "packaged" else _resolve(base, self.catalog)
        return load_catalog(path).spec(self.features.reporting_lag_days)


def _resolve(base: Path | None, name: str) -> Path:
    path = Path(name)
    return path if path.is_absolute() or base is None else base / path


def load_experiment(path: Path | None = None) -> ExperimentConfig:
    """Load and validate an experiment file (the packaged default when ``path`` is None).

    Every problem is collected: schema errors from every section, then the feature catalog's
    guardrails. Raises :class:`ExperimentConfigError`.
    """
    origin = str(path) if path is not None else "training/experiments/default.yaml"
    try:
        if path is None:
            text = (
                resources.files("vru_risk.training")
                .joinpath("experiments/default.yaml")
                .read_text("utf-8")
            )
        else:
            text = path.read_text(encoding="utf-8")
        doc: Any = yaml.safe_load(text)
    except FileNotFoundError:
        raise ExperimentConfigError([f"{path} does not exist"], origin) from None
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise ExperimentConfigError([f"cannot be read as YAML: {exc}"], origin) from None
    if not isinstance(doc, dict):
        raise ExperimentConfigError(["expected a mapping of sections"], origin)
    if doc.get("config_version") != CONFIG_VERSION:
        raise ExperimentConfigError(
            [
                f"config_version is {doc.get('config_version')!r}; this software reads "
                f"version {CONFIG_VERSION}"
            ],
            origin,
        )
    try:
        config = ExperimentConfig.model_validate(doc)
    except ValidationError as exc:
        raise ExperimentConfigError(error_lines(exc, default="(file)"), origin) from None
    try:
        spec = config.feature_spec(path.parent if path is not None else None)
    except (CatalogError, ValidationError) as exc:
        raise ExperimentConfigError([f"catalog: {exc}"], origin) from None
    problems = [
        f"models.baselines: {p}" for p in check_baselines(config.models.baselines, spec.names)
    ]
    problems += [
        f"models.mitigation_drop_sources: {s!r} is not a source of the feature spec "
        f"({', '.join(x for x in spec.sources if x != 'people')})"
        for s in config.models.mitigation_drop_sources
        if s not in spec.sources or s == "people"
    ]
    if problems:
        raise ExperimentConfigError(problems, origin)
    return config
