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

Nothing here writes files or talks to MLflow: :mod:`vru_risk.training.tracking` does.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

import numpy as np
import pandas as pd

from vru_risk.models.risk_model import (
    RiskModel,
    availability_patterns,
    feature_medians,
    reference_quantiles,
)
from vru_risk.models.service_lists import monthly_lists
from vru_risk.training.baselines import parse_baseline
from vru_risk.training.config import ExperimentConfig
from vru_risk.training.data import TrainingData
from vru_risk.training.evaluate import (
    CapacityMetrics,
    at_capacity,
    calibration_curve,
    threshold_free,
)
from vru_risk.training.fit import (
    BoosterParams,
    fit_lightgbm,
    fit_logistic,
    grid,
    make_calibrator,
    select_lightgbm,
)
from vru_risk.training.splits import Fold, FoldPlanError, fold_plan

Progress = Callable[[str, int, int], None]

LIGHTGBM = "lightgbm"
LOGISTIC = "logistic_regression"
ORACLE = "oracle"
BOOTSTRAP_RESAMPLES = 2000


@dataclass
class ModelEvaluation:
    """One model on one fold's test slice (or pooled over folds: ``fold`` 0)."""

    model: str
    kind: str  # lightgbm | logistic | baseline | oracle
    fold: int
    metrics: dict[str, float]
    by_month: dict[str, CapacityMetrics]
    curve: dict[int, CapacityMetrics]
    calibration: pd.DataFrame | None = None


@dataclass
class FoldResult:
    fold: Fold
    params: BoosterParams
    selection: dict[str, float]
    calibration: dict[str, float | str]
    evaluations: dict[str, ModelEvaluation]
    predictions: pd.DataFrame
    booster_model: RiskModel


@dataclass(frozen=True)
class Interval:
    estimate: float
    low: float
    high: float

    def text(self) -> str:
        return f"{self.estimate:+.3f} (95% CI {self.low:+.3f} to {self.high:+.3f})"


@dataclass(frozen=True)
class GateResult:
    passed: bool
    reasons: tuple[str, ...]


@dataclass
class ExperimentResult:
    config: ExperimentConfig
    data: TrainingData
    plan: tuple[Fold, ...]
    folds: list[FoldResult]
    pooled: dict[str, ModelEvaluation]
    differences: dict[str, Interval]
    performance_gate: GateResult
    final: RiskModel
    final_params: BoosterParams
    final_window: dict[str, str]
    summary: pd.DataFrame = field(default_factory=pd.DataFrame)

    @property
    def predictions(self) -> pd.DataFrame:
        return pd.concat([f.predictions for f in self.folds], ignore_index=True)

    def headline(self) -> dict[str, float]:
        """The LightGBM's pooled test metrics (what the tripwire and the registry compare)."""
        return self.pooled[LIGHTGBM].metrics


# --- slicing ---------------------------------------------------------------------------------


def _between(frame: pd.DataFrame, start: date, end: date) -> pd.Series:
    as_of = frame["as_of"]
    return (as_of >= pd.Timestamp(start)) & (as_of < pd.Timestamp(end))


def labelled(frame: pd.DataFrame, label: str) -> pd.DataFrame:
    return frame[frame[label].notna()]


# --- evaluation ------------------------------------------------------------------------------


def _lists_frame(rows: pd.DataFrame, score: np.ndarray, label: str) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "person_id": rows["person_id"].to_numpy(),
            "as_of": rows["as_of"].to_numpy(),
            "score": score,
            "label": rows[label].to_numpy(dtype="float64"),
        }
    )


