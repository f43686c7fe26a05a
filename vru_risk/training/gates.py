"""The gates training applies before a model is registered, and the state they give it.

- :func:`check_slices`: a fold plan with a slice too thin to fit or judge a model on is refused
  before anything is fitted (``gates.min_positives_per_slice``);
- :func:`performance_gate`: LightGBM beats every rule baseline at capacity, on every fold and
  pooled (the bootstrap interval of the difference wholly above zero);
- :func:`tripwire`: the leakage tripwire fires on an implausible AUC, or on a jump over the
  previous comparable version (``gates.implausible_auc``, ``max_auc_jump``,
  ``max_precision_jump``);
- :func:`version_state`: what the registry records (``candidate``, ``not a candidate:
  performance gate failed`` or ``blocked: suspected leakage``).

The thresholds are the experiment file's ``gates:`` section
(:class:`~vru_risk.models.gate_config.GatesConfig`); the rest of the way to ``champion`` is laid
out in :mod:`vru_risk.models.promotion`.

Example
-------
>>> version_state(performance=GateResult(True, ()), leakage=GateResult(False, ("AUC 0.99",)))
'blocked: suspected leakage'
"""

from __future__ import annotations

from vru_risk.models.tags import BLOCKED, CANDIDATE, REJECTED
from vru_risk.training.data import TrainingData
from vru_risk.training.evaluate import Interval, capacity_metric
from vru_risk.training.results import LIGHTGBM, FoldResult, GateResult
from vru_risk.training.splits import Fold, FoldPlanError


def check_slices(data: TrainingData, plan: tuple[Fold, ...], min_positives: int) -> None:
    """Refuse (FoldPlanError) a plan with a slice too thin to fit or judge a model on."""
    label = data.label
    problems = []
    for fold in plan:
        for name, (start, end) in fold.slices().items():
            rows = data.labelled(start, end)
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


def performance_gate(
    folds: list[FoldResult], differences: dict[str, Interval], baselines: tuple[str, ...]
) -> GateResult:
    """LightGBM beats every baseline at capacity: on every fold, and pooled with the bootstrap
    interval of the difference wholly above zero.

    At capacity means the places the service would have offered when both were replayed
    (``precision_at_capacity``), else the hindsight lists of both: never one against the
    other (``differences`` are compared the same way, :func:`~vru_risk.training.pipeline.
    judged_months`)."""
    reasons: list[str] = []
    for name in baselines:
        for f in folds:
            a, b = f.evaluations[LIGHTGBM], f.evaluations[name]
            key = capacity_metric("precision", replayed=a.replayed and b.replayed)
            ours, theirs = a.metrics[key], b.metrics[key]
            if not ours > theirs:
                what = (
                    "precision at capacity"
                    if a.replayed and b.replayed
                    else ("hindsight precision at capacity")
                )
                reasons.append(
                    f"fold {f.fold.index}: {what} {ours:.3f} does not beat baseline {name} "
                    f"({theirs:.3f})"
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
    precision_key: str = "precision_at_capacity",
) -> GateResult:
    """Fires (``passed`` False) on an implausible AUC or a jump over the previous version.

    ``precision_key``: the metric at capacity compared (``hindsight_precision_at_capacity``
    for a version judged on the hindsight lists alone; the previous version must have been
    judged under the same allocation)."""
    reasons: list[str] = []
    auc, precision = metrics["auc"], metrics[precision_key]
    if auc > implausible_auc:
        reasons.append(
            f"AUC {auc:.3f} is above the plausible level {implausible_auc} for this problem"
        )
    if previous is not None:
        prev_auc, prev_precision = previous.get("auc"), previous.get(precision_key)
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


def version_state(*, performance: GateResult, leakage: GateResult) -> str:
    """The registry state of a new version: a fired tripwire blocks it whatever its
    performance; otherwise it is a candidate only if it passed the performance gate."""
    if not leakage.passed:
        return BLOCKED
    if not performance.passed:
        return REJECTED
    return CANDIDATE
