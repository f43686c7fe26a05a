"""Model cards and what they are built from, for the tests of the pages and the comparison:
the figures a training run, a fairness audit and ``vru train`` record for two versions, and
:class:`~vru_risk.monitoring.card.CardSources` made of them (as
:func:`vru_risk.jobs.card.gather` gathers them from a registry), built into documents by the
real :func:`~vru_risk.monitoring.card.build_card` and
:func:`~vru_risk.monitoring.transparency.build_transparency`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from tests.monitoring.reports import CRITERIA
from vru_risk.fairness_reports.gate import Criterion, FairnessGate, status_of
from vru_risk.features.catalog import FeatureSpec
from vru_risk.models.review_log import ReviewEntry
from vru_risk.models.tags import (
    ALLOCATION_RULE,
    AUDIT_ALLOCATION_TAG,
    CAPACITY_TAG,
    CONTENT_HASH_TAG,
    DATA_FINGERPRINT_TAG,
    FAIRNESS_TAG,
    LABEL_TIMESPAN_TAG,
    LEAKAGE_GATE_TAG,
    PERFORMANCE_GATE_TAG,
    STATE_TAG,
    TRAIN_END_TAG,
    TRAINED_BY_TAG,
    TRAINING_ALLOCATION_TAG,
)
from vru_risk.monitoring.card import CardSources, build_card
from vru_risk.monitoring.governance import load_governance
from vru_risk.monitoring.reference import MonitoringReference
from vru_risk.monitoring.transparency import build_transparency

#: pooled test-fold metrics of a training run: model -> metric -> value
METRICS = {
    "lightgbm": {
        "precision_at_capacity": 0.312,
        "recall_at_capacity": 0.204,
        "lift_at_capacity": 3.41,
        "hindsight_precision_at_capacity": 0.401,
        "hindsight_recall_at_capacity": 0.262,
        "auc": 0.861,
    },
    "logistic_regression": {
        "precision_at_capacity": 0.288,
        "hindsight_precision_at_capacity": 0.377,
        "auc": 0.842,
    },
    "pol_suspect_365d": {
        "precision_at_capacity": 0.201,
        "hindsight_precision_at_capacity": 0.266,
        "auc": 0.741,
    },
    "ae_assault_365d": {
        "precision_at_capacity": 0.133,
        "hindsight_precision_at_capacity": 0.171,
        "auc": 0.588,
    },
}
#: the candidate's run: LightGBM a little better, the baselines as trained on its data
CANDIDATE_METRICS = {
    model: {k: round(v * (1.06 if model == "lightgbm" else 1.0), 3) for k, v in values.items()}
    for model, values in METRICS.items()
}
RUN_METRICS = {1: METRICS, 2: CANDIDATE_METRICS}
#: each version's recall ratios against the reference group: (attribute, group, reference,
#: estimate, low, high)
RATIOS = {
    1: (
        ("sex", "female", "male", 0.93, 0.84, 1.03),
        ("ethnicity", "black", "white", 0.97, 0.86, 1.12),
        ("ethnicity", "asian", "white", 0.96, 0.81, 1.14),
    ),
    2: (
        ("sex", "female", "male", 0.95, 0.86, 1.05),
        ("ethnicity", "black", "white", 0.91, 0.82, 1.01),
        ("ethnicity", "asian", "white", 0.90, 0.74, 1.08),
    ),
}
#: what each version's RiskModel records of its training (as ``vru train`` writes it)
TRAINED = {
    1: {
        "train_start": "2020-09-01",
        "train_end": "2024-12-31",
        "training_examples": "27620",
        "calibration_start": "2024-12-31",
        "calibration_end": "2025-07-01",
        "calibration_examples": "2750",
    },
    2: {
        "train_start": "2021-03-01",
        "train_end": "2025-06-30",
        "training_examples": "30112",
        "calibration_start": "2025-06-30",
        "calibration_end": "2026-01-01",
        "calibration_examples": "2904",
    },
}


def audit_report(version: int) -> dict[str, Any]:
    """The parts of a fairness audit's report.json a card and a comparison read: the gate with
    the recall ratios of :data:`RATIOS` (and its verdict), the operating point."""
    band = (0.8, 1.25)
    criteria = tuple(
        Criterion(
            attribute=attribute,
            group=group,
            reference=reference,
            metric="tpr_ratio",
            estimate=estimate,
            low=low,
            high=high,
            band=band,
            status=status_of(low, high, *band),
            explanation=f"recall of {group} over {reference}: {estimate:.2f} ({low} to {high})",
        )
        for attribute, group, reference, estimate, low, high in RATIOS[version]
    )
    passed = {c.status for c in criteria} == {"pass"}
    gate = FairnessGate(status="pass" if passed else "inconclusive", criteria=criteria)
    return {"gate": gate.to_dict(), "operating_point": {"name": "capacity"}, "cannot_assess": []}


def card_sources(
    version: int,
    spec: FeatureSpec,
    reference: MonitoringReference | None,
    *,
    aliases: tuple[str, ...] = (),
    reviews: tuple[ReviewEntry, ...] = (),
    audit: Mapping[str, Any] | None = None,
    metrics: Mapping[str, Mapping[str, float]] | None = None,
) -> CardSources:
    """What a card of ``version`` (1 or 2) is built from."""
    gate = (audit or {}).get("gate") or {}
    tags = {
        CONTENT_HASH_TAG: f"{version}c" * 32,
        DATA_FINGERPRINT_TAG: ("a1" if version == 1 else "b2") * 32,
        TRAIN_END_TAG: TRAINED[version]["train_end"],
        TRAINED_BY_TAG: "dana",
        STATE_TAG: "candidate",
        PERFORMANCE_GATE_TAG: "pass",
        LEAKAGE_GATE_TAG: "clear",
        FAIRNESS_TAG: str(gate.get("status", "")),
        TRAINING_ALLOCATION_TAG: ALLOCATION_RULE,
        AUDIT_ALLOCATION_TAG: ALLOCATION_RULE,
        LABEL_TIMESPAN_TAG: "365d",
        CAPACITY_TAG: "40",
    }
    return CardSources(
        model_name="vru-risk",
        version=version,
        aliases=aliases,
        tags={k: v for k, v in tags.items() if v},
        registered=f"2026-0{version}-05T10:00:00+00:00",
        model_info=TRAINED[version],
        spec=spec,
        source_patterns={"": 3600, "attendance": 400},
        run_metrics=metrics
        if metrics is not None
        else (METRICS if version == 1 else CANDIDATE_METRICS),
        audit=audit,
        audit_location=None
        if audit is None
        else f"VRU_HOME/reports/vru-risk-v{version}/report.json",
        reviews=reviews,
        reference=reference,
        criteria=CRITERIA,
        governance=load_governance(),
        generated_at="2026-07-01T09:00:00+00:00",
    )


def documents(sources: CardSources) -> tuple[dict[str, Any], dict[str, Any]]:
    """The model card and the transparency record of ``sources``."""
    card = build_card(sources)
    return card, build_transparency(sources, card)