def evaluate(
    rows: pd.DataFrame,
    score: np.ndarray,
    probability: np.ndarray | None,
    *,
    config: ExperimentConfig,
    model: str,
    kind: str,
    fold: int,
    label: str,
) -> ModelEvaluation:
    """Every metric of one model on labelled test rows (``rows`` already drop censored ones)."""
    seed, capacity = config.seed, config.capacity.per_month
    main = at_capacity(_lists_frame(rows, score, label), capacity=capacity, seed=seed)
    y = rows[label].to_numpy(dtype="float64")
    metrics: dict[str, float] = {
        "precision_at_capacity": main.pooled.precision,
        "recall_at_capacity": main.pooled.recall,
        "lift_at_capacity": main.pooled.lift,
        "flagged": float(main.pooled.flagged),
        "flagged_positive": float(main.pooled.flagged_positive),
        "positives": float(main.pooled.positives),
        "examples": float(len(rows)),
        "base_rate": main.pooled.base_rate,
    }
    tf = threshold_free(y, score, probability if probability is not None else score)
    metrics["auc"], metrics["average_precision"] = tf["auc"], tf["average_precision"]
    calib = None
    if probability is not None:
        metrics["brier"], metrics["ece"] = tf["brier"], tf["ece"]
        calib = calibration_curve(y, probability)
    curve = {
        c: at_capacity(_lists_frame(rows, score, label), capacity=c, seed=seed).pooled
        for c in config.capacity.curve
    }
    for c, m in curve.items():
        metrics[f"precision_at_{c}"] = m.precision
        metrics[f"recall_at_{c}"] = m.recall
    # the same lists judged against other outcomes: label gaps, harm only, true involvement
    variants = {f"gap{g}": f"{label}_gap{g}" for g in config.features.label.extra_gaps}
    variants["harm"] = f"{label}_harm"
    variants["true_involvement"] = "label_true_involvement"
    for name, column in variants.items():
        if column not in rows.columns:
            continue
        keep = rows[column].notna().to_numpy()
        sub = rows[keep]
        res = at_capacity(_lists_frame(sub, score[keep], column), capacity=capacity, seed=seed)
        metrics[f"{name}_precision_at_capacity"] = res.pooled.precision
        metrics[f"{name}_recall_at_capacity"] = res.pooled.recall
        metrics[f"{name}_auc"] = threshold_free(
            sub[column].to_numpy(dtype="float64"), score[keep], score[keep]
        )["auc"]
    # treated / untreated: support received during the label window (it may have prevented the
    # outcome, so the model looks worse among the treated than it is)
    if "label_window_treated" in rows.columns:
        lists = _with_lists(rows, score, label, capacity, seed)
        for name, value in (("treated", 1.0), ("untreated", 0.0)):
            part = lists[lists["treated"] == value]
            flagged = part[part["flagged"]]
            pos = float(part["label"].sum())
            metrics[f"{name}_examples"] = float(len(part))
            metrics[f"{name}_precision_at_capacity"] = (
                float(flagged["label"].mean()) if len(flagged) else float("nan")
            )
            metrics[f"{name}_recall_at_capacity"] = (
                float(flagged["label"].sum()) / pos if pos else float("nan")
            )
    return ModelEvaluation(model, kind, fold, metrics, main.by_month, curve, calib)


def _with_lists(
    rows: pd.DataFrame, score: np.ndarray, label: str, capacity: int, seed: int
) -> pd.DataFrame:
    frame = _lists_frame(rows, score, label).assign(
        treated=rows["label_window_treated"].to_numpy(dtype="float64")
    )
    return monthly_lists(frame, capacity=capacity, seed=seed)


def precision_difference(
    a: dict[str, CapacityMetrics], b: dict[str, CapacityMetrics], *, seed: int
) -> Interval:
    """Pooled precision at capacity of ``a`` minus ``b``, with a bootstrap over months.

    Months are the service's unit (one list a month), so they are resampled whole: the
    interval reflects month-to-month variation as well as the noise within a list.
    """
    months = sorted(set(a) & set(b))
    fa = np.array([[a[m].flagged_positive, a[m].flagged] for m in months], dtype="float64")
    fb = np.array([[b[m].flagged_positive, b[m].flagged] for m in months], dtype="float64")

    def diff(idx: np.ndarray) -> float:
        sa, sb = fa[idx].sum(axis=0), fb[idx].sum(axis=0)
        if sa[1] == 0 or sb[1] == 0:
            return float("nan")
        return float(sa[0] / sa[1] - sb[0] / sb[1])

    if not months:
        return Interval(float("nan"), float("nan"), float("nan"))
    estimate = diff(np.arange(len(months)))
    rng = np.random.default_rng(seed)
    draws = np.array(
        [diff(rng.integers(0, len(months), len(months))) for _ in range(BOOTSTRAP_RESAMPLES)]
    )
    low, high = np.nanquantile(draws, [0.025, 0.975])
    return Interval(estimate, float(low), float(high))


# --- fitting ---------------------------------------------------------------------------------


