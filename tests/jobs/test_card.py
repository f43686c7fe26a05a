"""``vru models card`` on the version trained and given a reference by the monitoring tests'
module fixture (``tests/jobs/test_monitor.py``; no other model is trained here).

The card has its sections, names the replayed-allocation metrics as such beside the hindsight
bound and names no young person; the transparency record is a draft listing the empty
governance fields, and not a draft once they are filled; an unknown version exits 2.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from tests.conftest import RunVru
from tests.jobs import test_monitor
from vru_risk.monitoring.governance import PUBLICATION_FIELDS
from vru_risk.settings import Settings

#: the monitoring tests' module fixture (one trained version with its reference) and its home
monitored = test_monitor.monitored
in_home = test_monitor.in_home

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
    assert models[0] == "lightgbm" and len(models) > 1  # the baselines beside LightGBM
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
