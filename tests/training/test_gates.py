"""The gates training applies: the leakage tripwire and the state of a new version."""

from __future__ import annotations

from vru_risk.models.tags import BLOCKED, CANDIDATE, REJECTED
from vru_risk.training.gates import tripwire, version_state
from vru_risk.training.results import GateResult


def test_the_tripwire_fires_on_implausible_auc_and_on_jumps() -> None:
    bounds = {"implausible_auc": 0.95, "max_auc_jump": 0.02, "max_precision_jump": 0.05}
    fine = {"auc": 0.90, "precision_at_capacity": 0.40}
    assert tripwire(fine, None, **bounds).passed
    assert tripwire(fine, {"auc": 0.89, "precision_at_capacity": 0.38}, **bounds).passed
    high = tripwire({"auc": 0.97, "precision_at_capacity": 0.4}, None, **bounds)
    assert not high.passed and "plausible" in high.reasons[0]
    jump = tripwire(fine, {"auc": 0.85, "precision_at_capacity": 0.30}, **bounds)
    assert not jump.passed
    assert len(jump.reasons) == 2 and "previous version" in jump.reasons[0]


def test_a_fired_tripwire_blocks_whatever_the_performance() -> None:
    passed, failed = GateResult(True, ()), GateResult(False, ("a reason",))
    assert version_state(performance=passed, leakage=passed) == CANDIDATE
    assert version_state(performance=failed, leakage=passed) == REJECTED
    assert version_state(performance=passed, leakage=failed) == BLOCKED
    assert version_state(performance=failed, leakage=failed) == BLOCKED
