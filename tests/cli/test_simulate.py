"""``vru simulate service`` refuses what it cannot use before it writes anything (exit 2, saying
what to change); the service itself is tested in tests/jobs/test_simulated_service.py."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import RunVru

KEY = "an-audit-key-of-some-length"


def test_unusable_options_and_folders_exit_2_writing_nothing(
    vru: RunVru, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert vru("simulate", "service", "--help").code == 0
    data, truth, out = tmp_path / "data", tmp_path / "truth", tmp_path / "out"
    truth.mkdir()
    base = ("simulate", "service", "--data", data, "--truth", truth, "--out", out)
    bad_group = vru(*base, "--agreement-by-group", "ethnicity-black-0.4")
    assert bad_group.code == 2 and "ATTRIBUTE=GROUP:RATE" in bad_group.output
    bad_rate = vru(*base, "--take-up", "1.5")
    assert bad_rate.code == 2 and "take_up is 1.5" in bad_rate.output
    no_key = vru(*base)
    assert no_key.code == 2 and "VRU_AUDIT_KEY" in no_key.output  # the database write is audited
    monkeypatch.setenv("VRU_AUDIT_KEY", KEY)
    no_truth = vru(*base)
    assert no_truth.code == 2 and "potential_outcomes.parquet" in no_truth.output
    inside = vru("simulate", "service", "--data", data, "--truth", truth, "--out", data / "x")
    assert inside.code == 2 and "overlaps the data folder" in inside.output
    assert not out.exists() and not (tmp_path / "out-service").exists() and not data.exists()


def test_a_harmful_programme_is_refused_before_the_service_runs(
    vru: RunVru, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data, truth, out = tmp_path / "data", tmp_path / "truth", tmp_path / "out"
    made = vru(
        "data", "generate", "--out", data, "--truth-out", truth, "--people", "200", "--years", "1",
        "--programme-effect", "Early Intervention Team=1.5",
    )  # fmt: skip
    assert made.code == 0, made.output
    monkeypatch.setenv("VRU_AUDIT_KEY", KEY)
    refused = vru("simulate", "service", "--data", data, "--truth", truth, "--out", out)
    assert refused.code == 2
    assert "harmful programme" in refused.output and "Early Intervention Team" in refused.output
    assert not out.exists() and not (tmp_path / "out-service").exists()
