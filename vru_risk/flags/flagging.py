"""From scored teachable moments to flags: programme matching within capacity, then reasons.

The order of work follows the costs measured on 2 cores (LightGBM ``predict`` ~160k rows/s,
``pred_contrib`` 600-5,000 rows/s): every moment is scored with one ``predict`` call
(:func:`score_moments`); programmes take the highest scores they are eligible for, within the
capacity left in their period (:func:`allocate`); only the moments that become flags are explained,
in one batched ``pred_contrib`` call (:func:`explain_rows`). Any other moment can be explained on
demand with :func:`explain_rows` too (no programme offers), or, one at a time in the server,
with :class:`MomentRows`, :func:`score_rows` and :func:`explain_moment_rows` (plain arrays, no
pandas per request).

A programme never re-offers support to a young person it already supports (``interventions``):
the flag shows that programme as ``already_supported`` instead. Capacity is per programme and
period (a week from Monday, or a calendar month): flags issued earlier in the period, passed as
``issued``, use it up.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date, timedelta
from typing import Final

import numpy as np
import pandas as pd

from vru_risk.features.catalog import render_phrase
from vru_risk.features.moments import Moments
from vru_risk.flags.flag import (
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
from vru_risk.flags.ledger import capacity_used, offer_dates
from vru_risk.flags.programmes import Programme, Programmes
from vru_risk.flags.reasons import explain_batch, families
from vru_risk.models.risk_model import FrameMismatchError, ModelInputs, RiskModel

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
    inputs = model.inputs(x)
    probability = model.predict(inputs)
    out["probability"] = probability
    out["percentile"] = model.percentile(probability)
    out["unseen_pattern"] = model.unseen_pattern(inputs, frame["sources_unavailable"].fillna(""))
    return out


@dataclass(frozen=True)
class MomentRows:
    """Some moments as plain columns (row k is one moment): what scoring and explaining need,
    without pandas, so that the server can explain one moment per request cheaply. Made by
    :meth:`of` from :class:`Moments` and a model (whose spec checks the inputs)."""

    inputs: ModelInputs
    person_id: tuple[str, ...]
    as_of: tuple[date, ...]
    age_years: tuple[int | None, ...]
    #: per row, the comma-joined sources the VRU lacked for it ('' = none)
    unavailable: tuple[str, ...]
    triggers: tuple[tuple[Trigger, ...], ...]
    #: the sources the VRU lacks for every moment (``Moments.sources_unavailable``)
    vru_unavailable: frozenset[str]
    refreshed: Mapping[str, date | None]

    def __len__(self) -> int:
        return len(self.person_id)

    @classmethod
    def of(
        cls, model: RiskModel, moments: Moments, positions: Sequence[int] | None = None
    ) -> MomentRows:
        """The rows at ``positions`` of ``moments.frame`` (all when None), checked against
        ``model``'s spec."""
        frame = moments.frame
        if positions is not None:
            frame = frame.iloc[np.asarray(positions, dtype=np.int64)].reset_index(drop=True)
        persons = tuple(str(p) for p in frame["person_id"])
        days: tuple[date, ...] = tuple(frame["as_of"])
        triggers = _triggers_of(moments, persons, days)
        return cls(
            inputs=model.inputs(_feature_frame(frame, model.spec.names)),
            person_id=persons,
            as_of=days,
            age_years=tuple(_optional_int(a) for a in frame["age_completed"]),
            unavailable=tuple("" if _missing(v) else str(v) for v in frame["sources_unavailable"]),
            triggers=tuple(tuple(triggers.get(k, ())) for k in range(len(persons))),
            vru_unavailable=frozenset(moments.sources_unavailable),
            refreshed=dict(moments.refreshed),
        )

    def take(self, positions: Sequence[int]) -> MomentRows:
        """The rows at ``positions``, in that order."""
        return replace(
            self,
            inputs=self.inputs.take(positions),
            person_id=tuple(self.person_id[k] for k in positions),
            as_of=tuple(self.as_of[k] for k in positions),
            age_years=tuple(self.age_years[k] for k in positions),
            unavailable=tuple(self.unavailable[k] for k in positions),
            triggers=tuple(self.triggers[k] for k in positions),
        )


def _feature_frame(frame: pd.DataFrame, names: Sequence[str]) -> pd.DataFrame:
    """The model's inputs from a moments frame, as float64; :class:`FrameMismatchError` when
    columns are missing or not numbers (a folder materialised for another feature spec)."""
    missing = [n for n in names if n not in frame.columns]
    if missing:
        raise FrameMismatchError([f"missing column(s): {', '.join(missing[:10])}"])
    try:
        return frame[list(names)].astype("float64")
    except (ValueError, TypeError) as exc:
        raise FrameMismatchError([f"column(s) that are not numbers: {exc}"]) from None


