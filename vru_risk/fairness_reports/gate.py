"""The fairness gate: missed young people first, then calibration within groups.

The intervention is assistive (an offer of support), so the headline harm is a young person who
needed support and was not flagged. For every audited attribute and every non-reference group:

- ``tpr_ratio``: recall of the group over recall of the reference group, within
  ``[recall_ratio_low, recall_ratio_high]`` (default [0.8, 1.25]);
- ``fnr_difference``: the group's miss rate minus the reference group's, within
  ``± max_fnr_difference`` (default 0.10);
- ``calibration_error``: the group's expected calibration error at most
  ``max_calibration_error`` (default 0.05), judged on its 95% person-level bootstrap interval
  like the others (pass: the whole interval at most the tolerance; fail: wholly above), never
  on a point estimate.

The bands are :class:`~vru_risk.models.gate_config.FairnessGateConfig`, the ``fairness_gate:``
section of the experiment file the audited version was trained with (``experiment.fairness_gate``);
where the gate sits on the way to ``champion``: :mod:`vru_risk.models.promotion`.

Each criterion reads ``pass`` (the interval lies wholly inside the band), ``fail`` (wholly
outside), ``inconclusive`` (it straddles the band: the panel decides) or ``not assessable`` (too
few members, positives or flagged, a rate that is undefined for the group or its reference group,
or no interval). The gate passes only when every criterion passes; any fail fails it; otherwise it
is inconclusive.

A group that cannot be assessed follows the audit's small-cell rule (the minimum sizes below
which rates are suppressed): it cannot pass on evidence that does not exist, and it does not
fail the model by itself, so it leaves the gate inconclusive (unless something else fails) and
the ethics panel decides. Each such criterion says why (``reason``, in plain words), and
:attr:`FairnessGate.notes` gives one note per group.

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

from vru_risk.fairness_reports.bootstrap import CALIBRATION
from vru_risk.fairness_reports.labels import measure_label, who
from vru_risk.fairness_reports.notes import CANNOT_ASSESS, STAGE_GATE, GroupNote, join_reasons
from vru_risk.models.gate_config import FairnessGateConfig

__all__ = [
    "PRIMARY_STATEMENT",
    "Criterion",
    "FairnessGate",
    "FairnessGateConfig",
    "Status",
    "evaluate_gate",
    "status_of",
]

Status = Literal["pass", "fail", "inconclusive", "not assessable"]
#: what the gate holds groups to: recall parity (equal opportunity: who is missed; the default,
#: for a supportive use), false-positive parity (who is wrongly flagged: for a punitive use) or
#: predictive parity (how often a flag is right)
GateMetric = Literal["recall", "fpr", "precision"]
GATE_METRICS: tuple[GateMetric, ...] = ("recall", "fpr", "precision")
#: each gate metric's two criteria: a ratio to the reference group and a difference from it
GATE_CHECKS: dict[GateMetric, tuple[str, str]] = {
    "recall": ("tpr_ratio", "fnr_difference"),
    "fpr": ("fpr_ratio", "fpr_difference"),
    "precision": ("ppv_ratio", "ppv_difference"),
}

PRIMARY_STATEMENT = (
    "Recall parity (how many young people who went on to the outcome each group's list missed) "
    "and calibration within groups cannot both hold when base rates differ between groups. "
    "This configuration treats recall parity as primary; calibration within groups is reported "
    "and checked against a looser tolerance."
)

PRIMARY_STATEMENTS: dict[GateMetric, str] = {
    "recall": PRIMARY_STATEMENT,
    "fpr": (
        "False-positive parity (how many people who did not go on to the outcome each group's "
        "list flagged wrongly) is primary: the right choice when a flag can lead to something "
        "punitive, where being flagged wrongly is the harm. Calibration within groups is "
        "reported beside it."
    ),
    "precision": (
        "Predictive parity (how often a flag in each group was followed by the outcome) is "
        "primary. It cannot hold together with recall parity when base rates differ, so it "
        "leaves groups with a lower base rate more often flagged wrongly. Calibration within "
        "groups is reported beside it."
    ),
}


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
    reason: str | None = None
    """Why a criterion is not assessable, in plain words (None when it is)."""
    direction: str | None = None
    """Which way the gap runs and what it means for the group, in words (:func:`direction`)."""


@dataclass(frozen=True)
class FairnessGate:
    status: Literal["pass", "fail", "inconclusive"]
    criteria: tuple[Criterion, ...] = field(default_factory=tuple)
    primary: str = PRIMARY_STATEMENT
    metric: GateMetric = "recall"

    @property
    def passed(self) -> bool:
        return self.status == "pass"

    @property
    def notes(self) -> list[GroupNote]:
        """One note per group with a criterion that is not assessable: which, why, and that it
        leaves the gate inconclusive rather than passed or failed."""
        by_group: dict[tuple[str, str], list[Criterion]] = {}
        for c in self.criteria:
            if c.status == "not assessable":
                by_group.setdefault((c.attribute, c.group), []).append(c)
        return [
            GroupNote(
                STAGE_GATE,
                attribute,
                group,
                join_reasons(c.reason or "" for c in unjudged),
                f"The gate has no evidence on its {_criteria_words(unjudged)}: it cannot pass "
                "on evidence that does not exist, and a group that cannot be measured does not "
                "fail the model by itself. The gate reads inconclusive unless another criterion "
                "fails, and the ethics panel decides.",
            )
            for (attribute, group), unjudged in by_group.items()
        ]

    def to_dict(self) -> dict[str, Any]:
        return {
            "passed": self.passed,
            "status": self.status,
            "primary": self.primary,
            "metric": self.metric,
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
    metric: GateMetric = "recall",
) -> FairnessGate:
    """Apply the bands to bootstrap ``intervals`` (long table from ``bootstrap_intervals``)
    and to the audit's ``by_group`` (for calibration error and references).

    ``metric`` chooses the parity the bands hold (:data:`GATE_CHECKS`): the ratio band
    (``recall_ratio_low``..``recall_ratio_high``) and the difference band
    (``± max_fnr_difference``) apply to that metric's ratio and difference.

    Intersections are reported but not gated (their groups are small by construction);
    ``attributes`` limits the gate to those attributes (default: every non-intersection one).
    """
    criteria: list[Criterion] = []
    refs = by_group[by_group["is_reference"]].set_index("attribute")["group"].to_dict()
    if metric not in GATE_CHECKS:
        raise ValueError(f"unknown gate metric {metric!r}; one of {', '.join(GATE_METRICS)}")
    ratio, difference = GATE_CHECKS[metric]
    checks = (
        (ratio, (config.recall_ratio_low, config.recall_ratio_high)),
        (difference, (-config.max_fnr_difference, config.max_fnr_difference)),
        (CALIBRATION, (0.0, config.max_calibration_error)),
    )
    for _, row in by_group.iterrows():
        attribute, group = str(row["attribute"]), str(row["group"])
        if "*" in attribute or bool(row["is_reference"]):
            continue
        if attributes is not None and attribute not in attributes:
            continue
        reference = str(refs.get(attribute, ""))
        for name, band in checks:
            match = intervals[
                (intervals["attribute"] == attribute)
                & (intervals["group"] == group)
                & (intervals["metric"] == name)
            ]
            if bool(row["suppressed"]):
                reason = _too_few(row)
            elif name == CALIBRATION and _num(row.get(CALIBRATION)) is None:
                reason = (
                    "the scores are not calibrated probabilities, so calibration cannot be checked"
                )
            elif match.empty:
                reason = "no interval was given"
            else:
                reason = ""
            if reason:
                criteria.append(_unassessable(attribute, group, reference, name, band, reason))
                continue
            m = match.iloc[0]
            est, low, high = _num(m["estimate"]), _num(m["low"]), _num(m["high"])
            if low is None or high is None:
                reason = str(m.get("reason") or "") or "no 95% interval could be drawn"
                criteria.append(_unassessable(attribute, group, reference, name, band, reason))
                continue
            status = status_of(low, high, *band)
            criteria.append(
                Criterion(
                    attribute,
                    group,
                    reference,
                    name,
                    est,
                    low,
                    high,
                    band,
                    status,
                    _explain(name, group, reference, est, low, high, band, status, attribute),
                    direction=direction(name, attribute, group, reference, est),
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
    return FairnessGate(overall, tuple(criteria), PRIMARY_STATEMENTS[metric], metric)


_CRITERION_WORDS = {
    "tpr_ratio": "recall relative to the reference group",
    "fnr_difference": "miss rate against the reference group",
    "fpr_ratio": "false-positive rate relative to the reference group",
    "fpr_difference": "false-positive rate against the reference group",
    "ppv_ratio": "precision relative to the reference group",
    "ppv_difference": "precision against the reference group",
    "calibration_error": "calibration",
}
_RATE_WORDS = {
    "tpr": "recall",
    "fnr": "miss rate",
    "fpr": "false-positive rate",
    "ppv": "precision",
}


def _criteria_words(criteria: list[Criterion]) -> str:
    words = [_CRITERION_WORDS.get(c.metric, c.metric) for c in criteria]
    return words[0] if len(words) == 1 else f"{', '.join(words[:-1])} and {words[-1]}"


def _too_few(row: pd.Series) -> str:
    """A suppressed group's reason: the audit's plain words, else its suppression thresholds."""
    words = row.get("cannot_assess_reason")
    if isinstance(words, str) and words:
        return words
    return f"too few to judge ({row.get('suppression_reason') or 'below the minimum sizes'})"


def _unassessable(
    attribute: str,
    group: str,
    reference: str,
    metric: str,
    band: tuple[float, float],
    reason: str,
) -> Criterion:
    return Criterion(
        attribute,
        group,
        reference,
        metric,
        None,
        None,
        None,
        band,
        "not assessable",
        f"{_what(metric, group, reference, attribute)}: {CANNOT_ASSESS}, because {reason}; "
        "neither a pass nor a fail",
        reason,
    )


def _what(metric: str, group: str, reference: str, attribute: str = "") -> str:
    base, _, kind = metric.rpartition("_")
    them, us = _who(attribute, group), _who(attribute, reference)
    if kind == "ratio" and base in _RATE_WORDS:
        return f"{_RATE_WORDS[base]} of {them} relative to {us}"
    if kind == "difference" and base in _RATE_WORDS:
        return f"{_RATE_WORDS[base]} of {them} minus {us}"
    return f"calibration error among {_who(attribute, group)}"


def _who(attribute: str, group: str) -> str:
    return who(attribute, group) if attribute else group


#: per gate measure: the verb phrase of "more"/"less" often, and what that means for the group
_DIRECTION: dict[str, tuple[str, str, str]] = {
    # measure: (what happened more or less often, consequence if more, consequence if less)
    "tpr": ("reached", "fewer of them were missed", "more of them were missed"),
    "fnr": ("missed", "more of them were missed", "fewer of them were missed"),
    "fpr": (
        "flagged wrongly",
        "more of them were flagged without going on to the outcome",
        "fewer of them were flagged without going on to the outcome",
    ),
    "ppv": (
        "followed by the outcome when flagged",
        "a flag on them was more often right",
        "a flag on them was more often wrong",
    ),
}


def direction(
    metric: str, attribute: str, group: str, reference: str, estimate: float | None
) -> str | None:
    """Which way a gap runs and what it means for the group, in words, or None (calibration, no
    estimate, or no gap at all).

    >>> direction("tpr_ratio", "sen", "ehcp", "none", 1.99)
    'young people with an EHC plan were reached MORE often than young people with no special educational needs (the reference group): fewer of them were missed'
    """  # noqa: E501
    base, _, kind = metric.rpartition("_")
    if base not in _DIRECTION or estimate is None or kind not in ("ratio", "difference"):
        return None
    level = 1.0 if kind == "ratio" else 0.0
    if estimate == level:
        return None
    done, if_more, if_less = _DIRECTION[base]
    more = estimate > level
    return (
        f"{_who(attribute, group)} were {done} "
        f"{'MORE' if more else 'LESS'} often than {_who(attribute, reference)} (the reference "
        f"group): {if_more if more else if_less}"
    )


def _explain(
    metric: str,
    group: str,
    reference: str,
    est: float | None,
    low: float | None,
    high: float | None,
    band: tuple[float, float],
    status: Status,
    attribute: str = "",
) -> str:
    what = _what(metric, group, reference, attribute)
    if low is None or high is None:
        return f"{what}: not assessable"
    verdict = {
        "pass": "inside the band",
        "fail": "wholly outside the band",
        "inconclusive": "straddles the band: the panel decides",
        "not assessable": "not assessable",
    }[status]
    digits = 3 if metric == CALIBRATION else 2
    point = "" if est is None else f"{est:.{digits}f}, "  # no point estimate: only its interval
    figures = (
        f"{measure_label(metric)} {point}95% interval {low:.{digits}f} to {high:.{digits}f}; band "
        f"{band[0]:g} to {band[1]:g}; {verdict}"
    )
    said = direction(metric, attribute, group, reference, est)
    if said is None:
        return f"{what}: {figures}"
    return f"{said} ({figures})"
