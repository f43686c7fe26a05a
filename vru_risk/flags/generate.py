"""A day's flags, end to end: score every moment, match programmes within capacity, explain the
flags.

The order of work follows the costs measured on 2 cores (LightGBM ``predict`` ~160k rows/s,
``pred_contrib`` 600-5,000 rows/s): every moment is scored with one ``predict`` call
(:mod:`~vru_risk.flags.score`); programmes take the highest scores they are eligible for, within
the capacity left in their period (:mod:`~vru_risk.flags.allocate`); only the moments that become
flags are explained, in one batched ``pred_contrib`` call (:mod:`~vru_risk.flags.explain`).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import pandas as pd

from vru_risk.features.moments import Moments
from vru_risk.flags.allocate import DayRule, allocate
from vru_risk.flags.explain import FlagOptions, explain_rows
from vru_risk.flags.flag import Flag, ModelRef
from vru_risk.flags.lottery import LotteryBook
from vru_risk.flags.pacing import PacingHistory
from vru_risk.flags.programmes import Programmes
from vru_risk.flags.score import score_moments
from vru_risk.models.risk_model import RiskModel


@dataclass(frozen=True)
class FlagBatch:
    """A batch's flags with what it took to make them."""

    flags: list[Flag]
    moments: int
    scored: pd.DataFrame
    #: how each programme chose each day's offers (policy, threshold, places left)
    rules: tuple[DayRule, ...] = ()


def generate_flags(
    model: RiskModel,
    moments: Moments,
    programmes: Programmes,
    *,
    model_ref: ModelRef,
    issued: Iterable[Flag] = (),
    options: FlagOptions | None = None,
    seed: int = 0,
    pacing: PacingHistory | None = None,
    lottery: LotteryBook | None = None,
    scored: pd.DataFrame | None = None,
) -> FlagBatch:
    """Score every moment, match programmes within capacity, explain the flags (``pacing``,
    the paced programmes' history, is updated in place; so is ``lottery``, the draws recorded
    before, with the draws made: :attr:`LotteryBook.drawn`).

    ``scored``: the moments already scored elsewhere (the Spark engine,
    :func:`~vru_risk.flags.spark_score.score_moments_on_spark`), what ``score_moments`` gives:
    one row per row of ``moments.frame``, in its order (checked)."""
    opts = options or FlagOptions()
    if scored is None:
        scored = score_moments(model, moments)
    else:
        _check_aligned(scored, moments)
    rules: list[DayRule] = []
    offers = allocate(
        scored,
        moments,
        programmes,
        issued=issued,
        seed=seed,
        valid_days=opts.valid_days,
        pacing=pacing,
        rules=rules,
        lottery=lottery,
    )
    positions = list(offers)
    flags = explain_rows(
        model, moments, scored, positions, offers=offers, model_ref=model_ref, options=opts
    )
    flags.sort(key=lambda f: (f.as_of, -f.probability, f.person_id))
    return FlagBatch(flags=flags, moments=len(scored), scored=scored, rules=tuple(rules))


def _check_aligned(scored: pd.DataFrame, moments: Moments) -> None:
    """Raise ``ValueError`` unless ``scored`` lists the moments of ``moments.frame`` in order."""
    frame = moments.frame
    same = len(scored) == len(frame) and all(
        scored[c].astype(str).tolist() == frame[c].astype(str).tolist()
        for c in ("person_id", "as_of")
    )
    if not same:
        raise ValueError(
            f"the {len(scored)} scored moments are not the {len(frame)} moments to flag, in "
            "their order; score these moments (score_moments) and flag them again"
        )