@dataclass(frozen=True)
class RowScores:
    """Calibrated probability, percentile and unseen-pattern warning of some moments."""

    probability: np.ndarray
    percentile: np.ndarray
    unseen_pattern: np.ndarray


def score_rows(model: RiskModel, rows: MomentRows) -> RowScores:
    """:func:`score_moments` for :class:`MomentRows` (no pandas)."""
    probability = model.predict(rows.inputs)
    return RowScores(
        probability=probability,
        percentile=model.percentile(probability),
        unseen_pattern=model.unseen_pattern(rows.inputs, rows.unavailable),
    )


def _missing(value: object) -> bool:
    return value is None or (isinstance(value, float) and np.isnan(value)) or value is pd.NA


def _optional_int(value: object) -> int | None:
    if _missing(value):
        return None
    return int(str(value).split(".")[0]) if isinstance(value, str) else int(float(str(value)))


def _triggers_of(
    moments: Moments, persons: Sequence[str], days: Sequence[date]
) -> dict[int, list[Trigger]]:
    """The triggers of the moments (persons[k], days[k]), keyed by k."""
    trig = moments.triggers
    wanted: dict[tuple[str, date], list[int]] = defaultdict(list)
    for k, (p, d) in enumerate(zip(persons, days, strict=True)):
        wanted[(p, d)].append(k)  # a moment asked for twice gets its triggers twice
    person_col = trig["person_id"].astype(str).to_numpy(dtype=object)
    keep = np.flatnonzero(pd.Series(person_col).isin(set(persons)).to_numpy())
    out: dict[int, list[Trigger]] = defaultdict(list)
    cols = [
        trig[c].to_numpy(dtype=object)[keep]
        for c in ("as_of", "trigger_kind", "source", "trigger_date", "detail")
    ]
    for person, as_of, kind, source, day, detail in zip(person_col[keep], *cols, strict=True):
        positions = wanted.get((person, as_of), ())
        if positions:
            trigger = Trigger(
                kind=kind,
                source=source,
                date=day,
                detail=None if _missing(detail) else str(detail),
            )
            for k in positions:
                out[k].append(trigger)
    return out


def issued_counts(flags: Iterable[Flag], programmes: Programmes) -> dict[tuple[str, date], int]:
    """Offers already made per (programme, period start), from earlier flags (the capacity
    they use, counted by :func:`vru_risk.flags.ledger.capacity_used`)."""
    earlier = list(flags)
    counts: dict[tuple[str, date], int] = {}
    for programme in programmes.programmes:
        offers = offer_dates(earlier, programme.id)
        for start in {programme.period_start(day) for day in offers}:
            counts[(programme.id, start)] = capacity_used(offers, programme, start)
    return counts


def _row_positions(frame: pd.DataFrame, other: pd.DataFrame, day_column: str) -> np.ndarray:
    """For each row of ``other`` (person_id, ``day_column``), its row position in ``frame``
    (person_id, as_of), or -1."""
    if len(other) == 0:
        return np.zeros(0, dtype=np.int64)
    keys = pd.MultiIndex.from_arrays(
        [frame["person_id"].astype(str).to_numpy(), pd.Index(frame["as_of"])]
    )
    wanted = pd.MultiIndex.from_arrays(
        [other["person_id"].astype(str).to_numpy(), pd.Index(other[day_column])]
    )
    return np.asarray(keys.get_indexer(wanted), dtype=np.int64)


