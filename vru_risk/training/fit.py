"""Model fitting: a regularised logistic regression, LightGBM from a small grid, calibrators.

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
from itertools import product

import lightgbm as lgb
import numpy as np
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import StandardScaler

from vru_risk.models.calibration import (
    Calibrator,
    NoCalibration,
    SigmoidCalibration,
    make_calibrator,
    sigmoid,
)
from vru_risk.training.config import LightGBMGrid

__all__ = [
    "BoosterParams",
    "Calibrator",
    "NoCalibration",
    "Selection",
    "SigmoidCalibration",
    "fit_lightgbm",
    "fit_logistic",
    "grid",
    "make_calibrator",
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
    """The settings written as ``n_estimators=300,num_leaves=31,...`` (None when unreadable).

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
