"""The evaluation report: ``report.json`` and a ``report.html`` written for a VRU's board, its
funder and its ethics panel (lay members among them): who each programme reached, and what can
honestly be said, design by design, about whether the support helped.

Aggregates only: :func:`build_report` takes tables of counts (already suppressed by distinct
people, :mod:`vru_risk.evaluation.reach`) and estimates, never a person identifier. Each design
states its assumptions and the strongest thing it may say (:mod:`vru_risk.evaluation.verdict`):
only a fair lottery past its pre-registered boundary may say "helps".
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import date
from importlib import resources
from pathlib import Path
from typing import Any, Final

import jinja2

from vru_risk.models.words import attribute_label, group_label

REPORT_FORMAT: Final = "vru-evaluation-report-1"

#: each design in words: its name, what it compares and the strongest thing it may say
DESIGN_WORDS: Final[dict[str, tuple[str, str, str]]] = {
    "lottery": (
        "Fair lottery",
        "Young people ranked equally at the last places, some given a place by lottery and "
        "some not: the two groups differ only by chance.",
        "The only design that can show the support helps (once past its pre-registered boundary).",
    ),
    "arrival": (
        "Arrival order",
        "Young people above the score floor who arrived while places were left, against those "
        "who arrived after the month's places ran out.",
        "Consistent with helping at most: who arrives late may differ from who arrives early.",
    ),
    "discontinuity": (
        "Just above and just below the floor",
        "On days with places to spare, young people scored just above the programme's floor "
        "(offered) against those just below (not offered).",
        "Consistent with helping at most, and only for young people near the floor.",
    ),
    "matched": (
        "Weighted comparison",
        "Young people who started the support against similar young people who did not, "
        "weighted to look alike on their score and their recorded characteristics.",
        "Consistent with helping at most: those referred may differ in ways no record shows "
        "(practitioners refer those they are most worried about).",
    ),
}

#: how much a verdict can be relied on, in the colour of its box
VERDICT_STYLE: Final = {
    "helps": "good",
    "consistent with helping": "maybe",
    "no evidence either way yet": "none",
    "evidence of harm": "harm",
    "consistent with harm": "harm",
}

REACH_COLUMNS: Final = (
    ("offered", "Offered a place"),
    ("referred", "Referred"),
    ("no_action", "No action"),
    ("disagree", "Disagreed with the flag"),
    ("support_started", "Support started"),
    ("support_completed", "Support completed"),
)


def build_report(
    *,
    subject: Mapping[str, Any],
    period: tuple[date, date],
    maturity: Any,
    reach: Mapping[str, Sequence[Mapping[str, Any]]],
    effects: Sequence[Mapping[str, Any]],
    min_people: int,
    counts: Mapping[str, int],
    generated_at: str | None = None,
    governance: Sequence[Mapping[str, Any]] = (),
) -> dict[str, Any]:
    """The report as a JSON-able dict (see the module docstring)."""
    start, end = period
    return {
        "format": REPORT_FORMAT,
        "title": f"Who benefits: programme reach and effect, {start} to {end}",
        "generated_at": generated_at,
        "subject": dict(subject),
        "period": {"from": start.isoformat(), "to": end.isoformat()},
        "maturity": {
            "as_of": maturity.as_of.isoformat(),
            "horizon_days": maturity.horizon_days,
            "lag_days": maturity.lag_days,
            "matured": list(maturity.matured),
            "pending": list(maturity.pending),
        },
        "min_people": min_people,
        "counts": dict(counts),
        "reach": {k: [dict(r) for r in v] for k, v in reach.items()},
        "effects": [dict(e) for e in effects],
        "governance": [dict(g) for g in governance],
        "designs": {
            k: {"name": v[0], "compares": v[1], "strength": v[2]} for k, v in DESIGN_WORDS.items()
        },
    }


def _num(value: Any) -> str:
    if value is None:
        return "withheld"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        return f"{value:,.2f}"
    return str(value)


def _pp(value: Any) -> str:
    """A risk difference in percentage points, signed."""
    return "n/a" if value is None else f"{100 * float(value):+.1f} points"


def _pct(value: Any) -> str:
    return "n/a" if value is None else f"{100 * float(value):.0f}%"


def _breakdown(key: str) -> str:
    if key.startswith("group:"):
        return attribute_label(key.split(":", 1)[1])
    return {"age_band": "Age band", "school": "School", "programme": "Programme"}.get(key, key)


def totals(rows: Sequence[Mapping[str, Any]]) -> dict[str, dict[str, int | None]]:
    """Per programme, each reach figure summed over its periods: None (withheld) when any
    period's figure was withheld, so that no total gives a withheld cell back."""
    out: dict[str, dict[str, int | None]] = {}
    for row in rows:
        mine = out.setdefault(str(row["programme_id"]), {c: 0 for c, _ in REACH_COLUMNS})
        for column, _ in REACH_COLUMNS:
            value, before = row.get(column), mine[column]
            mine[column] = None if value is None or before is None else before + int(value)
    return out


def render_html(report: Mapping[str, Any]) -> str:
    """The self-contained page of a report: inline CSS, no scripts, no links."""
    env = jinja2.Environment(
        autoescape=True, undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True
    )
    env.filters.update(
        num=_num,
        pp=_pp,
        pct=_pct,
        breakdown=_breakdown,
        grp=lambda group, key: (
            group_label(str(key).split(":", 1)[1], str(group))
            if str(key).startswith("group:")
            else str(group)
        ),
    )
    names = {p["id"]: p["name"] for p in report["subject"]["programmes"]}
    summed = totals(report["reach"].get("programme", []))
    biggest = max((t["offered"] or 0 for t in summed.values()), default=0) or 1
    text = resources.files("vru_risk.evaluation").joinpath("templates", "report.html.j2")
    return env.from_string(text.read_text(encoding="utf-8")).render(
        r=report,
        names=names,
        columns=REACH_COLUMNS,
        totals=summed,
        biggest=biggest,
        style=VERDICT_STYLE,
    )


def write_report(report: Mapping[str, Any], out: Path) -> tuple[Path, Path]:
    """Write ``report.json`` and ``report.html`` into ``out`` (created; each file replaced
    whole); return both paths."""
    out.mkdir(parents=True, exist_ok=True)
    json_path, html_path = out / "report.json", out / "report.html"
    html = render_html(report)  # rendered before anything is written
    body = json.dumps(report, indent=1, sort_keys=True, allow_nan=False) + "\n"
    for path, text in ((json_path, body), (html_path, html)):
        tmp = path.with_name(f".{path.name}.tmp")
        tmp.write_text(text, encoding="utf-8")
        tmp.replace(path)
    return json_path, html_path
