"""The build on a generated county: end to end, with the truth labelled the same way."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from tests.conftest import RunVru
from vru_risk.data.synthetic import SyntheticConfig, generate_county
from vru_risk.features.table_metadata import BUILD_CONFIG_KEY, EXTRACT_DATE_KEY, SPEC_HASH_KEY


@pytest.fixture(scope="module")
def county(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("county")
    generate_county(
        SyntheticConfig(people=1500, years=4, seed=3),
        out_dir=root / "data",
        truth_dir=root / "truth",
    )
    return root


def test_cli_build_on_a_county_with_truth_labels(vru: RunVru, county: Path) -> None:
    out = county / "features.parquet"
    result = vru("features", "build", county / "data", "--out", out, "--truth", county / "truth")
    assert result.code == 0, result.output
    assert "spec hash" in result.stdout
    con = duckdb.connect()
    rel = f"read_parquet('{out}')"
    cols = [r[0] for r in con.execute(f"DESCRIBE SELECT * FROM {rel}").fetchall()]
    assert cols[:5] == ["person_id", "as_of", "trigger_kinds", "n_triggers", "sources_unavailable"]
    assert "label_true_involvement" in cols
    assert not any(c in cols for c in ("sex", "ethnicity", "sen", "fsm", "imd_decile"))
    recorded, true_rate, dupes, censored_labelled = con.execute(
        f"SELECT avg(label_serious_violence), avg(label_true_involvement), "
        f"count(*) - count(DISTINCT (person_id, as_of)), "
        f"count(*) FILTER (WHERE label_censored_reason IS NOT NULL "
        f"AND label_serious_violence IS NOT NULL) FROM {rel}"
    ).fetchone() or (None, None, None, None)
    assert dupes == 0
    assert censored_labelled == 0
    assert 0.02 < recorded < 0.4
    assert true_rate > recorded  # recording misses some true involvement


def test_cli_build_refuses_invalid_data_and_writes_nothing(
    vru: RunVru, county: Path, tmp_path: Path
) -> None:
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "people.csv").write_text("person_id,birth_date\nP1,2010-13-01\n")
    out = tmp_path / "f.parquet"
    result = vru("features", "build", bad, "--out", out)
    assert result.code == 2
    assert "people.csv" in result.stderr
    assert not out.exists()
    result = vru("features", "build", county / "data", "--out", tmp_path / "f.csv")
    assert result.code == 2
    assert "must end in .parquet" in result.stderr


def test_cli_list_shows_phrases_and_hash(vru: RunVru) -> None:
    result = vru("features", "list")
    assert result.code == 0
    assert "spec hash" in result.stdout
    assert "stop_and_search" in result.stdout


def test_cli_build_refuses_outputs_that_would_overwrite_inputs(
    vru: RunVru, county: Path, tmp_path: Path
) -> None:
    before = (county / "data" / "people.parquet").read_bytes()
    result = vru("features", "build", county / "data", "--out", county / "data" / "people.parquet")
    assert result.code == 2
    assert "is inside the data folder" in result.stderr
    assert (county / "data" / "people.parquet").read_bytes() == before
    (tmp_path / "dir.parquet").mkdir()
    result = vru("features", "build", county / "data", "--out", tmp_path / "dir.parquet")
    assert result.code == 2
    assert "is a folder" in result.stderr


def test_cli_build_refuses_requests_that_can_only_be_empty(
    vru: RunVru, county: Path, tmp_path: Path
) -> None:
    out = tmp_path / "f.parquet"
    result = vru("features", "build", county / "data", "--out", out, "--no-triggers")
    assert result.code == 2
    assert "no examples requested" in result.stderr
    result = vru("features", "build", county / "data", "--out", out, "--as-of", "2030-01-01")
    assert result.code == 2
    assert "after the data's extract date" in result.stderr
    assert not out.exists()


def test_feature_table_carries_its_provenance(vru: RunVru, county: Path, tmp_path: Path) -> None:
    import pyarrow.parquet as pq

    out = tmp_path / "f.parquet"
    assert vru("features", "build", county / "data", "--out", out).code == 0
    meta = pq.read_metadata(out).metadata
    assert len(meta[SPEC_HASH_KEY]) == 64
    assert meta[EXTRACT_DATE_KEY] == b"2026-08-31"
    assert b"reporting_lag_days" in meta[BUILD_CONFIG_KEY]
