"""``vru monitor`` end to end on the session's county: one small training for the module (as in
``tests/jobs/test_jobs.py``), its reference fixed once with ``vru monitor reference``, then
monitoring runs as of 2026-06-30 (June is a month the calibration window holds).

A clean run exits 0 and writes reports that name no young person; a version without a reference,
an as-of before training and a folder of another contract version exit 2 writing nothing; rows
known after the as-of date do not change the report. Injected faults (a source that stops while
its manifest claims refreshes, a coding change, a population shift) are in
``tests/jobs/test_monitor_faults.py``.

The as-of isolation keeps attendance weeks whole: the attendance-drop trigger
(``features/triggers.py``) dates a crossing when the last session of its week is known, so an
extract taken in the middle of a week (as the daily job's is) holds crossings of partial weeks
that a later extract never has: 73 moments on 2026-06-30 in an extract cut there against 2 in
the full one. That is a property of the trigger, not of monitoring, which sees nothing known after
the as-of date either way.

``vru models card`` on the same version: the card has its sections, names the replayed-allocation
metrics as such beside the hindsight bound and names no young person; the transparency record is
a draft listing the empty governance fields, and not a draft once they are filled; an unknown
version exits 2.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from collections.abc import Callable, Iterable, Mapping
from datetime import date
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from tests.conftest import RunVru
from tests.models.test_registry import register
from vru_risk.jobs.monitor import MonitorRequest, run_monitor
from vru_risk.jobs.monitor_data import NO_DATABASE
from vru_risk.jobs.monitor_history import version_history
from vru_risk.models.registry import Registry
from vru_risk.models.risk_model import RiskModel
from vru_risk.models.tags import CANDIDATE, MONITORING_REFERENCE_TAG
from vru_risk.models.words import MODEL_WORDS
from vru_risk.monitoring import history_charts
from vru_risk.monitoring.governance import PUBLICATION_FIELDS
from vru_risk.settings import Settings

AS_OF = date(2026, 6, 30)

Keep = Callable[[pd.DataFrame], pd.Series]


def copy_folder(src: Path, dst: Path, keep: Mapping[str, Keep]) -> Path:
    """Copy a data folder keeping the rows of each table in ``keep`` that its function marks,
    the manifest's row counts and hashes rewritten (its refresh dates left as they were)."""
    shutil.copytree(src, dst)
    manifest = json.loads((dst / "manifest.json").read_text(encoding="utf-8"))
    for table, marks in keep.items():
        entry = manifest["tables"][table]
        path = dst / entry["file"]
        arrow = pq.read_table(path)
        frame = arrow.to_pandas()
        kept = frame[marks(frame).to_numpy()].reset_index(drop=True)
        pq.write_table(pa.Table.from_pandas(kept, schema=arrow.schema, preserve_index=False), path)
        entry["rows"] = len(kept)
        entry["sha256"] = hashlib.sha256(path.read_bytes()).hexdigest()
    (dst / "manifest.json").write_text(json.dumps(manifest, indent=2), encoding="utf-8")
    return dst


def known_by(day: date, tables: Iterable[str]) -> dict[str, Keep]:
    """Keep the rows known by ``day``; of attendance, the person-weeks with a session known by
    then, whole (an attendance-drop trigger is dated when its week's last session is known, so a
    week cut in the middle would make triggers of its own: see the module docstring)."""
    cut = pd.Timestamp(day)

    def rows(frame: pd.DataFrame) -> pd.Series:
        known = pd.to_datetime(frame["known_date"])
        return known.isna() | (known <= cut)

    def weeks(frame: pd.DataFrame) -> pd.Series:
        kept = rows(frame)
        event = pd.to_datetime(frame["date"])
        recent = event > cut - pd.Timedelta(days=14)  # weeks that can be partly known by then
        monday = event[recent] - pd.to_timedelta(event[recent].dt.day_of_week, unit="D")
        key = frame.loc[recent, "person_id"].astype(str) + "/" + monday.dt.strftime("%F")
        begun = set(key[kept[recent]])
        out = kept.copy()
        out[recent] = kept[recent] | key.isin(begun)
        return out

    return {t: weeks if t == "attendance" else rows for t in tables}


