"""The panel's decisions: gates before approval, two overrides, clear-leakage, suspension,
and a loader that trusts the review log, not a hand-set alias."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from tests.conftest import RunVru
from tests.models.test_registry import register
from tests.panel import PANEL_PASSWORD, panel_members
from vru_risk.models.promotion import ReviewRefusedError, allowed_actions, review
from vru_risk.models.registry import Registry, RegistryError
from vru_risk.models.review_log import ReviewLog, ReviewLogError, ReviewState, review_state
from vru_risk.models.risk_model import RiskModel
from vru_risk.models.tags import (
    BLOCKED,
    CANDIDATE,
    FAIRNESS_TAG,
    IN_SERVICE,
    MONITORING_REFERENCE_TAG,
    PANEL_REJECTED,
    REPLACED,
    SUSPENDED,
    TRAINED_BY_TAG,
)


@pytest.fixture
def registry(vru_home: Path) -> Registry:
    return Registry(f"sqlite:///{vru_home / 'mlflow.db'}")


@pytest.fixture
def log(vru_home: Path) -> ReviewLog:
    return ReviewLog(vru_home / "review_log.jsonl")


def candidate(registry: Registry, model: RiskModel, root: Path, fairness: str) -> int:
    version = register(registry, model, CANDIDATE, root)
    registry.set_tag(version, "vru.gate.performance", "pass")
    registry.set_tag(version, TRAINED_BY_TAG, "dana")
    if fairness:
        registry.set_tag(version, FAIRNESS_TAG, fairness)
    return version


def decide(action: str, version: int, who: str, registry: Registry, log: ReviewLog) -> str:
    return review(
        action, version=version, reviewer=who, reason=f"{who}'s reason", registry=registry, log=log
    ).message


def test_approve_needs_passing_gates_and_moves_the_champion(
    registry: Registry, log: ReviewLog, risk_model: RiskModel, vru_home: Path
) -> None:
    failing = candidate(registry, risk_model, vru_home, "fail")
    unaudited = candidate(registry, risk_model, vru_home, "")
    passing = candidate(registry, risk_model, vru_home, "pass")
    with pytest.raises(ReviewRefusedError, match=r"fairness gate is 'fail'.*override"):
        decide("approve", failing, "ana", registry, log)
    with pytest.raises(ReviewRefusedError, match="no fairness report yet"):
        decide("approve", unaudited, "ana", registry, log)
    with pytest.raises(RegistryError, match="no champion"):
        registry.load_champion(log)
    decide("approve", passing, "ana", registry, log)
    model, info = registry.load_champion(log)
    assert info.version == passing and model.content_hash == risk_model.content_hash
    assert "approve by ana" in registry.version(passing).tags["vru.review"]
    # a version that failed the performance gate can never be approved
    weak = candidate(registry, risk_model, vru_home, "pass")
    registry.set_tag(weak, "vru.gate.performance", "fail")
    with pytest.raises(ReviewRefusedError, match="performance gate"):
        decide("approve", weak, "ana", registry, log)
    assert registry.alias("champion").version == passing  # type: ignore[union-attr]


def test_an_override_needs_two_different_panel_members(
    registry: Registry, log: ReviewLog, risk_model: RiskModel, vru_home: Path
) -> None:
    version = candidate(registry, risk_model, vru_home, "inconclusive")
    message = decide("override", version, "ana", registry, log)
    assert "1 of 2" in message
    assert registry.alias("champion") is None
    with pytest.raises(ReviewRefusedError, match="already recorded an override"):
        decide("override", version, "ana", registry, log)
    decide("override", version, "ben", registry, log)
    assert registry.load_champion(log)[1].version == version
    passing = candidate(registry, risk_model, vru_home, "pass")
    with pytest.raises(ReviewRefusedError, match="use `vru review approve`"):
        decide("override", passing, "ana", registry, log)


def test_clear_leakage_is_refused_for_the_trainer(
    registry: Registry, log: ReviewLog, risk_model: RiskModel, vru_home: Path
) -> None:
    version = register(registry, risk_model, BLOCKED, vru_home)
    registry.set_tag(version, "vru.gate.performance", "pass")
    registry.set_tag(version, TRAINED_BY_TAG, "dana")
    registry.set_tag(version, FAIRNESS_TAG, "pass")
    with pytest.raises(ReviewRefusedError, match="suspected leakage"):
        decide("approve", version, "ana", registry, log)
    with pytest.raises(ReviewRefusedError, match="dana trained version"):
        decide("clear-leakage", version, "dana", registry, log)
    decide("clear-leakage", version, "ana", registry, log)
    info = registry.version(version)
    assert not info.blocked and info.aliases == ("candidate",)
    decide("approve", version, "ben", registry, log)
    assert registry.load_champion(log)[1].version == version


def test_suspend_takes_the_champion_out_of_service(
    registry: Registry, log: ReviewLog, risk_model: RiskModel, vru_home: Path
) -> None:
    version = candidate(registry, risk_model, vru_home, "pass")
    with pytest.raises(ReviewRefusedError, match="not in service"):
        decide("suspend", version, "ana", registry, log)
    decide("approve", version, "ana", registry, log)
    with pytest.raises(ReviewRefusedError, match="suspend` first"):
        decide("reject", version, "ben", registry, log)
    decide("suspend", version, "ben", registry, log)
    assert registry.alias("champion") is None
    # even with the alias put back by hand, the loader refuses a suspended version
    registry.set_alias("champion", version)
    with pytest.raises(RegistryError, match="suspended"):
        registry.load_champion(log)


def test_a_hand_set_champion_without_a_review_is_refused(
    registry: Registry, log: ReviewLog, risk_model: RiskModel, vru_home: Path
) -> None:
    version = candidate(registry, risk_model, vru_home, "pass")
    registry.set_alias("champion", version)
    with pytest.raises(RegistryError, match="no approval in the review log"):
        registry.load_champion(log)
    # an approval recorded for other files (another content hash) does not count either
    log.append(version=version, content_hash="0" * 64, action="approve", reviewer="x", reason="y")
    with pytest.raises(RegistryError, match="not the ones approved"):
        registry.load_champion(log)


def test_the_review_log_is_gapless_and_hash_chained(log: ReviewLog) -> None:
    for i in range(3):
        log.append(version=1, content_hash="h", action="reject", reviewer=f"r{i}", reason="n")
    entries = log.entries()
    assert [e.seq for e in entries] == [1, 2, 3]
    assert entries[1].previous_hash == entries[0].hash
    lines = log.path.read_text().splitlines()
    edited = json.loads(lines[1])
    edited["reason"] = "something else"
    log.path.write_text("\n".join([lines[0], json.dumps(edited), lines[2]]) + "\n")
    with pytest.raises(ReviewLogError, match="entry 2 does not match its hash chain"):
        log.entries()
    log.path.write_text("\n".join([lines[0], lines[2]]) + "\n")
    with pytest.raises(ReviewLogError, match="sequence number 3"):
        log.entries()
    with pytest.raises(ReviewLogError, match="written reason"):
        ReviewLog(log.path.with_name("other.jsonl")).append(
            version=1, content_hash="h", action="approve", reviewer="a", reason=" "
        )


def test_cli_review_commands(
    vru: RunVru,
    registry: Registry,
    risk_model: RiskModel,
    vru_home: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    version = candidate(registry, risk_model, vru_home, "pass")
    password = panel_members(monkeypatch, "ana", "bo")
    ok = vru(
        "review", "approve", "--version", version, "--reviewer", "ana", "--reason", "gates pass",
        *password,
    )  # fmt: skip
    assert ok.code == 0, ok.output
    assert "now the champion" in ok.stdout
    refused = vru(
        "review", "clear-leakage", "--version", version, "--reviewer", "bo", "--reason", "x",
        *password,
    )  # fmt: skip
    assert refused.code == 2 and "not blocked" in refused.stderr
    missing = vru(
        "review", "approve", "--version", 99, "--reviewer", "bo", "--reason", "x", *password
    )
    assert missing.code == 2 and "no version 99" in missing.stderr
    shown = vru("review", "log")
    assert shown.code == 0 and "gates pass" in shown.stdout


def test_cli_review_needs_an_active_panel_members_password(
    vru: RunVru,
    registry: Registry,
    risk_model: RiskModel,
    vru_home: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    version = candidate(registry, risk_model, vru_home, "pass")
    args = ("review", "approve", "--version", version, "--reason", "gates pass")
    monkeypatch.setenv("VRU_AUDIT_KEY", "an-audit-key-for-the-user-commands")  # audit-logged
    panel_members(monkeypatch, "ana")
    unknown = vru(*args, "--reviewer", "nobody", "--password-stdin")
    assert unknown.code == 2 and "not an active ethics-panel user" in unknown.stderr
    monkeypatch.setattr("sys.stdin", io.StringIO("not the password\n"))
    wrong = vru(*args, "--reviewer", "ana", "--password-stdin")
    assert wrong.code == 2 and "not an active ethics-panel user" in wrong.stderr
    monkeypatch.setattr("sys.stdin", io.StringIO(""))
    empty = vru(*args, "--reviewer", "ana", "--password-stdin")
    assert empty.code == 2 and "no password line" in empty.stderr
    no_tty = vru(*args, "--reviewer", "ana")
    assert no_tty.code == 2 and "--password-stdin" in no_tty.stderr
    monkeypatch.setattr("sys.stdin", io.StringIO(f"{PANEL_PASSWORD}\n" * 3))
    scientist = vru("users", "add", "dee", "--role", "data_scientist", "--password-stdin")
    assert scientist.code == 0, scientist.output
    not_panel = vru(*args, "--reviewer", "dee", "--password-stdin")
    assert not_panel.code == 2 and "not an active ethics-panel user" in not_panel.stderr
    assert vru("users", "disable", "ana").code == 0
    monkeypatch.setattr("sys.stdin", io.StringIO(f"{PANEL_PASSWORD}\n"))
    disabled = vru(*args, "--reviewer", "ana", "--password-stdin")
    assert disabled.code == 2 and "not an active ethics-panel user" in disabled.stderr
    assert registry.alias("champion") is None
    assert ReviewLog(vru_home / "review_log.jsonl").entries() == []


def test_an_approval_records_what_the_model_will_be_watched_against(
    registry: Registry, log: ReviewLog, risk_model: RiskModel, vru_home: Path
) -> None:
    passing = candidate(registry, risk_model, vru_home, "pass")
    registry.set_tag(passing, MONITORING_REFERENCE_TAG, "r" * 64)
    review(
        "approve",
        version=passing,
        reviewer="ana",
        reason="read the report",
        registry=registry,
        log=log,
        criteria_hash="c" * 64,
    )
    review("suspend", version=passing, reviewer="ana", reason="x", registry=registry, log=log)
    approval, suspension = log.for_version(passing)
    assert (approval.reference_hash, approval.criteria_hash) == ("r" * 64, "c" * 64)
    assert (suspension.reference_hash, suspension.criteria_hash) == (None, None)
    # the hashes are inside the chain: editing one breaks it
    lines = log.path.read_text().splitlines()
    edited = json.loads(lines[0])
    edited["criteria_hash"] = "d" * 64
    log.path.write_text("\n".join([json.dumps(edited), lines[1]]) + "\n")
    with pytest.raises(ReviewLogError, match="entry 1 does not match its hash chain"):
        log.entries()


def test_entries_written_before_the_monitoring_hashes_still_verify(log: ReviewLog) -> None:
    entry = log.append(version=1, content_hash="h", action="reject", reviewer="r", reason="n")
    line = json.loads(log.path.read_text())
    assert "reference_hash" not in line and "criteria_hash" not in line  # as older entries
    assert log.entries() == [entry]


def test_the_state_tag_is_kept_in_step_with_the_panels_decisions(
    registry: Registry, log: ReviewLog, risk_model: RiskModel, vru_home: Path
) -> None:
    first = candidate(registry, risk_model, vru_home, "pass")
    second = candidate(registry, risk_model, vru_home, "inconclusive")
    third = candidate(registry, risk_model, vru_home, "pass")
    decide("approve", first, "ana", registry, log)
    assert registry.version(first).state == IN_SERVICE
    decide("override", second, "ana", registry, log)
    assert registry.version(second).state == CANDIDATE  # one override is not a decision yet
    assert review_state(log.entries(), second).state.startswith("override pending")
    decide("override", second, "ben", registry, log)
    assert registry.version(second).state == IN_SERVICE
    assert registry.version(first).state == f"{REPLACED} (by version {second})"
    overridden = review_state(log.entries(), second)
    assert overridden == ReviewState("overridden", ("ana", "ben"))  # not shown as "approved"
    decide("reject", third, "ana", registry, log)
    assert registry.version(third).state == PANEL_REJECTED
    decide("suspend", second, "ben", registry, log)
    assert registry.version(second).state == SUSPENDED
    assert review_state(log.entries(), second).state == "suspended"
    # the tag never decides eligibility: a suspended version may be approved again
    registry.set_tag(second, FAIRNESS_TAG, "pass")
    decide("approve", second, "cy", registry, log)
    assert registry.version(second).state == IN_SERVICE


def test_a_page_is_offered_only_the_decisions_the_rules_allow(
    registry: Registry, log: ReviewLog, risk_model: RiskModel, vru_home: Path
) -> None:
    failing = candidate(registry, risk_model, vru_home, "fail")
    passing = candidate(registry, risk_model, vru_home, "pass")
    unaudited = candidate(registry, risk_model, vru_home, "")

    def allowed(version: int) -> tuple[str, ...]:
        champion = registry.alias("champion")
        return allowed_actions(
            registry.version(version),
            champion=champion.version if champion else None,
            entries=log.entries(),
        )

    assert allowed(failing) == ("override", "reject")  # never "approve" on a failed gate
    assert allowed(passing) == ("approve", "reject")
    assert allowed(unaudited) == ("reject",)  # audit it before any decision
    decide("approve", passing, "ana", registry, log)
    assert allowed(passing) == ("approve", "suspend")  # approve again (new hashes); no reject
    decide("suspend", passing, "ben", registry, log)
    assert allowed(passing) == ("approve", "reject")
    for action in ("approve", "override", "reject", "suspend"):  # what is not offered is refused
        if action not in allowed(failing) and action != "reject":
            with pytest.raises(ReviewRefusedError):
                decide(action, failing, "cy", registry, log)
