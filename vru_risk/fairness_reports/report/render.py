"""``report.html``: the self-contained page rendered from ``report.json`` alone, and the
writing of both files.

The page has no external resources at all (inline CSS, charts as inline SVG from
:mod:`.charts`), so it opens offline and can be archived as one file. A value that cannot be
assessed is shown as "cannot be assessed" with the reason, never as 0 or blank.

Example
-------
>>> _num(1234.5), _num(0.12345), _pct(0.5), _ci([0.1, 0.25], percent=True)
('1.23e+03', '0.123', '50.0%', '10.0% to 25.0%')
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Mapping, Sequence
from importlib import resources
from pathlib import Path
from typing import Any

import jinja2
from markupsafe import Markup

from vru_risk.fairness_reports.groups import INTERSECTION_SEP
from vru_risk.fairness_reports.labels import (
    ALLOCATION_WORDS,
    GLOSSARY,
    attribute_label,
    column_label,
    group_label,
)
from vru_risk.fairness_reports.notes import CANNOT_ASSESS, neutral_wording
from vru_risk.fairness_reports.report.charts import (
    calibration_charts,
    calibration_error_chart,
    tpr_chart,
)
from vru_risk.fairness_reports.report.document import MODEL_SECTIONS, to_plain

_TEMPLATE = "report.html.j2"


def _pct(value: Any) -> str:
    if value is None:
        return "—"
    return f"{100 * float(value):.1f}%"


_CANNOT = Markup('<span class="cannot">{}</span>').format(CANNOT_ASSESS)


def _rate(value: Any) -> str:
    """A group's rate as a percentage, or "cannot be assessed" (never 0, never blank)."""
    return _CANNOT if value is None else _pct(value)


def _value(value: Any, digits: int = 3) -> str:
    """A group's number (AUC, ratio, difference), or "cannot be assessed"."""
    return _CANNOT if value is None else _num(value, digits)


def _num(value: Any, digits: int = 3) -> str:
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        return f"{value:.{digits}g}" if abs(value) >= 1000 else f"{value:.{digits}f}"
    return str(value)


def _ci(interval: Sequence[float] | None, percent: bool = False) -> str:
    if interval is None:
        return ""
    if percent:
        return f"{100 * interval[0]:.1f}% to {100 * interval[1]:.1f}%"
    return f"{interval[0]:.2f} to {interval[1]:.2f}"


def _cell(value: Any) -> str:
    """A table cell: numbers formatted, lists joined, a code's underscores as spaces; nested
    records as "key: value" phrases, never as raw JSON."""
    if isinstance(value, str):
        if value in ALLOCATION_WORDS:
            return ALLOCATION_WORDS[value]
        return value.replace("_", " ") if " " not in value else value
    if isinstance(value, list) and all(isinstance(v, str | int | float) for v in value):
        return ", ".join(_cell(v) for v in value)
    if isinstance(value, dict):
        return "; ".join(f"{column_label(str(k))}: {_cell(v)}" for k, v in value.items())
    if isinstance(value, list):
        return " | ".join(_cell(v) for v in value)
    return _num(value)


def _row_cell(row: Mapping[str, Any], column: str) -> str:
    """A records table's cell, attributes and groups in words."""
    value = row.get(column)
    if column == "attribute" and isinstance(value, str):
        return attribute_label(value)
    if column == "group" and isinstance(value, str):
        return group_label(str(row.get("attribute") or ""), value)
    return _cell(value)


def _columns(rows: Sequence[Mapping[str, Any]]) -> list[str]:
    return list(dict.fromkeys(key for row in rows for key in row))