def _calibration_judge(
    rows: pd.DataFrame, x: np.ndarray, label: str, config: ExperimentConfig
) -> Callable[[Any], float]:
    def judge(booster: Any) -> float:
        score = booster.predict(x, raw_score=True)
        res = at_capacity(
            _lists_frame(rows, score, label), capacity=config.capacity.per_month, seed=config.seed
        )
        return res.pooled.precision

    return judge


def fit_risk_model(
    data: TrainingData,
    config: ExperimentConfig,
    *,
    train: tuple[date, date],
    calibration: tuple[date, date],
    info: dict[str, str],
    params: BoosterParams | None = None,
) -> tuple[RiskModel, BoosterParams, dict[str, float]]:
    """Fit the LightGBM grid on ``train``, choose and calibrate on ``calibration``.

    With ``params`` the grid is skipped and that booster is fitted (the registered model uses
    the settings the folds chose, so the model registered is the one evaluated).
    """
    label = data.label
    frame = data.frame
    train_rows = labelled(frame[_between(frame, *train)], label)
    cal_all = frame[_between(frame, *calibration)]
    cal_rows = labelled(cal_all, label)
    x_train = data.features(train_rows).to_numpy()
    y_train = train_rows[label].to_numpy(dtype="float64")
    x_cal = data.features(cal_rows).to_numpy()
    selection = select_lightgbm(
        (x_train, y_train),
        [params] if params is not None else grid(config.models.lightgbm),
        _calibration_judge(cal_rows, x_cal, label, config),
        seed=config.seed,
        names=list(data.spec.names),
        tolerance=config.models.selection_tolerance,
    )
    booster = selection.booster
    calibrator = make_calibrator(config.calibration.method).fit(
        np.asarray(booster.predict(x_cal, raw_score=True)),
        cal_rows[label].to_numpy(dtype="float64"),
    )
    ref_scores = calibrator.transform(
        np.asarray(booster.predict(data.features(cal_all).to_numpy(), raw_score=True))
    )
    patterns = availability_patterns(
        data.features(train_rows),
        {
            s: tuple(f.name for f in data.spec.features if f.source == s)
            for s in data.spec.sources
            if s != "people"
        },
        train_rows.get("sources_unavailable", data.sources_unavailable),
    )
    model = RiskModel(
        spec=data.spec,
        booster=selection.booster,
        calibrator=calibrator,
        reference_scores=reference_quantiles(ref_scores),
        source_patterns={str(k): int(v) for k, v in patterns.value_counts().sort_index().items()},
        feature_medians=feature_medians(data.features(cal_all)),
        info={
            **info,
            "train_start": str(train[0]),
            "train_end": str(train[1]),
            "calibration_start": str(calibration[0]),
            "calibration_end": str(calibration[1]),
            "params": _params_text(selection.params),
            "training_examples": str(len(train_rows)),
            "calibration_examples": str(len(cal_rows)),
        },
        threads=2,
    )
    scores = {_params_text(p): s for p, s in selection.scores.items()}
    return model, selection.params, scores


def _params_text(p: BoosterParams) -> str:
    return (
        f"n_estimators={p.n_estimators},num_leaves={p.num_leaves},"
        f"learning_rate={p.learning_rate},min_child_samples={p.min_child_samples}"
    )


def run_fold(data: TrainingData, fold: Fold, config: ExperimentConfig) -> FoldResult:
    """Fit every model on one fold's training slice and score its test slice."""
    label = data.label
    frame = data.frame
    model, params, selection = fit_risk_model(
        data,
        config,
        train=(fold.train_start, fold.train_end),
        calibration=(fold.calibration_start, fold.calibration_end),
        info={"fold": str(fold.index)},
    )
    train_rows = labelled(frame[_between(frame, fold.train_start, fold.train_end)], label)
    logistic = fit_logistic(
        data.features(train_rows).to_numpy(),
        train_rows[label].to_numpy(dtype="float64"),
        c=config.models.logistic_c,
    )
    test_all = frame[_between(frame, fold.test_start, fold.test_end)]
    x_all = data.features(test_all)
    raw = model.raw_score(x_all)
    prob = model.calibrator.transform(raw)
    lr_prob = logistic.predict_proba(x_all.to_numpy())[:, 1]
    scores: dict[str, tuple[str, np.ndarray, np.ndarray | None]] = {
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
        f"without_{source}": _variant_scores(data, fold, config, params, test_all, source)
        for source in config.models.mitigation_drop_sources
    }
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
        )
        for name, (kind, score, p) in scores.items()
    }
    predictions = _predictions(test_all, fold, raw, prob, scores, config)
    for name, values in variants.items():
        predictions[f"variant_{name}"] = values
    return FoldResult(
        fold, params, selection, model.calibrator.params(), evaluations, predictions, model
    )


