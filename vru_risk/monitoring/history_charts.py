"""The charts of a version's monitoring over time (:mod:`vru_risk.monitoring.charts`), from its
runs (:class:`~vru_risk.monitoring.history.RunSummary`, oldest first), each with a caption that
says in plain words what is drawn and which way is good. A chart with nothing to draw is None,
and the page says why instead.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Final

from markupsafe import Markup

from vru_risk.monitoring.charts import Guide, Point, Series, line_chart
from vru_risk.monitoring.history import RunSummary

__all__ = [
    "SelectionChart",
    "drift_chart",
    "precision_chart",
    "score_chart",
    "selection_charts",
    "slope_chart",
]

#: the separator of an intersection of attributes in a report (``ethnicity*sex``)
INTERSECTION: Final = "*"


def _labels(runs: Sequence[RunSummary]) -> list[str]:
    return [r.as_of.isoformat() for r in runs]


def precision_chart(runs: Sequence[RunSummary]) -> tuple[Markup, RunSummary] | None:
    """Realised precision by matured month, from the newest run that has matured months (each
    run recomputes every month matured so far), with what the model expects of the same moments
    and the suspension floor; None when no month has matured yet."""
    run = next((r for r in reversed(runs) if r.precision_by_month), None)
    if run is None:
        return None
    months = run.precision_by_month
    realised = Series(
        "Realised precision",
        tuple(
            Point(
                i,
                m.precision.value,
                m.precision.low,
                m.precision.high,
                mark=m.floor is not None
                and m.precision.high is not None
                and m.precision.high < m.floor,
            )
            for i, m in enumerate(months)
        ),
    )
    expected = Series(
        "Expected by the model", tuple(Point(i, m.expected) for i, m in enumerate(months))
    )
    floor = Series("Suspension floor", tuple(Point(i, m.floor) for i, m in enumerate(months)))
    chart = line_chart(
        chart_id="chart-precision",
        title=f"Realised precision by matured month (run of {run.as_of.isoformat()})",
        x_labels=[m.month for m in months],
        series=[realised, expected, floor],
        caption=(
            "Of the moments the service would have offered a place but that got no support "
            "(no place left, or the offer not taken up), the share that went on to the "
            "outcome, by the month of the moment, with 95% intervals. Higher than expected "
            "is fine; an interval wholly below the floor in consecutive months recommends "
            "suspension. Months with too few young people are withheld (gaps)."
        ),
        percent=True,
        mark_label="below the floor",
    )
    return chart, run


def slope_chart(runs: Sequence[RunSummary]) -> Markup | None:
    """Calibration slope per run with its interval and the acceptable range."""
    if not any(r.calibration_slope for r in runs):
        return None
    bounds = next((r.slope_bounds for r in reversed(runs) if r.slope_bounds), None)
    points = []
    for i, r in enumerate(runs):
        s = r.calibration_slope
        if s is None:
            points.append(Point(i, None))
            continue
        outside = (
            bounds is not None
            and s.low is not None
            and s.high is not None
            and (s.high < bounds[0] or s.low > bounds[1])
        )
        points.append(Point(i, s.value, s.low, s.high, mark=outside))
    return line_chart(
        chart_id="chart-slope",
        title="Calibration slope at each run",
        x_labels=_labels(runs),
        series=[Series("Calibration slope", tuple(points))],
        guides=[Guide(1.0, "1 = well calibrated")],
        band=(bounds[0], bounds[1], "acceptable range") if bounds else None,
        caption=(
            "How well the model's stated chances matched what happened on all matured moments "
            "(1 is perfect; below 1 the model is over-confident, above 1 under-confident), "
            "with 95% intervals. An interval wholly outside the shaded range recommends "
            "suspension."
        ),
        mark_label="outside the range",
    )


def drift_chart(
    runs: Sequence[RunSummary], names: Mapping[str, str] | None = None
) -> Markup | None:
    """Each source's largest feature drift (PSI) per run, named by ``names`` (plain words for
    the sources); a ring where the source raised a review."""
    sources = list(dict.fromkeys(d.source for r in runs for d in r.drift if d.psi is not None))
    if not sources:
        return None
    series = []
    for source in sources:
        points = []
        for i, r in enumerate(runs):
            d = next((d for d in r.drift if d.source == source), None)
            points.append(Point(i, None) if d is None else Point(i, d.psi, mark=d.raises_review))
        series.append(Series((names or {}).get(source, source), tuple(points)))
    threshold = next((r.drift_threshold for r in reversed(runs) if r.drift_threshold), None)
    return line_chart(
        chart_id="chart-drift",
        title="Largest input drift of each source at each run (PSI)",
        x_labels=_labels(runs),
        series=series,
        guides=[Guide(threshold, "drift threshold")] if threshold else [],
        caption=(
            "For each data source, how far its most-changed input moved from the reference of "
            "the same season (population stability index; 0 is no change). A source raises a "
            "review when several of its inputs pass the threshold (the dashed line is the "
            "default; a source may have its own, listed in the run's report)."
        ),
        mark_label="source raised a review",
    )


def score_chart(runs: Sequence[RunSummary]) -> Markup | None:
    """The score distribution's drift (PSI) per run against its threshold."""
    if not any(r.score_psi is not None for r in runs):
        return None
    threshold = next((r.score_psi_threshold for r in reversed(runs) if r.score_psi_threshold), None)
    points = tuple(
        Point(i, r.score_psi, mark=threshold is not None and (r.score_psi or 0.0) > threshold)
        for i, r in enumerate(runs)
    )
    return line_chart(
        chart_id="chart-score",
        title="Drift of the scores at each run (PSI)",
        x_labels=_labels(runs),
        series=[Series("Score PSI", points)],
        guides=[Guide(threshold, "review threshold")] if threshold else [],
        caption=(
            "How far the distribution of the model's scores moved from the reference of the "
            "same season (0 is no change). Above the dashed line the panel is asked to review: "
            "the young people scored, or the data behind the scores, changed."
        ),
        mark_label="above the threshold",
    )


