"""The lottery's gate: ``vru flags generate`` refuses (exit 2, nothing written) a programmes file
that enables a lottery unless the ethics panel approved that very file and the power
calculation is sufficient; ``vru review approve-lottery`` records the approval."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.conftest import RunVru
from tests.panel import panel_members
from vru_risk.flags.lottery import Draw, LotteryRecord
from vru_risk.flags.programmes import load_programmes
from vru_risk.jobs.common import JobError
from vru_risk.jobs.lottery_gate import (
    approve_lottery,
    check_lotteries,
    expected_per_arm,
    programmes_hash,
)
from vru_risk.models.review_log import ReviewLog

#: early intervention's 15 places a month detect 30% -> 15% in about 8 months (121 per arm)
SUFFICIENT: dict[str, Any] = {
    "enabled": True,
    "score_tolerance": 0.01,
    "seed": 5,
    "effect": -0.15,
    "base_rate": 0.3,
    "within_months": 12,
}


def lottery_file(path: Path, **changes: Any) -> Path:
    doc = load_programmes().model_dump(mode="json")
    for p in doc["programmes"]:
        if p["id"] == "early_intervention":
            p["lottery"] = {**SUFFICIENT, **changes}
    path.write_text(yaml.safe_dump(doc), encoding="utf-8")
    return path


def generate(vru: RunVru, programmes: Path, out: Path) -> Any:
    data = out.parent / "data"
    return vru(
        "flags", "generate", data, "--date", "2026-03-31", "--out", out, "--programmes", programmes
    )


def test_refused_without_the_panels_decision_then_with_a_changed_file(
    vru: RunVru, vru_home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    programmes = lottery_file(tmp_path / "programmes.yaml")
    out = tmp_path / "flags.jsonl"
    refused = generate(vru, programmes, out)
    assert refused.code == 2
    said = " ".join(refused.stderr.split())
    assert "lottery refused (early_intervention)" in said
    assert "has not approved a lottery for this programmes file" in said
    assert "vru review approve-lottery --programmes" in said and "Nothing was written" in said
    assert not out.exists() and not (vru_home / "lottery_record.jsonl").exists()

    password = panel_members(monkeypatch, "ana")
    ok = vru(
        "review", "approve-lottery", "--programmes", programmes, "--reviewer", "ana",
        "--reason", "pre-registered: EIT places at the cut", *password,
    )  # fmt: skip
    assert ok.code == 0, ok.output
    entry = ReviewLog(vru_home / "review_log.jsonl").entries()[-1]
    assert entry.action == "approve-lottery"
    assert entry.programmes_hash == programmes_hash(programmes)
    shown = vru("review", "log")
    assert shown.code == 0 and entry.programmes_hash[:12] in shown.stdout
    # approved and sufficient: the gate lets it through (the next check is the model's)
    passed = generate(vru, programmes, out)
    assert passed.code == 2 and "lottery" not in passed.stderr and "no champion" in passed.stderr

    lottery_file(programmes, seed=6)  # any edit to the file needs a new approval
    changed = generate(vru, programmes, out)
    assert changed.code == 2
    said = " ".join(changed.stderr.split())
    assert "lottery approval (review entry 1) is of another version of the programmes file" in said
    assert f"(sha256 {entry.programmes_hash[:12]}...), not of this one" in said
    assert not out.exists()


def test_refused_when_the_power_calculation_is_insufficient(
    vru: RunVru, vru_home: Path, tmp_path: Path
) -> None:
    programmes = lottery_file(tmp_path / "programmes.yaml", effect=-0.02, base_rate=0.2)
    log = ReviewLog(vru_home / "review_log.jsonl")
    approve_lottery(log, programmes, reviewer="ana", reason="approved, but too small")
    out = tmp_path / "flags.jsonl"
    refused = generate(vru, programmes, out)
    assert refused.code == 2
    said = " ".join(refused.stderr.split())
    assert "lottery refused (early_intervention)" in said
    assert "power calculation is not sufficient with 15.0 young people per arm" in said
    assert "about 6039 young people in each group" in said  # the power check's own words
    assert "larger effect or a longer within_months" in said
    assert not out.exists()


def test_approval_is_refused_for_a_file_without_a_lottery_and_no_lottery_needs_none(
    tmp_path: Path,
) -> None:
    log = ReviewLog(tmp_path / "review_log.jsonl")
    with pytest.raises(JobError, match="enables no lottery"):
        approve_lottery(log, None, reviewer="ana", reason="r")
    record = LotteryRecord(tmp_path / "lottery_record.jsonl")
    assert check_lotteries(load_programmes(), None, log, record) is None


def test_the_numbers_per_arm_come_from_complete_recorded_months(tmp_path: Path) -> None:
    programme = load_programmes(lottery_file(tmp_path / "p.yaml")).by_id("early_intervention")
    assert expected_per_arm(programme, [])[0] == 15.0  # places per month: the most an arm holds

    def made(day: date, winners: int, losers: int) -> Draw:
        people = [f"P{day}-{k}" for k in range(winners + losers)]
        return Draw(
            "early_intervention", day, 5, winners, 0.5, 0.01,
            tuple((p, 0.5) for p in people), tuple(people[:winners]), tuple(people[winners:]),
        )  # fmt: skip

    draws = [
        made(date(2026, 1, 5), 3, 1),
        made(date(2026, 1, 20), 2, 2),  # January: 5 winners, 3 losers -> 3
        made(date(2026, 2, 3), 4, 6),  # February: 4 winners -> 4
        made(date(2026, 3, 1) + timedelta(days=1), 1, 0),  # March is under way: not counted
    ]
    per_arm, whence = expected_per_arm(programme, draws)
    assert per_arm == 3.5 and "2 complete month(s)" in whence
