"""Matching moments to programmes: age and trigger eligibility, capacity per period, the lowest
percentile, support already under way, no second offer while a flag is valid."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import numpy as np

from tests.flags.builders import DAY, REF, moments_for, offered, open_programmes
from vru_risk.flags.allocate import allocate
from vru_risk.flags.generate import generate_flags
from vru_risk.flags.score import score_moments
from vru_risk.models.risk_model import RiskModel


def test_age_boundaries_of_jump_start_and_early_intervention(
    risk_model: RiskModel, tmp_path: Path
) -> None:
    ages = [7, 8, 9, 10, 17, 18, 19]
    m = moments_for(risk_model, n=len(ages), ages=ages)
    progs = open_programmes(tmp_path)
    scored = score_moments(risk_model, m)
    offers = allocate(scored, m, progs)
    assert {ages[i] for i in offered(offers, "jump_start")} == {8, 9, 10, 17, 18}
    assert {ages[i] for i in offered(offers, "early_intervention")} == {10, 17}


def test_trigger_kinds_and_hospitals_decide_eligibility(
    risk_model: RiskModel, tmp_path: Path
) -> None:
    kinds = ["ae_visit", "ae_visit", "police_contact", "attendance_drop", "exclusion"]
    hospitals = ["Musgrove Park", "Weston General", None, None, None]
    m = moments_for(risk_model, n=5, kinds=kinds, hospitals=hospitals, ages=[14] * 5)
    offers = allocate(score_moments(risk_model, m), m, open_programmes(tmp_path))
    assert offered(offers, "admit_ae") == {0}  # a configured hospital only
    assert offered(offers, "early_intervention") == {2, 4}  # police contact, exclusion
    assert offered(offers, "school_inclusion") == {3, 4}  # attendance drop, exclusion
    assert offered(offers, "jump_start") == {0, 1, 2, 3, 4}


def test_capacity_takes_the_highest_scores_and_is_used_up_within_a_period(
    risk_model: RiskModel, tmp_path: Path
) -> None:
    progs = open_programmes(tmp_path, early_intervention={"capacity": 3})
    m = moments_for(risk_model, n=12, seed=8)
    scored = score_moments(risk_model, m)
    offers = allocate(scored, m, progs)
    eit = offered(offers, "early_intervention")
    assert len(eit) == 3
    top3 = set(np.argsort(-scored["probability"].to_numpy())[:3])
    assert eit == top3
    ranks = sorted(
        e.rank for o in offers.values() for e in o if e.programme == "early_intervention"
    )
    assert ranks == [1, 2, 3]
    # flags issued earlier in the same month use the capacity up ...
    batch = generate_flags(risk_model, m, progs, model_ref=REF)
    later = moments_for(risk_model, n=12, seed=9, day=DAY + timedelta(days=7))
    again = allocate(score_moments(risk_model, later), later, progs, issued=batch.flags)
    assert offered(again, "early_intervention") == set()
    # ... and a new month starts afresh
    april = moments_for(risk_model, n=12, seed=9, day=date(2026, 4, 2))
    fresh = allocate(score_moments(risk_model, april), april, progs, issued=batch.flags)
    assert len(offered(fresh, "early_intervention")) == 3


def test_min_percentile_keeps_low_scores_off_the_list(
    risk_model: RiskModel, tmp_path: Path
) -> None:
    progs = open_programmes(tmp_path, jump_start={"min_percentile": 95.0})
    m = moments_for(risk_model, n=200, seed=4)
    scored = score_moments(risk_model, m)
    offers = allocate(scored, m, progs)
    for i in offered(offers, "jump_start"):
        assert scored["percentile"].iloc[i] >= 95.0


def test_a_person_already_in_a_programme_is_shown_as_such_not_re_offered(
    risk_model: RiskModel, tmp_path: Path
) -> None:
    m = moments_for(risk_model, n=3, supported=[(0, "Early Intervention Team")])
    batch = generate_flags(risk_model, m, open_programmes(tmp_path), model_ref=REF)
    flag = next(f for f in batch.flags if f.person_id == "P00000")
    status = {p.programme: p.status for p in flag.programmes}
    assert status["early_intervention"] == "already_supported"
    assert status["jump_start"] == "offered"
    others = [f for f in batch.flags if f.person_id != "P00000"]
    assert all(
        {p.programme: p.status for p in f.programmes}["early_intervention"] == "offered"
        for f in others
    )


def test_someone_offered_in_a_valid_flag_is_not_offered_again(
    risk_model: RiskModel, tmp_path: Path
) -> None:
    progs = open_programmes(tmp_path)
    first = generate_flags(risk_model, moments_for(risk_model, n=4), progs, model_ref=REF)
    assert {f.person_id for f in first.flags} == {f"P{i:05d}" for i in range(4)}
    nxt = moments_for(risk_model, n=4, day=DAY + timedelta(days=40))
    second = generate_flags(risk_model, nxt, progs, model_ref=REF, issued=first.flags)
    assert second.flags == []
    much_later = moments_for(risk_model, n=4, day=DAY + timedelta(days=120))
    third = generate_flags(risk_model, much_later, progs, model_ref=REF, issued=first.flags)
    assert len(third.flags) == 4
