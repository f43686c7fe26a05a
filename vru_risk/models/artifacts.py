"""The names of the files a training run logs in MLflow that other stages read.

A module of its own, apart from :mod:`vru_risk.training.tracking` (which imports MLflow and
matplotlib), so that a reader such as the retention of files imports the name and nothing else.
"""

from __future__ import annotations

from typing import Final

#: every test fold's predictions, one row per young person and as-of date: logged by the parent
#: run (all folds) and by each LightGBM fold run (its own); the fairness audit's data
PREDICTIONS_FILE: Final = "predictions.parquet"
#: the name prefix of a training's pooled runs, one per model (``pooled/lightgbm``): each logs
#: the model's test-fold metrics pooled, under the same names for every model
POOLED_PREFIX: Final = "pooled/"
#: the single pooled run of versions trained before the per-model runs (``{model}_{metric}``)
LEGACY_POOLED_RUN: Final = "pooled"
