"""``vru evaluate`` on a simulated service of the session's county (issue 20): a smoke run whose
report counts reach as a hand count of the service's database does, withholds small cells,
names no young person, says "no evidence either way yet" with the months needed where numbers
are small, and refuses bad requests with exit 2 and nothing written.

The package's trained version is put in service from its training end to 2025-05-31 with the
default simulated practitioners: the service of the monitoring traps, whose module
(``test_simulated_service.py``) imports these tests and gives them that service as the fixture
``service``, so that the one simulation is made once. The county's extract is dated 2026-08-31, so
the service's months have matured by then (365 days plus the label lag).
"""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pandas as pd
import pytest

from tests.conftest import RunVru
from vru_risk.cli.common import state
from vru_risk.flags.programmes import load_programmes
from vru_risk.jobs.evaluate_data import not_matured
from vru_risk.jobs.simulate import SimulateResult
from vru_risk.monitoring.outcomes import maturity
from vru_risk.settings import Settings

SERVICE_END = date(2025, 5, 31)


@pytest.fixture
def evaluate(
    vru: RunVru,
    in_home: Settings,
    service: tuple[Settings, SimulateResult],
    monkeypatch: pytest.MonkeyPatch,
) -> RunVru:
    """``vru evaluate`` with the service's database."""
    settings, _ = service
    assert settings.database_url is not None
    monkeypatch.setenv("VRU_DATABASE_URL", settings.database_url)
    state.settings = None

    def run(*args: str | Path) -> object:
        return vru("evaluate", *args)

    return run  # type: ignore[return-value]


def evaluation_files(home: Path) -> list[Path]:
    return sorted((home / "evaluation").rglob("report.*")) if (home / "evaluation").exists() else []


def written(home: Path) -> dict[Path, int]:
    """Every file under the home's evaluation folder and its modification time."""
    root = home / "evaluation"
    return {p: p.stat().st_mtime_ns for p in root.rglob("*")} if root.exists() else {}


def test_the_smoke_run_reports_reach_and_effects_in_aggregates_only(
    evaluate: RunVru, in_home: Settings, service: tuple[Settings, SimulateResult], county: Path
) -> None:
    result = service[1]
    run = evaluate("--version", str(result.version), "--data", result.out, "--to", str(SERVICE_END))
    assert run.code == 0, run.output
    [json_path] = [
        p
        for p in evaluation_files(in_home.home)
        if p.name == "report.json" and len(p.parent.name) == 21
    ]  # the run of every programme: its folder is the period alone
    report = json.loads(json_path.read_text(encoding="utf-8"))
    html = json_path.with_suffix(".html").read_text(encoding="utf-8")
    # every programme judged by every design, each with one of the allowed statements
    assert {e["programme_id"] for e in report["effects"]} == {
        "jump_start",
        "early_intervention",
        "school_inclusion",
        "admit_ae",
    }
    for e in report["effects"]:
        assert [d["design"] for d in e["designs"]] == [
            "lottery",
            "arrival",
            "discontinuity",
            "matched",
        ]
        for d in e["designs"]:
            assert d["verdict"]["kind"] in {
                "helps",
                "consistent with helping",
                "no evidence either way yet",
                "evidence of harm",
                "consistent with harm",
            }
            assert d["verdict"]["kind"] != "helps", "no lottery ran: nothing may say helps"
    # no young person: no identifier of the county appears anywhere in either file
    people = pd.read_parquet(county / "data" / "people.parquet", columns=["person_id"])
    ids = set(people["person_id"].astype(str))
    text = json_path.read_text(encoding="utf-8") + html
    assert not [i for i in list(ids)[:2000] if f'"{i}"' in text or f">{i}<" in text]
    assert "young person" in html and "withheld" in html


