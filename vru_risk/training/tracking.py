"""MLflow tracking of an experiment and registration of its model (the I/O of training).

One parent run per ``vru train`` (its params say which allocation the metrics at capacity
replayed: the rule, the programmes file's hash and each programme's policy); inside it one run
per model per fold (params, metrics, and for LightGBM the calibration plot, the hindsight
precision-at-capacity curve (monthly top-k lists of several sizes), a global SHAP summary from
``shap.TreeExplainer``, the feature spec and that fold's predictions), a ``pooled`` run per model,
and a ``final`` run that logs and registers the RiskModel. The parent run holds the summary
table, the gates and ``predictions.parquet`` (every fold's test slice: the fairness audit's data).
Every run carries the host and pid of the process logging it, so that a run a killed ``vru
train`` left RUNNING is recognised later (:mod:`~vru_risk.training.abandoned_runs`).
"""

from __future__ import annotations

import json
import math
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import mlflow

from vru_risk.models.artifacts import POOLED_PREFIX, PREDICTIONS_FILE
from vru_risk.models.registry import Registry, VersionInfo, ensure_experiment, tracking
from vru_risk.models.tags import (
    CANDIDATE,
    CAPACITY_TAG,
    DATA_FINGERPRINT_KIND_TAG,
    DATA_FINGERPRINT_TAG,
    DEMO_TAG,
    EXPERIMENT_HASH_TAG,
    LABEL_TIMESPAN_TAG,
    LEAKAGE_COMPARED_TO_TAG,
    LEAKAGE_GATE_TAG,
    LEAKAGE_REASONS_TAG,
    PARENT_RUN_TAG,
    PERFORMANCE_GATE_TAG,
    REGISTERED_VERSION_TAG,
    SPEC_HASH_TAG,
    TRAIN_END_TAG,
    TRAINED_BY_TAG,
    TRAINING_ALLOCATION_TAG,
    metric_tag,
)
from vru_risk.training.abandoned_runs import process_tags
from vru_risk.training.evaluate import ModelEvaluation
from vru_risk.training.gates import tripwire, version_state
from vru_risk.training.mlflow_meta import (
    log_training_data,
    mark_experiment,
    run_name,
    version_description,
)
from vru_risk.training.results import LIGHTGBM, ExperimentResult, GateResult
from vru_risk.training.shap_plots import plot_beeswarm, shap_summary, shap_values

HEADLINE = ("auc", "precision_at_capacity", "recall_at_capacity", "ece")
#: the headline of a version judged on the hindsight lists alone (nothing replayed)
HINDSIGHT_HEADLINE = (
    "auc",
    "hindsight_precision_at_capacity",
    "hindsight_recall_at_capacity",
    "ece",
)


def headline_names(replayed: bool) -> tuple[str, ...]:
    """The metrics a version carries as tags and the tripwire compares."""
    return HEADLINE if replayed else HINDSIGHT_HEADLINE


@dataclass(frozen=True)
class TrainOutcome:
    """What ``vru train`` reports: the registered version, its state and the gates."""

    version: VersionInfo
    state: str
    performance: GateResult
    leakage: GateResult
    run_id: str
    experiment_id: str


def slug(name: str) -> str:
    """An MLflow-safe metric name for a model such as ``excl_suspensions_365d>=2``."""
    return name.replace(" - ", "_minus_").replace(">=", "_ge_").replace(">", "_gt_")


def _finite(metrics: dict[str, float]) -> dict[str, float]:
    return {k: float(v) for k, v in metrics.items() if v is not None and math.isfinite(float(v))}


def _plot_calibration(ev: ModelEvaluation, path: Path) -> None:
    fig, ax = plt.subplots(figsize=(5, 5))
    curve = ev.calibration
    if curve is not None and not curve.empty:
        ax.plot(curve["mean_predicted"], curve["observed"], marker="o", label=ev.model)
    ax.plot([0, 1], [0, 1], linestyle="--", color="grey", label="perfect calibration")
    ax.set_xlabel("mean calibrated probability")
    ax.set_ylabel("observed rate of the label")
    ax.set_title(f"Calibration, fold {ev.fold or 'pooled'}")
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=80)
    plt.close(fig)


def _plot_curve(evs: dict[str, ModelEvaluation], path: Path) -> None:
    fig, ax = plt.subplots(figsize=(6, 4))
    for name, ev in evs.items():
        caps = sorted(ev.curve)
        ax.plot(caps, [ev.curve[c].precision for c in caps], marker="o", label=name)
    ax.set_xscale("log")
    ax.set_xlabel("young people on the monthly list (capacity)")
    ax.set_ylabel("hindsight precision (monthly top-k list)")
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=80)
    plt.close(fig)


def _log_evaluation(ev: ModelEvaluation) -> None:
    mlflow.log_metrics(_finite(ev.metrics))
    prefix = "" if ev.replayed else "hindsight_"
    for step, (_month, m) in enumerate(sorted(ev.by_month.items())):
        if m.flagged:
            mlflow.log_metric(f"{prefix}monthly_precision_at_capacity", m.precision, step=step)