def _variant_scores(
    data: TrainingData,
    fold: Fold,
    config: ExperimentConfig,
    params: BoosterParams,
    test_all: pd.DataFrame,
    drop_source: str,
) -> np.ndarray:
    """A group-blind alternative for the fairness panel: the fold's booster settings refitted
    without one source's features (e.g. police-recorded contacts), calibrated the same way.
    Its scores go into ``predictions.parquet``; it is never registered."""
    names = [f.name for f in data.spec.features if f.source != drop_source]
    return _refit_scores(data, fold, config, params, test_all, names)


def _refit_scores(
    data: TrainingData,
    fold: Fold,
    config: ExperimentConfig,
    params: BoosterParams,
    test_all: pd.DataFrame,
    names: list[str],
    weigh: Callable[[pd.DataFrame], np.ndarray] | None = None,
) -> np.ndarray:
    """Refit the fold's booster on ``names`` (optionally with training weights), calibrate it
    (unweighted) on the fold's calibration slice and score ``test_all``."""
    label, frame = data.label, data.frame
    train_rows = labelled(frame[_between(frame, fold.train_start, fold.train_end)], label)
    cal_rows = labelled(frame[_between(frame, fold.calibration_start, fold.calibration_end)], label)
    booster = fit_lightgbm(
        train_rows[names].to_numpy(dtype="float64"),
        train_rows[label].to_numpy(dtype="float64"),
        params,
        seed=config.seed,
        names=names,
        weight=None if weigh is None else weigh(train_rows),
    )
    calibrator = make_calibrator(config.calibration.method).fit(
        np.asarray(booster.predict(cal_rows[names].to_numpy(dtype="float64"), raw_score=True)),
        cal_rows[label].to_numpy(dtype="float64"),
    )
    raw = np.asarray(booster.predict(test_all[names].to_numpy(dtype="float64"), raw_score=True))
    return calibrator.transform(raw)


def weighted_variant(
    data: TrainingData,
    config: ExperimentConfig,
    params: BoosterParams,
    weigh: Callable[[pd.DataFrame], np.ndarray],
) -> pd.DataFrame:
    """Every fold's test rows scored by the booster refitted with training weights.

    For the fairness panel's mitigation table: ``weigh`` receives a fold's labelled training
    rows (``person_id``, ``as_of``, the label) and returns one weight per row (e.g.
    re-weighing by group, computed by the audit from attributes training never sees). The model
    is group-blind at decision time. Returns ``person_id``, ``as_of``, ``fold``, ``score``.
    """
    plan = fold_plan(
        config.temporal, extract_date=data.extract_date, label_lag_days=data.label_lag_days
    )
    parts = []
    for fold in plan:
        test_all = data.frame[_between(data.frame, fold.test_start, fold.test_end)]
        scores = _refit_scores(
            data, fold, config, params, test_all, list(data.spec.names), weigh=weigh
        )
        parts.append(
            pd.DataFrame(
                {
                    "person_id": test_all["person_id"].to_numpy(),
                    "as_of": test_all["as_of"].to_numpy(),
                    "fold": fold.index,
                    "score": scores,
                }
            )
        )
    return pd.concat(parts, ignore_index=True)


def _predictions(
    test_all: pd.DataFrame,
    fold: Fold,
    raw: np.ndarray,
    prob: np.ndarray,
    scores: dict[str, tuple[str, np.ndarray, np.ndarray | None]],
    config: ExperimentConfig,
) -> pd.DataFrame:
    keep_cols = [
        c
        for c in test_all.columns
        if c.startswith("label_") or c in ("trigger_kinds", "sources_unavailable")
    ]
    out = pd.DataFrame(
        {
            "person_id": test_all["person_id"].to_numpy(),
            "as_of": test_all["as_of"].dt.date.to_numpy(),
            "fold": fold.index,
            "raw_score": raw,
            "score": prob,
        }
    )
    for name, (kind, score, _) in scores.items():
        if name != LIGHTGBM:
            out[f"score_{name}" if kind != "oracle" else "oracle_p_label_recorded"] = score
    for c in keep_cols:
        out[c] = test_all[c].to_numpy()
    labelled_rows = out[out["label_serious_violence"].notna()]
    lists = _with_flags(labelled_rows, config)
    out["flagged"] = False
    out.loc[lists.index[lists.to_numpy()], "flagged"] = True
    return out


