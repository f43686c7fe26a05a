"""``vru audit`` end to end on a trained version: report, artifacts, gate tag, the review rules
on the real gate, and the refusals (other data, unknown version).

The trained version is the session's (:mod:`tests.trained`: version 1 of a small experiment
trained from the county's data folder with its truth, its feature table in the home's cache),
copied into this test's home; every check on it lives in
:func:`test_audit_reports_tags_and_gates_the_review_of_a_trained_version` (the audit with a
degenerate group, :func:`audit_with_a_degenerate_group`, runs last, on the same version).
LightGBM (the proxy test's and the mitigation refits') runs on one thread: with two, OpenMP
spin-waits whenever another process holds a core, and the same fit takes 20 to 60 times as long.
``vru train`` itself is checked in ``tests/cli/test_train.py``.
"""

from __future__ import annotations

import json
from html import unescape
from pathlib import Path

import pandas as pd
import pytest

from tests.conftest import REPORT_GROUP_KEYS, RunVru
from tests.folders import write_valid_folder
from tests.panel import panel_members
from tests.trained import (  # noqa: F401  (seed_feature_cache, small_experiment: imported from here)
    TrainedHome,
    copy_home,
    one_thread,
    seed_feature_cache,
    small_experiment,
)
from vru_risk.data.contract import AUDIT_ONLY_COLUMNS
from vru_risk.data.load import DataFolder
from vru_risk.fairness_reports.model_audit import OUTCOMES, PRIMARY
from vru_risk.fairness_reports.notes import STAGE_GATE, STAGE_RATES, STAGE_THRESHOLD_OPTIMIZER
from vru_risk.fairness_reports.operating_points import ALLOCATION_WORDS
from vru_risk.jobs import audit as audit_cli
from vru_risk.models.registry import Registry
from vru_risk.models.review_log import ReviewLog
from vru_risk.models.tags import ALLOCATION_RULE, AUDIT_ALLOCATION_TAG, CANDIDATE, FAIRNESS_TAG

# the proxy test covers each audit-only column of people (the deprivation decile as its band);
# the age band, derived from the birth date on each as-of date, is not one of them
PROXY_ATTRIBUTES = {"imd_band" if c == "imd_decile" else c for c in AUDIT_ONLY_COLUMNS}


def flat(text: str) -> str:
    """Output with rich's line wrapping undone."""
    return " ".join(text.split())


def registry(home: Path) -> Registry:
    return Registry(f"sqlite:///{home / 'mlflow.db'}")


@pytest.fixture
def trained_vru_home(trained_home: TrainedHome, tmp_path: Path) -> Path:
    """This test's VRU_HOME (set by the autouse fixture): a copy of the session's trained home."""
    return copy_home(trained_home, tmp_path / "vru-home")


