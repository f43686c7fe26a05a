"""``vru flags generate`` with an approved, sufficiently powered lottery on an 800-person county:
the draws are recorded before the flags, winners' flags say so, a re-run of the same days (even
with another seed, approved anew) replays the record and never redraws, and a tampered record
stops the job."""

from __future__ import annotations

import dataclasses
import json
from datetime import date
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.conftest import RunVru
from tests.models.test_promotion import candidate, decide
from vru_risk.features.config import FeatureBuildConfig
from vru_risk.flags.flag import Flag
from vru_risk.flags.lottery import LotteryRecord
from vru_risk.flags.programmes import load_programmes
from vru_risk.jobs.data import generate_county
from vru_risk.jobs.lottery_gate import approve_lottery
from vru_risk.models.registry import Registry
from vru_risk.models.review_log import ReviewLog
from vru_risk.models.risk_model import RiskModel


@pytest.fixture(scope="module")
def county(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("lottery-county")
    generate_county(
        out=root / "data",
        people=800,
        years=2,
        end_date=date(2026, 3, 31),
        seed=2,
        fmt="parquet",
        truth_out=root / "truth",
        measurement_bias=True,
    )
    return root / "data"


def write_programmes(path: Path, seed: int) -> Path:
    """Every floor at 0 (the test model is a toy); Jump Start first come with 1 place a week,
    drawn among the moments that all tie (tolerance 1) on a day with more than one."""
    doc = load_programmes().model_dump(mode="json")
    for p in doc["programmes"]:
        p["min_percentile"] = 0
        if p["id"] == "jump_start":
            p["capacity"], p["period"], p["policy"] = 1, "week", "first_come"
            p["lottery"] = {
                "enabled": True,
                "score_tolerance": 1.0,
                "seed": seed,
                "effect": -0.15,
                "base_rate": 0.3,
                "within_months": 60,  # 121 per arm at 4.3 a month: about 28 months
            }
    path.write_text(yaml.safe_dump(doc), encoding="utf-8")
    return path


def jump_start(out: Path) -> dict[str, tuple[str, bool]]:
    found = {}
    for line in out.read_text(encoding="utf-8").splitlines():
        flag = Flag.model_validate_json(line)
        for o in flag.programmes:
            if o.programme == "jump_start" and o.status == "offered":
                found[flag.person_id] = (flag.as_of.isoformat(), o.lottery)
    return found


def test_the_job_records_draws_marks_winners_and_replays_on_a_rerun(
    vru: RunVru, vru_home: Path, county: Path, risk_model: RiskModel, tmp_path: Path
) -> None:
    info = {**risk_model.info, "build_config": FeatureBuildConfig().model_dump_json()}
    model = dataclasses.replace(risk_model, info=info)
    registry = Registry(f"sqlite:///{vru_home / 'mlflow.db'}")
    log = ReviewLog(vru_home / "review_log.jsonl")
    decide("approve", candidate(registry, model, tmp_path, "pass"), "panel-1", registry, log)
    programmes = write_programmes(tmp_path / "programmes.yaml", seed=1)
    approve_lottery(log, programmes, reviewer="panel-2", reason="pre-registered")

    def run(out: str) -> Any:
        args = ("--date", "2026-03-31", "--days", "30", "--programmes", programmes)
        return vru("flags", "generate", county, "--out", tmp_path / out, *args)

    first = run("a.jsonl")
    assert first.code == 0, first.output
    record = LotteryRecord(vru_home / "lottery_record.jsonl")
    draws = record.draws()
    assert 1 <= len(draws) <= 5  # at most one a week: a day with more moments than the place
    assert all(d.places == 1 and len(d.losers) >= 1 for d in draws)
    offers = jump_start(tmp_path / "a.jsonl")
    drawn = {p for p, (_, lottery) in offers.items() if lottery}
    assert drawn == {w for d in draws for w in d.winners}
    assert {day for day, lottery in offers.values() if lottery} == {
        d.day.isoformat() for d in draws
    }
    assert not set(offers) & {x for d in draws for x in d.losers}  # losers: record only
    assert len(offers) <= 5  # one place a week, five weeks touched
    assert f"{len(draws)} new draw(s) recorded" in " ".join(first.stdout.split())
    kept = record.path.read_bytes()

    again = run("b.jsonl")  # the same days again: replayed
    assert again.code == 0, again.output
    assert jump_start(tmp_path / "b.jsonl") == offers and record.path.read_bytes() == kept

    write_programmes(programmes, seed=99)  # another seed: a new file, approved anew
    assert run("c.jsonl").code == 2
    approve_lottery(log, programmes, reviewer="panel-2", reason="seed changed")
    reseeded = run("c.jsonl")
    assert reseeded.code == 0, reseeded.output
    assert jump_start(tmp_path / "c.jsonl") == offers and record.path.read_bytes() == kept

    line = json.loads(kept.decode().splitlines()[0])
    line["winners"], line["losers"] = line["losers"], line["winners"]
    record.path.write_text(json.dumps(line) + "\n", encoding="utf-8")
    tampered = run("d.jsonl")
    assert tampered.code == 2 and "hash chain" in tampered.stderr
    assert not (tmp_path / "d.jsonl").exists()
