"""The monitoring reference of a model version: what the version promised at approval, computed
once from its calibration window and stored as a separate, hashed artifact of the version (never
inside the RiskModel, whose loader refuses other format versions).

:func:`compute_reference` takes the calibration window's scored moments (one row per
``person_id``, ``as_of``, with the model's features, ``probability``, ``percentile``, the label
and the audit-only group columns), their :class:`~vru_risk.features.context.MomentContext` and
the programmes, and records:

- the fixed bins of every feature and of the score (:mod:`vru_risk.monitoring.bins`), and the
  histograms on them overall and per calendar month of ``as_of`` (drift is judged against the
  same season). The features' bins and histograms come from the *season*: the moments of the
  year up to the calibration window's end when they are given (the calibration window holds
  only six months, and a month it lacks would otherwise be compared with other seasons: August,
  with no school, against January to June). Inputs do not depend on the model, so the months
  it was trained on describe them as well as any; the score's histograms stay on the
  calibration window, where the model had not seen the moments;
- per source, the share of moments with at least one of its features known (overall and per
  month), and its weekly seasonal profile when weekly rows are given
  (:mod:`vru_risk.monitoring.sources`);
- band occupancy (:data:`vru_risk.flags.flag.BANDS`);
- the precision and recall of the offers the *real allocation* would have made over the window
  (:func:`vru_risk.flags.replay.replay_window`: floors, capacity per period, day-by-day filling),
  never a top-k list chosen with hindsight;
- selection rates by audit-only group, cells under ``min_people_per_cell`` distinct people
  suppressed (:mod:`vru_risk.monitoring.groups`);
- the mix of recorded values of every categorical column of the sources per month of the
  season, which coding changes are judged against (:mod:`vru_risk.monitoring.coding`).

:meth:`MonitoringReference.to_json` writes canonical JSON with :data:`REFERENCE_FORMAT` and the
sha256 ``hash`` of the body; :meth:`MonitoringReference.from_json` refuses another format or a
body that does not match its hash, saying what to do.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import date
from typing import Any, Final

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, ValidationError

from vru_risk.data.contract import AUDIT_ONLY_COLUMNS
from vru_risk.features.catalog import FeatureSpec
from vru_risk.features.context import MomentContext
from vru_risk.flags.flag import BANDS
from vru_risk.flags.programmes import Programmes
from vru_risk.flags.replay import allocation_metrics, replay_window
from vru_risk.monitoring.bins import (
    DEFAULT_QUANTILE_BINS,
    Binning,
    FeatureBins,
    HistogramSet,
    bin_features,
    canonical_json,
    quantile_bins,
    sha256_text,
)
from vru_risk.monitoring.coding import CategoryMix, category_mixes
from vru_risk.monitoring.groups import GroupRate, selection_rates
from vru_risk.monitoring.sources import SourceProfile, source_profile
from vru_risk.pydantic_errors import error_lines

REFERENCE_FORMAT: Final = "vru-monitoring-reference-2"
#: the bins of the score are decided on ``probability`` under this name
SCORE: Final = "probability"


class ReferenceError(ValueError):
    """A reference that cannot be used, and what to do."""


class AllocationExpectation(BaseModel):
    """What the real allocation would have offered over the window, and how well."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    offered: int
    offered_positive: int
    positives: int
    precision: float | None
    recall: float | None
    places: int
    places_used_share: float | None
    days_with_place_share: float | None
    offers_by_programme: dict[str, int]


