"""The places the service would really have offered over a fold's test rows, for training's
evaluation: the daily job's allocation replayed (:func:`vru_risk.flags.replay.replay_window`),
never a copy of it.

Each model with a score in [0, 1] is replayed: its score is the probability the programmes rank
by, and its percentile is taken in the fold's own reference distribution of that model's scores
on the fold's calibration window (:func:`fold_percentile`, the function the registered model's
percentiles come from). Without the moments' context (a feature table alone) nobody can say
which moments each programme could have been offered to: the evaluation then reports only the
monthly top-k lists, chosen with hindsight, named as such (:data:`NOT_REPLAYED`).

Example
-------
>>> import numpy as np
>>> fold_percentile(np.array([0.1, 0.2, 0.3, 0.4]), np.array([0.4, 0.05])).round(1).tolist()
[100.0, 0.0]
"""

from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np
import pandas as pd

from vru_risk.features.context import MomentContext
from vru_risk.flags.allocate import Offer
from vru_risk.flags.programmes import Programmes
from vru_risk.flags.replay import AllocationMetrics, allocation_metrics, replay_window
from vru_risk.models.risk_model import percentile_in, reference_quantiles
from vru_risk.models.tags import ALLOCATION_RULE, HINDSIGHT_ONLY

#: what the summary says when the allocation could not be replayed
NOT_REPLAYED = (
    "the service's allocation was not replayed: train with --data so training can judge the "
    "places the service would offer"
)


@dataclass(frozen=True)
class ServiceAllocation:
    """What replaying the service in training needs: the programmes (and their file's hash),
    the context of every test moment (None: unknown, nothing is replayed; ``missing`` says
    why) and how many days an offer stays valid (the daily job's)."""

    programmes: Programmes
    programmes_hash: str
    context: MomentContext | None
    valid_days: int = 90
    missing: str = ""

    @property
    def replayed(self) -> bool:
        return self.context is not None

    @property
    def rule(self) -> str:
        """The allocation the metrics at capacity describe (the version's tag)."""
        return ALLOCATION_RULE if self.replayed else HINDSIGHT_ONLY

    def policies(self) -> dict[str, str]:
        """Each programme's policy, by programme id."""
        return {p.id: p.policy for p in self.programmes.programmes}

    def describe(self) -> str:
        """The policies in words, e.g. ``jump_start paced, admit_ae first_come``."""
        return ", ".join(f"{pid} {policy}" for pid, policy in self.policies().items())


@dataclass(frozen=True)
class FoldOffers:
    """One model's replayed offers over a fold's test rows: ``offered[k]`` for row k, what
    they were worth against the label, and the offers themselves (row, programme, day)."""

    offered: np.ndarray
    metrics: AllocationMetrics
    offers: tuple[Offer, ...] = ()


def fold_percentile(reference_scores: np.ndarray, score: np.ndarray) -> np.ndarray:
    """Percentiles of ``score`` in the distribution of ``reference_scores`` (a model's scores
    on the fold's calibration window), as the registered model's are made."""
    return percentile_in(reference_quantiles(reference_scores), score)


def replayable(score: np.ndarray) -> bool:
    """Whether a score can stand for a probability in the allocation (within [0, 1])."""
    values = np.asarray(score, dtype="float64")
    return bool(len(values)) and bool(np.all((values >= 0.0) & (values <= 1.0)))


def replay_fold(
    test_rows: pd.DataFrame,
    probability: np.ndarray,
    percentile: np.ndarray,
    label: np.ndarray,
    allocation: ServiceAllocation,
) -> FoldOffers:
    """The service's offers over ``test_rows`` (person_id, as_of; every test row, censored ones
    too: the service would have seen them) ranked by ``probability`` above each programme's
    floor in ``percentile``, judged against ``label`` (NaN: unknown)."""
    if allocation.context is None:
        raise ValueError(NOT_REPLAYED)
    rows = pd.DataFrame(
        {
            "person_id": test_rows["person_id"].to_numpy(),
            "as_of": test_rows["as_of"].to_numpy(),
            "probability": np.asarray(probability, dtype="float64"),
            "percentile": np.asarray(percentile, dtype="float64"),
        }
    )
    result = replay_window(
        rows, allocation.context, allocation.programmes, valid_days=allocation.valid_days
    )
    return FoldOffers(result.offered, allocation_metrics(result, label), result.offers)


def add_metrics(parts: list[AllocationMetrics]) -> AllocationMetrics:
    """Several folds' allocation counts added up (folds never share a period's places)."""
    names = [f.name for f in fields(AllocationMetrics)]
    return AllocationMetrics(**{n: sum(int(getattr(p, n)) for p in parts) for n in names})