@dataclass(frozen=True)
class SelectionChart:
    attribute: str
    chart: Markup
    reference: str


def selection_charts(runs: Sequence[RunSummary]) -> list[SelectionChart]:
    """Per audit-only attribute (intersections are in the tables only), the share of each
    group's moments offered a place at each run; withheld cells are gaps."""
    attributes = list(
        dict.fromkeys(
            g.attribute for r in runs for g in r.selection if INTERSECTION not in g.attribute
        )
    )
    out = []
    for attribute in attributes:
        groups = list(
            dict.fromkeys(g.group for r in runs for g in r.selection if g.attribute == attribute)
        )
        reference = next(
            (
                g.group
                for r in runs
                for g in r.selection
                if g.attribute == attribute and g.reference
            ),
            "",
        )
        series = []
        for group in groups:
            points = []
            for i, r in enumerate(runs):
                g = next(
                    (g for g in r.selection if g.attribute == attribute and g.group == group), None
                )
                points.append(Point(i, None if g is None else g.rate))
            name = f"{group} (reference)" if group == reference else group
            series.append(Series(name, tuple(points)))
        if not any(p.y is not None for s in series for p in s.points):
            continue
        chart = line_chart(
            chart_id=f"chart-selection-{_slug(attribute)}",
            title=f"Share of moments offered a place, by {attribute}",
            x_labels=_labels(runs),
            series=series,
            caption=(
                f"For each {attribute} group, the share of its young people's moments that the "
                "service offered a place, at each run. Groups of fewer young people than the "
                "criteria allow are withheld (gaps). The table after the charts gives each "
                "group's ratio to the reference group in the latest run, with its interval."
            ),
            percent=True,
        )
        out.append(SelectionChart(attribute=attribute, chart=chart, reference=reference))
    return out


def _slug(text: str) -> str:
    return "".join(c if c.isalnum() else "-" for c in text.lower())
