"""``vru flags generate --engine spark`` (issue 19): the moments built with the same SQL on a
local Spark session and scored there with ``mapInPandas`` give the same flags, reasons and
order as the DuckDB engine, on a county of 600 young people over 4 days (8 flags)."""

from __future__ import annotations

import json
import shutil
from datetime import date
from pathlib import Path

import pytest

from tests.cli.test_flags_generate import approved
from tests.conftest import RunVru
from vru_risk.jobs.data import generate_county as run_generate
from vru_risk.models.risk_model import RiskModel

pytestmark = pytest.mark.spark


@pytest.fixture(scope="module")
def small_county(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("spark-flags-county")
    run_generate(
        out=root / "data",
        people=600,
        years=3,
        end_date=date(2026, 3, 31),
        seed=4,
        fmt="parquet",
        truth_out=root / "truth",
        measurement_bias=True,
    )
    return root / "data"


def _flags(path: Path) -> list[dict[str, object]]:
    out = []
    for line in path.read_text(encoding="utf-8").splitlines():
        body = json.loads(line)
        body.pop("flag_id", None)
        body.pop("generated_at", None)
        out.append(body)
    return out


def test_the_spark_engine_gives_the_same_flags_reasons_and_order(
    vru: RunVru,
    vru_home: Path,
    small_county: Path,
    deployable: RiskModel,
    open_programmes: Path,
    tmp_path: Path,
    spark: object,  # the session-scoped local session: the job adopts the running one
) -> None:
    approved(vru_home, deployable, tmp_path)
    outs = {}
    for engine in ("duckdb", "spark"):
        shutil.rmtree(vru_home / "flags", ignore_errors=True)  # each run starts afresh
        out = tmp_path / engine / "flags.jsonl"
        result = vru(
            "flags",
            "generate",
            small_county,
            "--date",
            "2026-03-31",
            "--days",
            "4",
            "--out",
            out,
            "--programmes",
            open_programmes,
            "--engine",
            engine,
        )
        assert result.code == 0, result.output
        outs[engine] = _flags(out)
    assert len(outs["duckdb"]) >= 5, f"the county gave {len(outs['duckdb'])} flags to compare"
    assert outs["spark"] == outs["duckdb"]


def test_an_unknown_engine_is_refused_by_the_cli(
    vru: RunVru, small_county: Path, tmp_path: Path
) -> None:
    result = vru(
        "flags",
        "generate",
        small_county,
        "--date",
        "2026-03-31",
        "--out",
        tmp_path / "f.jsonl",
        "--engine",
        "sparkle",
    )
    assert result.code == 2
    assert "--engine" in result.output and "sparkle" in result.output