def test_a_clean_run_exits_0_and_its_reports_name_no_young_person(
    vru: RunVru, in_home: Settings, monitored: tuple[Settings, int], county: Path
) -> None:
    version = monitored[1]
    result = vru("monitor", "--version", version, "--data", county / "data", "--as-of", AS_OF)
    assert result.code == 0, result.output
    assert (
        "Nothing to report" in result.stdout and "No one is configured to be told" in result.stdout
    )
    out = in_home.home / "monitoring" / f"vru-risk-v{version}" / AS_OF.isoformat()
    text = (out / "report.json").read_text(encoding="utf-8") + (out / "report.html").read_text(
        encoding="utf-8"
    )
    report = json.loads((out / "report.json").read_text(encoding="utf-8"))
    assert report["verdict"]["exit_code"] == 0 and report["checks"]["scores"]["moments"] > 200
    assert report["not_checked"] == []  # decisions and feedback: no application database here
    assert report["checks"]["decisions"] == report["checks"]["feedback"] == {"note": NO_DATABASE}
    outcomes = report["checks"]["outcomes"]  # trained to 2024-12-31: months to April 2025 matured
    assert {"2025-01", "2025-04"} <= set(outcomes["matured_months"]) and outcomes["pending_months"]
    slope = outcomes["calibration"]["slope"]
    assert slope["low"] < slope["value"] < slope["high"] and outcomes["bounds"]["judged"]
    assert not [f for f in report["verdict"]["findings"] if f["criterion"] == "calibration_slope"]
    html = (out / "report.html").read_text(encoding="utf-8")
    assert "Calibration slope" in html and "estimate" not in outcomes["note"]
    precision = outcomes["precision"]  # the allocation replayed over the matured months
    assert precision["offered"] > 0 and precision["unsupported"]["moments"] > 0
    assert not [f for f in report["verdict"]["findings"] if f["criterion"] == "precision_floor"]
    assert "not given support" in html
    people = pd.read_parquet(county / "data" / "people.parquet", columns=["person_id"])
    assert not [p for p in people["person_id"].astype(str) if p in text]
    groups = report["checks"]["groups"]  # audit-only groups: selection now, recall on matured
    assert groups["selection_source"] == "recent" and "ethnicity*sex" in groups["attributes"]
    cells = [c for part in ("selection", "recall") for a in groups[part] for c in a["groups"]]
    assert {"sex", "ethnicity*sex"} <= {a["attribute"] for a in groups["selection"]}
    assert groups["recall"] and groups["bounds"] is not None
    withheld = [c for c in cells if c["suppressed"]]
    assert withheld and all(
        c["people"] is None and c["rate"] is None and c["ratio"] is None for c in withheld
    )
    assert all(isinstance(c["people"], str) for c in cells if not c["suppressed"])  # bands only
    assert "treated alike" in html and "withheld (fewer young people than a group may show)" in html
    registry = Registry(in_home.tracking_uri)
    info = registry.version(version)
    logged = registry.client.list_artifacts(info.run_id, f"monitoring/{AS_OF.isoformat()}")
    assert {Path(a.path).name for a in logged} == {"report.json", "report.html"}
    assert info.tags[MONITORING_REFERENCE_TAG] == report["subject"]["reference_hash"]
    # the pages read the run back and chart it: the report's figures, and no young person
    run = next(r for r in version_history(in_home, version).runs if r.as_of == AS_OF)
    assert run.level == "nothing" and run.written_at is not None and not run.findings
    assert run.calibration_slope is not None and run.calibration_slope.value == slope["value"]
    assert run.matured_months == tuple(outcomes["matured_months"]) and run.selection
    drawn = [
        history_charts.precision_chart([run]),
        history_charts.slope_chart([run]),
        history_charts.drift_chart([run]),
        history_charts.score_chart([run]),
        *(c.chart for c in history_charts.selection_charts([run])),
    ]
    assert all(drawn) and len(drawn) >= 6
    pages = str(drawn) + repr(run)
    assert not [p for p in people["person_id"].astype(str) if p in pages]


