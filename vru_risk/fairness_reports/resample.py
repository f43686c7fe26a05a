"""The bootstrap's integer-coded design: each row's global group ids, the people to draw, and
the per-group counts a replicate is judged on (confusion cells, distinct people, calibration
error), computed with numpy from bincounts (tested equal to MetricFrame and to the audit)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

from vru_risk.fairness_reports.metrics import safe_divide
from vru_risk.fairness_reports.operating_points import OperatingPoint, ServiceLists
from vru_risk.models.service_lists import month_codes


@dataclass(frozen=True, eq=False)
class Design:
    """Integer-coded inputs for fast replicates."""

    y: np.ndarray  # (n,) 0/1
    scores: np.ndarray  # (n,)
    gid: np.ndarray  # (n, attributes): global group id of each row under each attribute
    attribute_of: np.ndarray  # (groups,) attribute index of each global group
    labels: list[tuple[str, str]]  # (attribute, group) of each global group
    by_person: np.ndarray  # row positions sorted by person
    starts: np.ndarray  # (people,) first position of each person in by_person
    sizes: np.ndarray  # (people,) rows per person
    month: np.ndarray | None  # (n,) month codes (ServiceLists only)
    score_rank: np.ndarray  # (n,) dense rank of the score (0 = lowest), as float
    probability: np.ndarray | None = None  # (n,) calibrated probabilities, when judged
    bin: np.ndarray | None = None  # (n,) calibration bin of each row
    bins: int = 10

    @property
    def n_groups(self) -> int:
        return len(self.labels)


def confusion_cells(design: Design, rows: np.ndarray, flagged: np.ndarray) -> np.ndarray:
    """Confusion cells ``(groups, 4)`` of the given population rows and their flags."""
    cell = 2 * design.y[rows] + flagged.astype(np.int64)
    index = (design.gid[rows] * 4 + cell[:, None]).ravel()
    return np.bincount(index, minlength=4 * design.n_groups).reshape(-1, 4)


def calibration_errors(design: Design, rows: np.ndarray) -> np.ndarray:
    """Expected calibration error of each group over ``rows`` (as
    :func:`~vru_risk.models.service_lists.expected_calibration_error`); NaN for an empty group."""
    assert design.bin is not None
    assert design.probability is not None
    size = design.n_groups * design.bins
    n = np.zeros(size)
    gap = np.zeros(size)
    y, p = design.y[rows].astype(float), design.probability[rows]
    for column in range(design.gid.shape[1]):
        index = design.gid[rows, column] * design.bins + design.bin[rows]
        n += np.bincount(index, minlength=size)
        gap += np.bincount(index, weights=y, minlength=size) - np.bincount(
            index, weights=p, minlength=size
        )
    per_group = np.abs(gap).reshape(design.n_groups, design.bins).sum(axis=1)
    return safe_divide(per_group, n.reshape(design.n_groups, design.bins).sum(axis=1))


def distinct_people_of(
    design: Design, person: np.ndarray, rows: np.ndarray, flagged: np.ndarray
) -> list[tuple[int, int, int]]:
    """Distinct people of each global group among ``rows``: in all, with the outcome, flagged
    (the small-cell rule counts people, not rows)."""
    size = int(person.max()) + 1 if len(person) else 1
    out = np.zeros((design.n_groups, 3), dtype=np.int64)
    masks = (
        np.ones(len(rows), dtype=bool),
        design.y[rows] == 1,
        np.asarray(flagged, dtype=bool),
    )
    for column in range(design.gid.shape[1]):
        gid = design.gid[rows, column]
        for k, mask in enumerate(masks):
            pairs = np.unique(gid[mask] * size + person[rows][mask])
            out[:, k] += np.bincount(pairs // size, minlength=design.n_groups)
    return [(int(a), int(b), int(c)) for a, b, c in out]


def make_design(
    y: np.ndarray,
    scores: np.ndarray,
    groups: Mapping[str, np.ndarray],
    person: np.ndarray,
    op: OperatingPoint,
) -> Design:
    columns: list[np.ndarray] = []
    labels: list[tuple[str, str]] = []
    attribute_of: list[int] = []
    offset = 0
    for index, (attribute, values) in enumerate(groups.items()):
        codes, levels = pd.factorize(values, sort=True)
        columns.append(codes.astype(np.int64) + offset)
        labels.extend((attribute, str(level)) for level in levels)
        attribute_of.extend([index] * len(levels))
        offset += len(levels)
    by_person = np.argsort(person, kind="stable")
    sizes = np.bincount(person)
    starts = np.cumsum(sizes) - sizes
    return Design(
        y=y.astype(np.int64),
        scores=scores,
        gid=np.column_stack(columns),
        attribute_of=np.asarray(attribute_of, dtype=np.int64),
        labels=labels,
        by_person=by_person,
        starts=starts,
        sizes=sizes,
        month=month_codes(op.as_of, name="ServiceLists.as_of")
        if isinstance(op, ServiceLists)
        else None,
        score_rank=np.unique(scores, return_inverse=True)[1].astype(float),
    )
