"""The fairness report: one JSON document for machines and one self-contained HTML page for the
ethics panel, built from the audits, the bootstrap intervals and the gate.

``report.json`` (schema :data:`SCHEMA_VERSION`) carries the numbers; ``report.html`` is rendered
from it alone (a report can be re-rendered from its JSON). The page has no external resources at
all — inline CSS, charts as inline SVG drawn here — so it opens offline and can be archived as
one file. Its sections, in order: plain-language summary; data window; groups that could not be
assessed (which, why, what it means); metrics at capacity
against baselines; calibration; groups and intersections with intervals; composition; proxy
test; mitigation; the gate per criterion with the primary statement; review history. Sections
whose input was not given (an external tool's scores have no model sections) are left out.

Top-level keys of ``report.json``
---------------------------------
``schema_version``, ``title``, ``generated_at`` (UTC), ``demo``, ``subject``, ``data_window``,
``primary_outcome``, ``operating_point``, ``population``, ``thresholds``, ``reference``,
``overall``, ``groups`` (the primary audit's groups, each with ``intervals``), ``outcomes`` (every
audit: overall and groups), ``composition``, ``gate``, ``performance``, ``calibration``,
``proxy``, ``mitigation``, ``review_history`` (null when not given), ``summary`` (sentences for a
lay reader), ``notes`` and ``cannot_assess`` (one record per group and stage that could not assess
it: ``stage``, ``attribute``, ``group``, ``reason``, ``meaning``; see
:mod:`vru_risk.fairness_reports.notes`). NaN never appears: undefined and suppressed values are
null, and the page shows them as "cannot be assessed" with the reason.

Example
-------
>>> import numpy as np, pandas as pd
>>> from vru_risk.fairness_reports.audit import Threshold, audit
>>> from vru_risk.fairness_reports.bootstrap import bootstrap_intervals
>>> from vru_risk.fairness_reports.gate import FairnessGateConfig, evaluate_gate
>>> rng = np.random.default_rng(0)
>>> y = rng.integers(0, 2, 600)
>>> scores = y + rng.normal(0, 1, 600)
>>> people = pd.DataFrame({"sex": rng.choice(["female", "male"], 600)})
>>> op = Threshold(0.5)
>>> result = audit(y, scores, sensitive_features=people, operating_point=op)
>>> intervals = bootstrap_intervals(
...     y, scores, sensitive_features=people, operating_point=op,
...     person_id=np.arange(600), n_resamples=50,
... )
>>> gate = evaluate_gate(intervals, result.by_group, FairnessGateConfig())
>>> report = build_report(
...     title="Example", subject={"kind": "external", "file": "scores.csv"},
...     data_window={"rows": 600}, audits={"label": result}, primary="label",
...     intervals=intervals, gate=gate,
... )
>>> sorted(report["groups"][0]["intervals"])[:3]
['fnr', 'fnr_difference', 'fnr_ratio']
>>> "<h2" in render_html(report)
True
"""

from __future__ import annotations

import json
import math
import tempfile
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, date, datetime
from importlib import resources
from pathlib import Path
from typing import Any

import jinja2
import numpy as np
import pandas as pd
from markupsafe import Markup

from vru_risk.fairness_reports.audit import INTERSECTION_SEP, UNKNOWN, AuditResult
from vru_risk.fairness_reports.bootstrap import BOOTSTRAP_METRICS
from vru_risk.fairness_reports.charts import (
    calibration_charts,
    calibration_error_chart,
    per100,
    tpr_chart,
)
from vru_risk.fairness_reports.gate import PRIMARY_STATEMENT, FairnessGate
from vru_risk.fairness_reports.notes import (
    CANNOT_ASSESS,
    GroupNote,
    in_report_order,
)
from vru_risk.fairness_reports.unassessable import interval_notes

__all__ = ["SCHEMA_VERSION", "build_report", "not_assessed_line", "render_html", "write_report"]

SCHEMA_VERSION = 1
"""Version of the ``report.json`` layout; bump it when a key changes meaning or disappears."""

INTERVAL_METRICS: tuple[str, ...] = tuple(
    name
    for metric in BOOTSTRAP_METRICS
    for name in (metric, f"{metric}_difference", f"{metric}_ratio")
)
"""Keys of each group's ``intervals``: ``[low, high]`` from the bootstrap, or null."""