def test_bad_inputs_exit_2_and_write_nothing(
    vru: RunVru,
    in_home: Settings,
    monitored: tuple[Settings, int],
    county: Path,
    risk_model: RiskModel,
    tmp_path: Path,
) -> None:
    version = monitored[1]
    registry = Registry(in_home.tracking_uri)
    bare = register(registry, risk_model, CANDIDATE, tmp_path)  # a version with no reference
    result = vru("monitor", "--version", bare, "--data", county / "data")
    assert result.code == 2
    assert f"`vru monitor reference --version {bare} --data DIR`" in result.output
    assert vru("monitor", "reference", "--help").code == 0
    assert not (in_home.home / "monitoring" / f"vru-risk-v{bare}").exists()
    early = vru("monitor", "--version", version, "--data", county / "data", "--as-of", "2024-06-30")
    assert early.code == 2 and "before version" in early.output and "training end" in early.output
    assert not (in_home.home / "monitoring" / f"vru-risk-v{version}" / "2024-06-30").exists()
    other = copy_folder(county / "data", tmp_path / "v2", {})
    manifest = json.loads((other / "manifest.json").read_text(encoding="utf-8"))
    manifest["contract_version"] = "2"
    (other / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    wrong = vru("monitor", "--version", version, "--data", other, "--as-of", "2026-05-31")
    assert wrong.code == 2 and "contract_version" in wrong.output
    assert not (in_home.home / "monitoring" / f"vru-risk-v{version}" / "2026-05-31").exists()


def test_rows_known_after_the_as_of_date_do_not_change_the_report(
    monitored: tuple[Settings, int], county: Path, tmp_path: Path
) -> None:
    settings, version = monitored
    tables = ("attendance", "exclusions", "police_contacts", "ae_visits", "interventions")
    early = copy_folder(county / "data", tmp_path / "known-by", known_by(AS_OF, tables))
    full = run_monitor(settings, MonitorRequest(county / "data", version, AS_OF)).report
    cut = run_monitor(settings, MonitorRequest(early, version, AS_OF)).report
    assert full["data"]["fingerprint"] != cut["data"]["fingerprint"]  # the folders differ
    for key in ("verdict", "checks", "subject", "window", "as_of"):
        assert full[key] == cut[key], key


# --- vru models card on the same version (no second training) ---------------------------

SECTIONS = [
    "details",
    "intended_use",
    "out_of_scope",
    "data",
    "training",
    "metrics",
    "gates",
    "fairness",
    "decisions",
    "cannot_see",
    "monitoring",
]


def _read(folder: Path, stem: str) -> tuple[dict[str, object], str]:
    doc = json.loads((folder / f"{stem}.json").read_text(encoding="utf-8"))
    return doc, (folder / f"{stem}.html").read_text(encoding="utf-8")


def test_the_card_shows_the_replayed_allocation_beside_the_hindsight_bound(
    vru: RunVru, in_home: Settings, monitored: tuple[Settings, int], county: Path
) -> None:
    version = monitored[1]
    result = vru("models", "card", "--version", version)
    assert result.code == 0, result.output
    folder = in_home.home / "cards" / f"vru-risk-v{version}"
    card, html = _read(folder, "card")
    sections = {s["id"]: s for s in card["sections"]}  # type: ignore[attr-defined]
    assert list(sections) == SECTIONS
    metrics = sections["metrics"]["table"]
    assert "Precision at capacity, the service's allocation replayed" in metrics["columns"]
    assert "Hindsight bound: precision of the monthly top-k list" in metrics["columns"]
    models = [row[0] for row in metrics["rows"]]
    assert models[0] == MODEL_WORDS["lightgbm"] and len(models) > 1  # baselines beside it
    lightgbm = dict(zip(metrics["columns"], metrics["rows"][0], strict=True))
    hindsight = [k for k in lightgbm if k.startswith("Hindsight bound")]
    assert hindsight and all(lightgbm[k] != "missing" for k in hindsight)
    replayed = [k for k in lightgbm if "allocation replayed" in k]
    if all(lightgbm[k] == "missing" for k in replayed):  # the small experiment replays nothing
        assert "evaluated under the previous allocation rule" in sections["metrics"]["text"][0]
    else:
        assert all(lightgbm[k] != "missing" for k in replayed)
    assert "the service&#39;s allocation replayed" in html and "Hindsight bound" in html
    assert "Missing: no fairness audit report" in html  # the fixture has no audit
    assert "Reference window" in html  # the fixture fixed a reference
    assert "Enforcement" in html and "Training window" in html
    people = pd.read_parquet(county / "data" / "people.parquet", columns=["person_id"])
    text = html + json.dumps(card)
    assert not [p for p in people["person_id"].astype(str) if p in text]
    record, page = _read(folder, "transparency")
    assert record["status"] == "draft: not publishable"
    assert record["missing_fields"] == list(PUBLICATION_FIELDS)
    assert "Draft: not publishable" in page and "Senior responsible owner" in page
    assert "draft: not publishable" in result.stdout


def test_filled_governance_fields_make_the_record_publishable(
    vru: RunVru, in_home: Settings, monitored: tuple[Settings, int]
) -> None:
    governance = in_home.home / "governance.yaml"
    filled = {key: f"filled {key}" for key in PUBLICATION_FIELDS}
    governance.write_text(json.dumps({"governance_version": 1, **filled}), encoding="utf-8")
    try:
        result = vru("models", "card", "--version", monitored[1])
    finally:
        governance.unlink()
    assert result.code == 0, result.output
    record, page = _read(in_home.home / "cards" / f"vru-risk-v{monitored[1]}", "transparency")
    assert record["missing_fields"] == [] and not str(record["status"]).startswith("draft")
    assert "not publishable" not in page and "filled appeals_route" in page


def test_an_unknown_version_exits_2(vru: RunVru, in_home: Settings) -> None:
    result = vru("models", "card", "--version", 999)
    assert result.code == 2
    assert "no version 999" in result.output and "vru models list" in result.output
