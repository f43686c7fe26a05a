"""The fairness report's charts: inline SVG drawn here, no scripts, nothing loaded from anywhere.

Every interpolated text is escaped; each chart has a ``<title>`` for screen readers. A value that
cannot be assessed is written as such beside its group, never drawn as 0.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from markupsafe import Markup, escape

from vru_risk.fairness_reports.notes import CANNOT_ASSESS

__all__ = ["calibration_charts", "calibration_error_chart", "per100", "tpr_chart"]


def per100(rate: float) -> str:
    """A rate as a whole number per 100 (``0.456`` → ``"46"``)."""
    return f"{round(100 * rate)}"


def _fmt(value: float) -> str:
    return f"{value:.1f}"


#: a generous width of one character of a chart's labels (13px sans-serif), in SVG units
CHAR_WIDTH = 7.5


def label_width(labels: Iterable[str]) -> float:
    """Room for the longest label, right-aligned before a chart's plot area (8 units apart).

    >>> label_width(["Sex: female", "Special educational needs (SEN): EHC plan"])
    327.5
    """
    return 8.0 + 12.0 + CHAR_WIDTH * max((len(label) for label in labels), default=0)


def tpr_chart(
    attribute: str,
    groups: Sequence[Mapping[str, Any]],
    band: Sequence[float] | None,
    *,
    chart_id: str = "tpr",
) -> Markup:
    """Recall (TPR) per group as dots with interval whiskers, a dashed reference line and the
    gate's ratio band shaded around it; inline SVG without external references."""
    left, right, top, row_h = 300.0, 680.0, 28.0, 26.0
    height = top + row_h * len(groups) + 54.0
    span = right - left

    def x(rate: float) -> float:
        return left + span * min(max(rate, 0.0), 1.0)

    title_id = f"{chart_id}-title"
    parts = [
        f'<svg class="chart" viewBox="0 0 780 {_fmt(height)}" width="780" '
        f'height="{_fmt(height)}" role="img" aria-labelledby="{title_id}">',
        f'<title id="{title_id}">Recall (share of young people with the outcome who were '
        f"flagged) by {escape(attribute)}, with 95% intervals</title>",
    ]
    reference = next((g for g in groups if g["is_reference"] and g["tpr"] is not None), None)
    bottom = top + row_h * len(groups)
    if reference is not None:
        ref = float(reference["tpr"])
        if band is not None:
            lo, hi = x(ref * band[0]), x(ref * band[1])
            parts.append(
                f'<rect x="{_fmt(lo)}" y="{_fmt(top - 6)}" width="{_fmt(hi - lo)}" '
                f'height="{_fmt(bottom - top + 6)}" fill="#e3e8ef"/>'
            )
        parts.append(
            f'<line x1="{_fmt(x(ref))}" x2="{_fmt(x(ref))}" y1="{_fmt(top - 6)}" '
            f'y2="{_fmt(bottom)}" stroke="#1a1a1a" stroke-dasharray="4 3"/>'
        )
        parts.append(
            f'<text x="{_fmt(x(ref))}" y="{_fmt(top - 10)}" text-anchor="end" class="small">'
            f"reference {escape(reference['group'])}&#160;</text>"
        )
    for i, g in enumerate(groups):
        y = top + row_h * i + row_h / 2
        label = f"{g['group']} (reference)" if g["is_reference"] else str(g["group"])
        parts.append(
            f'<text x="{_fmt(left - 8)}" y="{_fmt(y + 4)}" text-anchor="end">{escape(label)}</text>'
        )
        if g["suppressed"] or g["tpr"] is None:
            parts.append(
                f'<text x="{_fmt(left + 4)}" y="{_fmt(y + 4)}" class="muted">{CANNOT_ASSESS} '
                "(the table says why)</text>"
            )
            continue
        interval = g["intervals"].get("tpr")
        if interval is not None:
            x0, x1 = x(interval[0]), x(interval[1])
            parts.append(
                f'<line x1="{_fmt(x0)}" x2="{_fmt(x1)}" y1="{_fmt(y)}" y2="{_fmt(y)}" '
                'stroke="#1a1a1a" stroke-width="2"/>'
            )
            for end in (x0, x1):
                parts.append(
                    f'<line x1="{_fmt(end)}" x2="{_fmt(end)}" y1="{_fmt(y - 5)}" '
                    f'y2="{_fmt(y + 5)}" stroke="#1a1a1a" stroke-width="2"/>'
                )
        parts.append(f'<circle cx="{_fmt(x(g["tpr"]))}" cy="{_fmt(y)}" r="5" fill="#0b3d91"/>')
        words = f"{per100(g['tpr'])}%"
        if interval is not None:
            words += f" ({per100(interval[0])}–{per100(interval[1])})"
        parts.append(
            f'<text x="{_fmt(right + 8)}" y="{_fmt(y + 4)}" class="small">{escape(words)}</text>'
        )
    for tick in (0.0, 0.25, 0.5, 0.75, 1.0):
        parts.append(
            f'<line x1="{_fmt(x(tick))}" x2="{_fmt(x(tick))}" y1="{_fmt(bottom)}" '
            f'y2="{_fmt(bottom + 5)}" stroke="#1a1a1a"/>'
        )
        parts.append(
            f'<text x="{_fmt(x(tick))}" y="{_fmt(bottom + 18)}" text-anchor="middle" '
            f'class="small">{round(tick * 100)}%</text>'
        )
    parts.append(
        f'<line x1="{_fmt(left)}" x2="{_fmt(right)}" y1="{_fmt(bottom)}" y2="{_fmt(bottom)}" '
        'stroke="#1a1a1a"/>'
    )
    legend = "dot: recall; bar: 95% interval; dashed line: reference group"
    if band is not None and reference is not None:
        legend += f"; shaded: gate band (ratio {band[0]:g} to {band[1]:g})"
    parts.append(f'<text x="10" y="{_fmt(bottom + 38)}" class="small">{escape(legend)}</text>')
    parts.append("</svg>")
    return Markup("".join(parts))  # every interpolated text is escaped above


