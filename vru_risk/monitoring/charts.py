"""Line charts drawn here as inline SVG: no scripts, nothing loaded from anywhere, so the pages
work offline and print.

A chart is a ``<figure>``: the SVG (with a ``<title>`` and ``<desc>`` for screen readers), a
caption saying how to read it, and the same figures as a table in a ``<details>`` element.
Series differ by colour *and* by marker and dash, never by colour alone; a value that is not
available is a gap, never drawn as 0. Every interpolated text is escaped.

Example
-------
>>> svg = line_chart(chart_id="c", title="T <1>", x_labels=["2026-05", "2026-06"],
...                  series=[Series("s", (Point(0, 0.2, 0.1, 0.3), Point(1, None)))])
>>> "<script" in svg, "T &lt;1&gt;" in svg, "not available" in svg
(False, True, True)
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from markupsafe import Markup, escape

__all__ = ["Guide", "Point", "Series", "line_chart", "nice_ticks"]

WIDTH, HEIGHT = 760.0, 300.0
LEFT, RIGHT, TOP, BOTTOM = 64.0, 210.0, 18.0, 56.0
#: (colour, dash pattern, marker): every colour has at least 4.5:1 contrast on white
STYLES = (
    ("#0b4c8c", "", "circle"),
    ("#b35900", "6 4", "square"),
    ("#00703c", "2 3", "triangle"),
    ("#4c2c92", "10 3 2 3", "diamond"),
    ("#8a1a6b", "", "square"),
    ("#484848", "6 4", "circle"),
    ("#006d75", "2 3", "diamond"),
    ("#6b3e00", "10 3 2 3", "triangle"),
)
MARK_COLOUR = "#a4161a"


@dataclass(frozen=True)
class Point:
    """One value at x label ``x`` (an index), with its interval; ``mark``: a criterion was met
    here (drawn with a red ring and named in the table)."""

    x: int
    y: float | None
    low: float | None = None
    high: float | None = None
    mark: bool = False


@dataclass(frozen=True)
class Series:
    name: str
    points: tuple[Point, ...]


@dataclass(frozen=True)
class Guide:
    """A horizontal reference line (a threshold, what is expected)."""

    value: float
    label: str


def nice_ticks(low: float, high: float, count: int = 5) -> list[float]:
    """About ``count`` round tick values covering ``[low, high]``.

    >>> nice_ticks(0.0, 1.0)
    [0.0, 0.2, 0.4, 0.6, 0.8, 1.0]
    """
    if high <= low:
        high = low + 1.0
    raw = (high - low) / max(count, 1)
    power = 10 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 2.5, 5, 10) if m * power >= raw)
    start = math.floor(low / step) * step
    ticks = []
    value = start
    while value <= high + step * 1e-9:
        ticks.append(round(value, 10))
        value += step
    if ticks[-1] < high:
        ticks.append(round(ticks[-1] + step, 10))
    return ticks


def _f(value: float) -> str:
    return f"{value:.1f}"


def _marker(shape: str, x: float, y: float, colour: str) -> str:
    if shape == "square":
        return f'<rect x="{_f(x - 4)}" y="{_f(y - 4)}" width="8" height="8" fill="{colour}"/>'
    if shape == "triangle":
        pts = f"{_f(x)},{_f(y - 5)} {_f(x - 5)},{_f(y + 4)} {_f(x + 5)},{_f(y + 4)}"
        return f'<polygon points="{pts}" fill="{colour}"/>'
    if shape == "diamond":
        pts = f"{_f(x)},{_f(y - 5)} {_f(x + 5)},{_f(y)} {_f(x)},{_f(y + 5)} {_f(x - 5)},{_f(y)}"
        return f'<polygon points="{pts}" fill="{colour}"/>'
    return f'<circle cx="{_f(x)}" cy="{_f(y)}" r="4" fill="{colour}"/>'


def _values(series: Sequence[Series], guides: Sequence[Guide]) -> list[float]:
    out = [g.value for g in guides]
    for s in series:
        for p in s.points:
            out += [v for v in (p.y, p.low, p.high) if v is not None]
    return out


def _table(
    x_labels: Sequence[str],
    series: Sequence[Series],
    fmt: Callable[[float], str],
    mark_label: str,
) -> str:
    head = "".join(f'<th scope="col">{escape(s.name)}</th>' for s in series)
    rows = []
    for i, label in enumerate(x_labels):
        cells = []
        for s in series:
            p = next((q for q in s.points if q.x == i), None)
            if p is None or p.y is None:
                cells.append("<td>not available</td>")
                continue
            text = fmt(p.y)
            if p.low is not None and p.high is not None:
                text += f" ({fmt(p.low)} to {fmt(p.high)})"
            if p.mark:
                text += f" <strong>{escape(mark_label)}</strong>"
            cells.append(f"<td>{text}</td>")
        rows.append(f'<tr><th scope="row">{escape(label)}</th>{"".join(cells)}</tr>')
    return (
        '<details class="chart-figures"><summary>The figures as a table</summary>'
        f'<table><thead><tr><th scope="col">When</th>{head}</tr></thead>'
        f"<tbody>{''.join(rows)}</tbody></table></details>"
    )


def line_chart(
    *,
    chart_id: str,
    title: str,
    x_labels: Sequence[str],
    series: Sequence[Series],
    guides: Sequence[Guide] = (),
    band: tuple[float, float, str] | None = None,
    caption: str = "",
    percent: bool = False,
    zero: bool = True,
    mark_label: str = "criterion met",
) -> Markup:
    """A figure with one line per series over ``x_labels`` (see the module docstring).

    ``band``: (low, high, label) shaded as the acceptable range; ``percent``: values are shares
    shown as percentages; ``zero``: the axis starts at 0."""

    def fmt(v: float) -> str:
        return f"{100 * v:.1f}%" if percent else f"{v:.2f}"

    values = _values(series, guides) + (list(band[:2]) if band else [])
    if not values:
        values = [0.0, 1.0]
    low, high = min(values), max(values)
    if zero:
        low = min(low, 0.0)
    pad = (high - low) * 0.08 or 0.1
    ticks = nice_ticks(low if zero and low >= 0 else low - pad, high + pad)
    y0, y1 = ticks[0], ticks[-1]
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    n = max(len(x_labels), 1)

    def x(i: int) -> float:
        return LEFT + plot_w / 2 if n == 1 else LEFT + plot_w * i / (n - 1)

    def y(v: float) -> float:
        return TOP + plot_h * (1 - (v - y0) / (y1 - y0))

    title_id, desc_id = f"{chart_id}-title", f"{chart_id}-desc"
    parts = [
        f'<svg class="chart" viewBox="0 0 {_f(WIDTH)} {_f(HEIGHT)}" role="img" '
        f'aria-labelledby="{title_id} {desc_id}" xmlns="http://www.w3.org/2000/svg">',
        f'<title id="{title_id}">{escape(title)}</title>',
        f'<desc id="{desc_id}">{escape(caption)} The figures are in the table below the '
        "chart.</desc>",
    ]
    if band is not None:
        top, bottom = y(max(band[0], band[1])), y(min(band[0], band[1]))
        parts.append(
            f'<rect x="{_f(LEFT)}" y="{_f(top)}" width="{_f(plot_w)}" '
            f'height="{_f(bottom - top)}" fill="#e7f4ea"/>'
        )
    for t in ticks:
        parts.append(
            f'<line x1="{_f(LEFT)}" x2="{_f(LEFT + plot_w)}" y1="{_f(y(t))}" y2="{_f(y(t))}" '
            'stroke="#d8d8d8" stroke-width="1"/>'
            f'<text x="{_f(LEFT - 8)}" y="{_f(y(t) + 4)}" text-anchor="end" font-size="12" '
            f'fill="#1b1b1b">{escape(fmt(t) if percent else f"{t:g}")}</text>'
        )
    step = max(1, math.ceil(n / 10))
    for i, label in enumerate(x_labels):
        if i % step and i != n - 1:
            continue
        parts.append(
            f'<text x="{_f(x(i))}" y="{_f(TOP + plot_h + 20)}" text-anchor="middle" '
            f'font-size="12" fill="#1b1b1b">{escape(label)}</text>'
        )
    parts.append(
        f'<line x1="{_f(LEFT)}" x2="{_f(LEFT)}" y1="{_f(TOP)}" y2="{_f(TOP + plot_h)}" '
        'stroke="#6f6f6f"/>'
        f'<line x1="{_f(LEFT)}" x2="{_f(LEFT + plot_w)}" y1="{_f(TOP + plot_h)}" '
        f'y2="{_f(TOP + plot_h)}" stroke="#6f6f6f"/>'
    )
    legend_y = TOP + 6
    for g in guides:
        gy = y(g.value)
        parts.append(
            f'<line x1="{_f(LEFT)}" x2="{_f(LEFT + plot_w)}" y1="{_f(gy)}" y2="{_f(gy)}" '
            'stroke="#1b1b1b" stroke-width="1.5" stroke-dasharray="4 4"/>'
        )
    for k, s in enumerate(series):
        colour, dash, shape = STYLES[k % len(STYLES)]
        dashed = f' stroke-dasharray="{dash}"' if dash else ""
        run: list[str] = []
        segments: list[list[str]] = []
        for p in sorted(s.points, key=lambda q: q.x):
            if p.y is None:
                if run:
                    segments.append(run)
                run = []
                continue
            run.append(f"{_f(x(p.x))},{_f(y(p.y))}")
        if run:
            segments.append(run)
        for seg in segments:
            if len(seg) > 1:
                parts.append(
                    f'<polyline points="{" ".join(seg)}" fill="none" stroke="{colour}" '
                    f'stroke-width="2.5"{dashed}/>'
                )
        for p in s.points:
            if p.y is None:
                continue
            px, py = x(p.x), y(p.y)
            if p.low is not None and p.high is not None:
                lo, hi = y(p.low), y(p.high)
                parts.append(
                    f'<line x1="{_f(px)}" x2="{_f(px)}" y1="{_f(lo)}" y2="{_f(hi)}" '
                    f'stroke="{colour}" stroke-width="1.5"/>'
                    f'<line x1="{_f(px - 4)}" x2="{_f(px + 4)}" y1="{_f(lo)}" y2="{_f(lo)}" '
                    f'stroke="{colour}" stroke-width="1.5"/>'
                    f'<line x1="{_f(px - 4)}" x2="{_f(px + 4)}" y1="{_f(hi)}" y2="{_f(hi)}" '
                    f'stroke="{colour}" stroke-width="1.5"/>'
                )
            if p.mark:
                parts.append(
                    f'<circle cx="{_f(px)}" cy="{_f(py)}" r="9" fill="none" '
                    f'stroke="{MARK_COLOUR}" stroke-width="2.5"/>'
                )
            parts.append(_marker(shape, px, py, colour))
        lx = LEFT + plot_w + 16
        parts.append(
            f'<line x1="{_f(lx)}" x2="{_f(lx + 26)}" y1="{_f(legend_y)}" y2="{_f(legend_y)}" '
            f'stroke="{colour}" stroke-width="2.5"{dashed}/>'
            + _marker(shape, lx + 13, legend_y, colour)
            + f'<text x="{_f(lx + 32)}" y="{_f(legend_y + 4)}" font-size="12" '
            f'fill="#1b1b1b">{escape(_short(s.name))}</text>'
        )
        legend_y += 20
    for g in guides:
        parts.append(
            f'<line x1="{_f(LEFT + plot_w + 16)}" x2="{_f(LEFT + plot_w + 42)}" '
            f'y1="{_f(legend_y)}" y2="{_f(legend_y)}" stroke="#1b1b1b" stroke-width="1.5" '
            'stroke-dasharray="4 4"/>'
            f'<text x="{_f(LEFT + plot_w + 48)}" y="{_f(legend_y + 4)}" font-size="12" '
            f'fill="#1b1b1b">{escape(_short(g.label))}</text>'
        )
        legend_y += 20
    if band is not None:
        parts.append(
            f'<rect x="{_f(LEFT + plot_w + 16)}" y="{_f(legend_y - 6)}" width="26" height="12" '
            f'fill="#e7f4ea" stroke="#6f6f6f"/><text x="{_f(LEFT + plot_w + 48)}" '
            f'y="{_f(legend_y + 4)}" font-size="12" fill="#1b1b1b">{escape(_short(band[2]))}'
            "</text>"
        )
        legend_y += 20
    if any(p.mark for s in series for p in s.points):
        parts.append(
            f'<circle cx="{_f(LEFT + plot_w + 29)}" cy="{_f(legend_y)}" r="7" fill="none" '
            f'stroke="{MARK_COLOUR}" stroke-width="2.5"/><text x="{_f(LEFT + plot_w + 48)}" '
            f'y="{_f(legend_y + 4)}" font-size="12" fill="#1b1b1b">'
            f"{escape(_short(mark_label))}</text>"
        )
    parts.append("</svg>")
    figure = (
        f'<figure class="chart-figure" id="{chart_id}">{"".join(parts)}'
        f"<figcaption>{escape(caption)}</figcaption>"
        f"{_table(x_labels, series, fmt, mark_label)}</figure>"
    )
    return Markup(figure)


def _short(text: str, limit: int = 26) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"
