"""One evaluation report, made through the real estimators and report builder on a hand-made
lottery (no county, no training), written where ``vru evaluate`` writes: for the evaluation
pages' tests and the route matrix."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from vru_risk.evaluation.estimate import as_dict, not_estimable
from vru_risk.evaluation.lottery_effect import itt_estimate
from vru_risk.evaluation.report import build_report, write_report
from vru_risk.evaluation.verdict import statement
from vru_risk.monitoring.outcomes import maturity

RUN = "2025-01-01_2025-06-30"
#: identifiers of the hand-made participants (none may appear in any page)
PARTICIPANTS = tuple(f"P{k:07d}" for k in range(240))


def _lottery() -> pd.DataFrame:
    rng = np.random.default_rng(3)
    won = np.tile([True, False], 120)
    outcome = (rng.random(240) < np.where(won, 0.10, 0.16)).astype(int)
    return pd.DataFrame(
        {
            "stratum": np.repeat([f"jump_start:2025-0{m}-01" for m in range(1, 7)], 40),
            "won": won,
            "outcome": outcome,
            "took_up": won & (rng.random(240) < 0.7),
            "person_id": PARTICIPANTS,
        }
    )


def evaluation_report() -> dict[str, Any]:
    frame = _lottery()
    primary = itt_estimate(frame, draws=200)
    harm = itt_estimate(frame.assign(outcome=0), draws=200)
    verdict = statement(
        primary,
        harm_estimate=harm,
        look_z_boundary=2.8,
        months_needed=9.0,
        effect_of_interest=0.05,
        design="lottery",
    )
    missing = not_estimable(
        method="arrival order", evidence="consistent with", reason="Too few moments."
    )
    none = statement(
        missing,
        harm_estimate=None,
        look_z_boundary=None,
        months_needed=None,
        effect_of_interest=0.05,
        design="arrival",
    )
    reach = [
        {
            "programme_id": "jump_start",
            "period": "2025-01-01",
            "group": "all",
            "offered": 21,
            "referred": 12,
            "no_action": None,
            "disagree": None,
            "support_started": 9,
            "support_completed": None,
            "completed_recorded": False,
            "capacity": 20,
            "capacity_used": 0.45,
            "cost_per_young_person": None,
            "suppressed": "no_action,disagree",
        },
    ]
    designs = [
        {
            "design": "lottery",
            "primary": as_dict(primary),
            "harm": as_dict(harm),
            "verdict": verdict.__dict__,
            "information_fraction": 0.4,
            "boundary_z": 2.8,
        },
        {
            "design": "arrival",
            "primary": as_dict(missing),
            "harm": as_dict(missing),
            "verdict": none.__dict__,
        },
    ]
    return build_report(
        subject={
            "version": 1,
            "programmes": [{"id": "jump_start", "name": "Jump Start Mentoring"}],
            "data_fingerprint": "0" * 16,
            "extract_date": "2026-08-31",
        },
        period=(date(2025, 1, 1), date(2025, 6, 30)),
        maturity=maturity(["2025-01", "2025-06"], date(2026, 8, 31), horizon_days=365, lag_days=31),
        reach={"programme": reach},
        effects=[
            {"programme_id": "jump_start", "programme": "Jump Start Mentoring", "designs": designs}
        ],
        min_people=5,
        counts={"moments": 240, "offers": 21, "lottery_participants": 240},
        generated_at="2026-09-01T08:00:00+00:00",
    )


def write_evaluation(home: Path, version: int = 1) -> Path:
    """Write the report as ``vru evaluate`` would for ``version``; return its folder."""
    out = home / "evaluation" / f"vru-risk-v{version}" / RUN
    write_report(evaluation_report(), out)
    return out
