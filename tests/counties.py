"""The demo county of the tests and its variants, made once per session and shared by every
package's tests (the root conftest registers the fixtures): the county (10,000 young people, six
years) with its truth, its feature table, a null world (labels independent of everything) and a
county whose police, A&E and exclusion records arrive late (with its tables built on known and on
event dates).

Each is made once per test run, whatever the number of pytest-xdist workers
(:func:`tests.once.made_once`), in its own folder: tests read these folders and never write
into them."""

from __future__ import annotations

import hashlib
import json
import shutil
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from tests.once import made_once
from vru_risk.data.load import open_folder
from vru_risk.data.synthetic import SyntheticConfig, generate_county
from vru_risk.features.build import build_features
from vru_risk.features.table_metadata import KNOWLEDGE_DATES_KEY
from vru_risk.training.config import load_experiment

#: (table, event date column) of the sources whose records can arrive late
LATE_SOURCES = (("police_contacts", "date"), ("ae_visits", "arrival"), ("exclusions", "start_date"))


def delay_reports(src: Path, dst: Path, days: int) -> Path:
    """Copy a data folder with every police, A&E and exclusion record known ``days`` late.

    Records that would arrive after the extract date are dropped (not yet received), and the
    manifest's row counts and hashes are rewritten so the folder stays valid.
    """
    shutil.copytree(src, dst)
    manifest = json.loads((dst / "manifest.json").read_text())
    extract = pd.Timestamp(manifest["extract_date"]).date()
    for table, column in LATE_SOURCES:
        path = dst / f"{table}.parquet"
        arrow = pq.read_table(path)
        frame = arrow.to_pandas()
        frame["known_date"] = [
            d + timedelta(days=days) for d in pd.to_datetime(frame[column]).dt.date
        ]
        frame = frame[frame["known_date"] <= extract].reset_index(drop=True)
        if "outcome_known_date" in frame:
            frame["outcome_known_date"] = [
                o if o is None or o != o else max(o, k)
                for o, k in zip(frame["outcome_known_date"], frame["known_date"], strict=True)
            ]
        pq.write_table(pa.Table.from_pandas(frame, schema=arrow.schema, preserve_index=False), path)
        entry = manifest["tables"][table]
        entry["rows"] = len(frame)
        entry["sha256"] = hashlib.sha256(path.read_bytes()).hexdigest()
    (dst / "manifest.json").write_text(json.dumps(manifest, indent=2))
    return dst


def null_world(features: Path, out: Path, *, seed: int) -> Path:
    """The same feature table with labels drawn independently of everything (same base rate).

    Censored examples stay censored; every label column is replaced by the same draw.
    """
    table = pq.read_table(features)
    frame = table.to_pandas()
    label = frame["label_serious_violence"]
    known = label.notna().to_numpy()
    rng = np.random.default_rng(seed)
    draw = (rng.random(len(frame)) < float(label.mean())).astype("float64")
    for col in [c for c in frame.columns if c.startswith("label_serious_violence")]:
        frame[col] = np.where(known, draw, np.nan)
    out_table = pa.Table.from_pandas(frame, schema=table.schema, preserve_index=False)
    pq.write_table(out_table.replace_schema_metadata(table.schema.metadata), out)
    return out


@pytest.fixture(scope="session")
def county(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo county (10,000 young people, six years) with its truth folder."""

    def make(root: Path) -> None:
        generate_county(SyntheticConfig(), out_dir=root / "data", truth_dir=root / "truth")

    return made_once(tmp_path_factory, "county", make)


def _build(data: Path, out: Path, truth: Path | None = None, dates: str = "known") -> Path:
    config = load_experiment()
    folder = open_folder(data, today=date.today())
    build_features(
        folder,
        config.feature_spec(),
        config.features,
        out=out,
        truth_events_path=None if truth is None else truth / "outcomes.parquet",
        knowledge_dates=dates,  # type: ignore[arg-type]
    )
    return out


@pytest.fixture(scope="session")
def county_features(county: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    def make(folder: Path) -> None:
        _build(county / "data", folder / "features.parquet", county / "truth")

    return made_once(tmp_path_factory, "county-features", make) / "features.parquet"


@pytest.fixture(scope="session")
def null_features(county_features: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    def make(folder: Path) -> None:
        null_world(county_features, folder / "f.parquet", seed=11)

    return made_once(tmp_path_factory, "null", make) / "f.parquet"


@pytest.fixture(scope="session")
def late_county(county: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The county with police, A&E and exclusion records all arriving 120 days late."""

    def make(folder: Path) -> None:
        delay_reports(county / "data", folder / "data", days=120)

    return made_once(tmp_path_factory, "late", make) / "data"


#: the late county's table built on event dates, still marked so (in ``late_features``'s folder)
EVENT_MARKED = "event-marked.parquet"


@pytest.fixture(scope="session")
def late_features(late_county: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """(built correctly with known dates, built with the event-date leak).

    The leaky table's ``vru.knowledge_dates`` mark is removed: a real leak does not announce
    itself (training refuses a table that is marked), so the tripwire must catch it. The marked
    table is kept beside them (:data:`EVENT_MARKED`).
    """

    def make(folder: Path) -> None:
        _build(late_county, folder / "known.parquet")
        marked = _build(late_county, folder / EVENT_MARKED, dates="event")
        table = pq.read_table(marked)
        metadata = table.schema.metadata or {}
        meta = {k: v for k, v in metadata.items() if k != KNOWLEDGE_DATES_KEY}
        pq.write_table(table.replace_schema_metadata(meta), folder / "event.parquet")

    folder = made_once(tmp_path_factory, "late-features", make)
    return folder / "known.parquet", folder / "event.parquet"
