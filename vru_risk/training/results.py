"""What an experiment produces: per-fold and pooled evaluations, gates, the final model, the
summary table and the predictions frame (``predictions.parquet``, the fairness audit's data).

The summary's precision at capacity is the places the service would have offered (its allocation
replayed), with the monthly top-k lists beside it as the hindsight bound; when nothing could be
replayed, only the hindsight bound, named so (:meth:`ExperimentResult.allocation_text`).
Models are named :data:`LIGHTGBM`, :data:`LOGISTIC`, :data:`ORACLE` or by their baseline rule.
Nothing here fits, writes files or talks to MLflow.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from vru_risk.models.risk_model import RiskModel
from vru_risk.models.service_lists import monthly_lists
from vru_risk.models.tags import ALLOCATION_RULE, HINDSIGHT_ONLY
from vru_risk.training.allocation import NOT_REPLAYED, ServiceAllocation
from vru_risk.training.config import ExperimentConfig
from vru_risk.training.data import TrainingData
from vru_risk.training.evaluate import Interval, ModelEvaluation, lists_frame
from vru_risk.training.fit import BoosterParams
from vru_risk.training.splits import Fold

LIGHTGBM = "lightgbm"
LOGISTIC = "logistic_regression"
ORACLE = "oracle"

#: Per model: its kind, its score and its calibrated probability (None for a rule baseline).
Scores = dict[str, tuple[str, np.ndarray, np.ndarray | None]]


@dataclass(frozen=True)
class GateResult:
    """A gate's verdict: ``passed`` and, when not, every reason."""

    passed: bool
    reasons: tuple[str, ...]


@dataclass
class FoldResult:
    fold: Fold
    params: BoosterParams
    selection: dict[str, float]
    calibration: dict[str, float | str]
    evaluations: dict[str, ModelEvaluation]
    predictions: pd.DataFrame
    booster_model: RiskModel


@dataclass
class ExperimentResult:
    allocation: ServiceAllocation | None
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

    @property
    def replayed(self) -> bool:
        """Whether the metrics at capacity are the service's allocation replayed (else the
        hindsight lists alone)."""
        return self.pooled[LIGHTGBM].replayed

    @property
    def allocation_rule(self) -> str:
        """The allocation the metrics at capacity describe (the version's tag value)."""
        return ALLOCATION_RULE if self.replayed else HINDSIGHT_ONLY

    def allocation_text(self) -> str:
        """What the summary says of the allocation its metrics at capacity describe."""
        cap = self.config.capacity.per_month
        bound = (
            f"hindsight bound: the monthly top-k list ({cap} young people a month), chosen "
            "with hindsight; the service cannot reach it"
        )
        if not self.replayed:
            missing = self.allocation.missing if self.allocation is not None else ""
            return f"{NOT_REPLAYED}{f' ({missing})' if missing else ''}\n{bound}"
        assert self.allocation is not None
        return (
            "precision at capacity: the places the service would have offered (policy per "
            f"programme: {self.allocation.describe()})\n{bound}"
        )


def fold_predictions(
    test_all: pd.DataFrame,
    fold: Fold,
    raw: np.ndarray,
    scores: Scores,
    config: ExperimentConfig,
    label: str,
) -> pd.DataFrame:
    """One fold's test rows: person, as-of date, the model's raw and calibrated score, every
    other model's score, every label column and whether the row is on its month's list."""
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
            "score": scores[LIGHTGBM][1],
        }
    )
    for name, (kind, score, _) in scores.items():
        if name != LIGHTGBM:
            out[f"score_{name}" if kind != "oracle" else "oracle_p_label_recorded"] = score
    for c in keep_cols:
        out[c] = test_all[c].to_numpy()
    labelled_rows = out[out[label].notna()]
    lists = _with_flags(labelled_rows, config, label)
    out["flagged"] = False
    out.loc[lists.index[lists.to_numpy()], "flagged"] = True
    return out


def offered_column(model: str) -> str:
    """The predictions column saying which rows ``model``'s replayed allocation offered."""
    return "offered" if model == LIGHTGBM else f"offered_{model}"


def _with_flags(rows: pd.DataFrame, config: ExperimentConfig, label: str) -> pd.Series:
    """Whether each labelled row is on its month's list at capacity (by calibrated score)."""
    frame = lists_frame(rows, rows["score"].to_numpy(), label).assign(row=rows.index.to_numpy())
    lists = monthly_lists(frame, capacity=config.capacity.per_month, seed=config.seed)
    flagged = pd.Series(False, index=rows.index)
    flagged.loc[lists.loc[lists["flagged"], "row"].to_numpy()] = True
    return flagged


def summary_table(result: ExperimentResult) -> pd.DataFrame:
    """One row per model: pooled and per-fold precision at capacity (the replayed offers, or
    the hindsight lists when nothing was replayed: ``allocation`` says which), the hindsight
    bound beside it, and the other metrics."""
    rows = []
    for name, ev in result.pooled.items():
        m = ev.metrics
        per_fold = [f.evaluations[name].at_capacity("precision") for f in result.folds]
        prefix = "" if ev.replayed else "hindsight_"
        row: dict[str, Any] = {
            "model": name,
            "kind": ev.kind,
            "allocation": ALLOCATION_RULE if ev.replayed else HINDSIGHT_ONLY,
            "precision_at_capacity": ev.at_capacity("precision"),
            "precision_fold_min": float(np.min(per_fold)),
            "precision_fold_max": float(np.max(per_fold)),
            "recall_at_capacity": ev.at_capacity("recall"),
            "lift_at_capacity": ev.at_capacity("lift"),
            "hindsight_precision_at_capacity": m["hindsight_precision_at_capacity"],
            "places_used_share": m.get("places_used_share", float("nan")),
            "auc": m["auc"],
            "average_precision": m["average_precision"],
            "brier": m.get("brier", float("nan")),
            "ece": m.get("ece", float("nan")),
            "true_involvement_precision": m.get(
                f"{prefix}true_involvement_precision_at_capacity", float("nan")
            ),
        }
        rows.append(row)
    return pd.DataFrame(rows)
