"""Session fixtures for training: a generated county, its feature tables, an MLflow store."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from tests.training.worlds import delay_reports, null_world
from vru_risk.data.load import open_folder
from vru_risk.data.synthetic import SyntheticConfig, generate_county
from vru_risk.features.build import build_features
from vru_risk.training.config import load_experiment


@pytest.fixture(scope="session")
def county(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo county (10,000 young people, six years) with its truth folder."""
    root = tmp_path_factory.mktemp("county")
    generate_county(SyntheticConfig(), out_dir=root / "data", truth_dir=root / "truth")
    return root


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
def county_features(county: Path) -> Path:
    return _build(county / "data", county / "features.parquet", county / "truth")


@pytest.fixture(scope="session")
def null_features(county_features: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return null_world(county_features, tmp_path_factory.mktemp("null") / "f.parquet", seed=11)


@pytest.fixture(scope="session")
def late_county(county: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The county with police, A&E and exclusion records all arriving 120 days late."""
    return delay_reports(county / "data", tmp_path_factory.mktemp("late") / "data", days=120)


@pytest.fixture(scope="session")
def late_features(late_county: Path) -> tuple[Path, Path]:
    """(built correctly with known dates, built with the event-date leak).

    The leaky table's ``vru.knowledge_dates`` mark is removed: a real leak does not announce
    itself (training refuses a table that is marked), so the tripwire must catch it.
    """
    known = _build(late_county, late_county.parent / "known.parquet")
    marked = _build(late_county, late_county.parent / "event-marked.parquet", dates="event")
    table = pq.read_table(marked)
    meta = {k: v for k, v in (table.schema.metadata or {}).items() if k != b"vru.knowledge_dates"}
    silent = late_county.parent / "event.parquet"
    pq.write_table(table.replace_schema_metadata(meta), silent)
    return known, silent
