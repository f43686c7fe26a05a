"""A service home for the monitoring, model card and comparison pages, made through the real
code: version 1 (the factory model) registered, its training run's pooled metrics logged with
the baselines, a fairness audit's gate, its monitoring reference saved
(:func:`~vru_risk.jobs.monitor_data.save_reference`), approved by the panel (champion), and its
monthly runs written by :func:`tests.monitoring.reports.write_runs`; version 2 the same model
registered later as the candidate, trained on other data; both model cards made by the real
``vru models card`` job (:func:`~vru_risk.jobs.card.make_card`). No training.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import date, datetime
from typing import Any

import mlflow

from tests.monitoring.cards import CANDIDATE_METRICS, METRICS, TRAINED, audit_report
from tests.monitoring.reports import reference_for, write_runs
from tests.serving.app.conftest import Registered, register_candidate
from vru_risk.jobs.card import make_card
from vru_risk.jobs.monitor_data import approval_criteria_hash, save_reference
from vru_risk.models.promotion import review
from vru_risk.models.registry import Registry, tracking
from vru_risk.models.risk_model import RiskModel
from vru_risk.models.tags import (
    ALLOCATION_RULE,
    AUDIT_ALLOCATION_TAG,
    CAPACITY_TAG,
    DATA_FINGERPRINT_TAG,
    LABEL_TIMESPAN_TAG,
    LEAKAGE_GATE_TAG,
    PARENT_RUN_TAG,
    TRAIN_END_TAG,
    TRAINING_ALLOCATION_TAG,
)
from vru_risk.monitoring.history import timestamp
from vru_risk.monitoring.reference import MonitoringReference
from vru_risk.settings import Settings


def training_run(
    registry: Registry, version: int, metrics: Mapping[str, Mapping[str, float]]
) -> str:
    """A training run (parent) with its ``pooled`` child holding ``metrics``, as ``vru train``
    logs them; the version is tagged with the parent."""
    with tracking(registry.uri):
        experiment = mlflow.get_experiment_by_name("tests")
        assert experiment is not None  # made by the registration
        logged = {f"{m}_{k}": v for m, values in metrics.items() for k, v in values.items()}
        with (
            mlflow.start_run(experiment_id=experiment.experiment_id) as parent,
            mlflow.start_run(
                experiment_id=experiment.experiment_id, run_name="pooled", nested=True
            ),
        ):
            mlflow.log_metrics(logged)
    registry.set_tag(version, PARENT_RUN_TAG, parent.info.run_id)
    return str(parent.info.run_id)


def fairness_report(settings: Settings, version: int) -> dict[str, Any]:
    """The version's fairness audit report (:func:`tests.monitoring.cards.audit_report`) where
    ``vru audit`` writes it."""
    report = audit_report(version)
    folder = settings.report_dir(version)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "report.json").write_text(json.dumps(report), encoding="utf-8")
    (folder / "report.html").write_text("<!doctype html><title>fairness report</title>")
    return report


@dataclass(frozen=True)
class ModelHome:
    champion: Registered
    candidate: Registered
    #: when the panel approved the champion (the newest run is dated then)
    approved_at: datetime


def _tag(registered: Registered, version: int, fingerprint: str) -> None:
    for key, value in (
        (TRAINING_ALLOCATION_TAG, ALLOCATION_RULE),
        (AUDIT_ALLOCATION_TAG, ALLOCATION_RULE),
        (LEAKAGE_GATE_TAG, "clear"),
        (DATA_FINGERPRINT_TAG, fingerprint * 32),
        (TRAIN_END_TAG, TRAINED[version]["train_end"]),
        (LABEL_TIMESPAN_TAG, "365d"),
        (CAPACITY_TAG, "40"),
    ):
        registered.registry.set_tag(registered.version, key, value)


def _version(
    settings: Settings,
    model: RiskModel,
    number: int,
    reference: MonitoringReference,
    *,
    fairness: str,
) -> Registered:
    """Version ``number`` (it must be the next one) with its run, tags, audit and reference."""
    registered = register_candidate(
        settings, replace(model, info=TRAINED[number]), fairness=fairness
    )
    assert registered.version == number, "seed_model_home needs a fresh home"
    training_run(registered.registry, number, METRICS if number == 1 else CANDIDATE_METRICS)
    _tag(registered, number, "a1" if number == 1 else "b2")
    fairness_report(settings, number)
    save_reference(settings, registered.registry, registered.registry.version(number), reference)
    return registered


def seed_model_home(
    settings: Settings,
    model: RiskModel,
    reference: MonitoringReference,
    reports: Mapping[date, Mapping[str, Any]],
) -> ModelHome:
    """The home described in the module docstring (versions 1 and 2 of a fresh home)."""
    champion = _version(settings, model, 1, reference, fairness="pass")
    review(
        "approve",
        version=1,
        reviewer="eve",
        reason="The fairness report and the monitoring criteria were read and discussed.",
        registry=champion.registry,
        log=champion.log,
        criteria_hash=approval_criteria_hash(settings, 1),
    )
    approved_at = timestamp(champion.log.entries()[-1].time)
    assert approved_at is not None
    later = reference_for(model, seed=2, start=date(2025, 7, 7))
    candidate = _version(settings, model, 2, later, fairness="inconclusive")
    for version in (1, 2):
        make_card(settings, version)
    write_runs(settings.home, reports, version=1, latest_written=approved_at)
    return ModelHome(champion=champion, candidate=candidate, approved_at=approved_at)
