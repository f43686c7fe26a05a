"""Explaining the moments that become flags: reasons, what the model cannot see, what could
change the model's score, and the Flag itself.

``pred_contrib`` costs 600-5,000 rows/s on 2 cores against ``predict``'s 160k, so only the
moments that become flags are explained, in one batched call (:func:`explain_rows`). Any other
moment can be explained on demand with :func:`explain_rows` too (no programme offers), or, one
at a time in the server, with :func:`explain_moment_rows` from
:class:`~vru_risk.flags.score.MomentRows`. The reasons themselves are phrased by
:mod:`~vru_risk.flags.reasons`.

Example
-------
>>> FlagOptions().top_for, FlagOptions().valid_days
(5, 90)
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Final

import numpy as np
import pandas as pd

from vru_risk.features.moments import Moments
from vru_risk.features.phrases import render_phrase
from vru_risk.flags.flag import (
    CannotSee,
    Flag,
    ModelRef,
    ProgrammeOffer,
    SourceNote,
    WhatIf,
    band_for,
    flag_id,
)
from vru_risk.flags.reasons import Family, explain_batch, families
from vru_risk.flags.score import MomentRows, RowScores
from vru_risk.flags.wording import what_if_sentence
from vru_risk.models.base_rates import base_rate_of
from vru_risk.models.risk_model import ModelInputs, RiskModel

#: A what-if is shown only when the model's score would drop by at least this (probability).
MIN_WHAT_IF_DROP: Final = 0.01
UNSEEN_PATTERN_WARNING: Final = (
    "The model never saw this combination of available sources in training (not seen: {}); "
    "its score for this young person is less reliable than usual."
)


@dataclass(frozen=True)
class FlagOptions:
    """How many reasons to show and how long a flag stays valid."""

    top_for: int = 5
    top_against: int = 3
    valid_days: int = 90


def _what_ifs(
    model: RiskModel,
    inputs: ModelInputs,
    contributions: np.ndarray,
    probability: np.ndarray,
    unseen: Sequence[Mapping[str, str]],
) -> dict[int, list[WhatIf]]:
    """Model scores with each raising actionable family moved to the cohort median (what most
    young people at such moments have), where that lowers the score by at least
    :data:`MIN_WHAT_IF_DROP`.

    ``inputs`` are the explained rows' features (row k of ``contributions``). One batched
    ``predict`` per family; the median inputs are the same for everyone, so are phrased once.
    """
    spec = model.spec
    rows = inputs.x
    asked: list[tuple[Family, np.ndarray, np.ndarray]] = []  # family, rows chosen, medians
    for fam in families(spec):
        if not fam.actionable:
            continue
        cols = list(fam.columns)
        medians = np.array(
            [
                np.nan if (m := model.feature_medians.get(spec.features[i].name)) is None else m
                for i in cols
            ]
        )
        raises = contributions[:, cols].sum(axis=1) > 0
        visible = np.array([fam.source not in u for u in unseen], dtype=bool)
        same = np.all(
            (rows[:, cols] == medians) | (np.isnan(rows[:, cols]) & np.isnan(medians)), axis=1
        )
        chosen = np.flatnonzero(raises & visible & ~same)
        if len(chosen):
            asked.append((fam, chosen, medians))
    if not asked:
        return {}
    changed = inputs.take(np.concatenate([chosen for _, chosen, _ in asked]))  # a copy
    start = 0
    for fam, chosen, medians in asked:
        changed.x[start : start + len(chosen), list(fam.columns)] = medians
        start += len(chosen)
    predicted = np.split(model.predict(changed), np.cumsum([len(c) for _, c, _ in asked])[:-1])
    out: dict[int, list[WhatIf]] = defaultdict(list)
    for (fam, chosen, medians), new in zip(asked, predicted, strict=True):
        # only what would move the model's score down by at least MIN_WHAT_IF_DROP is worth
        # saying ("69% against 69% now" is noise, and a rise is not what could change it)
        keep = new <= probability[chosen] - MIN_WHAT_IF_DROP
        phrased = "; ".join(
            dict.fromkeys(
                render_phrase(spec.features[i], float(v))
                for i, v in zip(fam.columns, medians, strict=True)
            )
        )
        for k, p in zip(chosen[keep], new[keep], strict=True):
            out[int(k)].append(
                WhatIf(
                    family=fam.name,
                    source=fam.source,
                    inputs=phrased,
                    probability=float(p),
                    text=what_if_sentence(phrased, float(p), float(probability[k])),
                )
            )
    return out


def _or(value: float | None, default: float) -> float:
    return default if value is None else value


def explain_rows(
    model: RiskModel,
    moments: Moments,
    scored: pd.DataFrame,
    positions: Sequence[int],
    *,
    offers: Mapping[int, tuple[ProgrammeOffer, ...]] | None = None,
    model_ref: ModelRef,
    options: FlagOptions | None = None,
) -> list[Flag]:
    """Flags for the rows at ``positions`` of ``scored`` (one batched ``pred_contrib`` call)."""
    if not positions:
        return []
    where = np.asarray(positions, dtype=np.int64)
    scores = RowScores(
        probability=scored["probability"].to_numpy(dtype="float64")[where],
        percentile=scored["percentile"].to_numpy(dtype="float64")[where],
        unseen_pattern=scored["unseen_pattern"].to_numpy(dtype="bool")[where],
    )
    return explain_moment_rows(
        model,
        MomentRows.of(model, moments, positions),
        scores,
        offers=[(offers or {}).get(pos, ()) for pos in positions],
        model_ref=model_ref,
        options=options,
    )


def explain_moment_rows(
    model: RiskModel,
    rows: MomentRows,
    scores: RowScores,
    *,
    offers: Sequence[tuple[ProgrammeOffer, ...]] | None = None,
    model_ref: ModelRef,
    options: FlagOptions | None = None,
) -> list[Flag]:
    """Flags for every row of ``rows`` (one batched ``pred_contrib`` call); ``offers[k]`` are
    row k's programme entries (none: an explanation on demand)."""
    opts = options or FlagOptions()
    if len(rows) == 0:
        return []
    spec = model.spec
    contributions = model.contribution_values(rows.inputs)
    x = rows.inputs.x
    explanations = explain_batch(
        spec,
        x,
        contributions,
        vru_unavailable=[
            set(rows.vru_unavailable) | set(filter(None, u.split(","))) for u in rows.unavailable
        ],
        top_for=opts.top_for,
        top_against=opts.top_against,
    )
    what_ifs = _what_ifs(
        model, rows.inputs, contributions, scores.probability, [e.unseen for e in explanations]
    )
    refreshed = dict(rows.refreshed)
    # without stored base rates: the model's average estimate over its reference population
    average = float(np.clip(np.mean(model.reference_scores), 0.0, 1.0))
    flags = []
    for k, e in enumerate(explanations):
        person = rows.person_id[k]
        as_of = rows.as_of[k]
        warnings: tuple[str, ...] = ()
        if scores.unseen_pattern[k]:
            warnings = (UNSEEN_PATTERN_WARNING.format(", ".join(sorted(e.unseen)) or "none"),)
        percentile = float(scores.percentile[k])
        flags.append(
            Flag(
                flag_id=flag_id(person, as_of, model.content_hash),
                person_id=person,
                as_of=as_of,
                age_years=rows.age_years[k],
                triggers=rows.triggers[k],
                probability=float(scores.probability[k]),
                percentile=percentile,
                band=band_for(percentile),
                raw_score=e.raw_score,
                base_value=e.base_value,
                reasons_for=e.reasons_for,
                reasons_against=e.reasons_against,
                other_factors=e.other_factors,
                cannot_see=CannotSee(
                    sources_unavailable=tuple(
                        SourceNote.model_validate({"source": s, "why": why})
                        for s, why in sorted(e.unseen.items())
                    ),
                    sources_refreshed=refreshed,
                    not_known=e.not_known,
                    unseen_pattern_warning=warnings[0] if warnings else None,
                ),
                what_could_change=tuple(what_ifs.get(k, ())),
                programmes=offers[k] if offers is not None else (),
                scoring_model=model_ref,
                expires=as_of + timedelta(days=opts.valid_days),
                warnings=warnings,
                reference_rate=_or(
                    base_rate_of(model.info, [t.kind for t in rows.triggers[k]]), average
                ),
            )
        )
    return flags
