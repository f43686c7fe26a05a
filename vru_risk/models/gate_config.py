"""The thresholds of the gates between a trained model and the ``champion`` alias.

Both are sections of the experiment file (``training/experiments/default.yaml``), validated with
the rest of it and covered by the experiment hash:

- ``gates:`` (:class:`GatesConfig`): the fewest positives a fold's slice may hold, and the
  leakage tripwire's bounds (applied by :mod:`vru_risk.training.gates`);
- ``fairness_gate:`` (:class:`FairnessGateConfig`): the fairness gate's bands (applied by
  :mod:`vru_risk.fairness_reports.gate` when a version is audited).

The path as a whole (gates, states, the panel's decisions) is laid out in
:mod:`vru_risk.models.promotion`.

Example
-------
>>> FairnessGateConfig().recall_ratio_low, GatesConfig().max_auc_jump
(0.8, 0.02)
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field


class GatesConfig(BaseModel):
    """Performance gate and leakage tripwire.

    A retrain that beats the previous registered version by more than the jump bounds is far
    more often a leak than a discovery (label windows crossing the as-of date, records counted
    before they arrived); it is blocked until the ethics panel clears it. A false alarm costs a
    review; a leak that reaches practitioners costs much more.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    min_positives_per_slice: Annotated[int, Field(ge=1)] = 20
    implausible_auc: Annotated[float, Field(gt=0.5, le=1)] = 0.95
    max_auc_jump: Annotated[float, Field(gt=0, le=0.5)] = 0.02
    max_precision_jump: Annotated[float, Field(gt=0, le=1)] = 0.05


class FairnessGateConfig(BaseModel):
    """Bands of the fairness gate."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    recall_ratio_low: float = Field(default=0.8, gt=0, lt=1)
    recall_ratio_high: float = Field(default=1.25, gt=1)
    max_fnr_difference: float = Field(default=0.10, gt=0, lt=1)
    max_calibration_error: float = Field(default=0.05, gt=0, lt=1)
    primary: Literal["recall_parity"] = "recall_parity"