MODEL_SECTIONS: tuple[str, ...] = (
    "performance",
    "calibration",
    "proxy",
    "mitigation",
    "review_history",
)

_TEMPLATE = "report.html.j2"
_MISSED_LIMIT = 8  # small groups named in the summary before "and N more"


# ------------------------------------------------------------------------------ plain data


def to_plain(value: Any) -> Any:
    """``value`` as JSON-ready data: NaN/inf → None, numpy scalars → Python, dates → ISO text.

    Examples
    --------
    >>> to_plain({"a": float("nan"), "b": (1, np.int64(2)), "c": date(2024, 1, 31)})
    {'a': None, 'b': [1, 2], 'c': '2024-01-31'}
    """
    if value is None or isinstance(value, str):
        return value
    if value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, bool | np.bool_):
        return bool(value)
    if isinstance(value, int | np.integer):
        return int(value)
    if isinstance(value, float | np.floating):
        return float(value) if math.isfinite(value) else None
    if isinstance(value, datetime | date | pd.Timestamp):
        return value.isoformat()
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, Mapping):
        return {str(k): to_plain(v) for k, v in value.items()}
    if isinstance(value, pd.DataFrame):
        return [to_plain(row) for row in value.to_dict(orient="records")]
    if isinstance(value, pd.Series | np.ndarray):
        return [to_plain(v) for v in value.tolist()]
    if isinstance(value, list | tuple | set | frozenset):
        return [to_plain(v) for v in value]
    return str(value)


def _section(rows: Iterable[Mapping[Any, Any]] | None) -> list[dict[str, Any]] | None:
    return None if rows is None else [to_plain(row) for row in rows]


# ------------------------------------------------------------------------------ building


def _interval_lookup(intervals: pd.DataFrame) -> dict[tuple[str, str, str], list[float] | None]:
    needed = {"attribute", "group", "metric", "low", "high"}
    missing = sorted(needed - set(intervals.columns))
    if missing:
        raise ValueError(
            f"intervals lacks the columns {missing}: pass the table from "
            "vru_risk.fairness_reports.bootstrap.bootstrap_intervals"
        )
    out: dict[tuple[str, str, str], list[float] | None] = {}
    for attribute, group, metric, low, high in intervals[
        ["attribute", "group", "metric", "low", "high"]
    ].itertuples(index=False):
        lo, hi = to_plain(low), to_plain(high)
        key = (str(attribute), str(group), str(metric))
        out[key] = [lo, hi] if lo is not None and hi is not None else None
    return out


def _groups_with_intervals(result: AuditResult, intervals: pd.DataFrame) -> list[dict[str, Any]]:
    lookup = _interval_lookup(intervals)
    records = result.to_records()
    known = {(str(r["attribute"]), str(r["group"])) for r in records}
    strangers = sorted({(a, g) for a, g, _ in lookup} - known)
    if strangers:
        raise ValueError(
            f"intervals name groups the primary audit does not have ({strangers[:5]}): "
            "bootstrap the same rows, attributes and intersections as the primary audit"
        )
    for record in records:
        key = (str(record["attribute"]), str(record["group"]))
        record["intervals"] = {m: lookup.get((*key, m)) for m in INTERVAL_METRICS}
    return records


