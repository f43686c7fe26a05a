"""Fixed bins shared by the monitoring reference and every later month: decided once, from the
reference frame, and stored with the reference so that a month is always binned the same way.

Two kinds of bins, chosen per feature from the reference values (missing values left aside):

- **count** bins ``0 | 1 | 2 | 3-4 | 5+`` for a feature whose values are all whole numbers and at
  least :data:`COUNT_ZERO_SHARE` (half) of them are zero: counts of rare events (exclusions,
  police contacts, A&E visits). Quantile edges would collapse onto 0 for such a feature and hide
  a change in the tail, which is where the signal is.
- **quantile** bins for everything else, with edges placed where the calendar cannot move young
  people across them (:func:`calendar_safe_edges`). Many inputs sit on a few values that the
  school calendar decides: sessions on roll in a year (380 in one year, 374 or 398 in another,
  as Easter and the half terms fall), or a rate of ``k`` late sessions out of the ninety-odd of
  a 90-day window (1/94 and 1/100 are different values). A plain quantile of such values is one
  of them, and an edge on it moves a whole block of young people to the other bin when next
  year's calendar has a few more school days: on clean data of the demo county that gave a PSI
  of 2.9 for sessions on roll and up to 3.8 for the late rate. So each decile's edge is put in
  the widest gap between neighbouring reference values within half a decile of it, and dropped
  when a value held by :data:`ATOM_SHARE` (2%) or more of the reference lies within
  :data:`ATOM_BAND` (5%, the calendar's reach) of it; edges within 5% of each other are merged.
  An input that is all one such block keeps few edges (sessions on roll keeps "almost none" and
  "some"), which is the resolution at which it can be compared from year to year.

Bins are right-closed: value ``x`` falls in bin ``i`` when ``edges[i-1] < x <= edges[i]`` (the
first bin is open below, the last open above), so values outside the reference's range still
fall in a bin. A missing value is never in a bin: it is counted apart as the **missing share**,
whose change is judged separately (a source that stopped shows as missing, not as a shift).

Example
-------
>>> import numpy as np
>>> b = decide_bins("exc_count_365d", "exclusions", np.array([0, 0, 0, 1, 2, 7, np.nan]))
>>> b.kind, b.labels
('count', ('0', '1', '2', '3-4', '5+'))
>>> b.histogram(np.array([0, 3, 4, 9, np.nan])).counts, b.histogram(np.array([np.nan])).missing
((1, 0, 0, 2, 1), 1)
>>> q = decide_bins("att_rate_90d", "attendance", np.linspace(0, 1, 101), n_bins=4)
>>> q.kind, q.edges
('quantile', (0.245, 0.495, 0.745))
"""

from __future__ import annotations

import hashlib
import itertools
import json
from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Final, Literal

import numpy as np
import numpy.typing as npt
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field

from vru_risk.features.catalog import FeatureSpec

#: The share of zeros (among non-missing whole-number values) from which a feature gets count bins.
COUNT_ZERO_SHARE: Final = 0.5
#: Count bins: right edges 0, 1, 2, 4 make the bins 0 | 1 | 2 | 3-4 | 5+.
COUNT_EDGES: Final = (0.0, 1.0, 2.0, 4.0)
COUNT_LABELS: Final = ("0", "1", "2", "3-4", "5+")
#: Quantile bins per continuous feature unless told otherwise.
DEFAULT_QUANTILE_BINS: Final = 10
#: The calendar's reach: a value a school year's calendar decides moves by up to this share from
#: one year to the next (sessions on roll in a year: 374 to 398 around 380).
ATOM_BAND: Final = 0.05
#: A value held by this share of the reference is an atom no edge may sit within ATOM_BAND of.
ATOM_SHARE: Final = 0.02


class Histogram(BaseModel):
    """Counts per bin of the non-missing values, and the number of missing values."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    counts: tuple[int, ...]
    missing: int = Field(ge=0)

    @property
    def rows(self) -> int:
        return sum(self.counts) + self.missing

    @property
    def shares(self) -> tuple[float, ...]:
        """Shares of the non-missing values per bin (all zero when there are none)."""
        n = sum(self.counts)
        return tuple(c / n if n else 0.0 for c in self.counts)

    @property
    def missing_share(self) -> float | None:
        """The share of rows that are missing (None when there are no rows)."""
        return self.missing / self.rows if self.rows else None

    def __add__(self, other: Histogram) -> Histogram:
        if len(self.counts) != len(other.counts):
            raise ValueError("histograms of different bins cannot be added")
        return Histogram(
            counts=tuple(a + b for a, b in zip(self.counts, other.counts, strict=True)),
            missing=self.missing + other.missing,
        )


class HistogramSet(BaseModel):
    """A histogram over the whole window and per calendar month (``"01"``..``"12"``)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    all: Histogram
    by_month: dict[str, Histogram]

    def season(self, month: str, *, min_rows: int) -> Histogram:
        """The same month's histogram when it holds ``min_rows`` rows, else the whole window's."""
        h = self.by_month.get(month)
        return h if h is not None and h.rows >= min_rows else self.all


