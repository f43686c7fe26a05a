"""Orchestration of one experiment: folds, models side by side, evaluation, gates, final model.

For every rolling-origin fold the same steps run on the same slices: fit the logistic regression
and the LightGBM grid on the training slice, choose the smallest LightGBM model within tolerance
of the best precision at capacity on the calibration slice, fit the calibrator on that slice, and
score the test slice with every model (LightGBM, logistic regression, the rule baselines and,
with a truth folder, the oracle). The test slices are the audit window: never used for fitting
or selection.

The model that is registered is then fitted the same way on the most recent data whose labels
are complete (training up to the calibration slice, calibration on the last ``calibration_days``
before the labels stop being complete). Its out-of-time performance is the folds'.

The steps live beside this module: :mod:`~vru_risk.training.fit` (models and the RiskModel),
:mod:`~vru_risk.training.allocation` (the service's allocation replayed over a test slice),
:mod:`~vru_risk.training.evaluate` (metrics at capacity and the hindsight bound),
:mod:`~vru_risk.training.variants` (group-blind alternatives for the fairness panel),
:mod:`~vru_risk.training.gates` (slice check, performance gate, leakage tripwire) and
:mod:`~vru_risk.training.results` (what comes out). Nothing here writes files or talks to
MLflow: :mod:`vru_risk.training.tracking` does.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta

import numpy as np
import pandas as pd

from vru_risk.training.allocation import (
    FoldOffers,
    ServiceAllocation,
    add_metrics,
    fold_percentile,
    replay_fold,
    replayable,
)
from vru_risk.training.baselines import parse_baseline
from vru_risk.training.config import ExperimentConfig
from vru_risk.training.data import TrainingData
from vru_risk.training.evaluate import (
    CapacityMetrics,
    ModelEvaluation,
    evaluate,
    precision_difference,
)
from vru_risk.training.fit import BoosterParams, fit_logistic, fit_risk_model
from vru_risk.training.gates import check_slices, performance_gate
from vru_risk.training.intervals import capacity_intervals
from vru_risk.training.results import (
    LIGHTGBM,
    LOGISTIC,
    ORACLE,
    ExperimentResult,
    FoldResult,
    Scores,
    fold_predictions,
    offered_column,
    summary_table,
)
from vru_risk.training.splits import Fold, fold_plan
from vru_risk.training.variants import without_source

Progress = Callable[[str, int, int], None]


def run_experiment(
    config: ExperimentConfig,
    data: TrainingData,
    *,
    allocation: ServiceAllocation | None = None,
    progress: Progress | None = None,
) -> ExperimentResult:
    """Run every fold, pool, compare, apply the performance gate and fit the final model.

    With ``allocation`` holding the moments' context, every model is judged on the places the
    service would have offered (its allocation replayed over each fold's test rows); without,
    on the monthly top-k lists alone (the hindsight bound, named so)."""
    plan = fold_plan(
        config.temporal, extract_date=data.extract_date, label_lag_days=data.label_lag_days
    )
    check_slices(data, plan, config.gates.min_positives_per_slice)
    total = len(plan) + 2
    if progress:
        progress("training", 0, total)
    folds: list[FoldResult] = []
    for i, fold in enumerate(plan):
        folds.append(run_fold(data, fold, config, allocation))
        if progress:
            progress("training", i + 1, total)
    pooled = pool(folds, config, data)
    others = [LOGISTIC, *config.models.baselines, *([ORACLE] if ORACLE in pooled else [])]
    differences = {
        f"{LIGHTGBM} - {name}": precision_difference(
            *judged_months(pooled[LIGHTGBM], pooled[name]), seed=config.seed
        )
        for name in others
    }
    gate = performance_gate(folds, differences, config.models.baselines)
    if progress:
        progress("training", len(plan) + 1, total)
    train, calibration = final_window(plan, config)
    final, params, _ = fit_risk_model(
        data,
        config,
        train=train,
        calibration=calibration,
        params=chosen_params(folds),
        info={
            "experiment": config.name,
            "experiment_hash": config.hash,
            "spec_hash": data.spec.hash,
            "data_fingerprint": data.data_fingerprint,
            "extract_date": str(data.extract_date),
            "label_timespan_days": str(config.temporal.label_timespan_days),
            "build_config": config.features.model_dump_json(),
        },
    )
    if progress:
        progress("training", total, total)
    result = ExperimentResult(
        allocation=allocation,
        config=config,
        data=data,
        plan=plan,
        folds=folds,
        pooled=pooled,
        differences=differences,
        performance_gate=gate,
        final=final,
        final_params=params,
        final_window={
            "train": f"{train[0]} to {train[1]}",
            "calibration": f"{calibration[0]} to {calibration[1]}",
        },
    )
    result.summary = summary_table(result)
    return result


def run_fold(
    data: TrainingData,
    fold: Fold,
    config: ExperimentConfig,
    allocation: ServiceAllocation | None = None,
) -> FoldResult:
    """Fit every model on one fold's training slice and score its test slice (and replay the
    service's allocation over it for every model with a score in [0, 1])."""
    label = data.label
    model, params, selection = fit_risk_model(
        data,
        config,
        train=(fold.train_start, fold.train_end),
        calibration=(fold.calibration_start, fold.calibration_end),
        info={"fold": str(fold.index)},
    )
    train_rows = data.labelled(fold.train_start, fold.train_end)
    logistic = fit_logistic(
        data.features(train_rows).to_numpy(),
        train_rows[label].to_numpy(dtype="float64"),
        c=config.models.logistic_c,
    )
    test_all = data.between(fold.test_start, fold.test_end)
    x_all = data.features(test_all)
    raw = model.raw_score(x_all)
    prob = model.calibrator.transform(raw)
    lr_prob = logistic.predict_proba(x_all.to_numpy())[:, 1]
    scores: Scores = {
        LIGHTGBM: ("lightgbm", prob, prob),
        LOGISTIC: ("logistic", lr_prob, lr_prob),
    }
    for name in config.models.baselines:
        rule = parse_baseline(name)
        scores[name] = ("baseline", rule.score(test_all), None)
    if data.has_oracle:
        p = test_all["oracle_p_label_recorded"].to_numpy(dtype="float64")
        scores[ORACLE] = ("oracle", p, p)
    variants = {
        f"without_{source}": without_source(data, fold, config, params, test_all, source)
        for source in config.models.mitigation_drop_sources
    }
    offers: dict[str, FoldOffers] = {}
    if allocation is not None and allocation.replayed:
        calibration_all = data.between(fold.calibration_start, fold.calibration_end)
        reference = {
            LOGISTIC: logistic.predict_proba(data.features(calibration_all).to_numpy())[:, 1],
            **{n: parse_baseline(n).score(calibration_all) for n in config.models.baselines},
        }
        if data.has_oracle:
            reference[ORACLE] = calibration_all["oracle_p_label_recorded"].to_numpy("float64")
        y_all = test_all[label].to_numpy(dtype="float64")
        for name, (_kind, score, _p) in scores.items():
            if not replayable(score):
                continue
            percentile = (
                model.percentile(score)
                if name == LIGHTGBM
                else fold_percentile(reference[name], score)
            )
            offers[name] = replay_fold(test_all, score, percentile, y_all, allocation)
    keep = test_all[label].notna().to_numpy()
    rows = test_all[keep]
    evaluations = {
        name: evaluate(
            rows,
            score[keep],
            None if p is None else p[keep],
            config=config,
            model=name,
            kind=kind,
            fold=fold.index,
            label=label,
            offers=_kept(offers.get(name), keep),
        )
        for name, (kind, score, p) in scores.items()
    }
    predictions = fold_predictions(test_all, fold, raw, scores, config, label)
    for name, made in offers.items():
        predictions[offered_column(name)] = made.offered
    for name, values in variants.items():
        predictions[f"variant_{name}"] = values
    return FoldResult(
        fold, params, selection, model.calibrator.params(), evaluations, predictions, model
    )


def _kept(offers: FoldOffers | None, keep: np.ndarray) -> FoldOffers | None:
    """``offers`` over the labelled rows only (its metrics already leave the others out)."""
    return (
        None if offers is None else FoldOffers(offers.offered[keep], offers.metrics, offers.offers)
    )


def judged_months(
    a: ModelEvaluation, b: ModelEvaluation
) -> tuple[dict[str, CapacityMetrics], dict[str, CapacityMetrics]]:
    """The months two models are compared on: their replayed offers, or (unless both were
    replayed) their hindsight lists: never one of each."""
    if a.replayed and b.replayed:
        return a.by_month, b.by_month
    return a.hindsight_by_month, b.hindsight_by_month


def pool(
    folds: list[FoldResult], config: ExperimentConfig, data: TrainingData
) -> dict[str, ModelEvaluation]:
    """Every model evaluated over all test folds together (months never overlap folds)."""
    preds = pd.concat([f.predictions for f in folds], ignore_index=True)
    rows = preds[preds[data.label].notna()].copy()
    rows["as_of"] = pd.to_datetime(rows["as_of"])
    out: dict[str, ModelEvaluation] = {}
    for name, ev in folds[0].evaluations.items():
        if name == LIGHTGBM:
            score = rows["score"].to_numpy(dtype="float64")
        elif ev.kind == "oracle":
            score = rows["oracle_p_label_recorded"].to_numpy(dtype="float64")
        else:
            score = rows[f"score_{name}"].to_numpy(dtype="float64")
        has_prob = ev.kind in ("lightgbm", "logistic", "oracle")
        offers = None
        made = [f.evaluations[name].offers for f in folds]
        if all(m is not None for m in made):
            offers = FoldOffers(
                rows[offered_column(name)].to_numpy(dtype=bool),
                add_metrics([m.metrics for m in made if m is not None]),
            )
        pooled = evaluate(
            rows,
            score,
            score if has_prob else None,
            config=config,
            model=name,
            kind=ev.kind,
            fold=0,
            label=data.label,
            offers=offers,
        )
        if offers is not None:
            pooled.metrics |= capacity_intervals(
                rows["person_id"], offers.offered, rows[data.label], seed=config.seed
            )
        # the lists are the folds' own (months never overlap folds): add them up rather than
        # re-drawing tie-breaks over the pooled rows
        lists = {m: c for f in folds for m, c in f.evaluations[name].hindsight_by_month.items()}
        total = sum(lists.values(), CapacityMetrics(0, 0, 0, 0))
        curve = {
            c: sum((f.evaluations[name].curve[c] for f in folds), CapacityMetrics(0, 0, 0, 0))
            for c in config.capacity.curve
        }
        pooled.hindsight_by_month, pooled.curve = lists, curve
        if not pooled.replayed:
            pooled.by_month = lists
        pooled.metrics |= {
            "hindsight_precision_at_capacity": total.precision,
            "hindsight_recall_at_capacity": total.recall,
            "hindsight_lift_at_capacity": total.lift,
            "hindsight_flagged": float(total.flagged),
            "hindsight_flagged_positive": float(total.flagged_positive),
            "hindsight_positives": float(total.positives),
            "hindsight_base_rate": total.base_rate,
            **{f"hindsight_precision_at_{c}": m.precision for c, m in curve.items()},
            **{f"hindsight_recall_at_{c}": m.recall for c, m in curve.items()},
        }
        out[name] = pooled
    return out


def chosen_params(folds: list[FoldResult]) -> BoosterParams:
    """The booster settings the folds chose most often (ties: the smaller model)."""
    counts: dict[BoosterParams, int] = {}
    for f in folds:
        counts[f.params] = counts.get(f.params, 0) + 1
    return min(counts, key=lambda p: (-counts[p], p.size, p.n_estimators))


def final_window(
    plan: tuple[Fold, ...], config: ExperimentConfig
) -> tuple[tuple[date, date], tuple[date, date]]:
    """Training and calibration slices of the model that is registered: the most recent data
    whose labels are complete (up to the last fold's test end)."""
    cal_end = plan[-1].test_end
    cal_start = cal_end - timedelta(days=config.temporal.calibration_days)
    return (config.temporal.feature_start_time, cal_start), (cal_start, cal_end)
