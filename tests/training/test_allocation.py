"""Training judges the places the daily job would offer: one allocation, not a copy of it."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tests.flags.builders import DAY, moments_for, open_programmes
from vru_risk.features.context import MomentContext
from vru_risk.features.moments import Moments
from vru_risk.flags.allocate import allocate
from vru_risk.flags.score import score_moments
from vru_risk.models.risk_model import RiskModel, percentile_in, reference_quantiles
from vru_risk.training.allocation import (
    NOT_REPLAYED,
    ServiceAllocation,
    fold_percentile,
    replay_fold,
    replayable,
)

KINDS = ("police_contact", "ae_visit", "exclusion", "attendance_drop")


def days_of_moments(model: RiskModel, days: int = 12, n: int = 30) -> Moments:
    """``days`` consecutive days of ``n`` moments each (the same young people come back, some
    already supported), every trigger kind and age in between."""
    parts = []
    for k in range(days):
        kinds = [KINDS[(i + k) % len(KINDS)] for i in range(n)]
        parts.append(
            moments_for(
                model,
                n=n,
                seed=100 + k,
                day=DAY + timedelta(days=k),
                ages=[11 + (i + k) % 8 for i in range(n)],
                kinds=kinds,
                hospitals=["Musgrove Park" if kind == "ae_visit" else None for kind in kinds],
                supported=[(3, "early_intervention")],
            )
        )
    return Moments(
        days=tuple(d for p in parts for d in p.days),
        extract_date=parts[-1].extract_date,
        frame=pd.concat([p.frame for p in parts], ignore_index=True),
        triggers=pd.concat([p.triggers for p in parts], ignore_index=True),
        supported=pd.concat([p.supported for p in parts], ignore_index=True),
        refreshed=parts[-1].refreshed,
        sources_unavailable=(),
    )


def test_training_offers_what_the_daily_job_offers_on_the_same_moments(
    risk_model: RiskModel, tmp_path: Path
) -> None:
    moments = days_of_moments(risk_model)
    programmes = open_programmes(
        tmp_path,
        jump_start={"capacity": 4, "policy": "paced", "min_percentile": 20.0},
        early_intervention={"capacity": 6, "policy": "first_come", "min_percentile": 40.0},
        school_inclusion={"capacity": 3, "policy": "paced"},
    )
    scored = score_moments(risk_model, moments)
    # the daily job
    daily = allocate(scored, moments, programmes, valid_days=30)
    job = {
        (row, e.programme)
        for row, entries in daily.items()
        for e in entries
        if e.status == "offered"
    }
    # training's evaluation of the same scored moments, with their context as training reads it
    context = MomentContext(
        frame=moments.frame[["person_id", "as_of", "age_completed", "school_id"]],
        triggers=moments.triggers,
        supported=moments.supported,
    )
    allocation = ServiceAllocation(programmes, "sha", context, valid_days=30)
    label = np.where(np.arange(len(scored)) % 5 == 0, 1.0, 0.0)
    replayed = replay_fold(
        scored[["person_id", "as_of"]],
        scored["probability"].to_numpy(),
        risk_model.percentile(scored["probability"].to_numpy()),
        label,
        allocation,
    )
    training = {(o.row, o.programme) for o in replayed.offers}
    assert training == job
    # every programme offered, the paced ones and the first-come ones, up to their capacity
    assert {p for _, p in job} == {p.id for p in programmes.programmes}
    assert sum(1 for _, p in job if p == "jump_start") == 4
    # capacity binds: some moments above every floor were not offered
    assert 0 < replayed.offered.sum() < len(scored)
    rows = sorted({row for row, _ in job})
    assert np.flatnonzero(replayed.offered).tolist() == rows
    assert replayed.metrics.offered == len(rows)
    assert replayed.metrics.offered_positive == int(label[rows].sum())


def test_a_baseline_gets_its_percentile_from_its_own_calibration_scores() -> None:
    reference = np.array([0.0] * 95 + [1.0] * 5)
    # the registered model's percentile function, on the fold's reference of that score
    got = fold_percentile(reference, np.array([0.0, 1.0]))
    assert got.tolist() == percentile_in(reference_quantiles(reference), [0.0, 1.0]).tolist()
    assert got[1] == 100.0 and 90.0 < got[0] < 100.0
    assert replayable(np.array([0.0, 1.0, 0.5]))
    assert not replayable(np.array([-2.0, 3.1]))  # raw log-odds stand for no probability


def test_nothing_is_replayed_without_the_moments_context(
    risk_model: RiskModel, tmp_path: Path
) -> None:
    allocation = ServiceAllocation(open_programmes(tmp_path), "sha", None)
    assert not allocation.replayed and allocation.rule == "hindsight-top-k"
    rows = pd.DataFrame({"person_id": ["a"], "as_of": [DAY]})
    with pytest.raises(ValueError, match="train with --data"):
        replay_fold(rows, np.array([0.5]), np.array([50.0]), np.array([1.0]), allocation)
    assert "not replayed" in NOT_REPLAYED