def _composition(groups: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    keys = (
        "attribute",
        "group",
        "count",
        "flagged",
        "positives",
        "flagged_share",
        "outcome_share",
        "composition_ratio",
    )
    return [{key: group.get(key) for key in keys} for group in groups]


def _outcome(name: str, result: AuditResult, primary: str) -> dict[str, Any]:
    plain = result.to_dict()
    return {
        "primary": name == primary,
        "operating_point": plain["operating_point"],
        "population": plain["population"],
        "overall": plain["overall"],
        "reference": plain["reference"],
        "groups": plain["groups"],
    }


def build_report(
    *,
    title: str,
    subject: dict[str, Any],
    data_window: dict[str, Any],
    audits: Mapping[str, AuditResult],
    primary: str,
    intervals: pd.DataFrame,
    gate: FairnessGate,
    performance: Sequence[Mapping[Any, Any]] | None = None,
    calibration: Sequence[Mapping[Any, Any]] | None = None,
    proxy: Sequence[Mapping[Any, Any]] | None = None,
    mitigation: Sequence[Mapping[Any, Any]] | None = None,
    review_history: Sequence[Mapping[Any, Any]] | None = None,
    demo: bool = False,
    notes: list[str] | None = None,
    group_notes: Sequence[GroupNote] = (),
) -> dict[str, Any]:
    """Gather the audits, intervals and gate into the JSON-ready report.

    Parameters
    ----------
    title : str
        Heading of the report.
    subject : dict
        What is audited: ``{"kind": "model", "name", "version", "content_hash"}`` or
        ``{"kind": "external", "file", "score_column", ...}``.
    data_window : dict
        Which data the audit covers (dates, rows, people …), shown as given.
    audits : mapping of str to AuditResult
        Outcome name ("recorded label", "true involvement", "harm only", "label") → its audit,
        all at the same operating point.
    primary : str
        The outcome the gate, the intervals and the top-level ``groups`` belong to.
    intervals : pandas.DataFrame
        ``bootstrap_intervals`` of the primary audit.
    gate : FairnessGate
        ``evaluate_gate`` of the primary audit.
    performance, calibration, proxy, mitigation, review_history : list of dict, optional
        Model sections, each a list of flat records shown as a table (null in the report, and
        left out of the page, when not given). Calibration records that carry
        ``mean_predicted`` and ``observed`` (and optionally ``attribute`` and ``group``; without
        ``group`` they are the overall curve) are also drawn as reliability diagrams.
    demo : bool
        Mark the report as a demonstration (the page shows a banner).
    notes : list of str, optional
        Caveats shown with the data window.
    group_notes : sequence of GroupNote, optional
        Groups the other stages could not assess (mitigations, re-weighing, the proxy test).
        The primary audit's, the intervals' and the gate's own notes are added here; all of them
        form ``cannot_assess`` and the page's section "Groups that could not be assessed".

    Returns
    -------
    dict
        Plain data that ``json.dumps(..., allow_nan=False)`` accepts.

    Raises
    ------
    ValueError
        When ``primary`` is not among ``audits``, or the intervals belong to other groups.
    """
    if not audits:
        raise ValueError("audits is empty: pass at least the primary outcome's AuditResult")
    if primary not in audits:
        raise ValueError(f"primary {primary!r} is not among the audited outcomes {list(audits)}")
    result = audits[primary]
    plain = result.to_dict()
    groups = _groups_with_intervals(result, intervals)
    outcomes = {name: _outcome(name, audit, primary) for name, audit in audits.items()}
    gate_dict = gate.to_dict()
    gate_dict.setdefault("primary", PRIMARY_STATEMENT)
    gate_dict["outcome"] = primary
    report: dict[str, Any] = {
        "schema_version": SCHEMA_VERSION,
        "title": title,
        "generated_at": datetime.now(UTC).replace(microsecond=0).isoformat(),
        "demo": bool(demo),
        "subject": to_plain(subject),
        "data_window": to_plain(data_window),
        "primary_outcome": primary,
        "operating_point": plain["operating_point"],
        "population": plain["population"],
        "thresholds": plain["thresholds"],
        "reference": plain["reference"],
        "overall": plain["overall"],
        "groups": groups,
        "outcomes": outcomes,
        "composition": _composition(groups),
        "gate": to_plain(gate_dict),
        "performance": _section(performance),
        "calibration": _section(calibration),
        "proxy": _section(proxy),
        "mitigation": _section(mitigation),
        "review_history": _section(review_history),
        "notes": [str(note) for note in notes or []],
        "cannot_assess": [
            note.to_dict()
            for note in in_report_order(
                [*result.notes, *interval_notes(intervals), *gate.notes, *group_notes],
                [(str(g["attribute"]), str(g["group"])) for g in groups],
            )
        ],
    }
    report["summary"] = summary_sentences(report)
    return to_plain(report)  # type: ignore[no-any-return]


# ------------------------------------------------------------------------------- summary


def _interval_words(interval: Sequence[float] | None) -> str:
    if interval is None:
        return ""
    return f" (95% interval {per100(interval[0])} to {per100(interval[1])})"


def _people(n: int) -> str:
    return "1 young person" if n == 1 else f"{n:,} young people"


def _unit(population: str) -> str:
    return " (counted once per person per month)" if population == "person-months" else ""


def _recall_by_attribute(report: Mapping[str, Any]) -> list[str]:
    sentences = []
    attributes = list(dict.fromkeys(g["attribute"] for g in report["groups"]))
    for attribute in attributes:
        if INTERSECTION_SEP in attribute:
            continue
        rows = [
            g
            for g in report["groups"]
            if g["attribute"] == attribute and not g["suppressed"] and g["tpr"] is not None
        ]
        if not rows:
            continue
        rows.sort(key=lambda g: not g["is_reference"])  # the reference group first
        parts = [
            f"among the {g['group']} group{' it reached' if i == 0 else ''} "
            f"{per100(g['tpr'])}{_interval_words(g['intervals'].get('tpr'))}"
            for i, g in enumerate(rows)
        ]
        reference = report["reference"].get(attribute)
        sentences.append(
            f"By {attribute} (reference group: {reference}): " + "; ".join(parts) + "."
        )
    return sentences


def _gate_words(gate: Mapping[str, Any]) -> str:
    criteria = gate["criteria"]
    failed = [c for c in criteria if c["status"] == "fail"]
    straddle = [c for c in criteria if c["status"] == "inconclusive"]
    unjudged = [c for c in criteria if c["status"] == "not assessable"]
    if gate["status"] == "pass":
        return (
            f"Fairness check: PASSED. All {len(criteria)} comparisons were inside the agreed "
            "bands: no group's share of young people missed by the list was clearly different "
            "from the reference group's, and calibration was within tolerance."
        )
    if gate["status"] == "fail":
        shown = "; ".join(f"{c['attribute']} {c['group']}: {c['explanation']}" for c in failed[:3])
        more = f" (and {len(failed) - 3} more)" if len(failed) > 3 else ""
        return (
            f"Fairness check: FAILED. {len(failed)} of {len(criteria)} comparisons were clearly "
            f"outside the agreed band: {shown}{more}."
        )
    if not criteria:
        return (
            "Fairness check: INCONCLUSIVE. There was nothing to compare (no group besides the "
            "reference group); the panel decides."
        )
    open_ = []
    if straddle:
        open_.append(
            f"{len(straddle)} could not be settled from this data (the interval reaches both "
            "inside and outside the band)"
        )
    if unjudged:
        open_.append(
            f"{len(unjudged)} could not be judged (too few young people, nobody with the "
            "outcome, or no calibrated probabilities: see the groups that could not be assessed)"
        )
    return (
        f"Fairness check: INCONCLUSIVE. None of the {len(criteria)} comparisons was clearly "
        f"outside the agreed band, but {' and '.join(open_)}; the panel decides."
    )


def _too_small(report: Mapping[str, Any]) -> str | None:
    small = [g for g in report["groups"] if g["suppressed"]]
    if not small:
        return None
    named = [
        f"{g['attribute']}: {g['group']} ({_people(g['count'])}, {g['positives']:,} with the "
        "outcome)"
        for g in small[:_MISSED_LIMIT]
    ]
    more = f", and {len(small) - _MISSED_LIMIT} more" if len(small) > _MISSED_LIMIT else ""
    return (
        f"Too few to judge, so their rates are withheld (counts are shown): {', '.join(named)}"
        f"{more}."
    )


def _undefined_words(report: Mapping[str, Any]) -> str | None:
    partly = [g for g in report["groups"] if not g["suppressed"] and g.get("cannot_assess")]
    if not partly:
        return None
    named = [
        f"{g['attribute']}: {g['group']} ({g['cannot_assess']}: {g['cannot_assess_reason']})"
        for g in partly[:_MISSED_LIMIT]
    ]
    more = f", and {len(partly) - _MISSED_LIMIT} more" if len(partly) > _MISSED_LIMIT else ""
    return (
        f"Some rates have nothing to be measured on and are shown as '{CANNOT_ASSESS}', never "
        f"as 0: {'; '.join(named)}{more}."
    )


def _cannot_assess_words(report: Mapping[str, Any]) -> str | None:
    groups = {(n["attribute"], n["group"]) for n in report["cannot_assess"]}
    if not groups:
        return None
    return (
        f"{len(groups):,} group{' was' if len(groups) == 1 else 's were'} not assessed in full "
        "at some stage of the audit; the section 'Groups that could not be assessed' says "
        "which, why, and what that means for this report."
    )


def not_assessed_line(report: Mapping[str, Any]) -> str | None:
    """One line for the command's output: how many groups were not assessed in full."""
    groups = {(n["attribute"], n["group"]) for n in report.get("cannot_assess") or []}
    if not groups:
        return None
    return (
        f"groups not assessed in full: {len(groups):,} (which, why and what it means: "
        "'Groups that could not be assessed' in the report)"
    )


def _composition_words(report: Mapping[str, Any]) -> str | None:
    candidates = [
        g
        for g in report["groups"]
        if INTERSECTION_SEP not in g["attribute"]
        and g["group"] != UNKNOWN
        and not g["suppressed"]
        and g["composition_ratio"] is not None
        and g["composition_ratio"] > 0
    ]
    if not candidates:
        return None
    g = max(candidates, key=lambda c: abs(math.log(c["composition_ratio"])))
    return (
        f"The group whose share of the list differs most from its share of those who went on "
        f"to the outcome is {g['group']} ({g['attribute']}): {per100(g['flagged_share'])}% of "
        f"the list, {per100(g['outcome_share'])}% of those with the outcome."
    )


def summary_sentences(report: Mapping[str, Any]) -> list[str]:
    """Plain-language sentences for a lay panel member, generated from the report's numbers."""
    overall = report["overall"]
    primary = report["primary_outcome"]
    sentences = [
        f"This report looks at {_people(overall['count'])}{_unit(report['population'])}: "
        f"the list flagged {overall['flagged']:,} of them, and {overall['positives']:,} went on "
        f"to the outcome ({primary})."
    ]
    if overall.get("tpr") is not None:
        sentences.append(
            f"Of every 100 young people who went on to the outcome, the list reached "
            f"{per100(overall['tpr'])}."
        )
    if overall.get("ppv") is not None:
        sentences.append(
            f"Of every 100 young people on the list, {per100(overall['ppv'])} went on to the "
            "outcome."
        )
    sentences.extend(_recall_by_attribute(report))
    sentences.append(_gate_words(report["gate"]))
    for extra in (
        _too_small(report),
        _undefined_words(report),
        _cannot_assess_words(report),
        _composition_words(report),
    ):
        if extra:
            sentences.append(extra)
    for name, outcome in report["outcomes"].items():
        tpr = outcome["overall"].get("tpr")
        if name != primary and tpr is not None:
            sentences.append(
                f"Measured against another outcome, {name}, the list reached {per100(tpr)} of "
                "every 100 young people who went on to it."
            )
    return sentences


# ------------------------------------------------------------------------------ rendering


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
    if isinstance(value, list) and all(isinstance(v, str | int | float) for v in value):
        return ", ".join(_num(v) for v in value)
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False, allow_nan=False)
    return _num(value)


