"""Monitoring criteria: the packaged file, governance sections, refusals, and the hash the panel
records."""

from __future__ import annotations

from pathlib import Path

import pytest

from vru_risk.models.gate_config import FairnessGateConfig
from vru_risk.monitoring.criteria import CriteriaError, MonitoringCriteria, load_criteria


def test_packaged_criteria_load_with_per_source_thresholds() -> None:
    c = load_criteria()
    assert c.drift_for("ae_visits").psi == 0.35
    assert c.drift_for("attendance") == c.drift.default
    assert c.outage_days["attendance"] == 14
    assert c.groups.bounds is None  # the version's fairness gate fills them


def test_hash_is_stable_and_changes_with_any_threshold() -> None:
    a, b = load_criteria(), load_criteria()
    assert a.hash == b.hash and len(a.hash) == 64
    changed = a.model_copy(update={"agreement": a.agreement.model_copy(update={"too_low": 0.25})})
    assert changed.hash != a.hash
    resolved = a.resolved(FairnessGateConfig(recall_ratio_low=0.7))
    assert resolved.groups.bounds is not None and resolved.groups.bounds.recall_ratio_low == 0.7
    assert resolved.hash != a.hash
    assert resolved.resolved(FairnessGateConfig()) is resolved  # bounds already set stay


def test_a_governance_files_monitoring_section_is_read(tmp_path: Path) -> None:
    path = tmp_path / "governance.yaml"
    path.write_text("owner: x\nmonitoring:\n  outage_days: {attendance: 10}\n", encoding="utf-8")
    assert load_criteria(path).outage_days == {"attendance": 10}


def test_bad_criteria_list_every_problem_and_what_to_do(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    path.write_text(
        "criteria_version: 2\nagreement: {too_low: 0.9, too_high: 0.5}\nbogus: 1\n",
        encoding="utf-8",
    )
    with pytest.raises(CriteriaError) as info:
        load_criteria(path)
    text = str(info.value)
    assert "bogus" in text and "too_low 0.9 must be below too_high" in text
    assert "criteria.yaml explains every key" in text
    with pytest.raises(CriteriaError, match="does not exist"):
        load_criteria(tmp_path / "none.yaml")
    assert MonitoringCriteria().precision.floor(0.5) == pytest.approx(0.3)