def test_reach_equals_a_hand_count_of_the_database(
    evaluate: RunVru, in_home: Settings, service: tuple[Settings, SimulateResult]
) -> None:
    result = service[1]
    run = evaluate("--version", str(result.version), "--data", result.out, "--to", str(SERVICE_END))
    assert run.code == 0, run.output
    [json_path] = [
        p
        for p in evaluation_files(in_home.home)
        if p.name == "report.json" and len(p.parent.name) == 21
    ]  # the run of every programme: its folder is the period alone
    report = json.loads(json_path.read_text(encoding="utf-8"))
    start = date.fromisoformat(report["period"]["from"])
    decisions = pd.read_parquet(result.record_dir / "decisions.parquet")
    offered = decisions.loc[
        (pd.to_datetime(decisions["as_of"]).dt.date >= start)
        & (pd.to_datetime(decisions["as_of"]).dt.date <= SERVICE_END)
    ]
    programmes = load_programmes()
    period = [  # each programme's own period (a week from Monday, or a calendar month)
        programmes.by_id(p).period_start(pd.Timestamp(d).date()).isoformat()
        for p, d in zip(offered["programme"], offered["as_of"], strict=True)
    ]
    hand = offered.assign(period=period).groupby(["programme", "period"])["person_id"].nunique()
    rows = {(r["programme_id"], r["period"]): r for r in report["reach"]["programme"]}
    checked = 0
    for (programme, period), n in hand.items():
        row = rows[(programme, period)]
        if row["offered"] is None:  # withheld: fewer than the minimum, or to protect another
            assert n < report["min_people"] or "offered" in row["suppressed"]
            continue
        assert row["offered"] == n, (programme, period)
        checked += 1
    assert checked >= 5


def test_small_numbers_say_no_evidence_yet_with_the_months_needed(
    evaluate: RunVru, in_home: Settings, service: tuple[Settings, SimulateResult]
) -> None:
    result = service[1]
    run = evaluate(
        "--version",
        str(result.version),
        "--data",
        result.out,
        "--to",
        str(SERVICE_END),
        "--programme",
        "school_inclusion",
    )
    assert run.code == 0, run.output
    [json_path] = [
        p
        for p in evaluation_files(in_home.home)
        if p.suffix == ".json" and p.parent.name.endswith("_school_inclusion")
    ]
    report = json.loads(json_path.read_text(encoding="utf-8"))
    [effect] = report["effects"]
    headlines = [d["verdict"]["headline"] for d in effect["designs"]]
    assert any(
        h.startswith("no evidence either way yet") and "more months at current numbers" in h
        for h in headlines
    ), headlines


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--programme", "knitting_club"), "unknown programme 'knitting_club'"),
        (("--from", "2025-05-01", "--to", "2025-03-01"), "is after --to"),
        (("--to", "2031-01-01"), "after the data's extract date"),
        (("--from", "2019-01-01", "--to", "2019-12-31"), "ends before the version was in service"),
        (("--to", "2202-01-01"), "after the data's extract date"),
        (("--effect", "0"), "is not a risk difference"),
    ],
)
def test_bad_requests_exit_2_and_write_nothing(
    evaluate: RunVru,
    in_home: Settings,
    service: tuple[Settings, SimulateResult],
    args: tuple[str, ...],
    message: str,
) -> None:
    result = service[1]
    before = written(in_home.home)
    run = evaluate("--version", str(result.version), "--data", result.out, *args)
    assert run.code == 2, run.output
    assert message in run.output
    assert "Traceback" not in run.output
    assert written(in_home.home) == before


def test_no_matured_outcomes_says_when_they_will_be() -> None:
    """A period none of whose months has matured: the refusal names the day the first month
    matures (its last day plus the horizon plus the longest reporting lag)."""
    pending = maturity(["2025-05", "2025-06"], date(2025, 7, 10), horizon_days=365, lag_days=31)
    assert pending.matured == ()
    error = not_matured(date(2025, 5, 1), date(2025, 6, 30), pending)
    assert "no outcomes have matured yet for 2025-05-01 to 2025-06-30" in str(error)
    assert "the first month (2025-05) matures on 2026-07-01" in str(error)  # 05-31 + 396 days
