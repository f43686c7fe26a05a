"""What makes a training navigable in the MLflow UI for a data scientist: the experiment marked
as classical model development (the UI otherwise opens on GenAI traces), a parent run named for
what ran on which data, the training data logged as a dataset (fingerprint, schema and counts
only: never a row or a person identifier), and the registered version's description written from
its metrics and gates.

Example
-------
>>> run_name("default", "2026-08-31", "0123456789abcdef", replayed=True)
'train default on the extract of 2026-08-31 (data 01234567), allocation replayed'
"""

from __future__ import annotations

import math
from typing import Any, Final

import mlflow
from mlflow.data.dataset_source import DatasetSource
from mlflow.data.meta_dataset import MetaDataset
from mlflow.types import ColSpec, DataType, Schema, TensorSpec

from vru_risk.training.results import LIGHTGBM, ExperimentResult, GateResult

#: the experiment tag MLflow 3's UI reads to open an experiment on runs and models, not traces
EXPERIMENT_KIND_TAG: Final = "mlflow.experimentKind"
EXPERIMENT_KIND: Final = "custom_model_development"
#: the source type of the logged dataset (a data folder's fingerprint, never its rows)
SOURCE_TYPE: Final = "vru_data_extract"


class ExtractSource(DatasetSource):
    """Where a training's rows came from: the extract's fingerprint and date, and the feature
    table's path; nothing that can be loaded (the rows are never logged)."""

    def __init__(self, fingerprint: str, extract_date: str, table: str) -> None:
        self._fingerprint, self._extract_date, self._table = fingerprint, extract_date, table

    @staticmethod
    def _get_source_type() -> str:
        return SOURCE_TYPE

    def load(self, **kwargs: Any) -> Any:
        raise NotImplementedError("the rows of a training are never logged")

    @staticmethod
    def _can_resolve(raw_source: Any) -> bool:  # noqa: ARG004 (the base class signature)
        return False

    @classmethod
    def _resolve(cls, raw_source: Any) -> ExtractSource:
        raise NotImplementedError

    def to_dict(self) -> dict[str, str]:
        return {
            "fingerprint": self._fingerprint,
            "extract_date": self._extract_date,
            "feature_table": self._table,
        }

    @classmethod
    def from_dict(cls, source_dict: dict[str, str]) -> ExtractSource:
        return cls(
            source_dict.get("fingerprint", ""),
            source_dict.get("extract_date", ""),
            source_dict.get("feature_table", ""),
        )


def mark_experiment(experiment_id: str) -> None:
    """Tag the experiment as classical model development (once)."""
    client = mlflow.MlflowClient()
    if client.get_experiment(experiment_id).tags.get(EXPERIMENT_KIND_TAG) != EXPERIMENT_KIND:
        client.set_experiment_tag(experiment_id, EXPERIMENT_KIND_TAG, EXPERIMENT_KIND)


def run_name(experiment: str, extract_date: str, fingerprint: str, *, replayed: bool) -> str:
    """The parent run's name: what ran, on which data, judged how."""
    judged = "allocation replayed" if replayed else "hindsight lists only"
    return f"train {experiment} on the extract of {extract_date} (data {fingerprint[:8]}), {judged}"


def log_training_data(result: ExperimentResult) -> None:
    """Log the training rows as an MLflow dataset in the active run: the extract's fingerprint
    as digest, the model inputs and the label as schema, and counts as tags."""
    data = result.data
    frame = data.frame
    label = frame[data.label]
    columns: list[ColSpec | TensorSpec] = [
        ColSpec(DataType.double, name) for name in (*data.spec.names, data.label)
    ]
    schema = Schema(columns)
    source = ExtractSource(data.data_fingerprint, str(data.extract_date), data.source)
    # MetaDataset's stubs leave ``profile`` abstract; it is a property returning None
    dataset = MetaDataset(  # type: ignore[abstract]
        source,
        name=f"teachable moments ({result.config.name})",
        digest=data.data_fingerprint[:36],  # the extract's own, not a hash of the schema
        schema=schema,
    )
    mlflow.log_input(
        dataset,
        context="training",
        tags={
            "moments": str(len(frame)),
            "young_people": str(frame["person_id"].nunique()),
            "labelled": str(int(label.notna().sum())),
            "positives": str(int((label == 1).sum())),
            "inputs": str(len(data.spec.names)),
            "extract_date": str(data.extract_date),
        },
    )


def _fmt(x: float | None) -> str:
    return "n/a" if x is None or not math.isfinite(x) else f"{x:.3f}"


def version_description(
    result: ExperimentResult, *, leakage: GateResult, state: str, trained_by: str
) -> str:
    """The registered version's description: window, data, the headline figures beside the
    best rule baseline, the gates and what has to happen next."""
    ours = result.pooled[LIGHTGBM].metrics
    key = "precision_at_capacity" if result.replayed else "hindsight_precision_at_capacity"
    baselines = {
        n: e.metrics.get(key, float("nan"))
        for n, e in result.pooled.items()
        if e.kind == "baseline"
    }
    best = max(baselines, key=lambda n: baselines[n], default=None)
    low, high = ours.get(f"{key}_low"), ours.get(f"{key}_high")
    interval = f" (95% interval {_fmt(low)} to {_fmt(high)})" if low is not None else ""
    how = (
        "the places the service's own allocation would have offered, replayed over the test folds"
        if result.replayed
        else "each month's top list chosen with hindsight (the allocation was not replayed)"
    )
    lines = [
        f"LightGBM trained by {trained_by} on the extract of {result.data.extract_date} "
        f"(data {result.data.data_fingerprint[:8]}), training window "
        f"{result.final_window.get('train', '?')}, calibrated on "
        f"{result.final_window.get('calibration', '?')}.",
        f"Precision at capacity {_fmt(ours.get(key))}{interval}: {how}. "
        f"Recall {_fmt(ours.get(key.replace('precision', 'recall')))}, "
        f"AUC {_fmt(ours.get('auc'))}, calibration error {_fmt(ours.get('ece'))}.",
    ]
    if best is not None:
        lines.append(f"Best rule baseline: {best}, precision {_fmt(baselines[best])}.")
    lines.append(
        f"Performance gate: {'pass' if result.performance_gate.passed else 'fail'}; "
        f"leakage tripwire: {'clear' if leakage.passed else 'fired'}; state: {state}."
    )
    lines.append(
        "Not for use until a fairness audit (`vru audit`) and the ethics panel's written "
        "approval; see the model card (`vru models card`)."
    )
    return "\n".join(lines)
