"""Fitting: calibrators, logistic regression and LightGBM selection on a world with known signal."""

from __future__ import annotations

import numpy as np
import pytest

from vru_risk.models.service_lists import expected_calibration_error
from vru_risk.training.config import LightGBMGrid
from vru_risk.training.fit import (
    BoosterParams,
    NoCalibration,
    SigmoidCalibration,
    fit_lightgbm,
    fit_logistic,
    grid,
    select_lightgbm,
    sigmoid,
)

NAMES = ["x0", "x1", "x2", "noise"]


def world(n: int, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 4))
    x[rng.random(n) < 0.1, 1] = np.nan  # missing values, as features from absent rows
    logit = -2.5 + 1.2 * x[:, 0] + 0.8 * np.nan_to_num(x[:, 1]) ** 2 - 0.6 * x[:, 2]
    p = sigmoid(logit)
    return x, (rng.random(n) < p).astype(float), p


def test_sigmoid_calibration_is_two_numbers_and_calibrates() -> None:
    x, y, _ = world(6000, 1)
    booster = fit_lightgbm(x, y, BoosterParams(100, 15, 0.1, 20), seed=0, names=NAMES)
    xc, yc, _ = world(6000, 2)  # a later slice than training
    raw = booster.predict(xc, raw_score=True)
    calibrator = SigmoidCalibration().fit(raw, yc)
    assert set(calibrator.params()) == {"method", "slope", "intercept"}
    xt, yt, _ = world(6000, 3)
    raw_t = booster.predict(xt, raw_score=True)
    assert expected_calibration_error(yt, calibrator.transform(raw_t)) < 0.03
    assert np.allclose(NoCalibration().transform(raw_t), booster.predict(xt))


def test_lightgbm_is_deterministic_and_beats_logistic_on_a_nonlinear_signal() -> None:
    x, y, _ = world(8000, 4)
    xt, yt, p_true = world(8000, 5)
    a = fit_lightgbm(x, y, BoosterParams(100, 7, 0.05, 50), seed=0, names=NAMES)
    b = fit_lightgbm(x, y, BoosterParams(100, 7, 0.05, 50), seed=0, names=NAMES)
    assert np.array_equal(a.predict(xt, raw_score=True), b.predict(xt, raw_score=True))
    from sklearn.metrics import roc_auc_score

    lr = fit_logistic(x, y, c=0.1)
    auc_lgb = roc_auc_score(yt, a.predict(xt))
    auc_lr = roc_auc_score(yt, lr.predict_proba(xt)[:, 1])
    auc_oracle = roc_auc_score(yt, p_true)
    assert auc_lgb > auc_lr
    assert auc_oracle - auc_lgb < 0.03


def test_selection_prefers_the_smaller_model_within_tolerance() -> None:
    x, y, _ = world(3000, 6)
    candidates = grid(LightGBMGrid(n_estimators=(50, 100), num_leaves=(7, 15)))
    assert len(candidates) == 4
    sizes = {p: p.size for p in candidates}
    # a judge that cannot tell them apart: the smallest must win
    selection = select_lightgbm((x, y), candidates, lambda _: 0.5, seed=0, names=NAMES)
    assert selection.params.size == min(sizes.values())
    # a judge that strongly prefers the biggest: it wins
    biggest = max(candidates, key=lambda p: p.size)
    chosen = select_lightgbm(
        (x, y),
        candidates,
        lambda b: 1.0 if b.num_trees() == biggest.n_estimators else 0.0,
        seed=0,
        names=NAMES,
    )
    assert chosen.params.n_estimators == biggest.n_estimators


def test_grid_caps_the_largest_model() -> None:
    with pytest.raises(ValueError, match="less than or equal to 31"):
        LightGBMGrid(num_leaves=(63,))
    with pytest.raises(ValueError, match="less than or equal to 300"):
        LightGBMGrid(n_estimators=(500,))