def _with_flags(rows: pd.DataFrame, config: ExperimentConfig) -> pd.Series:
    """Whether each labelled row is on its month's list at capacity (by calibrated score)."""
    frame = pd.DataFrame(
        {
            "person_id": rows["person_id"].to_numpy(),
            "as_of": pd.to_datetime(rows["as_of"]).to_numpy(),
            "score": rows["score"].to_numpy(),
            "label": rows["label_serious_violence"].to_numpy(),
            "row": rows.index.to_numpy(),
        }
    )
    lists = monthly_lists(frame, capacity=config.capacity.per_month, seed=config.seed)
    flagged = pd.Series(False, index=rows.index)
    flagged.loc[lists.loc[lists["flagged"], "row"].to_numpy()] = True
    return flagged


# --- gates -----------------------------------------------------------------------------------


def performance_gate(
    folds: list[FoldResult], differences: dict[str, Interval], baselines: tuple[str, ...]
) -> GateResult:
    """LightGBM beats every baseline at capacity: on every fold, and pooled with the bootstrap
    interval of the difference wholly above zero."""
    reasons: list[str] = []
    for name in baselines:
        for f in folds:
            ours = f.evaluations[LIGHTGBM].metrics["precision_at_capacity"]
            theirs = f.evaluations[name].metrics["precision_at_capacity"]
            if not ours > theirs:
                reasons.append(
                    f"fold {f.fold.index}: precision at capacity {ours:.3f} does not beat "
                    f"baseline {name} ({theirs:.3f})"
                )
        interval = differences[f"{LIGHTGBM} - {name}"]
        if not interval.low > 0:
            reasons.append(
                f"pooled difference from baseline {name} is {interval.text()}: not above zero"
            )
    return GateResult(not reasons, tuple(reasons))


def tripwire(
    metrics: dict[str, float],
    previous: dict[str, float] | None,
    *,
    implausible_auc: float,
    max_auc_jump: float,
    max_precision_jump: float,
) -> GateResult:
    """Fires (``passed`` False) on an implausible AUC or a jump over the previous version."""
    reasons: list[str] = []
    auc, precision = metrics["auc"], metrics["precision_at_capacity"]
    if auc > implausible_auc:
        reasons.append(
            f"AUC {auc:.3f} is above the plausible level {implausible_auc} for this problem"
        )
    if previous is not None:
        prev_auc, prev_precision = previous.get("auc"), previous.get("precision_at_capacity")
        if prev_auc is not None and auc - prev_auc > max_auc_jump:
            reasons.append(
                f"AUC jumped {auc - prev_auc:+.3f} over the previous version ({prev_auc:.3f} to "
                f"{auc:.3f}); the configured bound is {max_auc_jump}"
            )
        if prev_precision is not None and precision - prev_precision > max_precision_jump:
            reasons.append(
                f"precision at capacity jumped {precision - prev_precision:+.3f} over the "
                f"previous version ({prev_precision:.3f} to {precision:.3f}); the configured "
                f"bound is {max_precision_jump}"
            )
    return GateResult(not reasons, tuple(reasons))


# --- the experiment --------------------------------------------------------------------------


def pool(
    folds: list[FoldResult], config: ExperimentConfig, data: TrainingData
) -> dict[str, ModelEvaluation]:
    """Every model evaluated over all test folds together (months never overlap folds)."""
    preds = pd.concat([f.predictions for f in folds], ignore_index=True)
    rows = preds[preds["label_serious_violence"].notna()].copy()
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
        pooled = evaluate(
            rows,
            score,
            score if has_prob else None,
            config=config,
            model=name,
            kind=ev.kind,
            fold=0,
            label=data.label,
        )
        # the lists are the folds' own (months never overlap folds): add them up rather than
        # re-drawing tie-breaks over the pooled rows
        by_month = {m: c for f in folds for m, c in f.evaluations[name].by_month.items()}
        total = sum(by_month.values(), CapacityMetrics(0, 0, 0, 0))
        curve = {
            c: sum((f.evaluations[name].curve[c] for f in folds), CapacityMetrics(0, 0, 0, 0))
            for c in config.capacity.curve
        }
        pooled.by_month, pooled.curve = by_month, curve
        pooled.metrics |= {
            "precision_at_capacity": total.precision,
            "recall_at_capacity": total.recall,
            "lift_at_capacity": total.lift,
            "flagged": float(total.flagged),
            "flagged_positive": float(total.flagged_positive),
            "positives": float(total.positives),
            "base_rate": total.base_rate,
            **{f"precision_at_{c}": m.precision for c, m in curve.items()},
            **{f"recall_at_{c}": m.recall for c, m in curve.items()},
        }
        out[name] = pooled
    return out


