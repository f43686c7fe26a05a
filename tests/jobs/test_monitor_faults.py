"""Faults injected with `vru data fault` into the session's county, found by `vru monitor` on the
module's trained version (the ``monitored`` fixture): each at its level, naming its source or
criterion.

The faults start on Monday 2026-01-05 and the runs are as of 2026-02-01, when the 28-day window
lies wholly after the start (and no month has matured yet, so no outcome table is built for the
faulted folders). Each faulted folder is opened through the validator by `vru monitor`, which
exits 2 on a folder that breaks the contract, so a run that gives its level also shows the folder
valid (tests/data/test_faults.py runs `vru data validate` on small ones).

- a police feed that stopped on the start date while its manifest still claims refreshes, and
  in the same folder a coding change, 30% of unauthorised absences recorded as authorised from
  the start date (one run for both): suspension recommended naming police_contacts as an
  outage, beside a review naming attendance as a coding change;
- a population shift, three newcomers per young person with a police contact as a suspect in
  the year before, arriving on the start date: a review whose findings name the shift (the
  scores, the inputs or the attendance mix moved), and no suspension.
"""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

from tests.conftest import RunVru
from vru_risk.settings import Settings

START = date(2026, 1, 5)
AS_OF = date(2026, 2, 1)


def _faulted(vru: RunVru, county: Path, out: Path, *options: str) -> Path:
    result = vru(
        "data", "fault", "--from", START, *options, "--data", county / "data", "--out", out
    )
    assert result.code == 0, result.output
    return out


def _report(home: Path, version: int) -> dict[str, object]:
    path = home / "monitoring" / f"vru-risk-v{version}" / AS_OF.isoformat() / "report.json"
    report: dict[str, object] = json.loads(path.read_text(encoding="utf-8"))
    return report


def test_a_stopped_source_and_a_coding_change_are_each_found_at_their_level(
    vru: RunVru,
    in_home: Settings,
    monitored: tuple[Settings, int],
    county: Path,
    tmp_path: Path,
) -> None:
    # both faults in one folder (one run): each finding at its own level, naming its source
    stopped = _faulted(
        vru, county, tmp_path / "stopped", "--kind", "stop", "--source", "police_contacts"
    )
    both = tmp_path / "stopped-and-recoded"
    result = vru(
        "data",
        "fault",
        "--from",
        START,
        "--kind",
        "coding",
        "--size",
        "0.3",
        "--data",
        stopped,
        "--out",
        both,
    )
    assert result.code == 0, result.output
    result = vru("monitor", "--version", monitored[1], "--data", both, "--as-of", AS_OF)
    assert result.code == 3, result.output
    assert "(source_outage): Source Police contacts: no rows known for" in result.stdout
    report = _report(in_home.home, monitored[1])
    findings = {(f["criterion"], f["subject"]): f["level"] for f in report["verdict"]["findings"]}  # type: ignore[index]
    assert findings[("source_outage", "police_contacts")] == "suspension_recommended"
    assert findings[("coding_change", "attendance")] == "review"
    assert {c for c, _ in findings} <= {"source_outage", "coding_change", "input_drift"}
    manifest = json.loads((both / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["tables"]["police_contacts"]["refreshed"] > AS_OF.isoformat()  # claims so
    assert [f["kind"] for f in manifest["faults"]] == ["stop", "coding"]
    sources = {s["source"]: s for s in report["checks"]["sources"]}  # type: ignore[index]
    assert sources["police_contacts"]["days_beyond_season"] > 21  # its allowed days
    coding = report["checks"]["coding"][0]  # type: ignore[index]
    unauthorised = next(v for v in coding["values"] if v["value"] == "unauthorised_absence")
    assert -0.4 < unauthorised["change"] < -0.2  # 30% recoded: its share down by about 30%


def test_a_population_shift_asks_for_a_review_naming_the_shift(
    vru: RunVru,
    in_home: Settings,
    monitored: tuple[Settings, int],
    county: Path,
    tmp_path: Path,
) -> None:
    folder = _faulted(vru, county, tmp_path / "shifted", "--kind", "shift", "--size", "3")
    result = vru("monitor", "--version", monitored[1], "--data", folder, "--as-of", AS_OF)
    assert result.code == 4, result.output
    findings = _report(in_home.home, monitored[1])["verdict"]["findings"]  # type: ignore[index]
    assert {f["level"] for f in findings} == {"review"}
    assert {f["criterion"] for f in findings} & {"score_shift", "input_drift", "coding_change"}
