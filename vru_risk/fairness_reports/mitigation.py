"""Mitigation comparison for the ethics panel, at the service's own list size where possible.

Rows of the table:

- the model as is;
- group-blind alternatives a service could deploy: the same booster refitted without a source's
  features (e.g. police-recorded contacts; scored at training time, ``variant_*`` columns of
  ``predictions.parquet``), and the same booster refitted with Kamiran and Calders' re-weighing
  by ethnicity (:mod:`~vru_risk.fairness_reports.reweighing`: the group weights training
  examples only, never at decision time; scored by ``vru audit``), at the same capacity. Stop
  and search is already excluded from every model by ``features/proxies.yaml``;
- *illustrative only*, because they use a protected attribute at decision time (unlawful
  direct discrimination for a service to deploy): group-specific thresholds equalising the miss
  rate (FNR) with the same total flagged, and Fairlearn's ``ThresholdOptimizer`` (true-positive
  rate parity) at its own operating point, which randomises decisions and cannot target a list
  size.

For each row: precision and recall at its operating point, and the disparities of every audited
attribute (smallest recall ratio to the reference group, largest miss-rate difference).

A group a mitigation cannot be fitted on is left out, with one note each
(:class:`~vru_risk.fairness_reports.notes.GroupNote`): the equal-miss-rate thresholds need someone
with the outcome in the group (otherwise none of it is flagged), and ``ThresholdOptimizer`` needs
both outcomes (Fairlearn raises "Degenerate labels"): it is fitted on the other groups and the
left-out group is not flagged; when no group has both outcomes it does not run, and its row says
why. Each row's ``note`` says which groups were left out.

Example
-------
>>> import numpy as np, pandas as pd
>>> rng = np.random.default_rng(0)
>>> n = 400
>>> rows = pd.DataFrame({"person_id": [f"p{i}" for i in range(n)],
...     "as_of": pd.Timestamp("2024-01-15"), "label": (rng.random(n) < 0.2).astype(float)})
>>> score = rows["label"] * 0.3 + rng.random(n)
>>> groups = pd.DataFrame({"g": rng.choice(["a", "b"], n)})
>>> table = compare_mitigations(rows, {"as is": score.to_numpy()}, groups, capacity=40, seed=0,
...     min_count=10, min_positives=5, min_flagged=2)
>>> [r["name"] for r in table.rows][:2]
['as is', 'group-specific thresholds equalising FNR (illustrative)']
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator

from vru_risk.fairness_reports.audit import AuditResult, audit
from vru_risk.fairness_reports.groups import group_labels
from vru_risk.fairness_reports.metrics import (
    MIN_PEOPLE,
    MIN_PEOPLE_FLAGGED,
    MIN_PEOPLE_WITH_OUTCOME,
)
from vru_risk.fairness_reports.notes import (
    STAGE_EQUAL_FNR,
    STAGE_THRESHOLD_OPTIMIZER,
    GroupNote,
    count_words,
    describe,
)
from vru_risk.fairness_reports.operating_points import ServiceLists, Threshold
from vru_risk.fairness_reports.unassessable import one_outcome_groups

AS_IS = "as is"


def _summary(result: AuditResult) -> dict[str, Any]:
    """Flat columns: precision, recall, and per attribute the smallest recall ratio (folded
    into [0, 1]) and the largest miss-rate difference to the reference group."""
    overall = result.overall
    out: dict[str, Any] = {
        "flagged": int(overall["flagged"]),
        "precision": _f(overall["ppv"]),
        "recall": _f(overall["tpr"]),
    }
    ratios, diffs = result.ratio("tpr"), result.difference("fnr").abs()
    for attribute in ratios.index:
        if "*" in str(attribute):
            continue
        out[f"recall_ratio_{attribute}"] = _f(ratios[attribute])
        out[f"fnr_gap_{attribute}"] = _f(diffs.get(attribute))
    return out


def _f(x: Any) -> float | None:
    try:
        value = float(x)
    except (TypeError, ValueError):
        return None
    return None if np.isnan(value) else value


def _best_rows(rows: pd.DataFrame, score: np.ndarray) -> np.ndarray:
    """Positions of each person's highest-scored row per month (the lists' population)."""
    frame = pd.DataFrame(
        {
            "person": rows["person_id"].to_numpy(),
            "month": pd.to_datetime(rows["as_of"]).dt.strftime("%Y-%m").to_numpy(),
            "score": score,
            "pos": np.arange(len(rows)),
        }
    )
    frame = frame.sort_values(["score", "pos"], ascending=[False, True], kind="mergesort")
    return np.sort(frame.drop_duplicates(["month", "person"])["pos"].to_numpy())


@dataclass(frozen=True, eq=False)
class GroupFlags:
    """Flags of an illustrative group-aware mitigation, with the groups it had to leave out.

    ``skipped`` says why the whole mitigation could not run (None when it ran); ``notes`` has
    one note per group left out.
    """

    flags: np.ndarray
    notes: tuple[GroupNote, ...] = ()
    skipped: str | None = None


def equal_fnr_thresholds(
    score: np.ndarray, y: np.ndarray, groups: np.ndarray, total: int, *, attribute: str = "group"
) -> GroupFlags:
    """Flags from one threshold per group chosen so every group reaches the same recall,
    with (as nearly as ties allow) ``total`` flagged in all. A group without anyone with the
    outcome has no recall to equalise: it gets no threshold (none of it is flagged) and a note."""
    labels = np.unique(groups)
    notes = tuple(
        GroupNote(
            STAGE_EQUAL_FNR,
            attribute,
            str(g),
            describe(int((groups == g).sum()), 0),
            "With nobody to reach there is no miss rate to equalise: this illustration sets no "
            "threshold for the group and flags none of its young people.",
        )
        for g in labels
        if not (y[groups == g] == 1).any()
    )

    def flags_for(target: float) -> np.ndarray:
        out = np.zeros(len(score), dtype=bool)
        for g in labels:
            mine = groups == g
            positives = np.sort(score[mine & (y == 1)])[::-1]
            if len(positives) == 0:
                continue
            k = int(np.ceil(target * len(positives)))
            if k == 0:
                continue
            cut = positives[min(k, len(positives)) - 1]
            out |= mine & (score >= cut)
        return out

    low, high = 0.0, 1.0
    for _ in range(40):  # bisection on the common recall
        mid = (low + high) / 2
        if flags_for(mid).sum() > total:
            high = mid
        else:
            low = mid
    skipped = (
        "nobody had the outcome, so there is no miss rate to equalise"
        if (len(notes) == len(labels))
        else None
    )
    return GroupFlags(flags_for(low), notes, skipped)


class _ScoreAsPrediction(BaseEstimator):  # type: ignore[misc]
    """A fitted 'estimator' whose prediction is the score itself (for ThresholdOptimizer)."""

    def __init__(self) -> None:
        self.is_fitted_ = True

    def fit(self, x: np.ndarray, y: np.ndarray) -> _ScoreAsPrediction:  # noqa: ARG002
        return self

    def predict(self, x: np.ndarray) -> np.ndarray:
        return np.asarray(x)[:, 0]


def threshold_optimizer_flags(
    score: np.ndarray, y: np.ndarray, groups: np.ndarray, *, seed: int, attribute: str = "group"
) -> GroupFlags:
    """Fairlearn ThresholdOptimizer (TPR parity, balanced accuracy) at its own operating point.

    Fairlearn needs both outcomes in every group it is fitted on ("Degenerate labels"). A group
    with one outcome only is left out: the optimizer is fitted on the other groups, the left-out
    group's rows are not flagged, and a note names it. When no group has both outcomes the
    mitigation does not run at all (``skipped``; nobody flagged).
    """
    from fairlearn.postprocessing import (  # type: ignore[import-untyped, unused-ignore]
        ThresholdOptimizer,
    )

    groups = np.asarray(groups, dtype=object).astype(str)
    one_outcome = one_outcome_groups(groups, y)
    fitted = ~np.isin(groups, list(one_outcome))
    skipped = (
        None if fitted.any() else "no group has both young people with and without the outcome"
    )
    notes = tuple(
        GroupNote(
            STAGE_THRESHOLD_OPTIMIZER,
            attribute,
            g,
            f"{describe(count, positives)}; Fairlearn needs young people with and without the "
            "outcome in every group it fits",
            "Fairlearn could not run at all: its row in the mitigation table is empty."
            if skipped
            else f"It was fitted on the other groups; this group's {count_words(count)} "
            f"{'counts' if count == 1 else 'count'} as not flagged in its row.",
        )
        for g, (count, positives) in one_outcome.items()
    )
    flags = np.zeros(len(score), dtype=bool)
    if skipped is None:
        optimizer = ThresholdOptimizer(
            estimator=_ScoreAsPrediction(),
            constraints="true_positive_rate_parity",
            objective="balanced_accuracy_score",
            prefit=True,
            predict_method="predict",
        )
        x = score[fitted].reshape(-1, 1)
        optimizer.fit(x, y[fitted], sensitive_features=groups[fitted])
        decided = optimizer.predict(x, sensitive_features=groups[fitted], random_state=seed)
        flags[fitted] = np.asarray(decided) == 1
    return GroupFlags(flags, notes, skipped)


@dataclass(frozen=True, eq=False)
class Mitigations:
    """The mitigation table (``rows``, one flat record each) and the notes of the groups its
    mitigations had to leave out (``notes``)."""

    rows: list[dict[str, Any]]
    notes: list[GroupNote] = field(default_factory=list)


def compare_mitigations(
    rows: pd.DataFrame,
    scores: Mapping[str, np.ndarray],
    sensitive: pd.DataFrame,
    *,
    capacity: int,
    seed: int,
    attribute: str | None = None,
    min_count: int = MIN_PEOPLE,
    min_positives: int = MIN_PEOPLE_WITH_OUTCOME,
    min_flagged: int = MIN_PEOPLE_FLAGGED,
) -> Mitigations:
    """The mitigation table. ``rows`` has person_id, as_of and label (0/1, no censored rows);
    ``scores`` maps a row name (first: the model as is) to scores aligned with ``rows``;
    ``attribute`` is the one the illustrative group-aware rows equalise (default: the first
    column of ``sensitive``). Every row has a ``note`` (None when there is nothing to say); the
    groups an illustrative mitigation had to leave out are in :attr:`Mitigations.notes`, and a
    mitigation that cannot run at all keeps its row, empty, with the reason."""
    y = rows["label"].to_numpy(dtype="float64")
    out: list[dict[str, Any]] = []
    point = ServiceLists(
        capacity=capacity,
        seed=seed,
        person_id=rows["person_id"].to_numpy(),
        as_of=pd.to_datetime(rows["as_of"]).to_numpy(),
    )
    for name, score in scores.items():
        result = audit(
            y,
            score,
            sensitive_features=sensitive,
            operating_point=point,
            min_count=min_count,
            min_positives=min_positives,
            min_flagged=min_flagged,
        )
        kind = "the model" if name == AS_IS else "group-blind alternative"
        out.append(
            {
                "name": name,
                "kind": kind,
                "operating_point": "capacity",
                **_summary(result),
                "note": None,
            }
        )
    base = np.asarray(next(iter(scores.values())), dtype="float64")
    keep = _best_rows(rows, base)
    attribute = attribute or str(sensitive.columns[0])
    groups = group_labels(sensitive[attribute].iloc[keep])
    total = int(out[0]["flagged"])
    yk, sk = y[keep], base[keep]
    sub = sensitive.iloc[keep].reset_index(drop=True)
    illustrative = {
        "group-specific thresholds equalising FNR (illustrative)": (
            equal_fnr_thresholds(sk, yk, np.asarray(groups), total, attribute=attribute),
            f"one threshold per {attribute} group, same total flagged",
        ),
        "Fairlearn ThresholdOptimizer, TPR parity (illustrative)": (
            threshold_optimizer_flags(sk, yk, np.asarray(groups), seed=seed, attribute=attribute),
            "its own operating point (randomised decisions; cannot target a list size)",
        ),
    }
    notes: list[GroupNote] = []
    for name, (made, how) in illustrative.items():
        row: dict[str, Any] = {
            "name": name,
            "kind": "illustrative: uses a protected attribute at decision time",
            "operating_point": how,
        }
        notes.extend(made.notes)
        if made.skipped is not None:
            out.append(
                {
                    **row,
                    "flagged": None,
                    "precision": None,
                    "recall": None,
                    "note": f"not run: {made.skipped}",
                }
            )
            continue
        # flags as scores 1/0 with a threshold of 1: exactly these rows are flagged
        result = audit(
            yk,
            made.flags.astype("float64"),
            sensitive_features=sub,
            operating_point=Threshold(1.0),
            person_id=rows["person_id"].to_numpy()[keep],
            min_count=min_count,
            min_positives=min_positives,
            min_flagged=min_flagged,
        )
        out.append({**row, **_summary(result), "note": _left_out(made.notes, attribute)})
    return Mitigations(out, notes)


def _left_out(notes: tuple[GroupNote, ...], attribute: str) -> str | None:
    if not notes:
        return None
    names = ", ".join(n.group for n in notes)
    return (
        f"left out {len(notes)} {attribute} group{'s' if len(notes) != 1 else ''} it could not "
        f"be fitted on ({names}): see the groups that could not be assessed"
    )