def same_season(hset: HistogramSet, months: Sequence[str], *, min_rows: int) -> Histogram:
    """The reference histogram of the season of ``months``: each month the reference holds,
    weighted by its share of ``months`` (one entry per day of the window, so a window of 26 days
    of July and 2 of August is compared with July, not with a summer of equal parts), scaled to
    the rows those months hold together; the whole reference when they hold fewer than
    ``min_rows`` rows or none of them.

    >>> h = HistogramSet(all=Histogram(counts=(5, 5), missing=0), by_month={
    ...     "07": Histogram(counts=(9, 1), missing=0), "08": Histogram(counts=(1, 9), missing=0)})
    >>> same_season(h, ["07"] * 3 + ["08"], min_rows=1).counts
    (14, 6)
    """
    weights = Counter(m for m in months if m in hset.by_month and hset.by_month[m].rows)
    if not weights:
        return hset.all
    rows = sum(hset.by_month[m].rows for m in weights)
    if rows < min_rows:
        return hset.all
    total = sum(weights.values())
    counts = np.zeros(len(hset.all.counts))
    missing = 0.0
    for month, weight in weights.items():
        part = hset.by_month[month]
        scale = weight / total * rows / part.rows
        counts += scale * np.asarray(part.counts, dtype="float64")
        missing += scale * part.missing
    return Histogram(counts=tuple(round(float(c)) for c in counts), missing=round(float(missing)))


