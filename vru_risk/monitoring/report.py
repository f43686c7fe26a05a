"""The monitoring report of one run: ``report.json`` and a ``report.html`` written for a lay
ethics panel (what was checked, what was found, what to do), aggregates only: no person
identifier is ever an input of :func:`build_report`.

The checks this version of vru-risk does not make yet are listed as such
(:data:`NOT_YET_CHECKED`), never shown as passing.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import date
from importlib import resources
from pathlib import Path
from typing import Any, Final

import jinja2

from vru_risk.data.contract import source_name
from vru_risk.models.words import attribute_label, group_label, plain
from vru_risk.monitoring.verdict import Verdict

REPORT_FORMAT: Final = "vru-monitoring-report-1"
NOT_CHECKED: Final = "not yet checked by this version of vru-risk"
#: checks the issue asks for that a run may not make (each with what it would show): the groups
#: section needs the audit-only attributes of people
NOT_YET_CHECKED: Final = (
    (
        "groups",
        "selection rates by audit-only group and intersection in service, with intervals",
    ),
)
LEVEL_WORDS: Final = {
    "nothing": "Nothing to report",
    "review": "Review: the ethics panel should look",
    "suspension_recommended": "Suspension recommended: the ethics panel decides",
}
WHAT_TO_DO: Final = {
    "nothing": "No action is needed. The next monthly run checks again.",
    "review": (
        "The ethics panel should look at the findings below at its next meeting and record "
        "what it decides. The model keeps running meanwhile."
    ),
    "suspension_recommended": (
        "The ethics panel should meet promptly and decide whether to suspend the model "
        "(`vru review suspend --version {version}`). Monitoring never suspends anything by itself; "
        "until the panel decides, the model keeps reaching practitioners."
    ),
}


def build_report(
    *,
    subject: Mapping[str, Any],
    as_of: date,
    window: tuple[date, date],
    data: Mapping[str, Any],
    verdict: Verdict,
    sources: Sequence[Mapping[str, Any]],
    inputs: Sequence[Mapping[str, Any]],
    season: str,
    scores: Mapping[str, Any],
    capacity: Mapping[str, Any],
    outcomes: Mapping[str, Any],
    notify: Sequence[str],
    groups: Mapping[str, Any] | None = None,
    decisions: Mapping[str, Any],
    feedback: Mapping[str, Any],
    notify_note: str | None,
    generated_at: str | None = None,
    coding: Sequence[Mapping[str, Any]] = (),
) -> dict[str, Any]:
    """The report as a JSON-able dict (see the module docstring); ``generated_at``: when the
    run was made (UTC, ISO 8601), which the panel's later decisions are compared with."""
    return {
        "format": REPORT_FORMAT,
        "title": f"Monitoring of vru-risk version {subject['version']} on {as_of.isoformat()}",
        "generated_at": generated_at,
        "subject": dict(subject),
        "as_of": as_of.isoformat(),
        "window": {"start": window[0].isoformat(), "end": window[1].isoformat()},
        "data": dict(data),
        "verdict": {
            "level": verdict.level,
            "headline": LEVEL_WORDS[verdict.level],
            "exit_code": verdict.exit_code,
            "summary": verdict.summary,
            "what_to_do": WHAT_TO_DO[verdict.level].format(version=subject["version"]),
            "findings": [f.to_dict() for f in verdict.findings],
        },
        "checks": {
            "sources": list(sources),
            "inputs": list(inputs),
            "coding": list(coding),
            "season": season,
            "scores": dict(scores),
            "capacity": dict(capacity),
            "outcomes": dict(outcomes),
            "groups": dict(groups) if groups is not None else None,
            "decisions": dict(decisions),
            "feedback": dict(feedback),
        },
        "not_checked": [
            {"check": name, "what": what, "status": NOT_CHECKED}
            for name, what in NOT_YET_CHECKED
            if not (name == "groups" and groups is not None)
        ],
        "notify": {"people": list(notify), "note": notify_note},
    }


def _num(value: Any, digits: int = 3) -> str:
    if value is None:
        return "n/a"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return str(value)


def _pct(value: Any) -> str:
    return "n/a" if value is None else f"{100 * float(value):.1f}%"


def render_html(report: Mapping[str, Any]) -> str:
    """The self-contained page of a report: inline CSS, no scripts, no links."""
    env = jinja2.Environment(
        autoescape=True, undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True
    )
    env.filters.update(
        num=_num,
        pct=_pct,
        source=source_name,
        attr=attribute_label,
        grp=lambda group, attribute: group_label(str(attribute), str(group)),
        words=lambda code: plain(str(code)),
    )
    text = resources.files("vru_risk.monitoring").joinpath("templates", "report.html.j2")
    return env.from_string(text.read_text(encoding="utf-8")).render(r=report)


def write_report(report: Mapping[str, Any], out: Path) -> tuple[Path, Path]:
    """Write ``report.json`` and ``report.html`` into ``out`` (created); return both paths."""
    out.mkdir(parents=True, exist_ok=True)
    json_path, html_path = out / "report.json", out / "report.html"
    json_path.write_text(
        json.dumps(report, indent=1, sort_keys=True, allow_nan=False) + "\n", encoding="utf-8"
    )
    html_path.write_text(render_html(report), encoding="utf-8")
    return json_path, html_path
