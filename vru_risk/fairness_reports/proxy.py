"""Proxy test: how well the model's own features predict each audit-only attribute.

A model that never sees ethnicity can still rank by it if its features carry it (a postcode, a
school, a kind of police contact). For each attribute and each of its groups, a small LightGBM
is fitted to tell that group from the rest using only the model's features; its cross-validated
AUC says how much of the attribute the features carry, and the features with the largest gain
say which. Above ``level`` the report says so and names them; the ethics panel records its
decision about them in ``features/proxies.yaml``.

Example
-------
>>> import numpy as np, pandas as pd
>>> rng = np.random.default_rng(0)
>>> x = pd.DataFrame({"a": rng.normal(size=600), "b": rng.normal(size=600)})
>>> group = np.where(x["a"] + rng.normal(scale=0.3, size=600) > 0, "g1", "g2")
>>> result = proxy_test(x, pd.DataFrame({"attr": group}), level=0.7, seed=0)
>>> result[0]["flagged"], result[0]["top_features"][0]
(True, 'a')
"""

from __future__ import annotations

from typing import Any

import lightgbm as lgb
import numpy as np
import pandas as pd
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import StratifiedKFold

from vru_risk.fairness_reports.groups import group_labels
from vru_risk.fairness_reports.notes import STAGE_PROXY, GroupNote, count_words

PARAMS: dict[str, Any] = {
    "objective": "binary",
    "num_leaves": 7,
    "learning_rate": 0.1,
    "min_child_samples": 20,
    "deterministic": True,
    "force_row_wise": True,
    "num_threads": 1,  # small models: a second thread costs more than it gives
    "verbose": -1,
}
ROUNDS = 60
_EXAMPLES = ("example", "examples")  # the audited examples (teachable moments) it is fitted on


def _auc_and_gain(
    x: np.ndarray, y: np.ndarray, names: list[str], *, seed: int, folds: int
) -> tuple[float, np.ndarray]:
    scores = np.zeros(len(y))
    gain = np.zeros(x.shape[1])
    splitter = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
    for train, test in splitter.split(x, y):
        booster = lgb.train(
            {**PARAMS, "seed": seed},
            lgb.Dataset(x[train], label=y[train], feature_name=names),
            num_boost_round=ROUNDS,
        )
        scores[test] = booster.predict(x[test])
        gain += booster.feature_importance(importance_type="gain")
    return float(roc_auc_score(y, scores)), gain


def proxy_test(
    features: pd.DataFrame,
    sensitive_features: pd.DataFrame,
    *,
    level: float = 0.7,
    seed: int = 0,
    folds: int = 3,
    min_group: int = 30,
    top: int = 5,
) -> list[dict[str, Any]]:
    """Per attribute: the largest one-group-versus-rest AUC and the features that carry it.

    Missing attribute values form the group ``unknown``; groups with fewer than ``min_group``
    members (or non-members) are skipped and listed; :func:`proxy_notes` says why, one note per
    skipped group.
    """
    if len(features) != len(sensitive_features):
        raise ValueError(
            f"features have {len(features)} rows but sensitive_features {len(sensitive_features)}"
        )
    x = features.to_numpy(dtype="float64")
    names = [str(c) for c in features.columns]
    out: list[dict[str, Any]] = []
    for attribute in sensitive_features.columns:
        labels = group_labels(sensitive_features[attribute])
        groups: list[dict[str, Any]] = []
        skipped: list[str] = []
        for group in sorted(set(labels)):
            y = (labels == group).astype(float)
            if _skip_reason(labels, group, max(min_group, folds)) is not None:
                skipped.append(group)
                continue
            auc, gain = _auc_and_gain(x, y, names, seed=seed, folds=folds)
            order = np.argsort(-gain)[:top]
            groups.append(
                {
                    "group": group,
                    "auc": auc,
                    "top_features": [names[i] for i in order if gain[i] > 0],
                }
            )
        worst = max(groups, key=lambda g: g["auc"], default=None)
        out.append(
            {
                "attribute": str(attribute),
                "auc": worst["auc"] if worst else None,
                "group": worst["group"] if worst else None,
                "top_features": worst["top_features"] if worst else [],
                "flagged": bool(worst and worst["auc"] > level),
                "level": level,
                "groups": groups,
                "skipped_groups": skipped,
            }
        )
    return out


def _skip_reason(labels: np.ndarray, group: str, needed: int) -> str | None:
    """Why the proxy test cannot cross-validate ``group`` against the rest, or None."""
    inside = int((labels == group).sum())
    outside = len(labels) - inside
    rule = f"(the test needs at least {needed:,} examples in the group and {needed:,} outside it)"
    if inside < needed:
        return f"only {count_words(inside, _EXAMPLES)} in it {rule}"
    if outside == 0:
        return f"every example is in it, so there is nothing to tell it from {rule}"
    if outside < needed:
        return f"only {count_words(outside, _EXAMPLES)} outside it {rule}"
    return None


def proxy_notes(
    sensitive_features: pd.DataFrame, *, folds: int = 3, min_group: int = 30
) -> list[GroupNote]:
    """One note per group :func:`proxy_test` skips (same ``folds`` and ``min_group``)."""
    notes = []
    for attribute in sensitive_features.columns:
        labels = group_labels(sensitive_features[attribute])
        for group in sorted(set(labels)):
            reason = _skip_reason(labels, group, max(min_group, folds))
            if reason is not None:
                notes.append(
                    GroupNote(
                        STAGE_PROXY,
                        str(attribute),
                        group,
                        reason,
                        "The test cannot say whether the model's features carry membership of "
                        "this group; the attribute's result covers its other groups only.",
                    )
                )
    return notes
