"""Model fitting: a regularised logistic regression, LightGBM from a small grid, calibrators,
and the :class:`~vru_risk.models.risk_model.RiskModel` made of them (:func:`fit_risk_model`).

The calibrator is a null object or a sigmoid (Platt) fitted on the booster's raw log-odds over a
*later* slice than the booster's training data; a sigmoid calibrator is two numbers, stored as
such (never pickled). Among LightGBM models within ``tolerance`` of the best precision at
capacity on the calibration slice, the smallest (trees x leaves) wins: every explanation costs
predictions.

Example
-------
>>> import numpy as np
>>> NoCalibration().transform(np.array([0.0])).tolist()
[0.5]
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from itertools import product

import lightgbm as lgb
import numpy as np
import pandas as pd
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import StandardScaler

from vru_risk.models.base_rates import base_rate_info
from vru_risk.models.calibration import (
    Calibrator,
    NoCalibration,
    SigmoidCalibration,
    make_calibrator,
    sigmoid,
)
from vru_risk.models.risk_model import RiskModel, feature_medians, reference_quantiles
from vru_risk.models.source_patterns import availability_patterns, source_columns
from vru_risk.training.config import ExperimentConfig, LightGBMGrid
from vru_risk.training.data import TrainingData
from vru_risk.training.evaluate import at_capacity, lists_frame

__all__ = [
    "BoosterParams",
    "Calibrator",
    "NoCalibration",
    "Selection",
    "SigmoidCalibration",
    "calibrate",
    "fit_lightgbm",
    "fit_logistic",
    "fit_risk_model",
    "grid",
    "make_calibrator",
    "params_from_text",
    "select_lightgbm",
    "sigmoid",
]


def fit_logistic(x: np.ndarray, y: np.ndarray, *, c: float) -> Pipeline:
    """Median-imputed (with missing indicators), standardised, L2-regularised logistic model."""
    model = make_pipeline(
        SimpleImputer(strategy="median", add_indicator=True, keep_empty_features=True),
        StandardScaler(),
        LogisticRegression(C=c, max_iter=2000),
    )
    model.fit(x, y)
    return model


@dataclass(frozen=True)
class BoosterParams:
    n_estimators: int
    num_leaves: int
    learning_rate: float
    min_child_samples: int

    @property
    def size(self) -> int:
        return self.n_estimators * self.num_leaves

    def text(self) -> str:
        """The settings as one line, as a model's ``info`` records them.

        >>> text = BoosterParams(300, 31, 0.05, 50).text()
        >>> text
        'n_estimators=300,num_leaves=31,learning_rate=0.05,min_child_samples=50'
        >>> params_from_text(text) == BoosterParams(300, 31, 0.05, 50)
        True
        """
        return (
            f"n_estimators={self.n_estimators},num_leaves={self.num_leaves},"
            f"learning_rate={self.learning_rate},min_child_samples={self.min_child_samples}"
        )

    def lgb_params(self, seed: int) -> dict[str, object]:
        return {
            "objective": "binary",
            "num_leaves": self.num_leaves,
            "learning_rate": self.learning_rate,
            "min_child_samples": self.min_child_samples,
            "seed": seed,
            "deterministic": True,
            "force_row_wise": True,
            "num_threads": 2,
            "verbose": -1,
        }


def params_from_text(text: str) -> BoosterParams | None:
    """The settings written by :meth:`BoosterParams.text` (None when unreadable).

    >>> params_from_text("n_estimators=300,num_leaves=31,learning_rate=0.05,min_child_samples=50")
    BoosterParams(n_estimators=300, num_leaves=31, learning_rate=0.05, min_child_samples=50)
    """
    try:
        values = dict(item.split("=", 1) for item in text.split(","))
        return BoosterParams(
            n_estimators=int(values["n_estimators"]),
            num_leaves=int(values["num_leaves"]),
            learning_rate=float(values["learning_rate"]),
            min_child_samples=int(values["min_child_samples"]),
        )
    except (KeyError, ValueError):
        return None


def grid(config: LightGBMGrid) -> list[BoosterParams]:
    return [
        BoosterParams(n, leaves, lr, mcs)
        for n, leaves, lr, mcs in product(
            config.n_estimators,
            config.num_leaves,
            config.learning_rate,
            config.min_child_samples,
        )
    ]


def fit_lightgbm(
    x: np.ndarray,
    y: np.ndarray,
    params: BoosterParams,
    *,
    seed: int,
    names: list[str],
    weight: np.ndarray | None = None,
) -> lgb.Booster:
    data = lgb.Dataset(x, label=y, weight=weight, feature_name=names, free_raw_data=True)
    return lgb.train(params.lgb_params(seed), data, num_boost_round=params.n_estimators)


def calibrate(booster: lgb.Booster, x: np.ndarray, y: np.ndarray, method: str) -> Calibrator:
    """A ``method`` calibrator fitted on ``booster``'s raw log-odds of ``x`` against ``y`` (rows
    of a later slice than the booster was fitted on)."""
    return make_calibrator(method).fit(np.asarray(booster.predict(x, raw_score=True)), y)


@dataclass
class Selection:
    params: BoosterParams
    booster: lgb.Booster
    scores: dict[BoosterParams, float] = field(default_factory=dict)


def select_lightgbm(
    train: tuple[np.ndarray, np.ndarray],
    candidates: list[BoosterParams],
    judge: Callable[[lgb.Booster], float],
    *,
    seed: int,
    names: list[str],
    tolerance: float = 0.01,
) -> Selection:
    """Fit every candidate; keep the smallest within ``tolerance`` of the best ``judge`` score.

    ``judge`` scores a booster on data it was not fitted on (the calibration slice's precision
    at capacity), never on the test folds.
    """
    fitted = {p: fit_lightgbm(*train, p, seed=seed, names=names) for p in candidates}
    scores = {p: judge(b) for p, b in fitted.items()}
    best = max(scores.values())
    eligible = [p for p, s in scores.items() if s >= best - tolerance]
    chosen = min(eligible, key=lambda p: (p.size, -scores[p]))
    return Selection(chosen, fitted[chosen], scores)


def _calibration_judge(
    rows: pd.DataFrame, x: np.ndarray, label: str, config: ExperimentConfig
) -> Callable[[lgb.Booster], float]:
    def judge(booster: lgb.Booster) -> float:
        score = np.asarray(booster.predict(x, raw_score=True))
        res = at_capacity(
            lists_frame(rows, score, label), capacity=config.capacity.per_month, seed=config.seed
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
    the settings the folds chose, so the model registered is the one evaluated). Returns the
    model, the settings chosen and every candidate's score on the calibration slice.
    """
    label = data.label
    train_rows = data.labelled(*train)
    cal_all = data.between(*calibration)
    cal_rows = data.labelled(*calibration)
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
    calibrator = calibrate(
        booster, x_cal, cal_rows[label].to_numpy(dtype="float64"), config.calibration.method
    )
    ref_scores = calibrator.transform(
        np.asarray(booster.predict(data.features(cal_all).to_numpy(), raw_score=True))
    )
    patterns = availability_patterns(
        data.features(train_rows),
        source_columns(data.spec),
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
            "params": selection.params.text(),
            "training_examples": str(len(train_rows)),
            # the frame of a flag's estimate: the outcome's rate per trigger kind
            **(
                base_rate_info(cal_rows["trigger_kinds"], cal_rows[label])
                if "trigger_kinds" in cal_rows.columns
                else {}
            ),
            "calibration_examples": str(len(cal_rows)),
        },
        threads=2,
    )
    scores = {p.text(): s for p, s in selection.scores.items()}
    return model, selection.params, scores
