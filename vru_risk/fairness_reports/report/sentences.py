"""The report's plain-language summary for a lay panel member, generated from its numbers,
and the one line a command prints about the groups not assessed in full.

Rates are said per 100 young people; a rate that cannot be measured is never said to be 0.

Example
-------
>>> line = not_assessed_line({"cannot_assess": [{"attribute": "sex", "group": "unknown"}]})
>>> line.split(" (")[0]
'groups not assessed in full: 1'
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any, TypeVar

from vru_risk.fairness_reports.groups import INTERSECTION_SEP, UNKNOWN
from vru_risk.fairness_reports.labels import attribute_label, group_label, who
from vru_risk.fairness_reports.notes import CANNOT_ASSESS
from vru_risk.fairness_reports.report.charts import per100

_MISSED_LIMIT = 8  # small groups named in the summary before "and N more"

_T = TypeVar("_T")


def _first_few(
    items: Sequence[_T], describe: Callable[[_T], str], sep: str, *, limit: int = _MISSED_LIMIT
) -> str:
    """The first ``limit`` items described and joined with ``sep``, then ", and N more"."""
    named = sep.join(describe(item) for item in items[:limit])
    more = f", and {len(items) - limit} more" if len(items) > limit else ""
    return named + more


def _interval_words(interval: Sequence[float] | None) -> str:
    if interval is None:
        return ""
    return f" (95% interval {per100(interval[0])} to {per100(interval[1])})"


def _lower(text: str) -> str:
    return text[:1].lower() + text[1:]


def _named(g: Mapping[str, Any]) -> str:
    """A group as "Attribute: group" in words."""
    return f"{attribute_label(g['attribute'])}: {group_label(g['attribute'], g['group'])}"


def _people(n: int) -> str:
    return "1 young person" if n == 1 else f"{n:,} young people"


def _unit(population: str) -> str:
    if population == "person-months":
        return " (counted once per person per month)"
    return ""


def _counted(count: int, population: str) -> str:
    """Who the report looks at: young people, or teachable moments under the allocation."""
    if population == "moments":
        noun = "teachable moment" if count == 1 else "teachable moments"
        return f"{count:,} {noun} (a young person with several moments counts once for each)"
    return _people(count) + _unit(population)


def _allocation_words(report: Mapping[str, Any]) -> list[str]:
    """Which allocation the rates describe, and the hindsight bound beside it."""
    allocation = report.get("allocation")
    if not allocation:
        return []
    if not allocation["replayed"]:
        return [allocation["fallback"]["statement"]]
    out = [f"The rates in this report are those of {allocation['operating_point']}."]
    figures, bound = allocation["figures"], allocation["hindsight_bound"]
    if figures["places"]:
        out.append(
            f"The programmes used {figures['places_used']:,} of their {figures['places']:,} "
            "places in the periods the audit window covers whole."
        )
    if bound.get("precision") is not None and figures.get("precision") is not None:
        out.append(
            f"Hindsight bound, for comparison only: {bound['in_words']} would have reached "
            f"{per100(bound['recall'])} of every 100 young people who went on to the outcome, "
            f"with {per100(bound['precision'])} of every 100 on them going on to it (counted "
            "once per person per month); the places the service would have offered: "
            f"{per100(figures['recall'])} and {per100(figures['precision'])} (counted once per "
            "teachable moment)."
        )
    out.append(f"Mitigations: {allocation['mitigation']}.")
    return out


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
            f"among {who(attribute, g['group'])}{' it reached' if i == 0 else ''} "
            f"{per100(g['tpr'])}{_interval_words(g['intervals'].get('tpr'))}"
            for i, g in enumerate(rows)
        ]
        reference = group_label(attribute, str(report["reference"].get(attribute)))
        sentences.append(
            f"By {_lower(attribute_label(attribute))} (reference group: {reference}), of every "
            "100 who went on to the outcome: " + "; ".join(parts) + "."
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
        failed.sort(key=lambda c: c["metric"] == "calibration_error")  # the primary gaps first
        shown = "; ".join(c["explanation"] for c in failed[:3])
        more = f" (and {len(failed) - 3} more)" if len(failed) > 3 else ""
        return (
            f"Fairness check: FAILED. {len(failed)} of {len(criteria)} comparisons were clearly "
            f"outside the agreed band{_which_way(failed)}: {shown}{more}."
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


def _which_way(failed: Sequence[Mapping[str, Any]]) -> str:
    """How many failed gaps favour the group and how many leave more of it missed (or wrongly
    flagged), from each criterion's direction."""
    favoured = against = 0
    for c in failed:
        base, _, kind = str(c["metric"]).rpartition("_")
        level = 1.0 if kind == "ratio" else 0.0
        if c.get("estimate") is None or base not in ("tpr", "fnr", "fpr", "ppv"):
            continue
        higher = float(c["estimate"]) > level
        if (base in ("tpr", "ppv")) == higher:
            favoured += 1
        else:
            against += 1
    if not favoured + against:
        return ""
    return (
        f" ({favoured} where the group fared better than the reference group, {against} where "
        "it fared worse)"
    )


def _too_small(report: Mapping[str, Any]) -> str | None:
    small = [g for g in report["groups"] if g["suppressed"]]
    if not small:
        return None
    named = _first_few(
        small,
        lambda g: (
            f"{_named(g)} ({_people(g.get('people', g['count']))}, "
            f"{g.get('people_with_outcome', g['positives']):,} with the outcome)"
        ),
        ", ",
    )
    return f"Too few to judge, so their rates are withheld (counts are shown): {named}."


def _undefined_words(report: Mapping[str, Any]) -> str | None:
    partly = [g for g in report["groups"] if not g["suppressed"] and g.get("cannot_assess")]
    if not partly:
        return None
    named = _first_few(
        partly,
        lambda g: f"{_named(g)} ({g['cannot_assess']}: {g['cannot_assess_reason']})",
        "; ",
    )
    return (
        f"Some rates have nothing to be measured on and are shown as '{CANNOT_ASSESS}', never "
        f"as 0: {named}."
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
        f"to the outcome is {who(g['attribute'], g['group'])}: {per100(g['flagged_share'])}% of "
        f"the list, {per100(g['outcome_share'])}% of those with the outcome."
    )


def summary_sentences(report: Mapping[str, Any]) -> list[str]:
    """Plain-language sentences for a lay panel member, generated from the report's numbers."""
    overall = report["overall"]
    primary = report["primary_outcome"]
    sentences = _allocation_words(report)
    flagged = (
        "the service would have offered a place at"
        if report["population"] == "moments"
        else "the list flagged"
    )
    sentences.append(
        f"This report looks at {_counted(overall['count'], report['population'])}: "
        f"{flagged} {overall['flagged']:,} of them, and {overall['positives']:,} went on "
        f"to the outcome ({primary})."
    )
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