def log_and_register(
    result: ExperimentResult,
    *,
    tracking_uri: str,
    artifact_root: str | None,
    config_text: str,
    trained_by: str,
    demo: bool = False,
    progress: Callable[[str, int, int], None] | None = None,
) -> TrainOutcome:
    """Log every run of ``result``, register the final RiskModel and set aliases per the gates."""
    config, data = result.config, result.data
    registry = Registry(tracking_uri)
    comparable = {
        SPEC_HASH_TAG: data.spec.hash,
        LABEL_TIMESPAN_TAG: f"{config.temporal.label_timespan_days}d",
        CAPACITY_TAG: str(config.capacity.per_month),
        DEMO_TAG: "true" if demo else "false",  # a demo model is no yardstick for real ones
        # figures at capacity under another allocation are no yardstick either
        TRAINING_ALLOCATION_TAG: result.allocation_rule,
    }
    provenance = {
        EXPERIMENT_HASH_TAG: config.hash,
        SPEC_HASH_TAG: data.spec.hash,
        DATA_FINGERPRINT_TAG: data.data_fingerprint,
        DATA_FINGERPRINT_KIND_TAG: data.data_fingerprint_kind,
    }
    previous = registry.previous(like=comparable)
    headline = result.headline()
    names = headline_names(result.replayed)
    leakage = tripwire(
        headline,
        None
        if previous is None
        else {k: v for k in names if (v := previous.metric(k)) is not None},
        implausible_auc=config.gates.implausible_auc,
        max_auc_jump=config.gates.max_auc_jump,
        max_precision_jump=config.gates.max_precision_jump,
        precision_key=names[1],
    )
    state = version_state(performance=result.performance_gate, leakage=leakage)
    total = len(result.folds) * len(result.pooled) + 2
    done = 0

    def step() -> None:
        nonlocal done
        done += 1
        if progress:
            progress("tracking in MLflow", done, total)

    running = process_tags()  # every run names its process: a killed run is found by it later
    with tracking(tracking_uri), tempfile.TemporaryDirectory(prefix="vru-train-") as tmp:
        out = Path(tmp)
        experiment_id = ensure_experiment(config.name, artifact_root)
        mark_experiment(experiment_id)
        name = run_name(
            config.name, str(data.extract_date), data.data_fingerprint, replayed=result.replayed
        )
        with mlflow.start_run(experiment_id=experiment_id, run_name=name, tags=running) as parent:
            mlflow.set_tags(provenance)
            log_training_data(result)
            mlflow.log_params(
                {
                    "experiment": config.name,
                    "experiment_hash": config.hash,
                    "spec_hash": data.spec.hash,
                    "data_fingerprint": data.data_fingerprint,
                    "extract_date": str(data.extract_date),
                    "label_lag_days": data.label_lag_days,
                    "feature_table": data.source,
                    "capacity_per_month": config.capacity.per_month,
                    "seed": config.seed,
                    **allocation_params(result),
                }
            )
            (out / "experiment.yaml").write_text(config_text, encoding="utf-8")
            (out / "feature_spec.json").write_text(data.spec.canonical_json(), encoding="utf-8")
            result.summary.to_csv(out / "summary.csv", index=False)
            result.predictions.to_parquet(out / PREDICTIONS_FILE, index=False)
            gates = {
                "performance": {
                    "passed": result.performance_gate.passed,
                    "reasons": list(result.performance_gate.reasons),
                },
                "leakage_tripwire": {
                    "fired": not leakage.passed,
                    "reasons": list(leakage.reasons),
                    "previous_version": previous.version if previous else None,
                },
                "differences": {k: v.__dict__ for k, v in result.differences.items()},
                "state": state,
            }
            (out / "gates.json").write_text(json.dumps(gates, indent=1), encoding="utf-8")
            for name in (
                "experiment.yaml",
                "feature_spec.json",
                "summary.csv",
                PREDICTIONS_FILE,
                "gates.json",
            ):
                mlflow.log_artifact(str(out / name))
            mlflow.log_metrics({f"lightgbm_{k}": v for k, v in _finite(headline).items()})
            for key, interval in result.differences.items():
                if math.isfinite(interval.estimate):
                    mlflow.log_metric(f"diff_{slug(key)}", interval.estimate)
            step()
            for fold in result.folds:
                for name, ev in fold.evaluations.items():
                    with mlflow.start_run(
                        experiment_id=experiment_id,
                        run_name=f"fold{fold.fold.index}/{name}",
                        nested=True,
                        tags=running,
                    ):
                        slices = fold.fold.slices()
                        params: dict[str, Any] = {
                            "model": name,
                            "kind": ev.kind,
                            "fold": fold.fold.index,
                            **{f"{s}_from": str(a) for s, (a, _) in slices.items()},
                            **{f"{s}_before": str(b) for s, (_, b) in slices.items()},
                        }
                        if name == LIGHTGBM:
                            p = fold.params
                            params |= {
                                "n_estimators": p.n_estimators,
                                "num_leaves": p.num_leaves,
                                "learning_rate": p.learning_rate,
                                "min_child_samples": p.min_child_samples,
                                "calibration": json.dumps(fold.calibration),
                            }
                        mlflow.log_params(params)
                        _log_evaluation(ev)
                        if name == LIGHTGBM:
                            _fold_artifacts(result, fold.fold.index, out)
                        elif ev.calibration is not None:  # logistic regression, oracle
                            folder = out / f"fold{fold.fold.index}-{name}"
                            folder.mkdir()
                            _plot_calibration(ev, folder / "calibration.png")
                            ev.calibration.to_csv(folder / "calibration_curve.csv", index=False)
                            mlflow.log_artifacts(str(folder))
                    step()
            # one pooled run per model, each with the same metric names, so that the chart view
            # compares the models metric by metric
            for name, ev in result.pooled.items():
                with mlflow.start_run(
                    experiment_id=experiment_id,
                    run_name=f"{POOLED_PREFIX}{name}",
                    nested=True,
                    tags=running,
                ):
                    mlflow.log_params({"model": name, "kind": ev.kind, "fold": "pooled"})
                    mlflow.log_metrics(_finite(ev.metrics))
                    if name == LIGHTGBM:
                        _plot_curve(result.pooled, out / "precision_at_capacity_curve.png")
                        mlflow.log_artifact(str(out / "precision_at_capacity_curve.png"))
            with mlflow.start_run(
                experiment_id=experiment_id, run_name="final/lightgbm", nested=True, tags=running
            ):
                final = result.final
                mlflow.log_params(
                    {
                        **{k: v for k, v in final.info.items() if k != "params"},
                        "booster": final.info.get("params", ""),
                        "calibration": json.dumps(final.calibrator.params()),
                    }
                )
                tags = {
                    **provenance,
                    **comparable,
                    TRAIN_END_TAG: final.info["train_end"],
                    PERFORMANCE_GATE_TAG: "pass" if result.performance_gate.passed else "fail",
                    LEAKAGE_GATE_TAG: "clear" if leakage.passed else "fired",
                    LEAKAGE_REASONS_TAG: "; ".join(leakage.reasons),
                    LEAKAGE_COMPARED_TO_TAG: str(previous.version) if previous else "none",
                    PARENT_RUN_TAG: parent.info.run_id,
                    TRAINED_BY_TAG: trained_by,
                    **{metric_tag(k): f"{headline[k]:.6f}" for k in names},
                }
                sample = data.features(data.frame.head(200))
                version = registry.log_and_register(final, sample=sample, tags=tags, state=state)
                mlflow.set_tags({REGISTERED_VERSION_TAG: str(version.version)})
                registry.describe(
                    version.version,
                    version_description(
                        result, leakage=leakage, state=state, trained_by=trained_by
                    ),
                )
            step()
    if state == CANDIDATE:
        registry.set_alias("candidate", version.version)
        version = registry.version(version.version)
    return TrainOutcome(
        version=version,
        state=state,
        performance=result.performance_gate,
        leakage=leakage,
        run_id=parent.info.run_id,
        experiment_id=experiment_id,
    )


