"""Practitioners' decisions by audit-only group: the human-versus-model comparison of the
decisions section (:mod:`vru_risk.monitoring.decisions`).

The model flagged every one of these young people; what differs here is what practitioners did.
Per group (each audit-only attribute and the fairness audit's intersections), the shares of its
offers opened, referred, no action and disagree, and its *referral ratio*: the share of its offers
referred over the reference group's, with a person-level bootstrap interval
(:func:`~vru_risk.monitoring.group_ratios.ratio_intervals`: cells under the criteria's minimum of
distinct people withheld, the next smallest too when exactly one is; a band of people, never a
count). A group of at least ``decisions.min_people_to_judge`` young people whose ratio's interval
lies wholly outside the fairness gate's recall-ratio bounds asks for review
(:func:`referral_findings`).

Example
-------
>>> share(np.array([True, False, False, True]))
0.5
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

import numpy as np
import pandas as pd

from vru_risk.models.groups import INTERSECTION_SEP
from vru_risk.models.words import attribute_label, group_label
from vru_risk.monitoring.criteria import MonitoringCriteria
from vru_risk.monitoring.group_ratios import ratio_intervals
from vru_risk.monitoring.groups import attribute_labels
from vru_risk.monitoring.verdict import Finding

#: the reference group of an attribute from its distinct people per group (the fairness audit's
#: rule, passed in by the job: monitoring does not import the audit)
ReferenceOf = Callable[[str, pd.Series], str]
#: the bootstrap's seed (fixed: the same data give the same report)
SEED: Final = 5


def share(mask: pd.Series | np.ndarray) -> float:
    """The share of true values (3 decimals; 0 of none)."""
    return round(float(np.mean(mask)), 3) if len(mask) else 0.0


@dataclass(frozen=True)
class GroupDecisions:
    """A group's shares of its offers and its referral ratio to the reference group (shares
    and a band of people, never a count); all None when withheld."""

    group: str
    suppressed: bool
    people: str | None = None
    opened: float | None = None
    referred: float | None = None
    no_action: float | None = None
    disagree: float | None = None
    ratio: float | None = None
    ratio_low: float | None = None
    ratio_high: float | None = None
    judged: bool = False


def by_group(
    rows: pd.DataFrame,
    attributes: Sequence[tuple[str, ...]],
    reference_of: ReferenceOf,
    criteria: MonitoringCriteria,
) -> list[dict[str, Any]]:
    """Per attribute (and intersection): its reference group and a :class:`GroupDecisions` per
    group (``rows``: :func:`offer_outcomes` joined to the audit-only attributes by person)."""
    if rows.empty:
        return []
    person = rows["person_id"].to_numpy(dtype=object)
    referred = (rows["decision"] == "referred").to_numpy()
    every = np.ones(len(rows), dtype=bool)
    least = criteria.groups.min_people_per_cell
    out = []
    for attribute in attributes:
        name = INTERSECTION_SEP.join(attribute)
        labels = attribute_labels(rows, attribute)
        people = pd.Series(person).groupby(labels).nunique()
        reference = reference_of(name, people)
        ratios = ratio_intervals(
            labels,
            person,
            referred,
            every,
            reference=reference,
            min_people=least,
            replicates=criteria.groups.bootstrap_replicates,
            seed=SEED,
        )
        groups = []
        for r in ratios:
            if r.suppressed:
                groups.append(GroupDecisions(group=r.group, suppressed=True))
                continue
            mine = rows[labels == r.group]
            groups.append(
                GroupDecisions(
                    group=r.group,
                    suppressed=False,
                    people=r.people,
                    opened=share(mine["opened"]),
                    referred=r.rate,
                    no_action=share(mine["decision"] == "no_action"),
                    disagree=share(mine["decision"] == "disagree"),
                    ratio=r.ratio,
                    ratio_low=r.ratio_low,
                    ratio_high=r.ratio_high,
                    judged=r.group != reference
                    and int(people[r.group]) >= criteria.decisions.min_people_to_judge
                    and r.ratio_low is not None,
                )
            )
        out.append({"attribute": name, "reference": reference, "groups": groups})
    return out


def referral_findings(
    groups: Sequence[Mapping[str, Any]], criteria: MonitoringCriteria
) -> list[Finding]:
    """``review`` for each judged group whose referral ratio's interval lies wholly outside the
    fairness gate's recall-ratio bounds (the criteria must be resolved)."""
    bounds = criteria.groups.bounds
    if bounds is None:
        raise ValueError(
            "the monitoring criteria have no group bounds: resolve them with the fairness gate "
            "of the version's experiment (MonitoringCriteria.resolved) first"
        )
    low, high = bounds.recall_ratio_low, bounds.recall_ratio_high
    out = []
    for attribute in groups:
        name = str(attribute["attribute"])
        for g in attribute["groups"]:
            if not g.judged or g.ratio_low is None or g.ratio_high is None:
                continue
            if low <= g.ratio_high and g.ratio_low <= high:
                continue
            way = "less" if g.ratio_high < low else "more"
            out.append(
                Finding(
                    criterion="referral_ratio",
                    level="review",
                    subject=f"{attribute['attribute']}={g.group}",
                    sentence=(
                        f"Group {attribute_label(name)} = {group_label(name, g.group)}: flagged "
                        f"young people were referred {way} often than those of "
                        f"{group_label(name, str(attribute['reference']))} (ratio "
                        f"{g.ratio:.2f}, interval {g.ratio_low:.2f} to {g.ratio_high:.2f}), "
                        f"wholly outside [{low:.2f}, {high:.2f}]: practitioners' decisions, not "
                        "the model's flags, differ by group."
                    ),
                    figures={
                        "referred": g.referred,
                        "ratio": g.ratio,
                        "low": g.ratio_low,
                        "high": g.ratio_high,
                        "band_low": low,
                        "band_high": high,
                        "reference": attribute["reference"],
                    },
                )
            )
    return out
