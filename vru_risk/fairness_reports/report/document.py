"""``report.json``: the audits, the bootstrap intervals and the gate gathered into plain data.

Top-level keys of ``report.json``
---------------------------------
``schema_version``, ``title``, ``generated_at`` (UTC), ``demo``, ``subject``, ``data_window``,
``primary_outcome``, ``operating_point``, ``population``, ``thresholds``, ``reference``,
``overall``, ``groups`` (the primary audit's groups, each with ``intervals``), ``outcomes`` (every
audit: overall and groups), ``composition``, ``gate``, ``performance``, ``calibration``, ``proxy``,
``mitigation``, ``review_history`` (null when not given), ``allocation`` (a model's audit: which
allocation the rates describe, in plain words, the replay's figures and the hindsight bound beside
them, or why the allocation could not be replayed; see
:func:`vru_risk.fairness_reports.allocation.allocation_section`; null otherwise), ``summary``
(sentences for a lay reader), ``notes`` and ``cannot_assess`` (one record per group and stage that
could not assess it: ``stage``, ``attribute``, ``group``, ``reason``, ``meaning``; see
:mod:`vru_risk.fairness_reports.notes`). NaN never appears: undefined and suppressed values are
null, and the page shows them as "cannot be assessed" with the reason.

Who is counted is said once per report, from ``subject["kind"]``: "young people" in an audit of
vru-risk's own model, "people" in an audit of another tool's scores (``"external"``, of any
population: adults, households …). The external report's words (:data:`TEXT_KEYS`) and its page
(:func:`~vru_risk.fairness_reports.report.render.render_html`) both go through
:func:`~vru_risk.fairness_reports.notes.neutral_wording`; data (group names, columns, the file)
are left as given.

:func:`build_report` gathers them (with the summary from :mod:`.sentences`); :func:`to_plain`
turns any value into JSON-ready data.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from vru_risk.fairness_reports.audit import AuditResult
from vru_risk.fairness_reports.bootstrap import BOOTSTRAP_METRICS, CALIBRATION
from vru_risk.fairness_reports.gate import PRIMARY_STATEMENT, FairnessGate
from vru_risk.fairness_reports.notes import GroupNote, in_report_order, neutral_wording
from vru_risk.fairness_reports.report.sentences import summary_sentences
from vru_risk.fairness_reports.unassessable import interval_notes

SCHEMA_VERSION = 1
"""Version of the ``report.json`` layout; bump it when a key changes meaning or disappears."""

INTERVAL_METRICS: tuple[str, ...] = (
    *(
        name
        for metric in BOOTSTRAP_METRICS
        for name in (metric, f"{metric}_difference", f"{metric}_ratio")
    ),
    CALIBRATION,
)
"""Keys of each group's ``intervals``: ``[low, high]`` from the bootstrap, or null (the
calibration error's only when the scores are probabilities)."""

MODEL_SECTIONS: tuple[str, ...] = (
    "performance",
    "calibration",
    "proxy",
    "mitigation",
    "review_history",
)


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
    allocation: Mapping[str, Any] | None = None,
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
    allocation : dict, optional
        A model audit's ``allocation`` section
        (:func:`vru_risk.fairness_reports.allocation.allocation_section`).
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
        "allocation": None if allocation is None else to_plain(allocation),
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
    words: dict[str, Any] = to_plain(report)
    if words["subject"].get("kind") == "external":  # scores of any population
        words = _neutral_text(words)
    return words


#: the keys whose values are the report's own words (never data: group names, columns, files)
TEXT_KEYS = frozenset(
    {"summary", "notes", "primary", "explanation", "direction", "reason", "meaning",
     "cannot_assess", "cannot_assess_reason", "suppression_reason"}
)  # fmt: skip


def _neutral_text(value: Any, *, text: bool = False) -> Any:
    """``value`` with the words of :data:`TEXT_KEYS` in neutral wording (scores of any
    population, :func:`~vru_risk.fairness_reports.notes.neutral_wording`); data left as given."""
    if isinstance(value, str):
        return neutral_wording(value) if text else value
    if isinstance(value, dict):
        return {k: _neutral_text(v, text=k in TEXT_KEYS) for k, v in value.items()}
    if isinstance(value, list):
        return [_neutral_text(v, text=text) for v in value]
    return value
