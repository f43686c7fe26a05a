"""From scored teachable moments to flags: programme matching within capacity, then reasons.

The order of work follows the costs measured on 2 cores (LightGBM ``predict`` ~160k rows/s,
``pred_contrib`` 600-5,000 rows/s): every moment is scored with one ``predict`` call
(:func:`score_moments`); programmes take the highest scores they are eligible for, within the
capacity left in their period (:func:`allocate`); only the moments that become flags are explained,
in one batched ``pred_contrib`` call (:func:`explain_rows`). Any other moment can be explained on
demand with :func:`explain_rows` too (no programme offers).

A programme never re-offers support to a young person it already supports (``interventions``):
the flag shows that programme as ``already_supported`` instead. Capacity is per programme and
period (a week from Monday, or a calendar month): flags issued earlier in the period, passed as
``issued``, use it up.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Final, cast

import numpy as np
import pandas as pd

from vru_risk.features.catalog import render_phrase
from vru_risk.features.moments import Moments
from vru_risk.models.flag import (
    NOT_A_FORECAST,
    CannotSee,
    Flag,
    ModelRef,
    ProgrammeOffer,
    SourceNote,
    Trigger,
    WhatIf,
    band_for,
    flag_id,
)
from vru_risk.models.programmes import Programme, Programmes
from vru_risk.models.reasons import explain, families
from vru_risk.models.risk_model import RiskModel

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


def score_moments(model: RiskModel, moments: Moments) -> pd.DataFrame:
    """Every moment scored with one ``predict`` call.

    Returns the moments' id columns with ``probability`` (calibrated), ``percentile`` (in the
    model's reference distribution) and ``unseen_pattern`` (the source pattern never occurred
    in training), in the order of ``moments.frame``.
    """
    frame = moments.frame
    x = moments.features(model.spec)
    out = frame[["person_id", "as_of", "trigger_kinds", "age_completed", "school_id"]].copy()
    if len(frame) == 0:
        out["probability"] = pd.Series(dtype="float64")
        out["percentile"] = pd.Series(dtype="float64")
        out["unseen_pattern"] = pd.Series(dtype="bool")
        return out
    probability = model.predict(x)
    out["probability"] = probability
    out["percentile"] = model.percentile(probability)
    out["unseen_pattern"] = model.unseen_pattern(x, frame["sources_unavailable"].fillna(""))
    return out


def _missing(value: object) -> bool:
    return value is None or (isinstance(value, float) and np.isnan(value)) or value is pd.NA


def _optional_int(value: object) -> int | None:
    if _missing(value):
        return None
    return int(str(value).split(".")[0]) if isinstance(value, str) else int(float(str(value)))


def _triggers_by_moment(moments: Moments) -> dict[tuple[str, date], pd.DataFrame]:
    grouped = moments.triggers.groupby(["person_id", "as_of"], sort=False)
    out: dict[tuple[str, date], pd.DataFrame] = {}
    for key, group in grouped:
        person, day = key
        out[(str(person), cast(date, day))] = group
    return out


def _tie_break(person_id: str, seed: int) -> int:
    return int.from_bytes(hashlib.sha256(f"{seed}|{person_id}".encode()).digest()[:8], "big")


def _eligible_by_trigger(programme: Programme, triggers: pd.DataFrame) -> bool:
    for kind, detail in zip(triggers["trigger_kind"], triggers["detail"], strict=True):
        if kind not in programme.trigger_kinds:
            continue
        if (
            kind == "ae_visit"
            and programme.hospitals is not None
            and detail not in set(programme.hospitals)
        ):
            continue
        return True
    return False


def issued_counts(flags: Iterable[Flag], programmes: Programmes) -> dict[tuple[str, date], int]:
    """Offers already made per (programme, period start), from earlier flags."""
    counts: dict[tuple[str, date], int] = defaultdict(int)
    known = {p.id: p for p in programmes.programmes}
    for flag in flags:
        for offer in flag.programmes:
            if offer.status == "offered" and offer.programme in known:
                start = known[offer.programme].period_start(flag.as_of)
                counts[(offer.programme, start)] += 1
    return dict(counts)


def allocate(
    scored: pd.DataFrame,
    moments: Moments,
    programmes: Programmes,
    *,
    issued: Iterable[Flag] = (),
    seed: int = 0,
    valid_days: int = 90,
) -> dict[int, tuple[ProgrammeOffer, ...]]:
    """Match moments to programmes, day by day, highest scores first, within capacity.

    Returns, per row position of ``scored`` that becomes a flag, its programme entries: the
    programmes that offer support (ranked within each programme's list of the day) and those
    already supporting the young person. A row offered by no programme is not a flag. A
    programme does not offer support again to someone it offered it to in a flag still valid
    (``issued`` flags, or earlier days of this batch, valid for ``valid_days``).
    """
    earlier = list(issued)
    used: dict[tuple[str, date], int] = defaultdict(int, issued_counts(earlier, programmes))
    offered_until: dict[tuple[str, str], date] = {}
    for flag in earlier:
        for offer in flag.programmes:
            if offer.status == "offered":
                key = (offer.programme, flag.person_id)
                offered_until[key] = max(flag.expires, offered_until.get(key, flag.expires))
    triggers = _triggers_by_moment(moments)
    supported: dict[tuple[str, date], set[str]] = defaultdict(set)
    for person, day, prog in moments.supported[["person_id", "day", "programme"]].itertuples(
        index=False
    ):
        supported[(str(person), day)].add(str(prog))
    entries: dict[int, list[ProgrammeOffer]] = defaultdict(list)
    offered_rows: set[int] = set()
    persons = [str(p) for p in scored["person_id"]]
    days: list[date] = list(scored["as_of"])
    ages = [_optional_int(a) for a in scored["age_completed"]]
    schools = [None if _missing(s) else str(s) for s in scored["school_id"]]
    probability = scored["probability"].to_numpy(dtype="float64")
    percentile = scored["percentile"].to_numpy(dtype="float64")
    for day in sorted(set(days)):
        today = [i for i, d in enumerate(days) if d == day]
        for programme in programmes.programmes:
            candidates: list[tuple[float, int, int]] = []
            already: list[int] = []
            for i in today:
                person = persons[i]
                if not programme.age_eligible(ages[i]):
                    continue
                trig = triggers.get((person, day))
                if trig is None or not _eligible_by_trigger(programme, trig):
                    continue
                if programme.schools is not None and schools[i] not in set(programme.schools):
                    continue
                if any(programme.supports(p) for p in supported.get((person, day), ())):
                    already.append(i)
                    continue
                if percentile[i] < programme.min_percentile:
                    continue
                if offered_until.get((programme.id, person), day - timedelta(days=1)) >= day:
                    continue  # offered already, in a flag still valid
                candidates.append((-float(probability[i]), _tie_break(person, seed), i))
            period = (programme.id, programme.period_start(day))
            left = max(programme.capacity - used[period], 0)
            for rank, (_, _, i) in enumerate(sorted(candidates)[:left], start=1):
                entries[i].append(
                    ProgrammeOffer(
                        programme=programme.id,
                        name=programme.name,
                        status="offered",
                        rank=used[period] + rank,
                        capacity=programme.capacity,
                    )
                )
                offered_rows.add(i)
                offered_until[(programme.id, persons[i])] = day + timedelta(days=valid_days)
            used[period] += min(left, len(candidates))
            for i in already:
                entries[int(i)].append(
                    ProgrammeOffer(
                        programme=programme.id,
                        name=programme.name,
                        status="already_supported",
                        capacity=programme.capacity,
                    )
                )
    return {i: tuple(entries[i]) for i in sorted(offered_rows)}


def _what_ifs(
    model: RiskModel,
    x: np.ndarray,
    positions: Sequence[int],
    contributions: np.ndarray,
    probability: np.ndarray,
    unseen: Sequence[Mapping[str, str]],
) -> dict[int, list[WhatIf]]:
    """Model scores with each raising actionable family moved to the cohort median."""
    spec = model.spec
    asks: list[tuple[int, str, str, str, np.ndarray]] = []
    for k, pos in enumerate(positions):
        for fam in families(spec):
            if not fam.actionable or fam.source in unseen[k]:
                continue
            if float(contributions[k, list(fam.columns)].sum()) <= 0:
                continue
            row = x[pos].copy()
            phrases = []
            for i in fam.columns:
                median = model.feature_medians.get(spec.features[i].name)
                row[i] = np.nan if median is None else median
                phrases.append(render_phrase(spec.features[i], float(row[i])))
            if np.array_equal(row, x[pos], equal_nan=True):
                continue
            asks.append((k, fam.name, fam.source, "; ".join(dict.fromkeys(phrases)), row))
    out: dict[int, list[WhatIf]] = defaultdict(list)
    if not asks:
        return out
    frame = pd.DataFrame(np.vstack([a[4] for a in asks]), columns=list(spec.names))
    new = model.predict(frame)
    for (k, fam_name, source, inputs, _), p in zip(asks, new, strict=True):
        out[k].append(
            WhatIf(
                family=fam_name,
                source=source,
                inputs=inputs,
                probability=float(p),
                text=(
                    f"model score with these inputs ({inputs}; the median of young people at "
                    f"such moments): {p:.0%}, against {probability[k]:.0%} now; {NOT_A_FORECAST}"
                ),
            )
        )
    return out


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
    opts = options or FlagOptions()
    if not positions:
        return []
    spec = model.spec
    frame = moments.frame.reset_index(drop=True)
    persons = [str(p) for p in frame["person_id"]]
    days: list[date] = list(frame["as_of"])
    ages = [_optional_int(a) for a in frame["age_completed"]]
    unavailable_rows = [str(v) if not _missing(v) else "" for v in frame["sources_unavailable"]]
    percentiles = scored["percentile"].to_numpy(dtype="float64")
    unseen_pattern = scored["unseen_pattern"].to_numpy(dtype="bool")
    x_all = moments.features(spec).reset_index(drop=True)
    picked = x_all.iloc[list(positions)]
    contributions = model.contributions(picked).to_numpy()
    x = x_all.to_numpy(dtype="float64")
    probability = scored["probability"].to_numpy(dtype="float64")[list(positions)]
    unavailable = set(moments.sources_unavailable)
    explanations = [
        explain(
            spec,
            x[pos],
            contributions[k],
            vru_unavailable=unavailable | set(filter(None, unavailable_rows[pos].split(","))),
            top_for=opts.top_for,
            top_against=opts.top_against,
        )
        for k, pos in enumerate(positions)
    ]
    what_ifs = _what_ifs(
        model, x, positions, contributions, probability, [e.unseen for e in explanations]
    )
    triggers = _triggers_by_moment(moments)
    flags = []
    for k, pos in enumerate(positions):
        e = explanations[k]
        person = persons[pos]
        as_of = days[pos]
        trig = triggers.get((person, as_of))
        trigger_list = (
            ()
            if trig is None
            else tuple(
                Trigger(
                    kind=t.trigger_kind,
                    source=t.source,
                    date=t.trigger_date,
                    detail=None if _missing(t.detail) else str(t.detail),
                )
                for t in trig.itertuples(index=False)
            )
        )
        warnings: tuple[str, ...] = ()
        if unseen_pattern[pos]:
            warnings = (UNSEEN_PATTERN_WARNING.format(", ".join(sorted(e.unseen)) or "none"),)
        percentile = float(percentiles[pos])
        flags.append(
            Flag(
                flag_id=flag_id(person, as_of, model.content_hash),
                person_id=person,
                as_of=as_of,
                age_years=ages[pos],
                triggers=trigger_list,
                probability=float(probability[k]),
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
                    sources_refreshed=dict(moments.refreshed),
                    not_known=e.not_known,
                    unseen_pattern_warning=warnings[0] if warnings else None,
                ),
                what_could_change=tuple(what_ifs.get(k, ())),
                programmes=(offers or {}).get(pos, ()),
                scoring_model=model_ref,
                expires=as_of + timedelta(days=opts.valid_days),
                warnings=warnings,
            )
        )
    return flags


@dataclass(frozen=True)
class FlagBatch:
    """A batch's flags with what it took to make them."""

    flags: list[Flag]
    moments: int
    scored: pd.DataFrame


def generate_flags(
    model: RiskModel,
    moments: Moments,
    programmes: Programmes,
    *,
    model_ref: ModelRef,
    issued: Iterable[Flag] = (),
    options: FlagOptions | None = None,
    seed: int = 0,
) -> FlagBatch:
    """Score every moment, match programmes within capacity, explain the flags."""
    opts = options or FlagOptions()
    scored = score_moments(model, moments)
    offers = allocate(
        scored, moments, programmes, issued=issued, seed=seed, valid_days=opts.valid_days
    )
    positions = list(offers)
    flags = explain_rows(
        model, moments, scored, positions, offers=offers, model_ref=model_ref, options=opts
    )
    flags.sort(key=lambda f: (f.as_of, -f.probability, f.person_id))
    return FlagBatch(flags=flags, moments=len(scored), scored=scored)
