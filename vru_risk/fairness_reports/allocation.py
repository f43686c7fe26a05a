"""Which allocation a model's audit judges, and the report section that says so.

A model's audit judges the places the service would have offered (:class:`Replay`: the daily
job's allocation replayed day by day over the audit window, each moment's eligibility from its
context, each programme's capacity, floor and policy from the programmes file; the operating
point :class:`~vru_risk.fairness_reports.operating_points.ServiceAllocation`). The monthly top-k
lists of :mod:`vru_risk.models.service_lists` are shown beside it as a *hindsight bound*: each
month's top ``capacity`` young people chosen knowing every score of the month, which a service
offering places day by day cannot do.

When the allocation cannot be replayed (:class:`NoReplay`: no data folder to read the moments'
eligibility from, no teachable moment of the window in it, no reference distribution for the
floors' percentiles), the audit falls back to the hindsight lists, and :func:`allocation_section`
says so plainly, why, and what to run.

Example
-------
>>> section = allocation_section(NoReplay("no data folder", "run `vru audit`"), None, None,
...     hindsight={"flagged": 3}, capacity=40)
>>> section["replayed"], section["operating_point"].startswith("the hindsight monthly")
(False, True)
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from vru_risk.fairness_reports.operating_points import (
    ALLOCATION_WORDS,
    ServiceAllocation,
    service_allocation,
)
from vru_risk.features.context import MomentContext
from vru_risk.flags.programmes import Programmes
from vru_risk.flags.replay import WindowReplay, allocation_metrics
from vru_risk.models.tags import ALLOCATION_RULE


@dataclass(frozen=True)
class Replay:
    """What replaying the service's allocation over the audit window needs: every moment's
    context, the programmes, and the model's percentile of a calibrated probability (its
    reference distribution: ``RiskModel.percentile``). ``seed`` and ``valid_days`` are the
    daily job's (its tie-breaking order and how long an offer stays valid)."""

    context: MomentContext
    programmes: Programmes
    percentile: Callable[[np.ndarray], np.ndarray]
    seed: int = 0
    valid_days: int = 90


@dataclass(frozen=True)
class NoReplay:
    """Why the service's allocation could not be replayed, and what to run so that it can."""

    why: str
    fix: str


Allocation = Replay | NoReplay


def hindsight_words(capacity: int) -> str:
    return (
        f"the hindsight monthly top-{capacity} lists (each calendar month's top {capacity} young "
        "people, chosen knowing every score of the month: a bound the service cannot reach, "
        "since it offers places day by day)"
    )


def replay_predictions(
    predictions: pd.DataFrame, replay: Replay
) -> tuple[ServiceAllocation, WindowReplay]:
    """The places the service would have offered to every audit row (labelled or not: places
    were allocated among all of them), scored by ``predictions["score"]``."""
    score = predictions["score"].to_numpy(dtype="float64")
    rows = pd.DataFrame(
        {
            "person_id": predictions["person_id"].astype(str).to_numpy(dtype=object),
            "as_of": pd.to_datetime(predictions["as_of"]).dt.date.to_numpy(dtype=object),
            "probability": score,
            "percentile": np.asarray(replay.percentile(score), dtype="float64"),
        }
    )
    return service_allocation(
        rows, replay.context, replay.programmes, seed=replay.seed, valid_days=replay.valid_days
    )


def _share(value: float) -> float | None:
    return None if np.isnan(value) else float(value)


def allocation_section(
    allocation: Allocation,
    result: WindowReplay | None,
    label: np.ndarray | None,
    *,
    hindsight: Mapping[str, Any],
    capacity: int,
) -> dict[str, Any]:
    """The report's ``allocation`` section: the operating point in plain words, whether it is
    the replay, its figures (``label``: the primary outcome of every row the replay saw, NaN
    when unknown), the hindsight bound's figures beside them, and how the mitigation table is
    assessed."""
    bound = {"name": "hindsight bound", "in_words": hindsight_words(capacity), **hindsight}
    if isinstance(allocation, NoReplay) or result is None or label is None:
        why = allocation.why if isinstance(allocation, NoReplay) else "no replay was given"
        fix = allocation.fix if isinstance(allocation, NoReplay) else ""
        return {
            "replayed": False,
            "rule": None,
            "operating_point": hindsight_words(capacity),
            "fallback": {
                "why": why,
                "fix": fix,
                "statement": (
                    f"The service's allocation could not be replayed: {why}. The rates in this "
                    f"report are those of {hindsight_words(capacity)}, not of the places the "
                    f"service would have offered. To audit those: {fix}."
                ),
            },
            "figures": None,
            "hindsight_bound": bound,
            "mitigation": "every row of the mitigation table is assessed on the hindsight "
            "monthly lists, like the rest of this report",
        }
    metrics = allocation_metrics(result, label)
    return {
        "replayed": True,
        "rule": ALLOCATION_RULE,
        "operating_point": ALLOCATION_WORDS,
        "fallback": None,
        "figures": {
            "moments": len(result.offered),
            "offered": int(result.offered.sum()),
            "offered_labelled": metrics.offered,
            "precision": _share(metrics.precision),
            "recall": _share(metrics.recall),
            "places": metrics.places,
            "places_used": metrics.places_used,
            "places_used_share": _share(metrics.places_used_share),
            "programme_days_with_a_place_left_share": _share(metrics.days_with_place_share),
        },
        "hindsight_bound": bound,
        "mitigation": (
            "the mitigation table is assessed on the scores, not on the allocation: the model "
            "as is and its group-blind refits at the hindsight monthly lists' size (a refit has "
            "no reference distribution of its own for the programmes' floors), the illustrative "
            "group-specific thresholds and ThresholdOptimizer on the scores at their own "
            "operating points"
        ),
    }