def _environment() -> jinja2.Environment:
    env = jinja2.Environment(
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(
        pct=_pct,
        num=_num,
        ci=_ci,
        cell=_cell,
        rate=_rate,
        value=_value,
        attr=attribute_label,
        grp=lambda group, attribute: group_label(str(attribute), str(group)),
        measure=column_label,
    )
    env.globals.update(
        columns=_columns, sep=INTERSECTION_SEP, row_cell=_row_cell, glossary=GLOSSARY
    )
    return env


def _template_text() -> str:
    path = resources.files("vru_risk.fairness_reports.report").joinpath("templates", _TEMPLATE)
    return path.read_text(encoding="utf-8")


def _unassessed(report: Mapping[str, Any]) -> list[dict[str, Any]]:
    """``cannot_assess`` grouped by group (in order), with the group's counts when audited."""
    counts = {(g["attribute"], g["group"]): g for g in report["groups"]}
    out: dict[tuple[str, str], dict[str, Any]] = {}
    for note in report.get("cannot_assess") or []:
        key = (note["attribute"], note["group"])
        if key not in out:
            out[key] = {
                "attribute": key[0],
                "group": key[1],
                "counts": counts.get(key),
                "notes": [],
            }
        out[key]["notes"].append(note)
    return list(out.values())


#: the two comparison columns of the group tables, by the gate's metric: what the gate judged
COMPARISONS: dict[str, dict[str, str]] = {
    "recall": {
        "ratio": "tpr_ratio",
        "difference": "fnr_difference",
        "ratio_heading": "recall ratio to reference and 95% interval",
        "difference_heading": "miss-rate difference to reference and 95% interval",
    },
    "fpr": {
        "ratio": "fpr_ratio",
        "difference": "fpr_difference",
        "ratio_heading": "false-positive-rate ratio to reference and 95% interval",
        "difference_heading": "false-positive-rate difference to reference and 95% interval",
    },
    "precision": {
        "ratio": "ppv_ratio",
        "difference": "ppv_difference",
        "ratio_heading": "precision ratio to reference and 95% interval",
        "difference_heading": "precision difference to reference and 95% interval",
    },
}


def render_html(report: Mapping[str, Any]) -> str:
    """The self-contained HTML page of a report built by :func:`build_report`.

    Inline CSS and SVG only: no scripts, no links, no fonts or images from anywhere.
    """
    groups = list(report["groups"])
    attributes = list(dict.fromkeys(g["attribute"] for g in groups))
    by_attribute = {a: [g for g in groups if g["attribute"] == a] for a in attributes}
    comparison = COMPARISONS[report["gate"].get("metric", "recall")]
    band = next(
        (list(c["band"]) for c in report["gate"]["criteria"] if c["metric"] == "tpr_ratio"),
        None,
    )  # one configuration: the same band for every attribute
    charts = {
        a: tpr_chart(
            attribute_label(a),
            [{**g, "group": group_label(a, g["group"])} for g in rows],
            band,
            chart_id=f"tpr-{i}",
        )
        for i, (a, rows) in enumerate(by_attribute.items())
    }
    tolerance = next(
        (c["band"][1] for c in report["gate"]["criteria"] if c["metric"] == "calibration_error"),
        None,
    )
    calibration = [
        {
            **row,
            "attribute": attribute_label(str(row["attribute"])) if row.get("attribute") else None,
            "group": group_label(str(row.get("attribute") or ""), str(row["group"]))
            if row.get("group") is not None
            else None,
        }
        for row in report.get("calibration") or []
    ]
    curves = calibration_charts(calibration)
    error_chart = calibration_error_chart(calibration, tolerance)
    omitted = [name for name in MODEL_SECTIONS if report.get(name) is None]
    gate_rows: dict[tuple[str, str], list[Mapping[str, Any]]] = {}
    for criterion in report["gate"]["criteria"]:
        gate_rows.setdefault((criterion["attribute"], criterion["group"]), []).append(criterion)
    template = _environment().from_string(_template_text())
    page = template.render(
        gate_rows=list(gate_rows.items()),
        report=report,
        comparison=comparison,
        unassessed=_unassessed(report),
        attributes=[a for a in attributes if INTERSECTION_SEP not in a],
        intersections=[a for a in attributes if INTERSECTION_SEP in a],
        by_attribute=by_attribute,
        charts=charts,
        calibration_charts=[*curves, *([error_chart] if error_chart is not None else [])],
        omitted=omitted,
        other_outcomes={
            name: outcome
            for name, outcome in report["outcomes"].items()
            if name != report["primary_outcome"]
        },
    )
    return neutral_wording(page) if report["subject"].get("kind") == "external" else page


# ------------------------------------------------------------------------------- writing


def _write_temp(out_dir: Path, suffix: str, text: str) -> Path:
    with tempfile.NamedTemporaryFile(
        "w", encoding="utf-8", dir=out_dir, prefix=".report-", suffix=suffix, delete=False
    ) as handle:
        handle.write(text)
    return Path(handle.name)


def write_report(report: Mapping[str, Any], out_dir: Path) -> tuple[Path, Path]:
    """Write ``report.json`` and ``report.html`` into ``out_dir`` (created if needed).

    Both are rendered first, then each is written to a temporary file in ``out_dir`` and renamed
    into place, so a reader never sees half a report. Returns the two paths (json, html).
    """
    plain = to_plain(report)
    text = json.dumps(plain, indent=2, ensure_ascii=False, allow_nan=False) + "\n"
    html = render_html(plain)
    out_dir.mkdir(parents=True, exist_ok=True)
    json_path, html_path = out_dir / "report.json", out_dir / "report.html"
    temps: list[Path] = []
    try:
        temps.append(_write_temp(out_dir, ".json", text))
        temps.append(_write_temp(out_dir, ".html", html))
        temps[0].replace(json_path)
        temps[1].replace(html_path)
    finally:
        for temp in temps:
            temp.unlink(missing_ok=True)
    return json_path, html_path
