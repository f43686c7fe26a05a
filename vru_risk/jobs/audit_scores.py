"""The audit job for scores that did not come from vru-risk (``vru audit-scores``).

The scores file is read under its contract (:mod:`vru_risk.fairness_reports.external_scores`),
audited by group and intersection at the operating point asked for, with bootstrap intervals
by person, judged by the same fairness gate as a model
(:func:`~vru_risk.jobs.audit.fairness_gate_config`) and written as the same report, without the
sections that need a model (performance against baselines, calibration curves, proxy test,
mitigation, review history).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from vru_risk.fairness_reports.audit import AuditResult, audit
from vru_risk.fairness_reports.bootstrap import bootstrap_intervals
from vru_risk.fairness_reports.external_scores import (
    ScoresInputError,
    file_sha256,
    operating_point,
    read_external_scores,
)
from vru_risk.fairness_reports.gate import (
    GATE_METRICS,
    FairnessGateConfig,
    evaluate_gate,
)
from vru_risk.fairness_reports.operating_points import OperatingPoint, Threshold
from vru_risk.fairness_reports.report import build_report, write_report
from vru_risk.jobs.audit import fairness_gate_config
from vru_risk.jobs.common import JobError
from vru_risk.jobs.events import Listener, StepsDone, StepStarted, ignore

#: the one outcome of an external audit, as the report names it
OUTCOME = "label"


@dataclass(frozen=True)
class ScoresAuditRequest:
    """What to audit: the CSV, its columns, the operating point (exactly one of
    ``threshold``, ``top_k``, ``top_frac``) and the bootstrap; the report goes to ``out``, a
    new or empty folder."""

    file: Path
    score: str
    label: str
    groups: list[str]
    out: Path
    threshold: float | None = None
    top_k: int | None = None
    top_frac: float | None = None
    positive_label: str | None = None
    lower_is_riskier: bool = False
    person: str | None = None
    intersections: list[str] | None = None
    resamples: int = 1000
    seed: int = 0
    title: str | None = None
    #: the parity the gate holds groups to (recall for a supportive use, fpr for a punitive one)
    gate_metric: str = "recall"
    #: reference groups, ``ATTRIBUTE=GROUP`` or a ``GROUP`` only one attribute has (default:
    #: each attribute's largest group)
    references: list[str] | None = None


@dataclass(frozen=True)
class ScoresAuditOutcome:
    """The audit at the operating point, the report (its gate included) and its HTML file."""

    result: AuditResult
    operating_point: OperatingPoint
    report: dict[str, Any]
    html_path: Path


def resolve_references(values: list[str] | None, sensitive: pd.DataFrame) -> dict[str, str]:
    """``--reference`` values as attribute -> group, checked against the audited columns.

    >>> frame = pd.DataFrame({"sex": ["f", "m"], "ethnicity": ["white", "black"]})
    >>> resolve_references(["m", "ethnicity=black"], frame)
    {'sex': 'm', 'ethnicity': 'black'}
    """
    out: dict[str, str] = {}
    for value in values or []:
        attribute, sep, group = value.partition("=")
        if sep:
            if attribute not in sensitive.columns:
                raise JobError(
                    f"--reference {value}: {attribute!r} is not an audited --group column "
                    f"({', '.join(sensitive.columns)})"
                )
            groups = set(sensitive[attribute].astype(str))
            if group not in groups:
                raise JobError(
                    f"--reference {value}: no row has {attribute} = {group!r}; its groups are "
                    f"{', '.join(sorted(groups))}"
                )
        else:
            group = attribute
            having = [c for c in sensitive.columns if group in set(sensitive[c].astype(str))]
            if len(having) != 1:
                where = ", ".join(having) if having else "no audited column"
                raise JobError(
                    f"--reference {value}: the group {group!r} is in {where}; name the column "
                    f"as --reference COLUMN={group}"
                )
            attribute = having[0]
        if attribute in out:
            raise JobError(f"--reference names two reference groups for {attribute!r}: give one")
        out[attribute] = group
    return out


def _check_out(out: Path) -> None:
    if out.exists() and not out.is_dir():
        raise JobError(f"--out {out} is a file; give a new or empty folder for the report")
    if out.is_dir() and any(out.iterdir()):
        raise JobError(
            f"--out {out} already exists and is not empty; refusing to mix reports: give a new "
            "or empty folder"
        )


def audit_scores(
    request: ScoresAuditRequest,
    *,
    gate_config: FairnessGateConfig | None = None,
    on_event: Listener = ignore,
) -> ScoresAuditOutcome:
    """Audit the scores of ``request.file`` and write the report; nothing is written unless
    every input is usable (:class:`~vru_risk.jobs.common.JobError` otherwise)."""
    r = request
    if r.gate_metric not in GATE_METRICS:
        raise JobError(
            f"--gate-metric {r.gate_metric!r} is not one of {', '.join(GATE_METRICS)} (recall for "
            "a supportive use, fpr for a punitive one)"
        )
    try:
        op = operating_point(r.threshold, r.top_k, r.top_frac, r.lower_is_riskier)
        if r.resamples < 1:
            raise JobError(f"--resamples must be at least 1, got {r.resamples}")
        _check_out(r.out)
        scores = read_external_scores(
            r.file,
            score=r.score,
            label=r.label,
            groups=r.groups,
            operating=op,
            lower_is_riskier=r.lower_is_riskier,
            person=r.person,
            positive_label=r.positive_label,
            intersection=r.intersections,
        )
    except ScoresInputError as exc:
        raise JobError(str(exc)) from None
    y, sensitive = scores.labels, scores.sensitive
    references = resolve_references(r.references, sensitive)
    try:
        result = audit(
            y,
            scores.ranked,
            sensitive_features=sensitive,
            operating_point=op,
            intersections=scores.intersections,
            reference_groups=references or None,
            person_id=scores.people,
        )
        on_event(StepStarted(f"bootstrapping {r.resamples:,} resamples of people ..."))
        try:
            intervals = bootstrap_intervals(
                y,
                scores.ranked,
                sensitive_features=sensitive,
                operating_point=op,
                person_id=scores.people,
                n_resamples=r.resamples,
                seed=r.seed,
                intersections=scores.intersections,
                reference_groups=references or None,
            )
        finally:
            on_event(StepsDone())
    except ValueError as exc:
        raise JobError(f"{r.file}: {exc}") from None
    gate = evaluate_gate(
        intervals,
        result.by_group,
        gate_config or fairness_gate_config(),
        metric=r.gate_metric,
    )
    report = build_report(
        title=r.title or f"Fairness audit of {r.score} in {r.file.name}",
        subject={
            "kind": "external",
            "file": r.file.name,
            "file_sha256": file_sha256(r.file),
            "score_column": r.score,
            "label_column": r.label,
            "positive_label": scores.positive_label,
            "group_columns": list(r.groups),
            "person_column": r.person,
            "lower_is_riskier": r.lower_is_riskier,
            "gate_metric": r.gate_metric,
            "reference_groups": dict(result.reference),
            "population": "people",
        },
        data_window={
            "rows": scores.rows,
            "people": len(pd.unique(scores.people)),
            "with_outcome": int(y.sum()),
            "source": f"every row of {r.file.name}; its time window is not known to vru-risk",
        },
        audits={OUTCOME: result},
        primary=OUTCOME,
        intervals=intervals,
        gate=gate,
        notes=_notes(result, op, r.lower_is_riskier, r.resamples, r.seed),
    )
    try:
        _, html_path = write_report(report, r.out)
    except OSError as exc:
        raise JobError(f"cannot write the report to {r.out}: {exc}") from None
    return ScoresAuditOutcome(result=result, operating_point=op, report=report, html_path=html_path)


def _notes(
    result: AuditResult, op: OperatingPoint, lower: bool, resamples: int, seed: int
) -> list[str]:
    notes = [
        f"Intervals: {resamples:,} bootstrap resamples of people (seed {seed}).",
        "The scores did not come from vru-risk: the report has no performance, calibration "
        "curve, proxy, mitigation or review sections.",
    ]
    if lower and not isinstance(op, Threshold):
        notes.append("Lower scores are riskier: the list was cut from the lowest scores.")
    if pd.isna(result.overall.get("calibration_error")):
        notes.append(
            "The scores are not probabilities (not all within 0 to 1, or lower is riskier), so "
            "calibration within groups could not be assessed: those gate criteria read 'not "
            "assessable' and the gate cannot pass by itself."
        )
    else:
        notes.append(
            "The scores all lie within 0 to 1, so they were read as probabilities and their "
            "calibration within groups was checked."
        )
    return notes