def _series_name(row: Mapping[str, Any]) -> str:
    attribute, group = row.get("attribute"), row.get("group")
    if group is None:
        return "overall"
    return f"{attribute}: {group}" if attribute else str(group)


def calibration_charts(rows: Sequence[Mapping[str, Any]]) -> list[Markup]:
    """Reliability diagrams (observed rate against mean predicted probability), one per series
    (``overall`` or ``attribute: group``); rows without both numbers are skipped."""
    series: dict[str, list[tuple[float, float]]] = {}
    for row in rows:
        predicted, observed = row.get("mean_predicted"), row.get("observed")
        if isinstance(predicted, int | float) and isinstance(observed, int | float):
            series.setdefault(_series_name(row), []).append((float(predicted), float(observed)))
    charts = []
    size, pad = 200.0, 34.0
    for index, (name, points) in enumerate(series.items()):

        def px(value: float) -> float:
            return pad + size * min(max(value, 0.0), 1.0)

        def py(value: float) -> float:
            return pad + size - size * min(max(value, 0.0), 1.0)

        title_id = f"calibration-curve-{index}"
        points.sort()
        path = " ".join(f"{_fmt(px(p))},{_fmt(py(o))}" for p, o in points)
        parts = [
            f'<svg class="chart small-multiple" viewBox="0 0 {_fmt(size + 2 * pad)} '
            f'{_fmt(size + 2 * pad)}" width="{_fmt(size + 2 * pad)}" '
            f'height="{_fmt(size + 2 * pad)}" role="img" aria-labelledby="{title_id}">',
            f'<title id="{title_id}">Calibration, {escape(name)}: observed rate against '
            "predicted probability; the dashed diagonal is perfect calibration</title>",
            f'<text x="{_fmt(pad)}" y="{_fmt(pad - 12)}">{escape(name)}</text>',
            f'<rect x="{_fmt(pad)}" y="{_fmt(pad)}" width="{_fmt(size)}" height="{_fmt(size)}" '
            'fill="none" stroke="#1a1a1a"/>',
            f'<line x1="{_fmt(px(0))}" y1="{_fmt(py(0))}" x2="{_fmt(px(1))}" y2="{_fmt(py(1))}" '
            'stroke="#555" stroke-dasharray="4 3"/>',
            f'<polyline points="{path}" fill="none" stroke="#0b3d91" stroke-width="2"/>',
        ]
        parts.extend(
            f'<circle cx="{_fmt(px(p))}" cy="{_fmt(py(o))}" r="3.5" fill="#0b3d91"/>'
            for p, o in points
        )
        for tick in (0.0, 0.5, 1.0):
            parts.append(
                f'<text x="{_fmt(px(tick))}" y="{_fmt(size + pad + 12)}" text-anchor="middle" '
                f'class="small">{tick:g}</text>'
            )
            parts.append(
                f'<text x="{_fmt(pad - 4)}" y="{_fmt(py(tick) + 4)}" text-anchor="end" '
                f'class="small">{tick:g}</text>'
            )
        parts.append(
            f'<text x="{_fmt(pad + size / 2)}" y="{_fmt(size + pad + 28)}" text-anchor="middle" '
            'class="small">predicted probability</text>'
        )
        parts.append(
            f'<text x="10" y="{_fmt(pad + size / 2)}" class="small" text-anchor="middle" '
            f'transform="rotate(-90 10 {_fmt(pad + size / 2)})">observed rate</text>'
        )
        parts.append("</svg>")
        charts.append(Markup("".join(parts)))  # every interpolated text is escaped above
    return charts


