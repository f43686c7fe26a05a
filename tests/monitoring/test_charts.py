"""The charts are inline SVG drawn on the server: no script, nothing loaded, text escaped, a value
that is not available is a gap (never 0), a criterion met is ringed and named in the chart's
table; the monitoring charts draw the runs' own figures."""

from __future__ import annotations

import copy
import json
import re
from datetime import UTC, datetime
from html.parser import HTMLParser

from tests.monitoring.reports import MONTHS, MonthReports
from vru_risk.monitoring import history_charts
from vru_risk.monitoring.charts import Guide, Point, Series, line_chart, nice_ticks
from vru_risk.monitoring.history import RunSummary, parse_report


class Svg(HTMLParser):
    """The elements, attributes and text of a chart."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def parsed(markup: str) -> Svg:
    svg = Svg()
    svg.feed(markup)
    return svg


def test_a_chart_is_self_contained_escaped_and_shows_gaps_not_zeros() -> None:
    chart = line_chart(
        chart_id="c1",
        title='Precision <b>"x"</b>',
        x_labels=["2026-04", "2026-05", "2026-06", "2026-07"],
        series=[
            Series(
                "Realised <i>",
                (Point(0, 0.4, 0.3, 0.5), Point(1, None), Point(2, 0.2), Point(3, 0.1, mark=True)),
            ),
        ],
        guides=[Guide(0.25, "floor")],
        band=(0.6, 1.5, "acceptable range"),
        caption="What is drawn & why.",
        percent=True,
        mark_label="below the floor",
    )
    svg = parsed(chart)
    tags = [t for t, _ in svg.tags]
    assert "script" not in tags and "image" not in tags and "foreignobject" not in tags
    refs = [
        a for _, attrs in svg.tags for k, a in attrs.items() if k in ("href", "src", "xlink:href")
    ]
    assert refs == []
    assert "<b>" not in chart and "&lt;b&gt;" in chart and "Realised &lt;i&gt;" in chart
    # the missing value splits the line: one segment of two points and no point at 0
    lines = [a["points"] for t, a in svg.tags if t == "polyline"]
    assert len(lines) == 1 and len(str(lines[0]).split()) == 2
    text = " ".join(svg.text)
    assert "2026-05 not available" in text
    assert re.search(r"10\.0%\s+below the floor", text) and "40.0% (30.0% to 50.0%)" in text
    rings = [a for t, a in svg.tags if t == "circle" and a.get("fill") == "none"]
    assert len(rings) == 2  # the point and the legend's key
    assert svg.tags[0][0] == "figure" and ("title", {"id": "c1-title"}) in svg.tags


def test_ticks_are_round_and_cover_the_values() -> None:
    assert nice_ticks(0.0, 0.62) == [0.0, 0.2, 0.4, 0.6, 0.8]
    assert nice_ticks(0.0, 1.0) == [0.0, 0.2, 0.4, 0.6, 0.8, 1.0]
    ticks = nice_ticks(0.55, 1.37)
    assert ticks == [0.4, 0.6, 0.8, 1.0, 1.2, 1.4]


def runs(month_reports: MonthReports) -> list[RunSummary]:
    out = []
    for m in MONTHS:
        report = json.loads(json.dumps(month_reports.reports[m.as_of]))
        out.append(parse_report(report))
    return out


def test_the_monitoring_charts_draw_the_runs_own_figures(month_reports: MonthReports) -> None:
    history = runs(month_reports)
    found = history_charts.precision_chart(history)
    assert found is not None
    chart, source = found
    assert source is history[-1]  # the newest run with matured months
    text = " ".join(parsed(chart).text)
    for m in source.precision_by_month:
        assert m.month in text
    assert text.count("below the floor") >= 2  # March and April, and the legend
    slope = history_charts.slope_chart(history)
    assert slope is not None and "acceptable range" in slope
    drift = history_charts.drift_chart(history, {"police_contacts": "Police contacts"})
    assert drift is not None and "Police contacts" in drift and "police_contacts" not in drift
    score = history_charts.score_chart(history)
    assert score is not None
    figures = [f"{r.score_psi:.2f}" for r in history if r.score_psi is not None]
    assert all(f in score for f in figures)
    selection = history_charts.selection_charts(history)
    assert [s.attribute for s in selection] == ["sex", "ethnicity"]  # intersections: table only
    assert {s.reference for s in selection} == {"male", "white"}
    everything = "".join([chart, slope, drift, score, *(s.chart for s in selection)])
    assert not re.search(r"P[0-9]{7}", everything)


def test_charts_with_nothing_to_draw_are_none(month_reports: MonthReports) -> None:
    early = copy.deepcopy(dict(month_reports.reports[MONTHS[0].as_of]))
    early["checks"]["outcomes"] = {"estimate": {"value": 0.3}}
    early["checks"]["scores"]["psi"] = None
    early["checks"]["inputs"] = []
    early["checks"]["groups"] = None
    run = parse_report(early, written_at=datetime(2026, 5, 1, tzinfo=UTC))
    assert history_charts.precision_chart([run]) is None
    assert history_charts.slope_chart([run]) is None
    assert history_charts.drift_chart([run]) is None
    assert history_charts.score_chart([run]) is None
    assert history_charts.selection_charts([run]) == []