def test_audit_reports_tags_and_gates_the_review_of_a_trained_version(
    vru: RunVru,
    trained_vru_home: Path,
    trained_home: TrainedHome,
    county: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    one_thread(monkeypatch)
    vru_home = trained_vru_home
    assert trained_home.version == 1
    assert registry(vru_home).version(1).state == CANDIDATE

    # --- the audit --------------------------------------------------------------------------
    result = vru("audit", "--version", "1", "--data", county / "data", "--resamples", "200")
    assert result.code == 0, result.output
    out_dir = vru_home / "reports" / "vru-risk-v1"
    json_path, html_path = out_dir / "report.json", out_dir / "report.html"
    assert json_path.is_file() and html_path.is_file()
    report = json.loads(json_path.read_text(encoding="utf-8"))
    status = report["gate"]["status"]
    assert status in {"pass", "fail", "inconclusive"}
    stdout = flat(result.stdout)
    assert f"fairness gate: {status}" in stdout
    assert "report:" in stdout and "report.html" in stdout and "report.json" in stdout

    # --- report.json ------------------------------------------------------------------------
    assert report["schema_version"] == 1
    assert report["primary_outcome"] == PRIMARY
    assert report["subject"]["kind"] == "model" and report["subject"]["version"] == 1
    assert report["groups"], "the primary audit has groups"
    for group in report["groups"]:
        assert set(group) >= REPORT_GROUP_KEYS, REPORT_GROUP_KEYS - set(group)
    attributes = {g["attribute"] for g in report["groups"]}
    assert {"sex", "ethnicity", "age_band", "imd_band", "ethnicity*sex"} <= attributes
    gate = report["gate"]
    assert gate["passed"] is (status == "pass")
    assert gate["criteria"], "the gate judges at least one criterion"
    for criterion in gate["criteria"]:
        assert {"attribute", "group", "metric", "status", "explanation"} <= set(criterion)
    # training had --truth: all three outcomes are audited
    assert set(report["outcomes"]) == set(OUTCOMES)
    assert report["outcomes"][PRIMARY]["primary"] is True
    for name in ("harm only", "true involvement"):
        assert report["outcomes"][name]["primary"] is False
        assert report["outcomes"][name]["groups"]
    proxy = report["proxy"]
    assert {p["attribute"] for p in proxy} == PROXY_ATTRIBUTES
    assert len(proxy) == len(PROXY_ATTRIBUTES) == 6
    for entry in proxy:
        assert {"auc", "flagged", "top_features", "groups", "skipped_groups"} <= set(entry)
        assert entry["auc"] is None or 0.0 <= entry["auc"] <= 1.0
    # the mitigation table: as is, each group-blind refit (police contacts dropped; re-weighed by
    # ethnicity in training), and the illustrative group-specific thresholds
    mitigation = {row["name"]: row for row in report["mitigation"]}
    assert {"as is", "without police contacts", "reweighted by ethnicity in training"} <= set(
        mitigation
    )
    for name in ("without police contacts", "reweighted by ethnicity in training"):
        assert mitigation[name]["flagged"] == mitigation["as is"]["flagged"]  # same capacity
        assert 0.0 <= mitigation[name]["precision"] <= 1.0
    assert mitigation["reweighted by ethnicity in training"] != mitigation["as is"]
    window = report["data_window"]
    assert window["labelled"] > 0 and window["folds"]
    assert report["review_history"] == []

    # --- report.html: one self-contained file ------------------------------------------------
    html = html_path.read_text(encoding="utf-8")
    assert "<html" in html.lower() and "Fairness audit of vru-risk version 1" in html
    assert "http" not in html, "the page must load nothing from elsewhere"
    # the operating point named in plain words, the hindsight bound beside it, named as such
    text = " ".join(unescape(html).split())
    assert f"The rates in this report are those of {ALLOCATION_WORDS}" in text
    assert "hindsight bound: the hindsight monthly top-" in text
    assert "could not be replayed" not in text

    # --- the registry: gate tag, report path, artifacts -----------------------------------
    reg = registry(vru_home)
    info = reg.version(1)
    assert info.tags[FAIRNESS_TAG] == status
    assert info.tags["vru.fairness_report"] == str(html_path)
    assert info.tags[AUDIT_ALLOCATION_TAG] == ALLOCATION_RULE
    parent = info.tags["vru.parent_run_id"]
    artifacts = {a.path for a in reg.client.list_artifacts(parent, "fairness_report")}
    assert {"fairness_report/report.json", "fairness_report/report.html"} <= artifacts

    # --- another data folder is refused: the fingerprint differs ---------------------------
    other = write_valid_folder(tmp_path / "other-data")
    refused = vru("audit", "--version", "1", "--data", other, "--resamples", "200")
    assert refused.code == 2, refused.output
    assert "fingerprint" in flat(refused.stderr) and "same data folder" in flat(refused.stderr)
    assert reg.version(1).tags[FAIRNESS_TAG] == status  # untouched

    # --- the review rules, on the real gate -----------------------------------------------
    log = ReviewLog(vru_home / "review_log.jsonl")
    reason = ("--reason", "panel minutes item 4", *panel_members(monkeypatch, "ana", "ben"))
    if status == "pass":
        override = vru("review", "override", "--version", "1", "--reviewer", "ana", *reason)
        assert override.code == 2 and "use `vru review approve`" in flat(override.stderr)
        approved = vru("review", "approve", "--version", "1", "--reviewer", "ana", *reason)
        assert approved.code == 0, approved.output
        assert "now the champion" in flat(approved.stdout)
    else:
        approve = vru("review", "approve", "--version", "1", "--reviewer", "ana", *reason)
        assert approve.code == 2, approve.output
        assert f"fairness gate is '{status}'" in flat(approve.stderr)
        assert reg.alias("champion") is None
        first = vru("review", "override", "--version", "1", "--reviewer", "ana", *reason)
        assert first.code == 0, first.output
        assert "1 of 2" in flat(first.stdout) and reg.alias("champion") is None
        again = vru("review", "override", "--version", "1", "--reviewer", "ana", *reason)
        assert again.code == 2 and "already recorded an override" in flat(again.stderr)
        second = vru("review", "override", "--version", "1", "--reviewer", "ben", *reason)
        assert second.code == 0, second.output
        assert "now the champion" in flat(second.stdout)
    model, champion = reg.load_champion(log)
    assert champion.version == 1
    assert model.content_hash == champion.tags["vru.content_hash"]

    # --- a degenerate group: the audit completes and says what it could not assess ---------
    audit_with_a_degenerate_group(vru, vru_home, county, tmp_path, monkeypatch)


def audit_with_a_degenerate_group(
    vru: RunVru,
    vru_home: Path,
    county: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """``vru audit`` of the trained version when one ethnicity group is a single young person
    without the outcome (as a 5,000-person county's ``unknown`` group was): Fairlearn's
    ThresholdOptimizer cannot be fitted on it ("Degenerate labels"), which used to stop the
    audit with an internal error. The audit data is changed where the audit reads it: the people
    table keeps its fingerprint, everyone recorded as ``unknown`` becomes ``other``, and one
    young person without the outcome in the audit window becomes ``unknown``."""
    reg = registry(vru_home)
    parent = reg.version(1).tags["vru.parent_run_id"]
    predictions = pd.read_parquet(reg.download(parent, "predictions.parquet", tmp_path))
    labelled = predictions[predictions["label_serious_violence"].notna()]
    outcome = labelled.groupby("person_id")["label_serious_violence"].max()
    lone = str(outcome[outcome == 0].index.sort_values()[0])
    read_people = audit_cli.read_people

    def one_unknown(folder: DataFolder) -> tuple[pd.DataFrame, str]:
        people, fingerprint = read_people(folder)
        ethnicity = people["ethnicity"].astype(object)
        ethnicity = ethnicity.where(ethnicity != "unknown", "other")
        ethnicity[people["person_id"] == lone] = "unknown"
        return people.assign(ethnicity=ethnicity), fingerprint

    monkeypatch.setattr(audit_cli, "read_people", one_unknown)
    monkeypatch.setattr(audit_cli, "PROXY_SAMPLE", 3_000)  # checked above at full size
    result = vru("audit", "--version", "1", "--data", county / "data", "--resamples", "100")
    assert result.code == 0, result.output  # was 1: "Degenerate labels for ... unknown"
    out_dir = vru_home / "reports" / "vru-risk-v1"
    report = json.loads((out_dir / "report.json").read_text(encoding="utf-8"))
    unknown = {
        n["stage"]: n
        for n in report["cannot_assess"]
        if (n["attribute"], n["group"]) == ("ethnicity", "unknown")
    }
    assert set(unknown) >= {STAGE_RATES, STAGE_GATE, STAGE_THRESHOLD_OPTIMIZER}, unknown
    optimizer = unknown[STAGE_THRESHOLD_OPTIMIZER]
    assert "none with the outcome" in optimizer["reason"] or "did not have" in optimizer["reason"]
    assert "fitted on the other groups" in optimizer["meaning"]
    assert "too few to judge" in unknown[STAGE_RATES]["reason"]
    mitigation = {row["name"]: row for row in report["mitigation"]}
    fitted = mitigation[STAGE_THRESHOLD_OPTIMIZER]
    assert "unknown" in fitted["note"] and 0.0 <= fitted["precision"] <= 1.0
    gated = [
        c
        for c in report["gate"]["criteria"]
        if (c["attribute"], c["group"]) == ("ethnicity", "unknown")
    ]
    assert [c["status"] for c in gated] == ["not assessable"] * 3
    assert all(c["reason"] for c in gated)
    assert report["gate"]["status"] != "pass"  # no evidence on a group: it cannot pass
    html = (out_dir / "report.html").read_text(encoding="utf-8")
    assert "Groups that could not be assessed" in html and "Ethnicity: not recorded" in html
    assert f"fairness gate: {report['gate']['status']}" in flat(result.stdout)
    assert "groups not assessed in full:" in flat(result.stdout)


def test_audit_refuses_an_unknown_version(vru: RunVru, vru_home: Path, county: Path) -> None:
    result = vru("audit", "--version", "7", "--data", county / "data")
    assert result.code == 2, result.output
    assert "no version 7" in flat(result.stderr)
    assert not (vru_home / "reports").exists()
