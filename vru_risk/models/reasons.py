"""Reasons in plain English from LightGBM's ``pred_contrib`` (exact TreeSHAP, log-odds).

The features of one *family* (the same source and subject over several windows, e.g. suspensions
in 90 days, a year and on record) are summed into one reason, phrased with the young person's own
values from the catalog ("2 suspensions in the last year; 3 suspensions on record"). Strength is
said in words, not log-odds. Reasons explain the booster's raw score *before calibration*:
``base value + every reason + other factors = raw score`` for every row.

A feature from a source the model could not see for this young person (not shared with the VRU,
or no record of them in it) is never a reason: its contribution goes to "other factors" and the
source is listed as not available instead. Audit-only attributes cannot be features at all (the
spec refuses them); :func:`explain` checks again and refuses.

Example
-------
>>> strength_of(1.2), strength_of(-0.2), strength_of(0.05)
('strongly', 'moderately', 'slightly')
"""

from __future__ import annotations

import math
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import Final

import numpy as np

from vru_risk.features.catalog import FeatureSpec, render_phrase
from vru_risk.features.contract import AUDIT_ONLY_COLUMNS
from vru_risk.models.flag import NotKnown, Reason, Strength

#: |log-odds| of a family's summed contribution at or above which it "strongly" / "moderately"
#: moves the score; below the second it "slightly" does.
STRONG: Final = 0.5
MODERATE: Final = 0.15
#: A family contributing less than this (|log-odds|) is not shown as a reason.
NEGLIGIBLE: Final = 0.005
#: At most this many of a family's phrases are shown (the largest contributions first).
PHRASES_PER_REASON: Final = 3


def strength_of(contribution: float) -> Strength:
    size = abs(contribution)
    if size >= STRONG:
        return "strongly"
    if size >= MODERATE:
        return "moderately"
    return "slightly"


@dataclass(frozen=True)
class Family:
    name: str
    source: str
    columns: tuple[int, ...]
    actionable: bool


def families(spec: FeatureSpec) -> tuple[Family, ...]:
    """The spec's feature families in catalog order, with their column positions."""
    out: dict[str, list[int]] = {}
    source: dict[str, str] = {}
    actionable: dict[str, bool] = {}
    for i, f in enumerate(spec.features):
        if f.name in AUDIT_ONLY_COLUMNS:
            raise ValueError(f"{f.name} is an audit-only attribute and can never be explained")
        out.setdefault(f.family, []).append(i)
        source.setdefault(f.family, f.source)
        actionable[f.family] = actionable.get(f.family, True) and f.actionable
    return tuple(
        Family(name, source[name], tuple(cols), actionable[name]) for name, cols in out.items()
    )


def unseen_sources(
    spec: FeatureSpec, values: np.ndarray, vru_unavailable: Collection[str]
) -> dict[str, str]:
    """Sources the model could not see for one row: source -> why."""
    out = dict.fromkeys(vru_unavailable, "not shared with this VRU")
    for source in spec.sources:
        if source == "people" or source in out:
            continue
        cols = [i for i, f in enumerate(spec.features) if f.source == source]
        if np.isnan(values[cols]).all():
            out[source] = "no record for this young person"
    return out


def family_text(spec: FeatureSpec, fam: Family, values: np.ndarray, contrib: np.ndarray) -> str:
    """The family's phrases with the person's values, largest contributions first."""
    order = sorted(fam.columns, key=lambda i: -abs(float(contrib[i])))
    phrases: list[str] = []
    for i in order:
        info = spec.features[i]
        value = float(values[i])
        if math.isnan(value) and info.missing_phrase is None:
            continue
        text = render_phrase(info, value)
        if text not in phrases:
            phrases.append(text)
        if len(phrases) == PHRASES_PER_REASON:
            break
    return "; ".join(phrases)


@dataclass(frozen=True)
class Explanation:
    """One row's reasons: for, against, the remainder and what had no value."""

    reasons_for: tuple[Reason, ...]
    reasons_against: tuple[Reason, ...]
    other_factors: float
    base_value: float
    raw_score: float
    not_known: tuple[NotKnown, ...]
    unseen: Mapping[str, str]


def explain(
    spec: FeatureSpec,
    values: np.ndarray,
    contributions: np.ndarray,
    *,
    vru_unavailable: Collection[str] = (),
    top_for: int = 5,
    top_against: int = 3,
) -> Explanation:
    """Explain one row from its feature ``values`` and ``pred_contrib`` row.

    ``contributions`` has one value per feature then the base value (LightGBM's layout).
    """
    n = len(spec.features)
    if values.shape != (n,) or contributions.shape != (n + 1,):
        raise ValueError(
            f"expected {n} values and {n + 1} contributions (features + base value), got "
            f"{values.shape} and {contributions.shape}"
        )
    unseen = unseen_sources(spec, values, vru_unavailable)
    base = float(contributions[-1])
    raw = float(contributions.sum())
    candidates: list[Reason] = []
    not_known: list[NotKnown] = []
    for fam in families(spec):
        if fam.source in unseen:
            continue
        total = float(contributions[list(fam.columns)].sum())
        missing = [
            spec.features[i].missing_phrase or f"{spec.features[i].name}: no value"
            for i in fam.columns
            if math.isnan(float(values[i]))
        ]
        if missing:
            text = "; ".join(dict.fromkeys(missing))
            not_known.append(NotKnown(source=fam.source, family=fam.name, text=text))
        text = family_text(spec, fam, values, contributions)
        if abs(total) < NEGLIGIBLE or not text:
            continue
        candidates.append(
            Reason(
                family=fam.name,
                source=fam.source,
                direction="raises" if total > 0 else "lowers",
                strength=strength_of(total),
                text=text,
                contribution=total,
                features=tuple(spec.features[i].name for i in fam.columns),
            )
        )
    raising = sorted((r for r in candidates if r.contribution > 0), key=lambda r: -r.contribution)
    lowering = sorted((r for r in candidates if r.contribution < 0), key=lambda r: r.contribution)
    shown = (*raising[:top_for], *lowering[:top_against])
    other = raw - base - sum(r.contribution for r in shown)
    return Explanation(
        reasons_for=tuple(raising[:top_for]),
        reasons_against=tuple(lowering[:top_against]),
        other_factors=other,
        base_value=base,
        raw_score=raw,
        not_known=tuple(not_known),
        unseen=unseen,
    )