def allocation_params(result: ExperimentResult) -> dict[str, str]:
    """The allocation a run replayed: its rule, the programmes file's hash and each
    programme's policy (``policy.<programme>``)."""
    params = {"allocation": result.allocation_rule}
    if result.allocation is not None:
        params["programmes_sha256"] = result.allocation.programmes_hash
        params |= {f"policy.{k}": v for k, v in result.allocation.policies().items()}
    return params


def _fold_artifacts(result: ExperimentResult, index: int, out: Path) -> None:
    fold = result.folds[index - 1]
    ev = fold.evaluations[LIGHTGBM]
    folder = out / f"fold{index}"
    folder.mkdir(exist_ok=True)
    _plot_calibration(ev, folder / "calibration.png")
    _plot_curve(fold.evaluations, folder / "precision_at_capacity_curve.png")
    test = result.data.between(fold.fold.test_start, fold.fold.test_end)
    matrix, sample = shap_values(
        fold.booster_model.booster, result.data.features(test), seed=result.config.seed
    )
    shap_summary(matrix, sample).to_csv(folder / "shap_summary.csv", index=False)
    plot_beeswarm(matrix, sample, folder / "shap_summary.png")
    if ev.calibration is not None:
        ev.calibration.to_csv(folder / "calibration_curve.csv", index=False)
    (folder / "feature_spec.json").write_text(result.data.spec.canonical_json(), encoding="utf-8")
    fold.predictions.to_parquet(folder / PREDICTIONS_FILE, index=False)
    mlflow.log_artifacts(str(folder))