def _eligible(
    programme: Programme,
    scored: pd.DataFrame,
    moments: Moments,
    trigger_rows: np.ndarray,
    supported_rows: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """Boolean masks over ``scored``: eligible for ``programme``; already supported by it."""
    n = len(scored)
    ages = scored["age_completed"].to_numpy(dtype="float64", na_value=np.nan)
    mask = (ages >= programme.min_age) & (ages <= programme.max_age)
    trig = moments.triggers
    ok = np.array(trig["trigger_kind"].isin(programme.trigger_kinds), dtype=bool)
    if programme.hospitals is not None:
        at_hospital = np.array(trig["detail"].isin(programme.hospitals), dtype=bool)
        ok = ok & (np.array(trig["trigger_kind"] != "ae_visit", dtype=bool) | at_hospital)
    by_trigger = np.zeros(n, dtype=bool)
    by_trigger[trigger_rows[ok & (trigger_rows >= 0)]] = True
    mask &= by_trigger
    if programme.schools is not None:
        mask &= scored["school_id"].isin(programme.schools).to_numpy()
    supports = np.array(
        [programme.supports(str(p)) for p in moments.supported["programme"]], dtype=bool
    )
    already = np.zeros(n, dtype=bool)
    if len(supports):
        already[supported_rows[supports & (supported_rows >= 0)]] = True
    return mask & ~already, mask & already


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
    programmes that offer support (``rank``: its place among the programme's offers in the
    period, 1 = the period's first) and those
    already supporting the young person. A row offered by no programme is not a flag. A
    programme does not offer support again to someone it offered it to in a flag still valid
    (``issued`` flags, or earlier days of this batch, valid for ``valid_days``). Eligibility is
    computed with array operations, so a million moments cost about as much as scoring them.
    """
    scored = scored.reset_index(drop=True)
    earlier = list(issued)
    used: dict[tuple[str, date], int] = defaultdict(int, issued_counts(earlier, programmes))
    offered_until: dict[tuple[str, str], date] = {}
    for flag in earlier:
        for offer in flag.programmes:
            if offer.status == "offered":
                key = (offer.programme, flag.person_id)
                offered_until[key] = max(flag.expires, offered_until.get(key, flag.expires))
    trigger_rows = _row_positions(scored, moments.triggers, "as_of")
    supported_rows = _row_positions(scored, moments.supported, "day")
    persons = scored["person_id"].astype(str).to_numpy(dtype=object)
    days = scored["as_of"].to_numpy(dtype=object)
    probability = scored["probability"].to_numpy(dtype="float64")
    percentile = scored["percentile"].to_numpy(dtype="float64")
    tie = pd.util.hash_array(persons, hash_key=f"vru-flags-{seed:06d}"[:16].ljust(16, "0"))
    entries: dict[int, list[ProgrammeOffer]] = defaultdict(list)
    for programme in programmes.programmes:
        eligible, already = _eligible(programme, scored, moments, trigger_rows, supported_rows)
        eligible &= percentile >= programme.min_percentile
        for i in np.flatnonzero(already):
            entries[int(i)].append(
                ProgrammeOffer(
                    programme=programme.id,
                    name=programme.name,
                    status="already_supported",
                    capacity=programme.capacity,
                )
            )
        for day in sorted(set(days[eligible])) if eligible.any() else ():
            rows = np.flatnonzero(eligible & (days == day))
            order = rows[np.lexsort((tie[rows], -probability[rows]))]
            period = (programme.id, programme.period_start(day))
            for i in order:
                if used[period] >= programme.capacity:
                    break
                key = (programme.id, str(persons[i]))
                if offered_until.get(key, day - timedelta(days=1)) >= day:
                    continue  # offered already, in a flag still valid
                used[period] += 1
                offered_until[key] = day + timedelta(days=valid_days)
                entries[int(i)].append(
                    ProgrammeOffer(
                        programme=programme.id,
                        name=programme.name,
                        status="offered",
                        rank=used[period],
                        capacity=programme.capacity,
                    )
                )
    return {
        i: tuple(e) for i, e in sorted(entries.items()) if any(x.status == "offered" for x in e)
    }


def _what_ifs(
    model: RiskModel,
    inputs: ModelInputs,
    contributions: np.ndarray,
    probability: np.ndarray,
    unseen: Sequence[Mapping[str, str]],
) -> dict[int, list[WhatIf]]:
    """Model scores with each raising actionable family moved to the cohort median, where that
    lowers the score by at least :data:`MIN_WHAT_IF_DROP`.

    ``inputs`` are the explained rows' features (row k of ``contributions``). One batched
    ``predict`` per family; the median inputs are the same for everyone, so are phrased once.
    """
    spec = model.spec
    rows = inputs.x
    out: dict[int, list[WhatIf]] = defaultdict(list)
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
        if len(chosen) == 0:
            continue
        changed = inputs.take(chosen)  # a copy
        changed.x[:, cols] = medians
        new = model.predict(changed)
        # only what would move the model's score down by at least MIN_WHAT_IF_DROP is worth
        # saying ("69% against 69% now" is noise, and a rise is not what could change it)
        keep = new <= probability[chosen] - MIN_WHAT_IF_DROP
        chosen, new = chosen[keep], new[keep]
        phrased = "; ".join(
            dict.fromkeys(
                render_phrase(spec.features[i], float(v))
                for i, v in zip(cols, medians, strict=True)
            )
        )
        for k, p in zip(chosen, new, strict=True):
            out[int(k)].append(
                WhatIf(
                    family=fam.name,
                    source=fam.source,
                    inputs=phrased,
                    probability=float(p),
                    text=(
                        f"model score with these inputs ({phrased}; the median of young people "
                        f"at such moments): {p:.0%}, against {probability[k]:.0%} now; "
                        f"{NOT_A_FORECAST}"
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
