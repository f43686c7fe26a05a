"""The counties, versions and folders of benchmarks/monitor_power.py, made once and cached.

For each county seed: a synthetic county (``--people``, seven school years to 2026-08-31, so
that a model trained on an earlier extract has three folds), the *training extract* cut from it
on :data:`TRAINED_ON` (what a VRU would have held that day: rows known by then, people's later
moves and outcomes unknown, the manifest dated that day), one small version trained on that
extract (the default experiment with a single 100-tree booster, as the tests use, its
``feature_start_time`` moved to the county's first school year) and its monitoring reference,
made as `vru monitor reference` makes it. The service period is then every day after
:data:`TRAINED_ON` up to the county's extract date: monitoring runs on the full county folder
with ``--as-of`` in that period, so it sees only what was known by each as-of date.

Everything lives under benchmarks/out/monitor-power/ and is reused by later runs.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Final

import yaml

from vru_risk.data.contract import MANIFEST_NAME
from vru_risk.data.fingerprint import file_sha256
from vru_risk.data.sql import connect, quote_literal
from vru_risk.data.synthetic import SyntheticConfig, generate_county
from vru_risk.jobs.monitor_reference import create_reference
from vru_risk.jobs.train import TrainRequest, train
from vru_risk.settings import Settings
from vru_risk.training.config import load_experiment

os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")

OUT: Final = Path(__file__).resolve().parent / "out" / "monitor-power"
EXPERIMENT: Final = (
    Path(__file__).resolve().parents[1] / "vru_risk" / "training" / "experiments" / "default.yaml"
)
#: the county's extract date and its history
EXTRACT: Final = date(2026, 8, 31)
YEARS: Final = 7
#: the day of the training extract: the version is trained and approved on the data of that
#: day and serves from the day after (a Sunday in the summer holidays: no school week is cut)
TRAINED_ON: Final = date(2025, 8, 31)


@dataclass(frozen=True)
class Prepared:
    seed: int
    data: Path
    trained_on: Path
    settings: Settings
    version: int
    seconds: float


def _cut_table(con: object, name: str, src: Path, dst: Path, day: date) -> int:
    """Write table ``name`` as it was known on ``day`` (see the module docstring)."""
    raw = f"read_parquet({quote_literal(str(src))})"
    d = f"DATE {quote_literal(day.isoformat())}"
    if name == "people":
        query = (
            f"SELECT * REPLACE (CASE WHEN left_area_date > {d} THEN NULL ELSE left_area_date "
            f"END AS left_area_date) FROM {raw}"
        )
    elif name == "police_contacts":
        query = (
            f"SELECT * REPLACE (CASE WHEN outcome_known_date > {d} THEN 'unknown' ELSE outcome "
            f"END AS outcome, CASE WHEN outcome_known_date > {d} THEN NULL ELSE "
            f"outcome_known_date END AS outcome_known_date) FROM {raw} WHERE known_date <= {d}"
        )
    elif name == "interventions":
        query = (
            f"SELECT * REPLACE (CASE WHEN end_date > {d} THEN NULL ELSE end_date END AS "
            f"end_date) FROM {raw} WHERE known_date <= {d}"
        )
    else:
        query = f"SELECT * FROM {raw} WHERE known_date <= {d}"
    con.execute(f"COPY ({query}) TO {quote_literal(str(dst))} (FORMAT parquet)")  # type: ignore[attr-defined]
    return int(con.execute(f"SELECT count(*) FROM ({query})").fetchone()[0])  # type: ignore[attr-defined]


def cut_extract(src: Path, dst: Path, day: date) -> Path:
    """The extract a VRU would have held on ``day``: rows known by then, the manifest dated
    then, each table's refresh date its last known row (people: ``day``)."""
    dst.mkdir(parents=True)
    manifest = json.loads((src / MANIFEST_NAME).read_text(encoding="utf-8"))
    con = connect(threads=1, memory_limit="2GB", preserve_insertion_order=True)
    try:
        for name, entry in manifest["tables"].items():
            path = dst / entry["file"]
            entry["rows"] = _cut_table(con, name, src / entry["file"], path, day)
            entry["sha256"] = file_sha256(path)
            if name != "people":
                last = con.execute(
                    f"SELECT max(known_date) FROM read_parquet({quote_literal(str(path))})"
                ).fetchone()[0]
                entry["refreshed"] = min(last, day).isoformat() if last else day.isoformat()
            else:
                entry["refreshed"] = day.isoformat()
    finally:
        con.close()
    manifest["extract_date"] = day.isoformat()
    (dst / MANIFEST_NAME).write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")
    return dst


def experiment(folder: Path) -> Path:
    """The benchmark's experiment: the default with one small booster, features from the
    county's first school year."""
    doc = yaml.safe_load(EXPERIMENT.read_text(encoding="utf-8"))
    doc["name"] = "monitor-power"
    doc["models"]["lightgbm"]["n_estimators"] = [100]
    doc["models"]["lightgbm"]["num_leaves"] = [7]
    doc["temporal"]["feature_start_time"] = date(EXTRACT.year - YEARS, 9, 1)
    path = folder / "experiment.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")
    return path


def prepare(seed: int, people: int, *, log: bool = True) -> Prepared:
    """The county of ``seed``, its training extract, its trained version and reference."""
    root = OUT / f"county-{people}-s{seed}"
    data, done = root / "data", root / "version.json"
    home = root / "home"
    settings = Settings(home=home, lightgbm_threads=1, duckdb_threads=1)
    if done.is_file():
        saved = json.loads(done.read_text())
        return Prepared(
            seed, data, root / "trained-on", settings, saved["version"], saved["seconds"]
        )
    t0 = time.perf_counter()
    if log:
        print(f"seed {seed}: generating {people:,} young people ...", flush=True)
    config = SyntheticConfig(people=people, years=YEARS, end_date=EXTRACT, seed=seed)
    generate_county(config, out_dir=data, truth_dir=root / "truth")
    trained_on = cut_extract(data, root / "trained-on", TRAINED_ON)
    home.mkdir(parents=True, exist_ok=True)
    path = experiment(root)
    if log:
        print(f"seed {seed}: training on the extract of {TRAINED_ON} ...", flush=True)
    request = TrainRequest(load_experiment(path), path, data=trained_on, trained_by="bench")
    version = train(settings, request).outcome.version.version
    create_reference(settings, version, trained_on)
    seconds = round(time.perf_counter() - t0, 1)
    done.write_text(json.dumps({"version": version, "seconds": seconds}))
    return Prepared(seed, data, trained_on, settings, version, seconds)
