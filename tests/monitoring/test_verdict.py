"""Findings, the overall level and the exit codes of `vru monitor`."""

from __future__ import annotations

import pytest

from vru_risk.models.gate_config import FairnessGateConfig
from vru_risk.monitoring.criteria import MonitoringCriteria
from vru_risk.monitoring.verdict import (
    EXIT_NOTHING,
    EXIT_REVIEW,
    EXIT_SUSPENSION,
    Finding,
    GroupComparison,
    agreement_findings,
    approval_findings,
    calibration_findings,
    combine,
    group_findings,
    outage_findings,
    precision_findings,
)

CRITERIA = MonitoringCriteria(outage_days={"attendance": 14})
REVIEW = Finding("agreement", "review", "all programmes", "Agreement out of bounds.", {})
SUSPEND = Finding("source_outage", "suspension_recommended", "attendance", "Outage.", {})


def test_exit_codes() -> None:
    assert (EXIT_NOTHING, EXIT_REVIEW, EXIT_SUSPENSION) == (0, 4, 3)
    assert combine([]).exit_code == 0 and combine([]).level == "nothing"
    assert combine([REVIEW]).exit_code == 4
    both = combine([REVIEW, SUSPEND])
    assert both.exit_code == 3 and both.level == "suspension_recommended"
    assert both.findings[0] is SUSPEND  # suspensions first
    assert "Outage." in both.summary and "Agreement" in both.summary


def test_outage_names_the_source_and_its_days() -> None:
    (f,) = outage_findings({"attendance": 20, "ae_visits": 400}, CRITERIA)  # ae: no criterion
    assert f.level == "suspension_recommended" and f.subject == "attendance"
    assert "20 days" in f.sentence and "allowed: 14" in f.sentence
    assert outage_findings({"attendance": 14}, CRITERIA) == []


def test_agreement_bounds_and_minimum_decisions() -> None:
    assert agreement_findings(1, 10, CRITERIA) == []  # too few decisions to judge
    (low,) = agreement_findings(3, 40, CRITERIA)
    assert "distrust" in low.sentence and low.figures["share"] == pytest.approx(0.075)
    (high,) = agreement_findings(40, 40, CRITERIA)
    assert "without judgement" in high.sentence
    assert agreement_findings(20, 40, CRITERIA) == []


def test_calibration_slope_interval_wholly_outside() -> None:
    assert calibration_findings(0.55, 0.4, 0.7, 1000, CRITERIA) == []  # straddles 0.6
    (f,) = calibration_findings(0.4, 0.3, 0.5, 1000, CRITERIA)
    assert f.criterion == "calibration_slope" and f.level == "suspension_recommended"
    assert calibration_findings(0.4, 0.3, 0.5, 10, CRITERIA) == []  # too few moments


def test_precision_floor_needs_every_recent_matured_window_below() -> None:
    # expected 0.5 -> floor 0.3 (relative 0.6); two matured windows
    below = [("2025-01", 0.2, 0.25, 100), ("2025-02", 0.18, 0.24, 120)]
    (f,) = precision_findings(below, 0.5, CRITERIA)
    assert "2025-01" in f.sentence and "2025-02" in f.sentence and f.figures["floor"] == 0.3
    assert precision_findings(below[:1], 0.5, CRITERIA) == []  # one window is not enough
    straddles = [below[0], ("2025-02", 0.25, 0.35, 120)]
    assert precision_findings(straddles, 0.5, CRITERIA) == []
    assert precision_findings(below, None, CRITERIA) == []


def test_group_bounds_come_from_the_gate_and_must_be_resolved() -> None:
    low = GroupComparison("ethnicity", "black", "white", "tpr_ratio", 0.6, 0.5, 0.7)
    inside = GroupComparison("sex", "female", "male", "tpr_ratio", 0.85, 0.7, 1.0)
    with pytest.raises(ValueError, match="resolve them"):
        group_findings([low], CRITERIA)
    (f,) = group_findings([low, inside], CRITERIA.resolved(FairnessGateConfig()))
    assert f.subject == "ethnicity=black" and "0.80" in f.sentence
    assert f.sentence.startswith("Group Ethnicity = Black: recall ratio against White is 0.60")
    fnr = GroupComparison("sen", "ehcp", "none", "fnr_difference", 0.2, 0.12, 0.3)
    (g,) = group_findings([fnr], CRITERIA.resolved(FairnessGateConfig()))
    assert g.criterion == "group_fnr_difference"


def test_a_reference_or_criteria_other_than_the_approved_ones_asks_for_review() -> None:
    now = {"reference": "a" * 64, "criteria": "b" * 64}
    assert approval_findings({"reference": "a" * 64, "criteria": "b" * 64}, now) == []
    assert approval_findings({"reference": None, "criteria": None}, now) == []  # not recorded
    found = approval_findings({"reference": "a" * 64, "criteria": "e" * 64}, now)
    assert [(f.level, f.subject) for f in found] == [("review", "monitoring criteria")]
    assert "not the one the panel approved" in found[0].sentence
    assert combine(found).exit_code == 4


def test_each_month_is_held_to_what_the_model_expects_of_the_same_moments() -> None:
    # moments the allocation never chose score lower: held to the reference's offered moments
    # (0.5 -> floor 0.3) they would look failing; held to their own expectation (0.3 -> floor
    # 0.18) a healthy model does not
    healthy = [("2025-01", 0.22, 0.27, 100, 0.25), ("2025-02", 0.21, 0.26, 120, 0.25)]
    assert precision_findings(healthy, 0.5, CRITERIA) == []
    as_if_chosen = [w[:4] for w in healthy]  # held to the reference's offered moments
    assert [f.criterion for f in precision_findings(as_if_chosen, 0.5, CRITERIA)] == [
        "precision_floor"
    ]
    failing = [("2025-01", 0.10, 0.15, 100, 0.3), ("2025-02", 0.09, 0.14, 120, 0.3)]
    (f,) = precision_findings(failing, 0.5, CRITERIA)
    assert f.figures["floor_2025-01"] == 0.18 and "floor 0.18" in f.sentence