def calibration_error_chart(
    rows: Sequence[Mapping[str, Any]], tolerance: float | None
) -> Markup | None:
    """Expected calibration error per group as horizontal bars, with the gate's tolerance as a
    dashed line; None when no row carries a ``calibration_error`` key."""
    rows = [row for row in rows if "calibration_error" in row]
    if not rows:
        return None
    values = [row["calibration_error"] for row in rows]
    known = [float(v) for v in values if isinstance(v, int | float)]
    top = max([0.1, *(1.15 * v for v in known), 1.5 * (tolerance or 0.0)])
    # the labels are long ("Special educational needs (SEN): EHC plan"): the bars start after
    # the longest, so that no label is cut off on screen or in print
    left = max(200.0, label_width(_series_name(row) for row in rows))
    right, first, row_h = left + 360.0, 20.0, 24.0
    width = right + 120.0
    height = first + row_h * len(rows) + 46.0
    bottom = first + row_h * len(rows)

    def x(value: float) -> float:
        return left + (right - left) * min(max(value, 0.0), top) / top

    parts = [
        f'<svg class="chart" viewBox="0 0 {_fmt(width)} {_fmt(height)}" width="{_fmt(width)}" '
        f'height="{_fmt(height)}" role="img" aria-labelledby="calibration-error-title">',
        '<title id="calibration-error-title">Expected calibration error by group; lower is '
        "better; the dashed line is the gate's tolerance</title>",
    ]
    for i, (row, value) in enumerate(zip(rows, values, strict=True)):
        y = first + row_h * i
        parts.append(
            f'<text x="{_fmt(left - 8)}" y="{_fmt(y + 16)}" text-anchor="end">'
            f"{escape(_series_name(row))}</text>"
        )
        if not isinstance(value, int | float):
            parts.append(
                f'<text x="{_fmt(left + 4)}" y="{_fmt(y + 16)}" class="muted">{CANNOT_ASSESS}'
                "</text>"
            )
            continue
        parts.append(
            f'<rect x="{_fmt(left)}" y="{_fmt(y + 5)}" width="{_fmt(x(value) - left)}" '
            'height="14" fill="#0b3d91"/>'
        )
        parts.append(
            f'<text x="{_fmt(x(value) + 6)}" y="{_fmt(y + 16)}" class="small">{value:.3f}</text>'
        )
    if tolerance is not None:
        parts.append(
            f'<line x1="{_fmt(x(tolerance))}" x2="{_fmt(x(tolerance))}" y1="{_fmt(first)}" '
            f'y2="{_fmt(bottom)}" stroke="#7f1212" stroke-width="2" stroke-dasharray="5 3"/>'
        )
    parts.append(
        f'<line x1="{_fmt(left)}" x2="{_fmt(right)}" y1="{_fmt(bottom)}" y2="{_fmt(bottom)}" '
        'stroke="#1a1a1a"/>'
    )
    for tick in (0.0, top / 2, top):
        parts.append(
            f'<text x="{_fmt(x(tick))}" y="{_fmt(bottom + 16)}" text-anchor="middle" '
            f'class="small">{tick:.2f}</text>'
        )
    legend = "bar: calibration error (lower is better)"
    if tolerance is not None:
        legend += f"; dashed line: gate tolerance {tolerance:g}"
    parts.append(
        f'<text x="{_fmt(left)}" y="{_fmt(bottom + 36)}" class="small">{escape(legend)}</text>'
    )
    parts.append("</svg>")
    return Markup("".join(parts))  # every interpolated text is escaped above