class MonitoringReference(BaseModel):
    """See the module docstring; ``hash`` is computed, not stored in the body."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    format: str = REFERENCE_FORMAT
    spec_hash: str
    window_start: date
    window_end: date
    moments: int
    people: int
    label: str
    binning: Binning
    features: dict[str, HistogramSet]
    source_coverage: dict[str, dict[str, float]]
    score_bins: FeatureBins
    score: HistogramSet
    bands: dict[str, float]
    allocation: AllocationExpectation
    min_people_per_cell: int
    groups: dict[str, tuple[GroupRate, ...]]
    sources: dict[str, SourceProfile]
    #: per ``source.column``, the recorded values' counts per month of the season
    categories: dict[str, CategoryMix]
    seed: int
    valid_days: int

    def body_json(self) -> str:
        return canonical_json(self.model_dump(mode="json"))

    @property
    def hash(self) -> str:
        """sha256 of the canonical body: what the panel's approval records."""
        return sha256_text(self.body_json())

    def to_json(self) -> str:
        body = self.model_dump(mode="json")
        return canonical_json({**body, "hash": self.hash})

    @classmethod
    def from_json(cls, text: str) -> MonitoringReference:
        """Read a reference written by :meth:`to_json`; refuse another format or a body that does
        not match its hash."""
        try:
            doc = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ReferenceError(
                f"the monitoring reference is not JSON ({exc}); recreate it with "
                "`vru monitor reference --version N`"
            ) from None
        if not isinstance(doc, dict):
            raise ReferenceError("the monitoring reference is not a JSON object; recreate it")
        found = doc.get("format")
        if found != REFERENCE_FORMAT:
            raise ReferenceError(
                f"the monitoring reference has format {found!r}, and this vru-risk reads only "
                f"{REFERENCE_FORMAT!r}: recreate the version's reference with this vru-risk "
                "(`vru monitor reference --version N`) and have the panel record its new hash"
            )
        stored = doc.pop("hash", None)
        try:
            ref = cls.model_validate(doc)
        except ValidationError as exc:
            lines = "; ".join(error_lines(exc, default="(reference)")[:5])
            raise ReferenceError(
                f"the monitoring reference cannot be read ({lines}); recreate it"
            ) from None
        if stored != ref.hash:
            raise ReferenceError(
                f"the monitoring reference's content does not match its hash ({stored!r} stored, "
                f"{ref.hash!r} computed): it was changed after it was written; recreate it "
                "and have the panel record the new hash"
            )
        return ref


def _months(as_of: pd.Series) -> np.ndarray:
    return np.asarray(pd.to_datetime(as_of).dt.strftime("%m").to_numpy(), dtype=object)


def _histogram_set(bins: FeatureBins, values: np.ndarray, months: np.ndarray) -> HistogramSet:
    return HistogramSet(
        all=bins.histogram(values),
        by_month={str(m): bins.histogram(values[months == m]) for m in sorted(set(months))},
    )


def band_shares(percentile: np.ndarray) -> dict[str, float]:
    """The share of moments in each band of :data:`~vru_risk.flags.flag.BANDS`.

    >>> band_shares(np.array([99.5, 96.0, 50.0, 10.0]))["below the highest 25%"]
    0.5
    """
    lows = np.array([low for low, _ in BANDS], dtype="float64")  # highest first
    pct = percentile[~np.isnan(percentile)]
    which = np.minimum((pct[:, None] < lows[None, :]).sum(axis=1), len(BANDS) - 1)
    counts = np.bincount(which, minlength=len(BANDS))
    n = len(pct)
    return {label: (float(counts[i]) / n if n else 0.0) for i, (_, label) in enumerate(BANDS)}


def source_coverage(
    frame: pd.DataFrame, spec: FeatureSpec, months: np.ndarray
) -> dict[str, dict[str, float]]:
    """Per source: the share of moments with at least one of its features known, over the whole
    window (``"all"``) and per calendar month."""
    out: dict[str, dict[str, float]] = {}
    for source in spec.sources:
        names = [f.name for f in spec.features if f.source == source]
        known = frame[names].notna().any(axis=1).to_numpy()
        shares = {"all": float(known.mean()) if len(known) else 0.0}
        shares.update({str(m): float(known[months == m].mean()) for m in sorted(set(months))})
        out[source] = shares
    return out


def _none_if_nan(x: float) -> float | None:
    return None if np.isnan(x) else float(x)


