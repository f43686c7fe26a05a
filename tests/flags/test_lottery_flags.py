"""The lottery through the daily job's flags and the simulated service: a winner's flag carries
the lottery mark, a loser is not offered the programme, a re-run replays the draw, and the
simulated service hands its draws (winners and losers) to the evaluation."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pandas as pd

from tests.flags.builders import DAY, REF, moments_for, open_programmes
from vru_risk.flags.flag import Flag
from vru_risk.flags.generate import generate_flags
from vru_risk.flags.lottery import LotteryBook, draws_frame
from vru_risk.flags.programmes import Programmes
from vru_risk.jobs.simulate_output import write_record
from vru_risk.models.risk_model import RiskModel
from vru_risk.simulation.config import ServiceConfig
from vru_risk.simulation.service import run_service


def with_lottery(tmp_path: Path, seed: int) -> Programmes:
    """Early intervention with 5 places and a tolerance so wide every moment ties."""
    lottery = {
        "enabled": True,
        "score_tolerance": 1.0,
        "seed": seed,
        "effect": -0.15,
        "base_rate": 0.3,
        "within_months": 12,
    }
    return open_programmes(tmp_path, early_intervention={"capacity": 5, "lottery": lottery})


def eit_offers(flags: list[Flag]) -> dict[str, bool]:
    return {
        f.person_id: o.lottery
        for f in flags
        for o in f.programmes
        if o.programme == "early_intervention" and o.status == "offered"
    }


def test_winners_flags_say_so_losers_are_not_offered_and_a_rerun_replays(
    risk_model: RiskModel, tmp_path: Path
) -> None:
    moments = moments_for(risk_model, n=30, seed=3)
    book = LotteryBook()
    batch = generate_flags(
        risk_model, moments, with_lottery(tmp_path, 1), model_ref=REF, lottery=book
    )
    assert len(book.drawn) == 1
    d = book.drawn[0]
    assert d.places == 5 and len(d.winners) == 5 and len(d.losers) == 25
    offers = eit_offers(batch.flags)
    assert set(offers) == set(d.winners) and all(offers.values())
    # the losers' flags (offered by other programmes) hold no early intervention entry
    assert not set(offers) & set(d.losers)
    for other_seed in (2, 3, 4):
        again = LotteryBook.of(book.drawn)
        rerun = generate_flags(
            risk_model, moments, with_lottery(tmp_path, other_seed), model_ref=REF, lottery=again
        )
        assert eit_offers(rerun.flags) == offers and again.drawn == []
    fresh = []
    for s in (2, 3):
        drawn = generate_flags(
            risk_model, moments, with_lottery(tmp_path, s), model_ref=REF, lottery=LotteryBook()
        )
        fresh.append(set(eit_offers(drawn.flags)))
    assert any(f != set(offers) for f in fresh)  # drawn anew, another seed draws others


def test_the_simulated_service_exposes_its_draws(risk_model: RiskModel, tmp_path: Path) -> None:
    programmes = with_lottery(tmp_path, 1)
    run = run_service(
        risk_model,
        REF,
        [moments_for(risk_model, n=30, seed=3)],
        programmes,
        pd.DataFrame(index=pd.Index([], name="person_id")),
        ServiceConfig(agreement=1.0, undecided=0.0, take_up=1.0),
        valid_days=90,
        extract_date=DAY + dt.timedelta(days=60),
        left_area={},
    )
    assert len(run.draws) == 1
    frame = draws_frame(run.draws)
    assert len(frame) == 30 and frame["won"].sum() == 5
    offered = run.decisions[run.decisions["programme"] == "early_intervention"]["person_id"]
    assert set(offered.astype(str)) == set(frame.loc[frame["won"], "person_id"])
    prevented = pd.DataFrame({"person_id": pd.Series([], dtype=str), "date": []})
    write_record(tmp_path / "record", run, prevented, {})
    written = pd.read_parquet(tmp_path / "record" / "lottery.parquet")
    assert sorted(written["person_id"]) == sorted(frame["person_id"])
    assert written["won"].sum() == 5
