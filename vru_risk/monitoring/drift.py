"""Drift of the model's inputs against the reference, on the reference's fixed bins
(:mod:`vru_risk.monitoring.bins`), and one summary per source.

Two distances between the reference's shares ``p`` and a month's shares ``q`` over the bins of
the non-missing values:

- the **population stability index** ``PSI = sum_i (q_i - p_i) ln(q_i / p_i)``. An empty bin
  would make it infinite, so shares are floored at :data:`EPSILON` (1e-4, a hundredth of a
  percent) and renormalised to sum to 1 before it is computed; with fixed bins this changes PSI
  only where a bin is empty on one side, and caps its contribution near ``share x ln(share/1e-4)``.
- the **Jensen-Shannon distance**: the square root of the Jensen-Shannon divergence in bits, in
  [0, 1] (0: identical shares; 1: no bin in common). It needs no epsilon (``0 ln 0 = 0``).

The **missing share** (missing rows over all rows) is compared apart, as a difference: a source
that stopped, or a field that stopped being filled, shows there, not as a shift in the values.

A feature *drifted* when, on at least ``min_rows`` rows on both sides, its PSI or JS is above its
source's threshold or its missing share moved by more than the allowed change
(:class:`~vru_risk.monitoring.criteria.DriftThresholds`). :func:`source_summaries` gathers a
source's features: how many drifted and the worst (by PSI), so that one broken feed reads as one
problem.

Example
-------
>>> round(psi([0.5, 0.5], [0.25, 0.75]), 4)  # 0.25 ln 2 + 0.25 ln 1.5
0.2747
>>> js_distance([1, 0], [0, 1]), psi([0.3, 0.7], [0.3, 0.7])
(1.0, 0.0)
"""

from __future__ import annotations

import math
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import Final

import numpy as np
import numpy.typing as npt

from vru_risk.monitoring.bins import Binning, Histogram
from vru_risk.monitoring.criteria import DriftThresholds, MonitoringCriteria

#: The floor under an empty bin's share in the PSI (then shares are renormalised).
EPSILON: Final = 1e-4


def _shares(values: npt.ArrayLike) -> np.ndarray:
    x = np.asarray(values, dtype="float64")
    if x.ndim != 1 or x.size == 0 or np.any(x < 0) or not np.isfinite(x).all():
        raise ValueError("shares must be a non-empty list of non-negative numbers")
    total = x.sum()
    if total <= 0:
        raise ValueError("shares must not all be zero")
    return np.asarray(x / total, dtype="float64")


def psi(expected: npt.ArrayLike, actual: npt.ArrayLike, *, epsilon: float = EPSILON) -> float:
    """Population stability index of ``actual`` against ``expected`` (counts or shares over the
    same bins); empty bins floored at ``epsilon`` (see the module docstring)."""
    p, q = _shares(expected), _shares(actual)
    if p.size != q.size:
        raise ValueError(f"the two distributions have {p.size} and {q.size} bins")
    p = np.maximum(p, epsilon)
    q = np.maximum(q, epsilon)
    p, q = p / p.sum(), q / q.sum()
    return float(max(np.sum((q - p) * np.log(q / p)), 0.0))


def js_distance(expected: npt.ArrayLike, actual: npt.ArrayLike) -> float:
    """Jensen-Shannon distance (base 2, in [0, 1]) between two distributions over the same bins.

    >>> round(js_distance([0.5, 0.5], [0.25, 0.75]), 4)
    0.2209
    """
    p, q = _shares(expected), _shares(actual)
    if p.size != q.size:
        raise ValueError(f"the two distributions have {p.size} and {q.size} bins")
    m = (p + q) / 2

    def kl(a: np.ndarray) -> float:
        nz = a > 0
        return float(np.sum(a[nz] * np.log2(a[nz] / m[nz])))

    divergence = max((kl(p) + kl(q)) / 2, 0.0)
    return float(min(math.sqrt(divergence), 1.0))


