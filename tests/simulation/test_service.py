"""The service replayed month by month: support that started is support under way, so a
programme does not offer a place again to a young person it supports (as the daily job does not),
and each offer's flag is explained and decided."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace

import pandas as pd

from tests.flags.builders import REF, moments_for, open_programmes
from vru_risk.models.risk_model import RiskModel
from vru_risk.simulation.config import ServiceConfig
from vru_risk.simulation.service import moments_after_prevented, run_service

FIRST = dt.date(2025, 3, 4)
LATER = FIRST + dt.timedelta(days=100)  # past a flag's 90 days of validity


def test_a_programme_does_not_offer_a_place_to_someone_its_service_supports(
    risk_model: RiskModel, tmp_path: object
) -> None:
    programmes = open_programmes(tmp_path)  # type: ignore[arg-type]
    months = [
        moments_for(risk_model, n=8, day=FIRST),
        replace(moments_for(risk_model, n=8, day=LATER), extract_date=LATER),
    ]
    nobody = pd.DataFrame(index=pd.Index([], name="person_id"))
    durations = {p.id: (365, 365) for p in programmes.programmes}

    def serve(agreement: float, seed: int = 0) -> pd.DataFrame:
        run = run_service(
            risk_model,
            REF,
            months,
            programmes,
            nobody,
            ServiceConfig(
                agreement=agreement, undecided=0.0, take_up=1.0, durations=durations, seed=seed
            ),
            valid_days=90,
            extract_date=LATER + dt.timedelta(days=30),
            left_area={},
        )
        assert {f.flag_id for f in run.flags} == set(run.decisions["flag_id"])
        assert run.months == ("2025-03", "2025-06") and run.moments == 16
        return run.decisions

    refused = serve(0.0)  # no referral, no support: after 90 days the same places are offered
    supported = serve(1.0)
    first = supported[supported["as_of"] == FIRST]
    assert len(first) == len(refused[refused["as_of"] == FIRST]) > 0
    assert first["support_start"].notna().all()
    assert len(refused[refused["as_of"] == LATER]) == len(first)
    assert supported[supported["as_of"] == LATER].empty  # every one is supported, known by then
    # the same seed, the same service
    pd.testing.assert_frame_equal(serve(1.0), supported)


def test_offers_after_a_record_the_service_prevented_are_counted() -> None:
    offers = pd.DataFrame(
        {
            "person_id": ["a", "a", "b", "c"],
            "as_of": [dt.date(2025, 1, 5), dt.date(2025, 4, 5), dt.date(2025, 4, 5), FIRST],
        }
    )
    prevented = pd.DataFrame(
        {"person_id": ["a", "a", "b"], "date": [dt.date(2025, 3, 1), dt.date(2025, 5, 1),
                                                dt.date(2025, 6, 1)]}
    )  # fmt: skip
    assert moments_after_prevented(offers, prevented) == 1  # a's April offer
    assert moments_after_prevented(offers, prevented.iloc[:0]) == 0


def test_a_referral_to_a_programme_that_already_supports_the_young_person_starts_nothing(
    risk_model: RiskModel, tmp_path: object
) -> None:
    programmes = open_programmes(tmp_path)  # type: ignore[arg-type]
    people = [f"P{i:05d}" for i in range(8)]
    # Jump Start took them on the day before: the VRU does not know yet, the programme does
    county = pd.DataFrame(
        {
            "person_id": people,
            "programme": ["Jump Start Mentoring"] * 8,
            "start_date": [FIRST - dt.timedelta(days=1)] * 8,
            "end_date": [None] * 8,
        }
    )
    run = run_service(
        risk_model,
        REF,
        [moments_for(risk_model, n=8, day=FIRST)],
        programmes,
        pd.DataFrame(index=pd.Index([], name="person_id")),
        ServiceConfig(agreement=1.0, undecided=0.0, take_up=1.0),
        valid_days=90,
        extract_date=FIRST + dt.timedelta(days=60),
        left_area={},
        county_support=county,
    )
    decisions = run.decisions
    jump_start = decisions[decisions["programme"] == "jump_start"]
    early = decisions[decisions["programme"] == "early_intervention"]
    assert len(jump_start) == len(early) == 8
    assert jump_start["already_in_programme"].all() and jump_start["support_start"].isna().all()
    assert early["support_start"].notna().all() and not early["already_in_programme"].any()
    assert set(run.support["programme_id"]) == {"early_intervention"}
