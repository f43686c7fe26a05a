"""Kamiran and Calders' re-weighing: training weights that make group and outcome independent.

The group-blind re-weighed refit of the mitigation table (``vru audit``): the audit computes a
weight per training example from the audit-only people table and hands training only the
weights, so training never reads a protected attribute and the refitted model is group-blind at
decision time. A group whose examples all have the same outcome cannot be balanced: its examples
keep weight 1 and :func:`reweighing_notes` names it.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from vru_risk.fairness_reports.groups import group_labels
from vru_risk.fairness_reports.notes import (
    EXAMPLES,
    STAGE_REWEIGHING,
    GroupNote,
    describe,
)
from vru_risk.fairness_reports.unassessable import one_outcome_groups


def _reweighing_inputs(groups: np.ndarray, labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    g = group_labels(pd.Series(groups, dtype=object))
    y = np.asarray(labels, dtype="float64")
    if len(g) != len(y):
        raise ValueError(f"{len(g)} groups but {len(y)} labels")
    if np.isnan(y).any():
        raise ValueError("labels hold missing values: re-weigh labelled examples only")
    return g, y


def reweighing_weights(groups: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """Kamiran and Calders' re-weighing: ``w(a, y) = P(A=a) P(Y=y) / P(A=a, Y=y)``.

    After weighting, group and label are independent in the training data, so a model cannot
    learn a group's over-recorded outcomes as risk through features that stand for the group.
    A missing group is its own ``unknown`` group. Weights keep each group's size, so they average
    to one. A group whose examples all have the same outcome cannot be balanced (there is no
    example of the other outcome to weight up): its examples keep weight 1, and
    :func:`reweighing_notes` says so.

    >>> w = reweighing_weights(np.array(["a", "a", "a", "b"]), np.array([1.0, 1.0, 0.0, 0.0]))
    >>> [round(float(x), 3) for x in w]
    [0.75, 0.75, 1.5, 1.0]
    """
    g, y = _reweighing_inputs(groups, labels)
    frame = pd.DataFrame({"g": g, "y": y})
    n = len(frame)
    p_group = frame["g"].map(frame["g"].value_counts() / n)
    p_label = frame["y"].map(frame["y"].value_counts() / n)
    p_joint = frame.groupby(["g", "y"])["y"].transform("size") / n
    weights: np.ndarray = np.array(p_group * p_label / p_joint, dtype="float64")  # writable
    weights[np.isin(g, list(one_outcome_groups(g, y)))] = 1.0
    return weights


def reweighing_notes(
    groups: np.ndarray, labels: np.ndarray, *, attribute: str, where: str = ""
) -> list[GroupNote]:
    """One note per group that :func:`reweighing_weights` cannot balance (one outcome only);
    ``where`` prefixes the reason (e.g. "in fold 2's training data").

    >>> [n.reason for n in reweighing_notes(np.array(["a", "a", "b"]), np.array([1.0, 0.0, 0.0]),
    ...                                     attribute="ethnicity")]
    ['only 1 training example, that did not have the outcome']
    """
    g, y = _reweighing_inputs(groups, labels)
    return [
        GroupNote(
            STAGE_REWEIGHING,
            attribute,
            group,
            f"{where}{': ' if where else ''}{describe(count, positives, unit=EXAMPLES)}",
            "Re-weighing cannot make group and outcome independent for a group with only one "
            "outcome: its examples keep weight 1, as without re-weighing.",
        )
        for group, (count, positives) in one_outcome_groups(g, y).items()
    ]