def compute_reference(
    scored: pd.DataFrame,
    context: MomentContext,
    programmes: Programmes,
    spec: FeatureSpec,
    *,
    label: str,
    min_people_per_cell: int,
    group_columns: Sequence[str] | None = None,
    intersections: Sequence[Sequence[str]] = (),
    source_weeks: pd.DataFrame | None = None,
    source_days: Mapping[str, Sequence[date]] | None = None,
    season: pd.DataFrame | None = None,
    category_counts: pd.DataFrame | None = None,
    seed: int = 0,
    valid_days: int = 90,
    n_bins: int = DEFAULT_QUANTILE_BINS,
) -> MonitoringReference:
    """The reference of a version from its calibration window (see the module docstring).

    ``group_columns`` defaults to the audit-only columns present in ``scored``;
    ``source_weeks`` (:data:`~vru_risk.monitoring.sources.WEEK_COLUMNS`) and ``source_days``
    (per source, the days with events) give the sources' seasonal profiles; ``season`` (the
    moments of the year up to the window's end: ``as_of`` and the features) the features'
    bins and seasonal histograms (default: ``scored`` itself); ``category_counts``
    (:data:`~vru_risk.monitoring.coding.COUNT_COLUMNS` of the season's rows) the recorded
    values' mix that coding changes are judged against.
    """
    need = ["person_id", "as_of", SCORE, "percentile", label]
    absent = [c for c in need if c not in scored.columns]
    if absent:
        raise ReferenceError(
            f"the scored calibration window lacks the column(s) {', '.join(absent)}: score it "
            "with the version's RiskModel and join the label"
        )
    if scored.empty:
        raise ReferenceError(
            "the calibration window has no scored moments: a reference needs the moments the "
            "version was calibrated on"
        )
    frame = scored.reset_index(drop=True)
    as_of = pd.to_datetime(frame["as_of"])
    months = _months(frame["as_of"])
    inputs = frame if season is None or season.empty else season.reset_index(drop=True)
    input_months = _months(inputs["as_of"])
    binning = bin_features(inputs, spec, n_bins=n_bins)
    features = {
        b.feature: _histogram_set(b, inputs[b.feature].to_numpy(dtype="float64"), input_months)
        for b in binning.features
    }
    probability = frame[SCORE].to_numpy(dtype="float64")
    score_bins = quantile_bins(SCORE, "score", probability, n_bins)
    replayed = replay_window(frame, context, programmes, seed=seed, valid_days=valid_days)
    metrics = allocation_metrics(replayed, frame[label].to_numpy(dtype="float64"))
    by_programme = {p.id: 0 for p in programmes.programmes}
    for o in replayed.offers:
        by_programme[o.programme] += 1
    groups_wanted = (
        [c for c in AUDIT_ONLY_COLUMNS if c in frame.columns]
        if group_columns is None
        else list(group_columns)
    )
    weeks = source_weeks if source_weeks is not None else pd.DataFrame()
    days = dict(source_days or {})
    profiled = sorted(set(days) | (set(weeks["source"]) if not weeks.empty else set()))
    return MonitoringReference(
        spec_hash=spec.hash,
        window_start=as_of.min().date(),
        window_end=as_of.max().date(),
        moments=len(frame),
        people=int(frame["person_id"].astype(str).nunique()),
        label=label,
        binning=binning,
        features=features,
        source_coverage=source_coverage(frame, spec, months),
        score_bins=score_bins,
        score=_histogram_set(score_bins, probability, months),
        bands=band_shares(frame["percentile"].to_numpy(dtype="float64")),
        allocation=AllocationExpectation(
            offered=metrics.offered,
            offered_positive=metrics.offered_positive,
            positives=metrics.positives,
            precision=_none_if_nan(metrics.precision),
            recall=_none_if_nan(metrics.recall),
            places=metrics.places,
            places_used_share=_none_if_nan(metrics.places_used_share),
            days_with_place_share=_none_if_nan(metrics.days_with_place_share),
            offers_by_programme=by_programme,
        ),
        min_people_per_cell=min_people_per_cell,
        groups=selection_rates(
            frame,
            replayed.offered,
            groups_wanted,
            min_people=min_people_per_cell,
            intersections=intersections,
        ),
        sources={
            s: source_profile(
                weeks[weeks["source"] == s] if not weeks.empty else weeks, days.get(s, ())
            )
            for s in profiled
        },
        categories=category_mixes(
            category_counts if category_counts is not None else pd.DataFrame()
        ),
        seed=seed,
        valid_days=valid_days,
    )


def reference_summary(ref: MonitoringReference) -> dict[str, Any]:
    """A few headline figures of a reference, for a report or a log line."""
    return {
        "hash": ref.hash,
        "window": f"{ref.window_start} to {ref.window_end}",
        "moments": ref.moments,
        "people": ref.people,
        "expected_precision": ref.allocation.precision,
        "expected_recall": ref.allocation.recall,
    }
