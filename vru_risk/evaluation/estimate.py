"""The one result type every evaluation design returns, so a report and a verdict treat a lottery,
a discontinuity, an arrival-order comparison and a weighted comparison alike, while never
forgetting which one it is: ``evidence`` says how strongly the design can speak ("randomised"
only for the lottery) and ``assumptions`` lists, in words, what must hold for the figure to mean
an effect. Aggregates only: counts and rates, never a person.

The estimate is always a risk difference, treated (won, offered, referred) minus comparison, on
the primary outcome (serious-violence involvement within the horizon): negative is good.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Literal

Evidence = Literal["randomised", "consistent with", "association"]


@dataclass(frozen=True)
class Estimate:
    """A risk difference (treated − comparison) with its interval and what it rests on.

    ``estimable`` is False when the design had too little data; the figures are then NaN and
    ``notes`` says why. ``se`` is the standard error on the estimate's scale (NaN when the
    interval is not symmetric-normal), ``z`` its ratio, used against a sequential boundary.
    """

    estimate: float
    low: float
    high: float
    p_value: float
    n_won: int
    n_lost: int
    take_up_won: float
    take_up_lost: float
    method: str
    assumptions: tuple[str, ...]
    evidence: Evidence
    se: float = math.nan
    level: float = 0.95
    estimable: bool = True
    notes: tuple[str, ...] = field(default_factory=tuple)

    @property
    def z(self) -> float:
        """``estimate / se`` (NaN without a standard error)."""
        if not self.estimable or not self.se > 0:
            return math.nan
        return self.estimate / self.se

    @property
    def excludes_zero(self) -> bool:
        """The interval lies wholly on one side of no difference."""
        return self.estimable and (self.low > 0.0 or self.high < 0.0)


def not_estimable(
    *, method: str, evidence: Evidence, reason: str, n_won: int = 0, n_lost: int = 0
) -> Estimate:
    """An :class:`Estimate` saying, in ``reason``, why nothing could be estimated."""
    nan = math.nan
    return Estimate(
        estimate=nan,
        low=nan,
        high=nan,
        p_value=nan,
        n_won=n_won,
        n_lost=n_lost,
        take_up_won=nan,
        take_up_lost=nan,
        method=method,
        assumptions=(),
        evidence=evidence,
        estimable=False,
        notes=(reason,),
    )


def as_dict(estimate: Estimate) -> dict[str, object]:
    """The estimate as JSON-able fields, a number that is not finite as None.

    >>> as_dict(not_estimable(method="m", evidence="association", reason="r"))["estimate"] is None
    True
    """
    return {
        k: (None if isinstance(v, float) and not math.isfinite(v) else v)
        for k, v in asdict(estimate).items()
    }