class FeatureBins(BaseModel):
    """The fixed bins of one feature (or of the score): right-closed, edges strictly increasing."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    feature: str
    source: str
    kind: Literal["count", "quantile"]
    edges: tuple[float, ...]
    labels: tuple[str, ...]

    def index(self, values: npt.ArrayLike) -> np.ndarray:
        """The bin of each value, -1 for a missing one."""
        x = np.asarray(values, dtype="float64")
        out = np.searchsorted(np.asarray(self.edges, dtype="float64"), x, side="left")
        return np.where(np.isnan(x), -1, out)

    def histogram(self, values: npt.ArrayLike) -> Histogram:
        """Counts of ``values`` per bin, and how many are missing."""
        which = self.index(values)
        counts = np.bincount(which[which >= 0], minlength=len(self.labels))
        return Histogram(counts=tuple(int(c) for c in counts), missing=int((which < 0).sum()))


def _label(x: float) -> str:
    return f"{x:.4g}"


def quantile_edges(values: np.ndarray, n_bins: int) -> tuple[float, ...]:
    """The distinct ``1/n .. (n-1)/n`` quantiles of the non-missing ``values`` (none if empty).

    >>> quantile_edges(np.array([1.0, 1.0, 1.0, 2.0]), 4)
    (1.0, 1.25)
    """
    x = values[~np.isnan(values)]
    if x.size == 0 or n_bins < 2:
        return ()
    qs = np.quantile(x, np.arange(1, n_bins) / n_bins, method="linear")
    return tuple(float(q) for q in np.unique(qs))


def calendar_safe_edges(
    values: np.ndarray,
    n_bins: int,
    *,
    band: float = ATOM_BAND,
    atom_share: float = ATOM_SHARE,
) -> tuple[float, ...]:
    """Decile edges moved where the calendar cannot shift young people across them (see the
    module docstring): for each ``i/n`` quantile, the midpoint of the widest gap between
    neighbouring distinct values within half a bin of it; dropped when a value held by
    ``atom_share`` of the values lies within ``band`` (relative) of it; then edges within
    ``band`` of the one before are merged.

    >>> calendar_safe_edges(np.array([0.0] * 5 + [1.0, 2.0, 3.0, 4.0, 5.0]), 2)
    (0.5,)
    >>> on_roll = np.r_[np.full(60, 380.0), np.full(30, 378.0), np.linspace(10, 300, 10)]
    >>> calendar_safe_edges(on_roll, 10)  # part of the year on roll, or all of it
    (339.0,)
    """
    x = np.sort(values[~np.isnan(values)])
    if x.size == 0 or n_bins < 2:
        return ()
    distinct, counts = np.unique(x, return_counts=True)
    if distinct.size < 2:
        return ()
    atoms = distinct[counts / x.size >= atom_share]
    edges: list[float] = []
    for i in range(1, n_bins):
        low, high = np.quantile(x, [(i - 0.5) / n_bins, (i + 0.5) / n_bins])
        inside = np.flatnonzero((distinct[:-1] >= low) & (distinct[1:] <= high))
        if inside.size == 0:
            continue
        gaps = distinct[inside + 1] - distinct[inside]
        widest = inside[np.isclose(gaps, gaps.max(), rtol=1e-9, atol=0.0)]
        middle = (distinct[widest] + distinct[widest + 1]) / 2
        k = widest[np.argmin(np.abs(middle - np.quantile(x, i / n_bins)))]
        edge = float((distinct[k] + distinct[k + 1]) / 2)
        if np.any(np.abs(atoms - edge) <= band * abs(edge)):
            continue
        edges.append(edge)
    kept: list[float] = []
    for edge in sorted(set(edges)):
        if kept and edge - kept[-1] <= band * max(abs(edge), abs(kept[-1])):
            continue
        kept.append(edge)
    return tuple(kept)


def _quantile_bins(feature: str, source: str, edges: tuple[float, ...]) -> FeatureBins:
    if not edges:
        labels: tuple[str, ...] = ("all",)
    else:
        labels = (
            f"<= {_label(edges[0])}",
            *(f"{_label(a)} - {_label(b)}" for a, b in itertools.pairwise(edges)),
            f"> {_label(edges[-1])}",
        )
    return FeatureBins(feature=feature, source=source, kind="quantile", edges=edges, labels=labels)


def quantile_bins(feature: str, source: str, values: npt.ArrayLike, n_bins: int) -> FeatureBins:
    """Plain quantile bins of ``values`` (the score's: probabilities are not calendar-driven)."""
    return _quantile_bins(
        feature, source, quantile_edges(np.asarray(values, dtype="float64"), n_bins)
    )


def is_mostly_zero_count(values: npt.ArrayLike) -> bool:
    """Whole numbers (ignoring missing), at least :data:`COUNT_ZERO_SHARE` of them zero.

    >>> is_mostly_zero_count([0, 0, 1, np.nan]), is_mostly_zero_count([0, 0.5, 0])
    (True, False)
    """
    x = np.asarray(values, dtype="float64")
    x = x[~np.isnan(x)]
    if x.size == 0 or not np.all(x == np.round(x)):
        return False
    return bool(np.mean(x == 0) >= COUNT_ZERO_SHARE)


def decide_bins(
    feature: str, source: str, values: npt.ArrayLike, *, n_bins: int = DEFAULT_QUANTILE_BINS
) -> FeatureBins:
    """Count bins for a mostly-zero count, calendar-safe quantile bins otherwise (see the
    module docstring)."""
    if is_mostly_zero_count(values):
        return FeatureBins(
            feature=feature, source=source, kind="count", edges=COUNT_EDGES, labels=COUNT_LABELS
        )
    edges = calendar_safe_edges(np.asarray(values, dtype="float64"), n_bins)
    return _quantile_bins(feature, source, edges)


class Binning(BaseModel):
    """The fixed bins of every feature of a spec (in the spec's order)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    spec_hash: str
    features: tuple[FeatureBins, ...]

    def of(self, feature: str) -> FeatureBins:
        for b in self.features:
            if b.feature == feature:
                return b
        raise KeyError(f"no bins for feature {feature!r}")

    @property
    def sources(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(b.source for b in self.features))

    def histograms(self, frame: pd.DataFrame) -> dict[str, Histogram]:
        """Histogram of each feature of ``frame`` (every binned feature must be a column)."""
        missing = [b.feature for b in self.features if b.feature not in frame.columns]
        if missing:
            raise ValueError(
                f"the frame lacks the feature column(s) {', '.join(missing)}: bin a frame built "
                "with the same feature spec as the reference"
            )
        return {
            b.feature: b.histogram(frame[b.feature].to_numpy(dtype="float64"))
            for b in self.features
        }

    def to_json(self) -> str:
        """Canonical JSON (sorted keys, no spaces): the same bins always give the same text."""
        return canonical_json(self.model_dump(mode="json"))

    @classmethod
    def from_json(cls, text: str) -> Binning:
        return cls.model_validate_json(text)


def bin_features(
    reference: pd.DataFrame, spec: FeatureSpec, *, n_bins: int = DEFAULT_QUANTILE_BINS
) -> Binning:
    """Decide the bins of every feature of ``spec`` from the reference frame's values."""
    missing = [n for n in spec.names if n not in reference.columns]
    if missing:
        raise ValueError(
            f"the reference frame lacks the feature column(s) {', '.join(missing)}: build it "
            "with the model's feature spec"
        )
    return Binning(
        spec_hash=spec.hash,
        features=tuple(
            decide_bins(
                f.name, f.source, reference[f.name].to_numpy(dtype="float64"), n_bins=n_bins
            )
            for f in spec.features
        ),
    )


def canonical_json(body: Mapping[str, object]) -> str:
    """Sorted keys, no spaces, no NaN (``allow_nan=False``): one text per content.

    >>> canonical_json({"b": 1, "a": [0.5, None]})
    '{"a":[0.5,null],"b":1}'
    """
    return json.dumps(body, sort_keys=True, separators=(",", ":"), allow_nan=False)


def sha256_text(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()