def _columns(rows: Sequence[Mapping[str, Any]]) -> list[str]:
    return list(dict.fromkeys(key for row in rows for key in row))


def _environment() -> jinja2.Environment:
    env = jinja2.Environment(
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(pct=_pct, num=_num, ci=_ci, cell=_cell, rate=_rate, value=_value)
    env.globals.update(columns=_columns, sep=INTERSECTION_SEP)
    return env


def _template_text() -> str:
    path = resources.files("vru_risk.fairness_reports").joinpath("templates", _TEMPLATE)
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


def render_html(report: Mapping[str, Any]) -> str:
    """The self-contained HTML page of a report built by :func:`build_report`.

    Inline CSS and SVG only: no scripts, no links, no fonts or images from anywhere.
    """
    groups = list(report["groups"])
    attributes = list(dict.fromkeys(g["attribute"] for g in groups))
    by_attribute = {a: [g for g in groups if g["attribute"] == a] for a in attributes}
    band = next(
        (list(c["band"]) for c in report["gate"]["criteria"] if c["metric"] == "tpr_ratio"),
        None,
    )  # one configuration: the same band for every attribute
    charts = {
        a: tpr_chart(a, rows, band, chart_id=f"tpr-{i}")
        for i, (a, rows) in enumerate(by_attribute.items())
    }
    tolerance = next(
        (c["band"][1] for c in report["gate"]["criteria"] if c["metric"] == "calibration_error"),
        None,
    )
    calibration = report.get("calibration") or []
    curves = calibration_charts(calibration)
    error_chart = calibration_error_chart(calibration, tolerance)
    omitted = [name for name in MODEL_SECTIONS if report.get(name) is None]
    template = _environment().from_string(_template_text())
    return template.render(
        report=report,
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
