"""The fixed words of a model card and a transparency record (what the system is for, what it
must not be used for, what it cannot see) and the small helpers that format figures, for
:mod:`vru_risk.monitoring.card`.

Example
-------
>>> pct(0.25), rate(None)
('25.0%', 'missing')
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

from vru_risk.data.contract import source_name
from vru_risk.monitoring.criteria import MonitoringCriteria

MODEL_DETAILS: Final = (
    "vru-risk estimates, at a 'teachable moment' (such as an exclusion, a police contact or an "
    "A&E visit), the chance that a young person is involved in serious violence within the "
    "outcome window. It is a gradient-boosted tree model (LightGBM) with calibrated "
    "probabilities. It is advisory: it suggests to whom a practitioner might offer voluntary "
    "support; a person always decides.",
)
INTENDED_USE: Final = (
    "Advisory offers of voluntary support (mentoring, youth work and similar programmes) to "
    "young people at teachable moments, within each programme's places.",
    "Every flag is reviewed by a trained practitioner who may refer, take no action or disagree; "
    "the young person and their family may decline support without consequence.",
    "Use only by the organisations and for the purposes covered by the data-sharing agreements "
    "under which the data were supplied.",
)
OUT_OF_SCOPE: Final = (
    "Enforcement of any kind: policing, criminal justice, school discipline or immigration.",
    "Leads for arrest, stop and search, surveillance or any intelligence product.",
    "Any decision about an individual without a practitioner who reviews the flag and decides.",
    "Decisions about services, benefits, housing, school places or care proceedings.",
    "Any use outside the data-sharing agreements, or on people or places the model was not "
    "trained on.",
)
CANNOT_SEE: Final = (
    "Anything not recorded in the shared sources: family circumstances, friendships, online "
    "life, youth work, social care and health records other than A&E visits, and any event "
    "never reported to a partner.",
    "Events recorded after the moment: each feature counts only what the VRU knew by that day.",
    "Protected and sensitive characteristics (sex, ethnicity, special educational needs, free "
    "school meals, looked-after status, deprivation) are not inputs: they are used only to audit "
    "fairness. Other inputs can still act as proxies for them; the audit tests this.",
    "Whether support worked: the outcomes of supported young people are changed by the support.",
    "Sources a partner did not supply for a period (below, from the training data).",
)


def pct(x: float | None) -> str:
    return "missing" if x is None else f"{100 * x:.1f}%"


def rate(x: float | None) -> str:
    return "missing" if x is None else f"{x:.3f}"


#: metrics logged with a person-level bootstrap interval (``{metric}_low`` / ``{metric}_high``)
INTERVAL_METRICS: Final = ("precision_at_capacity", "recall_at_capacity")
INTERVAL_KEYS: Final = tuple(f"{m}_{end}" for m in INTERVAL_METRICS for end in ("low", "high"))


def with_interval(metrics: Mapping[str, float], key: str) -> str:
    """A metric as the card prints it, with its interval when one was logged."""
    low, high = metrics.get(f"{key}_low"), metrics.get(f"{key}_high")
    if key in INTERVAL_METRICS and low is not None and high is not None:
        return f"{rate(metrics.get(key))} ({low:.3f} to {high:.3f})"
    return rate(metrics.get(key))


def section(
    ident: str,
    title: str,
    text: Any,
    facts: list[list[Any]],
    table: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """One section of a card or record (see :mod:`vru_risk.monitoring.card`)."""
    return {
        "id": ident,
        "title": title,
        "text": [str(t) for t in text],
        "facts": [[str(k), str(v)] for k, v in facts],
        "table": None
        if table is None
        else {
            "columns": [str(c) for c in table["columns"]],
            "rows": [[str(v) for v in row] for row in table["rows"]],
        },
    }


def criteria_lines(c: MonitoringCriteria) -> list[str]:
    """The monitoring criteria in plain sentences."""
    d, p, cal, ag = c.drift.default, c.precision, c.calibration, c.agreement
    floor = f"{p.relative_floor:.0%} of what the model expects of the same moments"
    if p.absolute_floor is not None:
        floor += f" or below {p.absolute_floor:.2f}"
    out = [
        f"Suspension recommended: realised precision on unsupported moments below {floor} for "
        f"{p.matured_windows} matured windows (each with at least {p.min_moments} moments).",
        f"Suspension recommended: calibration slope outside {cal.slope_low:g} to "
        f"{cal.slope_high:g} (at least {cal.min_moments} matured moments).",
        "Suspension recommended: a group's recall or false-negative ratio whose interval lies "
        "wholly outside the fairness gate's bounds (cells under "
        f"{c.groups.min_people_per_cell} distinct people suppressed).",
        f"Review: input drift beyond PSI {d.psi:g} or Jensen-Shannon {d.js:g}, or a change of "
        f"{d.missing_share_change:.0%} in missing shares, on at least {d.min_features_drifted} "
        f"features of a source (false-alarm budget {d.false_alarm_budget:.0%} per source).",
        f"Review: practitioners' agreement with flags below {ag.too_low:.0%} (distrust) or "
        f"above {ag.too_high:.0%} (rubber-stamping), from {ag.min_decisions} decisions.",
        "Review: a group's referral rate among flagged young people whose ratio to the "
        "reference group's lies, interval and all, outside the fairness gate's bounds (groups "
        f"of at least {c.decisions.min_people_to_judge} distinct young people).",
        "Review: the share of flags whose main reason is police contact rose by more than "
        f"{c.feedback.max_rise:.0%} over the first {c.feedback.baseline_months} months of "
        f"service (at least {c.feedback.min_flags} flags in each).",
    ]
    for source, days in sorted(c.outage_days.items()):
        out.append(
            f"Suspension recommended: {source_name(source)} silent for more than {days} days."
        )
    for source, t in sorted(c.drift.sources.items()):
        out.append(
            f"Review: drift thresholds of {source_name(source)}: PSI {t.psi:g}, JS {t.js:g}."
        )
    return out


def _find(card: Mapping[str, Any], ident: str) -> Mapping[str, Any]:
    return next(s for s in card["sections"] if s["id"] == ident)


def transparency_sections(
    version: int, filled: Mapping[str, str], card: Mapping[str, Any]
) -> list[dict[str, Any]]:
    """ATRS tier 1 and tier 2 sections; figures are taken from the built model card."""
    empty = "not yet filled in"
    data = _find(card, "data")["table"]
    training = _find(card, "training")["facts"]
    gates = _find(card, "gates")["facts"]
    monitoring = _find(card, "monitoring")
    sources = ", ".join(row[0] for row in data["rows"]) if data else "none"
    return [
        section(
            "tier1",
            "Tier 1: summary",
            [
                "Name: vru-risk, a risk-flag tool of the Violence Reduction Unit (model version "
                f"{version}).",
                "What it does: " + MODEL_DETAILS[0],
                "Why it is used: to offer limited places on voluntary support programmes to the "
                "young people most likely to benefit, at the moments they are most open to it.",
                "How it is used: " + INTENDED_USE[1],
            ],
            [["Contact", filled.get("contact") or empty]],
        ),
        section(
            "owner",
            "Tier 2: owner and responsibility",
            [],
            [
                ["Senior responsible owner", filled.get("senior_responsible_owner") or empty],
                ["Contact", filled.get("contact") or empty],
                [
                    "Approval",
                    "each version is approved, rejected or suspended by the ethics panel "
                    "(hash-chained review log)",
                ],
            ],
        ),
        section(
            "description",
            "Tier 2: description and rationale",
            [*INTENDED_USE, "It must not be used for:", *OUT_OF_SCOPE],
            [],
        ),
        section(
            "decision",
            "Tier 2: decision-making process",
            [
                "The tool does not decide. A practitioner sees each flag with its reasons and "
                "decides whether to offer support; the offer is voluntary.",
            ],
            [["Appeals and challenge", filled.get("appeals_route") or empty]],
        ),
        section(
            "data",
            "Tier 2: data",
            [
                f"Sources: {sources}. Protected characteristics are used only for the fairness "
                "audit, never as inputs.",
            ],
            [list(f) for f in training],
        ),
        section(
            "risks",
            "Tier 2: risks and mitigations",
            [
                "Risks: unfair selection by group, feedback from support changing outcomes, data "
                "feeds changing or stopping, over-reliance on flags. Mitigations: fairness gate "
                "before approval, monthly monitoring with criteria fixed before approval, "
                "practitioner review of every flag.",
                *monitoring["text"],
            ],
            [list(f) for f in gates],
        ),
        section(
            "impact",
            "Tier 2: impact assessments",
            [],
            [
                ["Data protection impact assessment", filled.get("dpia_link") or empty],
                [
                    "Equality impact assessment",
                    filled.get("equality_impact_assessment_link") or empty,
                ],
            ],
        ),
    ]
