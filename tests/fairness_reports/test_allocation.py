"""The audit's operating point is the daily job's allocation: on the same moments, the places
``ServiceAllocation`` selects are the offers the daily job makes, run day by day with its issued
flags and pacing history (one function, :func:`vru_risk.flags.allocate.replay`, not a copy)."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tests.flags.builders import REF, moments_for, open_programmes
from vru_risk.fairness_reports.audit import audit
from vru_risk.fairness_reports.operating_points import (
    ALLOCATION_WORDS,
    ServiceAllocation,
    describe_operating_point,
    service_allocation,
)
from vru_risk.features.context import MomentContext
from vru_risk.features.moments import Moments
from vru_risk.flags.flag import Flag
from vru_risk.flags.generate import generate_flags
from vru_risk.flags.pacing import PacingHistory
from vru_risk.flags.programmes import Programmes
from vru_risk.flags.score import score_moments
from vru_risk.models.risk_model import RiskModel
from vru_risk.models.tags import ALLOCATION_RULE

KINDS = ("police_contact", "exclusion", "ae_visit", "attendance_drop")
#: days over two months: weekdays, a weekend (admit_ae's week), a new month
DAYS = tuple(date(2026, 3, 2) + timedelta(days=k) for k in (0, 1, 3, 5, 6, 8, 15, 24, 31, 32))


def day_moments(model: RiskModel, day: date, k: int) -> Moments:
    """30 moments on ``day``: the same young people every day (so a valid offer is not made
    again), with trigger kinds, hospitals and ages that open different programmes."""
    n = 30
    rng = np.random.default_rng(k)
    kinds = [KINDS[(i + k) % 4] for i in range(n)]
    hospitals = [
        ("Musgrove Park" if i % 2 else "Taunton Vale") if kind == "ae_visit" else None
        for i, kind in enumerate(kinds)
    ]
    return moments_for(
        model,
        n=n,
        seed=100 + k,
        day=day,
        kinds=kinds,
        hospitals=hospitals,
        ages=[int(a) for a in rng.integers(9, 18, n)],
        supported=[(3, "Jump Start Mentoring")] if k % 3 == 0 else (),
    )


def programmes(tmp_path: Path) -> Programmes:
    """Small capacities (so places run out), a floor, and both policies."""
    return open_programmes(
        tmp_path,
        jump_start={"capacity": 6, "min_percentile": 40.0, "policy": "paced"},
        early_intervention={"capacity": 4, "min_percentile": 20.0},
        school_inclusion={"capacity": 3},
        admit_ae={"capacity": 2, "min_percentile": 10.0},
    )


def test_the_audits_selection_is_the_daily_jobs_offers_on_the_same_moments(
    risk_model: RiskModel, tmp_path: Path
) -> None:
    progs = programmes(tmp_path)
    days = [day_moments(risk_model, day, k) for k, day in enumerate(DAYS)]

    # the daily job: one run a day, after the flags it issued before, with its pacing history
    issued: list[Flag] = []
    pacing = PacingHistory()
    for moments in days:
        batch = generate_flags(
            risk_model, moments, progs, model_ref=REF, issued=list(issued), pacing=pacing
        )
        issued.extend(batch.flags)
    daily = {
        (f.person_id, f.as_of)
        for f in issued
        if any(offer.status == "offered" for offer in f.programmes)
    }

    # the audit: every moment of the window at once, each with its context
    scored = pd.concat([score_moments(risk_model, m) for m in days], ignore_index=True)
    context = MomentContext(
        frame=pd.concat(
            [m.frame[["person_id", "as_of", "age_completed", "school_id"]] for m in days],
            ignore_index=True,
        ),
        triggers=pd.concat([m.triggers for m in days], ignore_index=True),
        supported=pd.concat([m.supported for m in days], ignore_index=True),
    )
    rows = scored[["person_id", "as_of", "probability", "percentile"]]
    point, replayed = service_allocation(rows, context, progs)
    audited = {
        (str(p), d)
        for p, d, o in zip(rows["person_id"], rows["as_of"], np.asarray(point.offered), strict=True)
        if o
    }

    assert audited == daily
    # the case is not trivial: places ran out, moments above a floor were left without one, and
    # the paced programme held places back on some day
    assert 10 < len(daily) < len(rows)
    assert any(r.places_left == 0 for r in replayed.rules)
    assert any(r.policy == "paced" and r.paced for r in replayed.rules)
    assert len({o.programme for o in replayed.offers}) == len(progs.programmes)


def test_service_allocation_is_audited_per_moment_and_describes_itself(
    risk_model: RiskModel, tmp_path: Path
) -> None:
    moments = day_moments(risk_model, DAYS[0], 0)
    scored = score_moments(risk_model, moments)
    context = MomentContext(
        moments.frame[["person_id", "as_of", "age_completed", "school_id"]],
        moments.triggers,
        moments.supported,
    )
    rows = scored[["person_id", "as_of", "probability", "percentile"]]
    point, _ = service_allocation(rows, context, programmes(tmp_path))
    offered = np.asarray(point.offered)
    y = (np.arange(len(rows)) % 3 == 0).astype(int)
    sex = pd.DataFrame({"sex": np.where(np.arange(len(rows)) % 2, "female", "male")})
    result = audit(
        y,
        scored["probability"].to_numpy(),
        sensitive_features=sex,
        operating_point=point,
        min_count=0,
        min_positives=0,
        min_flagged=0,
    )
    assert result.population == "moments"
    assert int(result.overall["count"]) == len(rows)  # every moment counts, none is merged
    assert int(result.overall["flagged"]) == int(offered.sum())
    female = result.by_group.set_index("group").loc["female"]
    is_female = sex["sex"].to_numpy() == "female"
    assert female["selection_rate"] == offered[is_female].mean()
    assert female["tpr"] == offered[is_female & (y == 1)].sum() / (is_female & (y == 1)).sum()
    described = describe_operating_point(point)
    assert described["in_words"] == ALLOCATION_WORDS and described["rule"] == ALLOCATION_RULE
    assert {p["programme"] for p in described["programmes"]} == {
        "jump_start",
        "early_intervention",
        "school_inclusion",
        "admit_ae",
    }
    # a subset of the rows keeps their offers (the places were allocated among all of them)
    keep = np.arange(len(rows)) % 2 == 0
    assert np.array_equal(np.asarray(point.restricted(keep).offered), offered[keep])


def test_service_allocation_refuses_offers_that_are_not_one_flag_per_row() -> None:
    with pytest.raises(ValueError, match="one True/False per audit row"):
        ServiceAllocation(offered=np.array([1, 0, 1]))
    point = ServiceAllocation(offered=np.array([True, False]))
    with pytest.raises(ValueError, match=r"ServiceAllocation\.offered has 2 rows"):
        audit(
            [1, 0, 1],
            [0.1, 0.2, 0.3],
            sensitive_features=pd.DataFrame({"s": list("abc")}),
            operating_point=point,
        )
