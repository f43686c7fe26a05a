"""Group-blind alternatives to the model, scored for the fairness panel and never registered.

Each is the fold's booster settings refitted on the fold's training slice, calibrated
(unweighted) on its calibration slice and scored on its test slice, like the model itself:

- :func:`without_source`: without one source's features (``models.mitigation_drop_sources``,
  e.g. police-recorded contacts); its scores go into ``predictions.parquet`` beside the model's;
- :func:`weighted_variant`: with training weights the fairness audit computes (e.g. re-weighing
  by group, from attributes training never sees); the model stays group-blind at decision time.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd

from vru_risk.training.config import ExperimentConfig
from vru_risk.training.data import TrainingData
from vru_risk.training.fit import BoosterParams, calibrate, fit_lightgbm
from vru_risk.training.splits import Fold, fold_plan

Weigh = Callable[[pd.DataFrame], np.ndarray]


def without_source(
    data: TrainingData,
    fold: Fold,
    config: ExperimentConfig,
    params: BoosterParams,
    test_all: pd.DataFrame,
    drop_source: str,
) -> np.ndarray:
    """Calibrated scores of ``test_all`` by the fold's booster refitted without the features of
    ``drop_source``."""
    names = [f.name for f in data.spec.features if f.source != drop_source]
    return _refit_scores(data, fold, config, params, test_all, names)


def weighted_variant(
    data: TrainingData, config: ExperimentConfig, params: BoosterParams, weigh: Weigh
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
        test_all = data.between(fold.test_start, fold.test_end)
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


def _refit_scores(
    data: TrainingData,
    fold: Fold,
    config: ExperimentConfig,
    params: BoosterParams,
    test_all: pd.DataFrame,
    names: list[str],
    weigh: Weigh | None = None,
) -> np.ndarray:
    """Refit the fold's booster on ``names`` (optionally with training weights), calibrate it
    (unweighted) on the fold's calibration slice and score ``test_all``."""
    label = data.label
    train_rows = data.labelled(fold.train_start, fold.train_end)
    cal_rows = data.labelled(fold.calibration_start, fold.calibration_end)
    booster = fit_lightgbm(
        train_rows[names].to_numpy(dtype="float64"),
        train_rows[label].to_numpy(dtype="float64"),
        params,
        seed=config.seed,
        names=names,
        weight=None if weigh is None else weigh(train_rows),
    )
    calibrator = calibrate(
        booster,
        cal_rows[names].to_numpy(dtype="float64"),
        cal_rows[label].to_numpy(dtype="float64"),
        config.calibration.method,
    )
    raw = np.asarray(booster.predict(test_all[names].to_numpy(dtype="float64"), raw_score=True))
    return calibrator.transform(raw)