def chosen_params(folds: list[FoldResult]) -> BoosterParams:
    """The booster settings the folds chose most often (ties: the smaller model)."""
    counts: dict[BoosterParams, int] = {}
    for f in folds:
        counts[f.params] = counts.get(f.params, 0) + 1
    return min(counts, key=lambda p: (-counts[p], p.size, p.n_estimators))


def check_slices(data: TrainingData, plan: tuple[Fold, ...], min_positives: int) -> None:
    """Refuse (FoldPlanError) a plan with a slice too thin to fit or judge a model on."""
    frame, label = data.frame, data.label
    problems = []
    for fold in plan:
        for name, (start, end) in fold.slices().items():
            rows = labelled(frame[_between(frame, start, end)], label)
            positives = int(rows[label].sum())
            if positives < min_positives or positives == len(rows):
                problems.append(
                    f"fold {fold.index} {name} slice ({start} to {end}) has {positives} "
                    f"positive(s) among {len(rows)} labelled examples; at least "
                    f"gates.min_positives_per_slice {min_positives} positives and some negatives "
                    "are needed (more data, fewer folds or a shorter label timespan)"
                )
    if problems:
        raise FoldPlanError(problems)


def final_window(
    plan: tuple[Fold, ...], config: ExperimentConfig
) -> tuple[tuple[date, date], tuple[date, date]]:
    """Training and calibration slices of the model that is registered: the most recent data
    whose labels are complete (up to the last fold's test end)."""
    cal_end = plan[-1].test_end
    cal_start = cal_end - timedelta(days=config.temporal.calibration_days)
    return (config.temporal.feature_start_time, cal_start), (cal_start, cal_end)


def run_experiment(
    config: ExperimentConfig, data: TrainingData, *, progress: Progress | None = None
) -> ExperimentResult:
    """Run every fold, pool, compare, apply the performance gate and fit the final model."""
    plan = fold_plan(
        config.temporal, extract_date=data.extract_date, label_lag_days=data.label_lag_days
    )
    check_slices(data, plan, config.gates.min_positives_per_slice)
    total = len(plan) + 2
    if progress:
        progress("training", 0, total)
    folds: list[FoldResult] = []
    for i, fold in enumerate(plan):
        folds.append(run_fold(data, fold, config))
        if progress:
            progress("training", i + 1, total)
    pooled = pool(folds, config, data)
    differences = {
        f"{LIGHTGBM} - {name}": precision_difference(
            pooled[LIGHTGBM].by_month, pooled[name].by_month, seed=config.seed
        )
        for name in (LOGISTIC, *config.models.baselines)
    }
    if ORACLE in pooled:
        differences[f"{LIGHTGBM} - {ORACLE}"] = precision_difference(
            pooled[LIGHTGBM].by_month, pooled[ORACLE].by_month, seed=config.seed
        )
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


def summary_table(result: ExperimentResult) -> pd.DataFrame:
    """One row per model: pooled and per-fold precision at capacity and the other metrics."""
    rows = []
    for name, ev in result.pooled.items():
        m = ev.metrics
        per_fold = [f.evaluations[name].metrics["precision_at_capacity"] for f in result.folds]
        row: dict[str, Any] = {
            "model": name,
            "kind": ev.kind,
            "precision_at_capacity": m["precision_at_capacity"],
            "precision_fold_min": float(np.min(per_fold)),
            "precision_fold_max": float(np.max(per_fold)),
            "recall_at_capacity": m["recall_at_capacity"],
            "lift_at_capacity": m["lift_at_capacity"],
            "auc": m["auc"],
            "average_precision": m["average_precision"],
            "brier": m.get("brier", float("nan")),
            "ece": m.get("ece", float("nan")),
            "true_involvement_precision": m.get(
                "true_involvement_precision_at_capacity", float("nan")
            ),
        }
        rows.append(row)
    return pd.DataFrame(rows)
