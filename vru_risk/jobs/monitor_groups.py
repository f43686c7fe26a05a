"""The groups section of a monitoring run: selection rates of the recent window and recall on
matured moments, by audit-only group and by the fairness audit's intersections.

The audit-only attributes (:data:`~vru_risk.data.contract.AUDIT_ONLY_COLUMNS` the people table
has, read by :func:`~vru_risk.jobs.monitor_data.people_attributes`) are joined to the moments by
person here, for monitoring only: they are never features. Each attribute's reference group is
the fairness audit's (:func:`~vru_risk.fairness_reports.groups.choose_references`: the largest
group with no ``unknown`` part), chosen on distinct people.

- *Selection*: the share of the recent window's moments offered a place by the service's
  allocation replayed over them, per group, with its ratio to the reference group.
- *Recall*: among matured moments with a serious-violence outcome that were not given support,
  the share the allocation offered a place; each group's ratio to the reference and its
  miss-rate difference, with person-level bootstrap intervals, become
  :class:`~vru_risk.monitoring.verdict.GroupComparison` s judged by
  :func:`~vru_risk.monitoring.verdict.group_findings` against the fairness gate's bounds.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Final

import numpy as np
import pandas as pd

from vru_risk.fairness_reports.groups import choose_references
from vru_risk.fairness_reports.model_audit import INTERSECTIONS
from vru_risk.models.groups import INTERSECTION_SEP
from vru_risk.monitoring.criteria import MonitoringCriteria
from vru_risk.monitoring.group_ratios import GroupRatio, ratio_intervals
from vru_risk.monitoring.groups import attribute_labels
from vru_risk.monitoring.verdict import Finding, GroupComparison, group_findings

#: the bootstrap's seed (fixed: the same data give the same report)
SEED: Final = 18


def audit_attributes(people: pd.DataFrame) -> list[tuple[str, ...]]:
    """The audit-only attributes ``people`` has, and the fairness audit's intersections of them."""
    single = [(c,) for c in people.columns if c != "person_id"]
    joint = [tuple(i) for i in INTERSECTIONS if all(c in people.columns for c in i)]
    return [*single, *joint]


def reference_group(attribute: str, people: pd.Series) -> str:
    """The fairness audit's reference group of ``attribute`` from its distinct people per group
    (:func:`~vru_risk.fairness_reports.groups.choose_references`)."""
    return choose_references({attribute: people}, None)[attribute]


def _by_group(
    frame: pd.DataFrame,
    numerator: np.ndarray,
    denominator: np.ndarray,
    attributes: Sequence[tuple[str, ...]],
    criteria: MonitoringCriteria,
    *,
    min_people: int | None = None,
) -> dict[str, tuple[str, tuple[GroupRatio, ...]]]:
    """Per attribute name: its reference group and the rows of :func:`ratio_intervals` (cells
    under ``min_people`` distinct people, default the criteria's cell minimum, withheld)."""
    person = frame["person_id"].astype(str).to_numpy(dtype=object)
    out = {}
    for attribute in attributes:
        labels = attribute_labels(frame, attribute)
        counts = pd.Series(person[denominator]).groupby(labels[denominator]).nunique()
        if counts.empty:
            continue
        name = INTERSECTION_SEP.join(attribute)
        reference = reference_group(name, counts)
        out[name] = (
            reference,
            ratio_intervals(
                labels,
                person,
                numerator,
                denominator,
                reference=reference,
                min_people=min_people or criteria.groups.min_people_per_cell,
                replicates=criteria.groups.bootstrap_replicates,
                seed=SEED,
            ),
        )
    return out


def _rows(found: dict[str, tuple[str, tuple[GroupRatio, ...]]]) -> list[dict[str, Any]]:
    return [
        {"attribute": name, "reference": ref, "groups": [r.to_dict() for r in rows]}
        for name, (ref, rows) in found.items()
    ]


def group_section(
    recent: pd.DataFrame | None,
    matured: pd.DataFrame | None,
    people: pd.DataFrame,
    criteria: MonitoringCriteria,
) -> tuple[dict[str, Any], list[Finding]]:
    """The report's groups section and its findings. ``recent``: the recent window's moments
    (``person_id``, ``offered``), or None when they could not be replayed; ``matured``: the
    matured moments' replay (``person_id``, ``offered``, ``supported``, ``label``), or None."""
    attributes = audit_attributes(people)
    section: dict[str, Any] = {
        "min_people": criteria.groups.min_people_per_cell,
        "min_positives": criteria.groups.min_positives_to_judge,
        "replicates": criteria.groups.bootstrap_replicates,
        "attributes": [INTERSECTION_SEP.join(a) for a in attributes],
        "selection": [],
        "selection_source": None,
        "recall": [],
        "bounds": None,
    }
    if not attributes:
        return section, []
    source, rows = ("recent", recent) if recent is not None and len(recent) else ("matured", None)
    if rows is None and matured is not None and len(matured):
        rows = matured
    if rows is not None:
        joined = rows[["person_id", "offered"]].merge(people, on="person_id", how="left")
        offered = joined["offered"].to_numpy(dtype=bool)
        every = np.ones(len(joined), dtype=bool)
        section["selection_source"] = source
        section["selection"] = _rows(_by_group(joined, offered, every, attributes, criteria))
    findings: list[Finding] = []
    if matured is not None and len(matured):
        joined = matured[["person_id", "offered", "supported", "label"]].merge(
            people, on="person_id", how="left"
        )
        positive = (joined["label"].to_numpy(dtype=float) == 1.0) & ~joined["supported"].to_numpy(
            dtype=bool
        )
        judged = max(criteria.groups.min_people_per_cell, criteria.groups.min_positives_to_judge)
        found = _by_group(
            joined,
            joined["offered"].to_numpy(dtype=bool),
            positive,
            attributes,
            criteria,
            min_people=judged,
        )
        section["recall"] = _rows(found)
        bounds = criteria.groups.bounds
        if bounds is not None:
            section["bounds"] = {
                "recall_ratio_low": bounds.recall_ratio_low,
                "recall_ratio_high": bounds.recall_ratio_high,
                "max_fnr_difference": bounds.max_fnr_difference,
            }
            findings = group_findings(_comparisons(found), criteria)
    return section, findings


def _comparisons(
    found: dict[str, tuple[str, tuple[GroupRatio, ...]]],
) -> list[GroupComparison]:
    out = []
    for name, (reference, rows) in found.items():
        for r in rows:
            if r.group == reference or r.suppressed:
                continue
            if r.ratio is not None and r.ratio_low is not None and r.ratio_high is not None:
                out.append(
                    GroupComparison(
                        name, r.group, reference, "tpr_ratio", r.ratio, r.ratio_low, r.ratio_high
                    )
                )
            if (
                r.difference is not None
                and r.difference_low is not None
                and r.difference_high is not None
            ):
                out.append(
                    GroupComparison(
                        name,
                        r.group,
                        reference,
                        "fnr_difference",
                        r.difference,
                        r.difference_low,
                        r.difference_high,
                    )
                )
    return out
