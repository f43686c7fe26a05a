"""The truth behind the simulated service: each programme's support prevents by its own true
multiplier, a harmful one is refused, and every lottery participant's potential outcomes (y0,
y1) follow from the county's potential outcomes on a hand-checked case."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tests.flags.builders import DAY, REF, moments_for, open_programmes
from vru_risk.features.config import LabelConfig
from vru_risk.flags.lottery import draws_frame
from vru_risk.jobs.simulate_output import lottery_truth, write_record
from vru_risk.models.risk_model import RiskModel
from vru_risk.simulation.config import ServiceConfig
from vru_risk.simulation.consequence import harmful_programmes, prevented_by, refuse_harmful
from vru_risk.simulation.lottery_truth import (
    LOTTERY_OUTCOMES_FILE,
    OUTCOME_COLUMNS,
    lottery_outcomes,
    lottery_summary,
)
from vru_risk.simulation.service import run_service

D = dt.date
JUMP = "Jump Start Mentoring"


def involvements(*rows: tuple[str, dt.date, float, bool, bool, bool]) -> pd.DataFrame:
    """(person, date, threshold, caused, county supported, happened) per involvement."""
    person, date, threshold, caused, supported, happened = zip(*rows, strict=True)
    return pd.DataFrame(
        {
            "person_id": list(person),
            "date": list(date),
            "u_prevent": [t if not c else 0.5 for t, c in zip(threshold, caused, strict=True)],
            "support_threshold": list(threshold),
            "caused_if_supported": list(caused),
            "supported": list(supported),
            "happened": list(happened),
        }
    )


def periods(*rows: tuple[str, str, dt.date, dt.date]) -> pd.DataFrame:
    person, programme, start, end = zip(*rows, strict=True) if rows else ((), (), (), ())
    return pd.DataFrame(
        {
            "person_id": list(person),
            "programme_id": ["jump" if p == JUMP else "eit" for p in programme],
            "programme": list(programme),
            "start_date": list(start),
            "end_date": list(end),
        }
    )


def test_each_programme_prevents_by_its_own_multiplier_and_the_smallest_applies() -> None:
    frame = involvements(
        ("p1", D(2025, 3, 1), 0.9, False, False, True),
        ("p1", D(2025, 3, 1), 0.2, False, False, True),
        ("p2", D(2025, 3, 1), 0.7, False, False, True),
        ("p3", D(2025, 3, 1), 0.7, False, False, True),
    )
    support = periods(
        ("p1", JUMP, D(2025, 2, 1), D(2025, 6, 30)),
        ("p2", "EIT", D(2025, 2, 1), D(2025, 6, 30)),
        ("p3", "EIT", D(2025, 2, 1), D(2025, 6, 30)),
        ("p3", JUMP, D(2025, 2, 15), D(2025, 3, 31)),
    )
    gone = prevented_by(frame, support, effect=0.4, multipliers={JUMP: 0.5, "EIT": 1.0})
    # p1 at 0.5: 0.9 goes, 0.2 stays; p2's programme has no effect; p3 has both: 0.5 applies
    assert gone.tolist() == [True, False, False, True]
    # a programme without a truth has the county-wide effect (1 - 0.4 = 0.6 > 0.7 is false)
    assert prevented_by(frame, support, effect=0.4, multipliers={JUMP: 0.5}).tolist() == [
        True, False, True, True,
    ]  # fmt: skip
    # what did not happen cannot be prevented again
    again = prevented_by(frame.assign(happened=False), support, effect=0.4, multipliers={})
    assert not again.any()


def test_a_harmful_programme_is_refused_by_the_service() -> None:
    assert harmful_programmes({JUMP: 1.3, "EIT": 1.0, "B": 0.6}) == [JUMP]
    message = refuse_harmful({JUMP: 1.3})
    assert message is not None and JUMP in message and "multiplier of at most 1" in message
    assert refuse_harmful({JUMP: 1.0}) is None
    frame = involvements(("p1", D(2025, 3, 1), 0.9, False, False, True))
    with pytest.raises(ValueError, match="harmful programme"):
        prevented_by(frame, periods(), effect=0.4, multipliers={JUMP: 1.3})


def draws() -> pd.DataFrame:
    people = ["a", "b", "c", "d", "e", "f"]
    return pd.DataFrame(
        {
            "programme": ["jump"] * 6,
            "day": [D(2025, 1, 1)] * 6,
            "person_id": people,
            "won": [True, False, True, False, False, True],
        }
    )


def potential() -> pd.DataFrame:
    return involvements(
        ("a", D(2025, 3, 1), 0.7, False, False, True),  # in a's service support
        ("b", D(2025, 1, 5), 0.9, False, False, True),  # within the 7-day gap: not counted
        ("b", D(2025, 2, 1), 0.3, False, False, True),  # kept at 0.6
        ("c", D(2025, 3, 1), 1.2, True, False, False),  # caused by support above 1.2
        ("d", D(2025, 3, 1), 1.2, True, True, False),  # the county's support did not cause it
        ("e", D(2026, 2, 1), 0.9, False, False, True),  # after the 365-day horizon
        ("f", D(2025, 8, 1), 0.9, False, False, True),  # after f's service support ended
    )


def service_support() -> pd.DataFrame:
    return periods(
        ("a", JUMP, D(2025, 1, 10), D(2025, 6, 30)),
        ("f", JUMP, D(2025, 1, 10), D(2025, 6, 30)),
        ("f", JUMP, D(2024, 6, 1), D(2024, 8, 1)),  # before the draw: not this draw's support
    )


def outcomes(multiplier: float) -> pd.DataFrame:
    return lottery_outcomes(
        draws(),
        service_support(),
        potential(),
        names={"jump": JUMP},
        durations={"jump": (120, 240)},
        multipliers={JUMP: multiplier},
        default=0.6,
        gap_days=7,
        horizon_days=365,
    )


def test_y0_and_y1_follow_from_the_potential_outcomes() -> None:
    out = outcomes(0.6)
    assert out["period"].tolist() == ["service", "assumed", "assumed", "assumed", "assumed",
                                      "service"]  # fmt: skip
    # assumed support: the day after the draw, for the middle of 120-240 days
    assert out.loc[1, "support_start"] == D(2025, 1, 2)
    assert out.loc[1, "support_end"] == D(2025, 1, 2) + dt.timedelta(days=179)
    assert out.loc[0, "support_start"] == D(2025, 1, 10)
    assert out["y0"].tolist() == [True, True, False, False, False, True]
    assert out["y1"].tolist() == [False, True, False, False, False, True]
    harmful = outcomes(1.5)  # a's 0.7 now happens; c's extra involvement is caused
    assert harmful["y1"].tolist() == [True, True, True, False, False, True]


def test_the_true_itt_of_the_realised_draw() -> None:
    summary = lottery_summary(outcomes(0.6))["jump"]
    assert (summary["participants"], summary["winners"]) == (6, 3)
    assert summary["y0_mean"] == pytest.approx(3 / 6)
    assert summary["y1_mean"] == pytest.approx(2 / 6)
    assert summary["effect_if_all_supported"] == pytest.approx(-1 / 6)
    # winners a (supported: 1 -> 0), c (assumed, not supported: 0 -> 0), f (1 -> 1)
    assert summary["true_itt"] == pytest.approx(-1 / 3)
    # winners' realised mean 1/3 against the losers' y0 mean 1/3 (b only)
    assert summary["observed_difference"] == pytest.approx(0.0)


def test_no_involvements_and_no_support_give_zero_outcomes() -> None:
    out = lottery_outcomes(
        draws(),
        periods(),
        potential().iloc[0:0],
        names={"jump": JUMP},
        durations={"jump": (10, 10)},
        multipliers={},
        default=0.6,
        gap_days=7,
        horizon_days=365,
    )
    assert not out["y0"].any() and not out["y1"].any()
    assert (out["period"] == "assumed").all()
    assert np.isclose(lottery_summary(out)["jump"]["true_itt"], 0.0)


def test_the_simulated_services_draws_get_their_potential_outcomes(
    risk_model: RiskModel, tmp_path: Path
) -> None:
    lottery = {"enabled": True, "score_tolerance": 1.0, "seed": 1, "effect": -0.15,
               "base_rate": 0.3, "within_months": 12}  # fmt: skip
    programmes = open_programmes(tmp_path, early_intervention={"capacity": 5, "lottery": lottery})
    config = ServiceConfig(agreement=1.0, undecided=0.0, take_up=1.0)
    run = run_service(
        risk_model,
        REF,
        [moments_for(risk_model, n=30, seed=3)],
        programmes,
        pd.DataFrame(index=pd.Index([], name="person_id")),
        config,
        valid_days=90,
        extract_date=DAY + dt.timedelta(days=60),
        left_area={},
    )
    band = draws_frame(run.draws)
    # one involvement per participant 100 days after the draw, prevented by support at 0.6
    truth = involvements(
        *((p, d + dt.timedelta(days=100), 0.9, False, False, True)
          for p, d in zip(band["person_id"], band["day"], strict=True))
    )  # fmt: skip
    out = lottery_truth(run, truth, programmes, config, LabelConfig(), multipliers={}, effect=0.4)
    assert out is not None and len(out) == len(band) == 30
    assert out["person_id"].tolist() == band["person_id"].tolist()
    started = set(run.support["person_id"].astype(str))
    assert set(out.loc[out["period"] == "service", "person_id"]) == started & set(
        band.loc[band["won"], "person_id"]
    )
    assert (out["period"] == "service").sum() == 5  # every winner took the place up
    assert out["y0"].all()
    day = out["day"] + dt.timedelta(days=100)
    covered = (out["support_start"] <= day) & (out["support_end"] >= day)
    assert (out["y1"] == ~covered).all()
    assert not out.loc[out["period"] == "assumed", "y1"].any()  # assumed support lasts 120 days
    write_record(tmp_path / "record", run, truth.iloc[0:0], {}, lottery_outcomes=out)
    written = pd.read_parquet(tmp_path / "record" / LOTTERY_OUTCOMES_FILE)
    assert list(written.columns) == list(OUTCOME_COLUMNS)
    assert written["y1"].tolist() == out["y1"].tolist()
