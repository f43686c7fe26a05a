"""The fairness gate: missed young people first, then calibration within groups.

The intervention is assistive (an offer of support), so the headline harm is a young person who
needed support and was not flagged. For every audited attribute and every non-reference group:

- ``tpr_ratio``: recall of the group over recall of the reference group, within
  ``[recall_ratio_low, recall_ratio_high]`` (default [0.8, 1.25]);
- ``fnr_difference``: the group's miss rate minus the reference group's, within
  ``± max_fnr_difference`` (default 0.10);
- ``calibration_error``: the group's expected calibration error at most
  ``max_calibration_error`` (default 0.05).

Each criterion reads ``pass`` (the interval lies wholly inside the band), ``fail`` (wholly
outside), ``inconclusive`` (it straddles the band: the panel decides) or ``not assessable`` (too
few members, positives or flagged). The gate passes only when every criterion passes; any fail
fails it; otherwise it is inconclusive.

Recall parity and calibration within groups cannot both hold when base rates differ
(Kleinberg, Mullainathan and Raghavan 2016; Chouldechova 2017). This configuration treats recall
parity (missed young people) as primary and reports calibration beside it.

Example
-------
>>> status_of(0.85, 0.95, 0.8, 1.25)
'pass'
>>> status_of(0.6, 0.9, 0.8, 1.25)
'inconclusive'
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

import pandas as pd
from pydantic import BaseModel, ConfigDict, Field

Status = Literal["pass", "fail", "inconclusive", "not assessable"]

PRIMARY_STATEMENT = (
    "Recall parity (how many young people who went on to the outcome each group's list missed) "
    "and calibration within groups cannot both hold when base rates differ between groups. "
    "This configuration treats recall parity as primary; calibration within groups is reported "
    "and checked against a looser tolerance."
)


class FairnessGateConfig(BaseModel):
    """Bands of the fairness gate."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    recall_ratio_low: float = Field(default=0.8, gt=0, lt=1)
    recall_ratio_high: float = Field(default=1.25, gt=1)
    max_fnr_difference: float = Field(default=0.10, gt=0, lt=1)
    max_calibration_error: float = Field(default=0.05, gt=0, lt=1)
    primary: Literal["recall_parity"] = "recall_parity"


@dataclass(frozen=True)
class Criterion:
    attribute: str
    group: str
    reference: str
    metric: str
    estimate: float | None
    low: float | None
    high: float | None
    band: tuple[float, float]
    status: Status
    explanation: str


@dataclass(frozen=True)
class FairnessGate:
    status: Literal["pass", "fail", "inconclusive"]
    criteria: tuple[Criterion, ...] = field(default_factory=tuple)
    primary: str = PRIMARY_STATEMENT

    @property
    def passed(self) -> bool:
        return self.status == "pass"

    def to_dict(self) -> dict[str, Any]:
        return {
            "passed": self.passed,
            "status": self.status,
            "primary": self.primary,
            "criteria": [asdict(c) for c in self.criteria],
        }


def status_of(low: float, high: float, band_low: float, band_high: float) -> Status:
    """pass: [low, high] inside the band; fail: wholly outside; inconclusive: straddles."""
    if any(map(math.isnan, (low, high))):
        return "not assessable"
    if band_low <= low and high <= band_high:
        return "pass"
    if high < band_low or low > band_high:
        return "fail"
    return "inconclusive"


def _num(x: object) -> float | None:
    try:
        value = float(x)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    return None if math.isnan(value) else value


def evaluate_gate(
    intervals: pd.DataFrame,
    by_group: pd.DataFrame,
    config: FairnessGateConfig,
    *,
    attributes: tuple[str, ...] | None = None,
) -> FairnessGate:
    """Apply the bands to bootstrap ``intervals`` (long table from ``bootstrap_intervals``)
    and to the audit's ``by_group`` (for calibration error and references).

    Intersections are reported but not gated (their groups are small by construction);
    ``attributes`` limits the gate to those attributes (default: every non-intersection one).
    """
    criteria: list[Criterion] = []
    refs = by_group[by_group["is_reference"]].set_index("attribute")["group"].to_dict()
    checks = (
        ("tpr_ratio", (config.recall_ratio_low, config.recall_ratio_high)),
        ("fnr_difference", (-config.max_fnr_difference, config.max_fnr_difference)),
    )
    for _, row in by_group.iterrows():
        attribute, group = str(row["attribute"]), str(row["group"])
        if "*" in attribute or bool(row["is_reference"]):
            continue
        if attributes is not None and attribute not in attributes:
            continue
        reference = str(refs.get(attribute, ""))
        for metric, band in checks:
            match = intervals[
                (intervals["attribute"] == attribute)
                & (intervals["group"] == group)
                & (intervals["metric"] == metric)
            ]
            if match.empty or bool(row["suppressed"]):
                reason = str(row.get("suppression_reason") or "no interval")
                criteria.append(
                    Criterion(
                        attribute,
                        group,
                        reference,
                        metric,
                        None,
                        None,
                        None,
                        band,
                        "not assessable",
                        f"too few to judge ({reason})",
                    )
                )
                continue
            m = match.iloc[0]
            est, low, high = _num(m["estimate"]), _num(m["low"]), _num(m["high"])
            status: Status = (
                "not assessable" if low is None or high is None else status_of(low, high, *band)
            )
            criteria.append(
                Criterion(
                    attribute,
                    group,
                    reference,
                    metric,
                    est,
                    low,
                    high,
                    band,
                    status,
                    _explain(metric, group, reference, est, low, high, band, status),
                )
            )
        ce = _num(row.get("calibration_error"))
        tol = (0.0, config.max_calibration_error)
        if ce is None or bool(row["suppressed"]):
            criteria.append(
                Criterion(
                    attribute,
                    group,
                    reference,
                    "calibration_error",
                    None,
                    None,
                    None,
                    tol,
                    "not assessable",
                    "too few to judge calibration within the group",
                )
            )
        else:
            ok: Status = "pass" if ce <= config.max_calibration_error else "fail"
            criteria.append(
                Criterion(
                    attribute,
                    group,
                    reference,
                    "calibration_error",
                    ce,
                    None,
                    None,
                    tol,
                    ok,
                    f"calibration error {ce:.3f} in group {group} "
                    f"({'within' if ok == 'pass' else 'above'} {config.max_calibration_error})",
                )
            )
    statuses = {c.status for c in criteria}
    overall: Literal["pass", "fail", "inconclusive"]
    if "fail" in statuses:
        overall = "fail"
    elif statuses <= {"pass"} and statuses:
        overall = "pass"
    else:
        overall = "inconclusive"
    return FairnessGate(overall, tuple(criteria))


def _explain(
    metric: str,
    group: str,
    reference: str,
    est: float | None,
    low: float | None,
    high: float | None,
    band: tuple[float, float],
    status: Status,
) -> str:
    what = (
        f"recall of {group} relative to {reference}"
        if metric == "tpr_ratio"
        else f"miss rate of {group} minus {reference}"
    )
    if est is None or low is None or high is None:
        return f"{what}: not assessable"
    verdict = {
        "pass": "inside the band",
        "fail": "wholly outside the band",
        "inconclusive": "straddles the band: the panel decides",
        "not assessable": "not assessable",
    }[status]
    return (
        f"{what}: {est:.2f} (95% interval {low:.2f} to {high:.2f}); band "
        f"{band[0]:g} to {band[1]:g}; {verdict}"
    )
