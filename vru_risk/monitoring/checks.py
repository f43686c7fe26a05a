"""One monitoring run's checks, as pure functions from what was known by the as-of date to
figures and :class:`~vru_risk.monitoring.verdict.Finding` s.

- **Sources** (:func:`source_silence`, :func:`source_checks`): per source, the days since a row
  was last *known* (its known date) beyond the longest silence the same season of the reference
  period showed (:attr:`~vru_risk.monitoring.sources.SourceProfile.gap_days_by_month`, so that
  the summer holidays are no outage); over its allowed days it is an outage
  (``suspension_recommended``). The month's weeks are shown beside the reference's same weeks.
- **Inputs** (:func:`input_checks`): every feature of the month against the reference's
  histograms of the same calendar months of its season (the year up to the calibration
  window's end; the whole of it when those months hold too few rows), one summary per source
  (:mod:`vru_risk.monitoring.drift`).
- **Scores** (:func:`score_check`): the score distribution on the reference's fixed score bins
  and the band occupancy; a shift beyond the drift thresholds of ``score`` (``drift.sources.score``
  in the criteria, else the default ones) is a population shift (``review``).
- **Flags against capacity** (:func:`capacity_check`): offers per programme and capacity period
  from the application database; more offers than places is a fault of the allocation
  (``review``).

Example
-------
>>> from vru_risk.monitoring.sources import source_profile
>>> import pandas as pd
>>> profile = source_profile(pd.DataFrame(), [date(2024, 7, 19), date(2024, 9, 4)])
>>> source_silence(date(2025, 7, 21), date(2025, 8, 20), profile, since=date(2025, 1, 1))
(30, 46, 0)
>>> source_silence(date(2025, 5, 1), date(2025, 6, 20), profile, since=date(2025, 1, 1))
(50, 0, 50)
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any, Final

import numpy as np
import pandas as pd

from vru_risk.flags.programmes import Programmes
from vru_risk.models.words import feature_label
from vru_risk.monitoring.bins import Histogram, same_season
from vru_risk.monitoring.criteria import MonitoringCriteria
from vru_risk.monitoring.drift import (
    FeatureDrift,
    SourceDrift,
    input_drift,
    js_distance,
    psi,
    source_summaries,
)
from vru_risk.monitoring.reference import SCORE, MonitoringReference, band_shares
from vru_risk.monitoring.sources import SourceProfile
from vru_risk.monitoring.verdict import Finding, drift_findings, outage_findings

#: the thresholds of the score's distribution are those of this key of ``drift.sources``
SCORE_SOURCE: Final = "score"


def months_between(start: date, end: date) -> tuple[str, ...]:
    """The calendar months (``"01"``..``"12"``) of the days from ``start`` to ``end``.

    >>> months_between(date(2025, 12, 20), date(2026, 1, 5))
    ('12', '01')
    """
    out: list[str] = []
    day = start
    while day <= end:
        key = f"{day.month:02d}"
        if key not in out:
            out.append(key)
        day = (day.replace(day=1) + timedelta(days=32)).replace(day=1)
    return tuple(out)


def window_months(start: date, end: date) -> tuple[str, ...]:
    """The calendar month (``"01"``..``"12"``) of every day from ``start`` to ``end``: what
    :func:`~vru_risk.monitoring.bins.same_season` weighs the reference's months by.

    >>> from collections import Counter
    >>> Counter(window_months(date(2026, 7, 6), date(2026, 8, 2)))
    Counter({'07': 26, '08': 2})
    """
    return tuple(f"{(start + timedelta(days=k)).month:02d}" for k in range((end - start).days + 1))


def season_note(reference: MonitoringReference, months: Sequence[str]) -> str:
    """Which months of the reference the run's month is compared with, in words.

    Inputs are judged against the same calendar months of the reference's season (the year up
    to the calibration window's end, :func:`~vru_risk.monitoring.reference.compute_reference`);
    scores against the same months of the calibration window where it holds them, else the
    whole window. A reference without the season's months is compared whole, and seasonal
    differences then show as drift.
    """
    months = tuple(dict.fromkeys(months))
    seasons = [h.by_month for h in reference.features.values()] or [reference.score.by_month]
    held = [m for m in months if m in seasons[0]]
    names = ", ".join(_MONTH_NAMES[int(m) - 1] for m in months)
    if len(held) == len(months):
        scored = [m for m in months if m in reference.score.by_month]
        scores = (
            ""
            if len(scored) == len(months)
            else " Scores are compared with the whole calibration window, which lacks "
            + ", ".join(_MONTH_NAMES[int(m) - 1] for m in months if m not in scored)
            + "."
        )
        return f"Compared with the same months ({names}) of the reference.{scores}"
    if held:
        return (
            f"The reference holds only part of this season ({names}); where a month has too "
            "few moments, the whole reference is used."
        )
    return (
        f"The reference window ({reference.window_start} to {reference.window_end}) holds no "
        f"moment of {names}: compared with the whole window, so differences of season (school "
        "holidays, who is seen when) can show as drift."
    )


_MONTH_NAMES = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)


# --- sources ---------------------------------------------------------------------------------


def source_silence(
    last_known: date | None, as_of: date, profile: SourceProfile | None, *, since: date
) -> tuple[int, int, int]:
    """``(silent, expected, beyond)``: days since a row was last known by ``as_of`` (since
    ``since`` when none was), the longest silence the reference showed in the months that
    silence spans, and the days beyond it."""
    start = last_known if last_known is not None else since
    silent = max((as_of - start).days, 0)
    expected = 0
    if profile is not None and silent > 0:
        months = months_between(start + timedelta(days=1), as_of)
        expected = max((profile.gap_days_by_month.get(m, 0) for m in months), default=0)
    return silent, expected, max(silent - expected, 0)


@dataclass(frozen=True)
class SourceStatus:
    """What is known of one source by the as-of date."""

    source: str
    last_known: date | None
    refreshed: date | None
    present: bool


def source_checks(
    statuses: Sequence[SourceStatus],
    weeks: pd.DataFrame,
    reference: MonitoringReference,
    criteria: MonitoringCriteria,
    *,
    as_of: date,
) -> tuple[list[dict[str, Any]], list[Finding]]:
    """Per source: silence and the month's weeks beside the reference's same weeks; outage
    findings. ``weeks``: :data:`~vru_risk.monitoring.sources.WEEK_COLUMNS` of the rows known by
    ``as_of``."""
    rows: list[dict[str, Any]] = []
    beyond: dict[str, int] = {}
    for s in statuses:
        profile = reference.sources.get(s.source)
        silent, expected, over = source_silence(
            s.last_known, as_of, profile, since=reference.window_start
        )
        beyond[s.source] = over
        mine = weeks[weeks["source"] == s.source] if not weeks.empty else weeks
        week_rows = []
        for _, w in mine.sort_values("week_start").iterrows() if not mine.empty else []:
            season = profile.by_iso_week.get(str(w["iso_week"])[-2:]) if profile else None
            week_rows.append(
                {
                    "week": str(w["iso_week"]),
                    "rows": int(w["rows"]),
                    "people": int(w["people"]),
                    "lag_median": _float(w["lag_median"]),
                    "reference_rows_mean": season.rows_mean if season else None,
                    "reference_people_mean": season.people_mean if season else None,
                    "reference_lag_median": season.lag_median if season else None,
                }
            )
        rows.append(
            {
                "source": s.source,
                "present": s.present,
                "last_known": s.last_known.isoformat() if s.last_known else None,
                "manifest_refreshed": s.refreshed.isoformat() if s.refreshed else None,
                "days_silent": silent,
                "days_expected_in_season": expected,
                "days_beyond_season": over,
                "allowed_days": criteria.outage_days.get(s.source),
                "weeks": week_rows,
            }
        )
    return rows, outage_findings(beyond, criteria)


def _float(x: object) -> float | None:
    try:
        v = float(x)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    return None if np.isnan(v) else round(v, 6)


# --- inputs ----------------------------------------------------------------------------------


def month_histograms(
    reference: MonitoringReference, months: Sequence[str], criteria: MonitoringCriteria
) -> dict[str, Histogram]:
    """The reference histogram of each feature for the same season as ``months``."""
    return {
        b.feature: same_season(
            reference.features[b.feature], months, min_rows=criteria.drift_for(b.source).min_rows
        )
        for b in reference.binning.features
    }


def input_checks(
    reference: MonitoringReference,
    frame: pd.DataFrame,
    months: Sequence[str],
    criteria: MonitoringCriteria,
    *,
    unfed: Collection[str] = (),
    phrases: Mapping[str, str] | None = None,
) -> tuple[tuple[FeatureDrift, ...], tuple[SourceDrift, ...], list[Finding]]:
    """Every feature's drift, the per-source summaries and their review findings; the sources
    in ``unfed`` delivered no record in the window and are not judged
    (:class:`~vru_risk.monitoring.drift.SourceDrift`); ``phrases`` (feature name → the
    catalog's phrase) say the features of the findings in words."""
    drifts = input_drift(
        reference.binning,
        month_histograms(reference, months, criteria),
        reference.binning.histograms(frame),
        criteria,
    )
    summaries = source_summaries(drifts, criteria, unfed=unfed)
    return drifts, summaries, drift_findings(summaries, phrases)


def drift_rows(
    summaries: Iterable[SourceDrift], phrases: Mapping[str, str] | None = None
) -> list[dict[str, Any]]:
    """The per-source summaries (and each feature's figures) for the report; ``phrases``
    (feature name -> the catalog's phrase) say the worst feature in words."""
    return [
        {
            "source": s.source,
            "features": len(s.features),
            "fed": s.fed,
            "drifted": len(s.drifted),
            "raises_review": s.raises_review,
            "worst": s.worst.feature if s.worst else None,
            "worst_words": feature_label(s.worst.feature, phrases) if s.worst else None,
            "by_feature": [
                {
                    "feature": f.feature,
                    "psi": _float(f.psi),
                    "js": _float(f.js),
                    "missing_reference": _float(f.missing_reference),
                    "missing_current": _float(f.missing_current),
                    "rows_reference": f.rows_reference,
                    "rows_current": f.rows_current,
                    "drifted": f.drifted,
                }
                for f in s.features
            ],
        }
        for s in summaries
    ]


# --- scores ----------------------------------------------------------------------------------


def score_check(
    reference: MonitoringReference,
    probability: np.ndarray,
    percentile: np.ndarray,
    months: Sequence[str],
    criteria: MonitoringCriteria,
) -> tuple[dict[str, Any], list[Finding]]:
    """The month's score distribution and bands against the reference's (same season)."""
    limits = criteria.drift_for(SCORE_SOURCE)
    expected = same_season(reference.score, months, min_rows=limits.min_rows)
    current = reference.score_bins.histogram(probability)
    enough = min(sum(expected.counts), sum(current.counts)) >= limits.min_rows
    d_psi = psi(expected.counts, current.counts) if enough else None
    d_js = js_distance(expected.counts, current.counts) if enough else None
    figures: dict[str, Any] = {
        "moments": len(probability),
        "psi": _float(d_psi),
        "js": _float(d_js),
        "judged": enough,
        "psi_threshold": limits.psi,
        "js_threshold": limits.js,
        "mean_probability": _float(np.mean(probability)) if len(probability) else None,
        "bands": band_shares(percentile) if len(percentile) else {},
        "reference_bands": reference.bands,
        "bins": list(reference.score_bins.labels),
        "shares": [round(x, 6) for x in current.shares],
        "reference_shares": [round(x, 6) for x in expected.shares],
    }
    shifted = (d_psi is not None and d_psi > limits.psi) or (d_js is not None and d_js > limits.js)
    if not shifted:
        return figures, []
    return figures, [
        Finding(
            criterion="score_shift",
            level="review",
            subject=SCORE,
            sentence=(
                f"The distribution of scores moved from the reference (PSI {d_psi:.3f}, "
                f"Jensen-Shannon {d_js:.3f}; thresholds {limits.psi}, {limits.js}): the "
                "population scored, or the data behind it, has changed."
            ),
            figures={"psi": d_psi, "js": d_js, "moments": len(probability)},
        )
    ]


# --- flags against capacity -----------------------------------------------------------------


def capacity_check(
    offers: Mapping[str, Sequence[date]], programmes: Programmes, start: date, end: date
) -> tuple[list[dict[str, Any]], list[Finding]]:
    """Per programme and capacity period overlapping ``[start, end]``: offers (their dates)
    against places; more offers than places is a fault (``review``)."""
    rows: list[dict[str, Any]] = []
    findings: list[Finding] = []
    for p in programmes.programmes:
        dates = [d for d in offers.get(p.id, ()) if p.period_start(start) <= d <= end]
        period = p.period_start(start)
        while period <= end:
            last = p.period_end(period)
            n = sum(1 for d in dates if period <= d <= last)
            rows.append(
                {
                    "programme": p.id,
                    "period_start": period.isoformat(),
                    "period_end": last.isoformat(),
                    "offered": n,
                    "capacity": p.capacity,
                    "used_share": round(n / p.capacity, 6) if p.capacity else None,
                }
            )
            if n > p.capacity:
                findings.append(
                    Finding(
                        criterion="capacity_exceeded",
                        level="review",
                        subject=p.id,
                        sentence=(
                            f"Programme {p.id}: {n} flags offered in the period from {period} "
                            f"to {last}, more than its {p.capacity} places: the allocation "
                            "did not hold to capacity."
                        ),
                        figures={"offered": n, "capacity": p.capacity, "period": str(period)},
                    )
                )
            period = last + timedelta(days=1)
    return rows, findings