@dataclass(frozen=True)
class FeatureDrift:
    """One feature's drift; distances are None when either side has too few non-missing rows."""

    feature: str
    source: str
    psi: float | None
    js: float | None
    missing_reference: float | None
    missing_current: float | None
    rows_reference: int
    rows_current: int
    shifted: bool
    missing_changed: bool

    @property
    def drifted(self) -> bool:
        return self.shifted or self.missing_changed

    @property
    def missing_change(self) -> float | None:
        if self.missing_reference is None or self.missing_current is None:
            return None
        return self.missing_current - self.missing_reference


def feature_drift(
    feature: str,
    source: str,
    reference: Histogram,
    current: Histogram,
    thresholds: DriftThresholds,
) -> FeatureDrift:
    """Compare one feature's month with its reference (see the module docstring)."""
    enough = min(sum(reference.counts), sum(current.counts)) >= thresholds.min_rows
    d_psi = psi(reference.counts, current.counts) if enough else None
    d_js = js_distance(reference.counts, current.counts) if enough else None
    m_ref, m_cur = reference.missing_share, current.missing_share
    rows_enough = min(reference.rows, current.rows) >= thresholds.min_rows
    missing_changed = (
        rows_enough
        and m_ref is not None
        and m_cur is not None
        and abs(m_cur - m_ref) > thresholds.missing_share_change
    )
    shifted = (d_psi is not None and d_psi > thresholds.psi) or (
        d_js is not None and d_js > thresholds.js
    )
    return FeatureDrift(
        feature=feature,
        source=source,
        psi=d_psi,
        js=d_js,
        missing_reference=m_ref,
        missing_current=m_cur,
        rows_reference=reference.rows,
        rows_current=current.rows,
        shifted=bool(shifted),
        missing_changed=bool(missing_changed),
    )


def input_drift(
    binning: Binning,
    reference: Mapping[str, Histogram],
    current: Mapping[str, Histogram],
    criteria: MonitoringCriteria,
) -> tuple[FeatureDrift, ...]:
    """Every binned feature's drift, with its source's thresholds."""
    absent = [
        b.feature
        for b in binning.features
        if b.feature not in reference or b.feature not in current
    ]
    if absent:
        raise ValueError(f"no histogram for the feature(s) {', '.join(absent)} on one side")
    return tuple(
        feature_drift(
            b.feature,
            b.source,
            reference[b.feature],
            current[b.feature],
            criteria.drift_for(b.source),
        )
        for b in binning.features
    )


@dataclass(frozen=True)
class SourceDrift:
    """A source's features taken together: how many drifted, and the worst of them. A source
    that delivered no record in the run's window (``fed`` false: between two monthly batches,
    in the summer holidays, or stopped) has inputs fed by nothing new, whose mix follows the
    delivery calendar rather than the population: they are shown, never judged (its silence
    is the outage check's)."""

    source: str
    features: tuple[FeatureDrift, ...]
    min_features_drifted: int
    fed: bool = True

    @property
    def drifted(self) -> tuple[FeatureDrift, ...]:
        if not self.fed:
            return ()
        return tuple(f for f in self.features if f.drifted)

    @property
    def worst(self) -> FeatureDrift | None:
        """The drifted feature with the largest PSI (then the largest missing-share change);
        None when none drifted."""
        if not self.drifted:
            return None
        return max(
            self.drifted,
            key=lambda f: (f.psi if f.psi is not None else -1.0, abs(f.missing_change or 0.0)),
        )

    @property
    def raises_review(self) -> bool:
        return len(self.drifted) >= self.min_features_drifted


def source_summaries(
    drifts: Sequence[FeatureDrift],
    criteria: MonitoringCriteria,
    *,
    unfed: Collection[str] = (),
) -> tuple[SourceDrift, ...]:
    """One summary per source, in the order the sources first appear (those in ``unfed``
    delivered nothing in the window: not judged)."""
    by_source: dict[str, list[FeatureDrift]] = {}
    for d in drifts:
        by_source.setdefault(d.source, []).append(d)
    return tuple(
        SourceDrift(
            source=s,
            features=tuple(fs),
            min_features_drifted=min(criteria.drift_for(s).min_features_drifted, len(fs)),
            fed=s not in unfed,
        )
        for s, fs in by_source.items()
    )
