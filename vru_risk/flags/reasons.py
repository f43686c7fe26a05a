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

How strongly a reason moves the score is said by :func:`vru_risk.flags.flag.strength_of`.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import Final

import numpy as np

from vru_risk.data.contract import AUDIT_ONLY_COLUMNS
from vru_risk.features.catalog import FeatureSpec
from vru_risk.features.phrases import render_phrase
from vru_risk.flags.flag import NotKnown, Reason, strength_of

#: Families that describe the young person's circumstances rather than anything support can
#: work on: shown apart from the reasons a practitioner can act on (``Reason.background``).
BACKGROUND_FAMILIES: Final = frozenset({"age", "attendance_enrolment"})
#: A family contributing less than this (|log-odds|) is not shown as a reason.
NEGLIGIBLE: Final = 0.005
#: At most this many of a family's phrases are shown (the largest contributions first).
PHRASES_PER_REASON: Final = 3


@dataclass(frozen=True)
class Family:
    name: str
    source: str
    columns: tuple[int, ...]
    actionable: bool


#: families by spec hash: a spec is immutable, and scoring one moment on demand asks twice
_FAMILIES: dict[str, tuple[Family, ...]] = {}


def families(spec: FeatureSpec) -> tuple[Family, ...]:
    """The spec's feature families in catalog order, with their column positions."""
    known = _FAMILIES.get(spec.hash)
    if known is None:
        known = _FAMILIES.setdefault(spec.hash, _families(spec))
    return known


def _families(spec: FeatureSpec) -> tuple[Family, ...]:
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


def family_text(
    spec: FeatureSpec,
    fam: Family,
    values: np.ndarray,
    contrib: np.ndarray,
    some_nonzero: bool | None = None,
) -> str:
    """The family's phrases with the person's values, largest contributions first (counts of
    zero are left out when another count of the family is not zero)."""
    order = sorted(fam.columns, key=lambda i: -abs(float(contrib[i])))
    # "0 suspensions in the last 90 days" adds nothing beside "3 suspensions on record"
    if some_nonzero is None:
        some_nonzero = any(
            float(values[i]) != 0 and not math.isnan(float(values[i])) for i in order
        )
    phrases: list[str] = []
    for i in order:
        info = spec.features[i]
        value = float(values[i])
        if math.isnan(value) and info.missing_phrase is None:
            continue
        if value == 0 and some_nonzero and info.aggregate in ("count", "sum", "distinct"):
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
    return explain_batch(
        spec,
        values.reshape(1, -1),
        contributions.reshape(1, -1),
        vru_unavailable=[vru_unavailable],
        top_for=top_for,
        top_against=top_against,
    )[0]


def explain_batch(
    spec: FeatureSpec,
    values: np.ndarray,
    contributions: np.ndarray,
    *,
    vru_unavailable: Sequence[Collection[str]],
    top_for: int = 5,
    top_against: int = 3,
) -> list[Explanation]:
    """Explain many rows at once (family sums and choices are array operations; only the
    reasons shown are phrased).

    ``values`` is rows x features, ``contributions`` rows x (features + 1) as from
    ``pred_contrib``; ``vru_unavailable`` lists, per row, the sources the VRU lacks.
    """
    fams = families(spec)
    k, n = values.shape
    if contributions.shape != (k, n + 1) or n != len(spec.features) or len(vru_unavailable) != k:
        raise ValueError(
            f"expected rows x {len(spec.features)} values, rows x {len(spec.features) + 1} "
            f"contributions and one list of unavailable sources per row; got {values.shape}, "
            f"{contributions.shape} and {len(vru_unavailable)}"
        )
    member = np.zeros((n, len(fams)))
    for j, fam in enumerate(fams):
        member[list(fam.columns), j] = 1.0
    missing = np.isnan(values)
    phrasable = ~missing | np.array([f.missing_phrase is not None for f in spec.features])
    family_sum = contributions[:, :n] @ member
    has_text = (phrasable.astype(float) @ member) > 0
    has_missing = (missing.astype(float) @ member) > 0
    has_nonzero = ((~missing & (values != 0)).astype(float) @ member) > 0
    source_of = [fam.source for fam in fams]
    sources = [s for s in spec.sources if s != "people"]
    all_missing = {
        s: missing[:, [i for i, f in enumerate(spec.features) if f.source == s]].all(axis=1)
        for s in sources
    }
    base = contributions[:, -1]
    raw = contributions.sum(axis=1)
    missing_texts: dict[tuple[int, tuple[int, ...]], str] = {}
    out: list[Explanation] = []
    for r in range(k):
        unseen = dict.fromkeys(vru_unavailable[r], "not shared with this VRU")
        for s in sources:
            if s not in unseen and all_missing[s][r]:
                unseen[s] = "no record for this young person"
        visible = np.array([src not in unseen for src in source_of], dtype=bool)
        sums = family_sum[r]
        usable = visible & has_text[r] & (np.abs(sums) >= NEGLIGIBLE)
        up = np.flatnonzero(usable & (sums > 0))
        down = np.flatnonzero(usable & (sums < 0))
        up = up[np.argsort(-sums[up], kind="stable")][:top_for]
        down = down[np.argsort(sums[down], kind="stable")][:top_against]

        def reason(j: int, row: int = r) -> Reason:
            fam = fams[j]
            total = float(family_sum[row, j])
            return Reason(
                family=fam.name,
                source=fam.source,
                direction="raises" if total > 0 else "lowers",
                strength=strength_of(total),
                text=family_text(
                    spec, fam, values[row], contributions[row], bool(has_nonzero[row, j])
                ),
                contribution=total,
                features=tuple(spec.features[i].name for i in fam.columns),
                background=fam.name in BACKGROUND_FAMILIES,
            )

        shown_for = tuple(reason(int(j)) for j in up)
        shown_against = tuple(reason(int(j)) for j in down)
        not_known = []
        for col in np.flatnonzero(visible & has_missing[r]):
            fam = fams[int(col)]
            gaps = tuple(i for i in fam.columns if missing[r, i])
            text = missing_texts.get((int(col), gaps))
            if text is None:
                text = "; ".join(
                    dict.fromkeys(
                        spec.features[i].missing_phrase or f"{spec.features[i].name}: no value"
                        for i in gaps
                    )
                )
                missing_texts[(int(col), gaps)] = text
            not_known.append(NotKnown(source=fam.source, family=fam.name, text=text))
        shown = float(sums[up].sum() + sums[down].sum())
        out.append(
            Explanation(
                reasons_for=shown_for,
                reasons_against=shown_against,
                other_factors=float(raw[r] - base[r] - shown),
                base_value=float(base[r]),
                raw_score=float(raw[r]),
                not_known=tuple(not_known),
                unseen=unseen,
            )
        )
    return out
