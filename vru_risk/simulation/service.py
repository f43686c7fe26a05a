"""The daily job replayed over a service period, a month at a time, with what practitioners and
young people did fed back.

Each month's moments (built as the daily job builds them, :class:`~vru_risk.features.moments.
Moments`) are scored (:func:`~vru_risk.flags.score.score_moments`), matched to programmes by the
one allocation (:func:`~vru_risk.flags.allocate.replay`, its state carried from month to month as
the daily job's ledger and pacing history carry it), and the moments offered a place are
explained as flags (:func:`~vru_risk.flags.explain.explain_rows`). Practitioners then decide on
each offer (:func:`~vru_risk.simulation.practitioners.decide`), and support that starts is
support under way for the months after: a programme never offers a place to a young person it
already supports (once the VRU knows of the support), as in the service.

What support prevents is applied afterwards, to the records
(:mod:`~vru_risk.simulation.consequence`): the moments scored here are those of the extract the
service started from, so a record its support prevented is still among the triggers and
features of later moments in what it scored (:func:`moments_after_prevented` counts them).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from vru_risk.features.moments import Moments
from vru_risk.flags.allocate import (
    AllocationState,
    DayRule,
    moment_candidates,
    programme_entries,
    replay,
)
from vru_risk.flags.explain import FlagOptions, explain_rows
from vru_risk.flags.flag import Flag, ModelRef
from vru_risk.flags.lottery import Draw
from vru_risk.flags.programmes import Programme, Programmes
from vru_risk.flags.score import score_moments
from vru_risk.models.risk_model import RiskModel
from vru_risk.simulation.config import ServiceConfig
from vru_risk.simulation.practitioners import decide

#: the columns of a service's support periods
SUPPORT_COLUMNS = ("person_id", "programme_id", "programme", "start_date", "end_date", "known_date")


@dataclass(frozen=True)
class ServiceRun:
    """What the simulated service did: its flags, the decision on each offer (with the flag's
    id, probability and percentile), the support that started, and the lotteries drawn by
    programmes that enable one (winners and losers, for the evaluation to compare)."""

    flags: list[Flag]
    decisions: pd.DataFrame
    support: pd.DataFrame
    rules: tuple[DayRule, ...]
    moments: int
    months: tuple[str, ...] = field(default_factory=tuple)
    draws: tuple[Draw, ...] = ()


def intervention_name(programme: Programme) -> str:
    """The ``interventions.programme`` value a programme's support is recorded under."""
    return programme.intervention_names[0] if programme.intervention_names else programme.name


def with_support(moments: Moments, support: pd.DataFrame) -> Moments:
    """``moments`` with the service's ``support`` (:data:`SUPPORT_COLUMNS`) added to the support
    under way on each moment's day, once the VRU knows of it (the extract's rule)."""
    if support.empty or moments.frame.empty:
        return moments
    days = moments.frame[["person_id", "as_of"]].astype({"person_id": str}).drop_duplicates()
    joined = days.merge(support, on="person_id", how="inner")
    day = joined["as_of"]
    under_way = (
        (joined["start_date"] <= day)
        & (joined["known_date"] <= day)
        & (joined["end_date"].isna() | (joined["end_date"] >= day))
    )
    added = joined.loc[under_way.to_numpy(dtype=bool), ["person_id", "as_of", "programme"]]
    added = added.rename(columns={"as_of": "day"})
    supported = pd.concat([moments.supported, added], ignore_index=True)
    supported = supported.drop_duplicates().sort_values(["person_id", "day", "programme"])
    return Moments(
        days=moments.days,
        extract_date=moments.extract_date,
        frame=moments.frame,
        triggers=moments.triggers,
        supported=supported.reset_index(drop=True),
        refreshed=moments.refreshed,
        sources_unavailable=moments.sources_unavailable,
    )


def run_service(
    model: RiskModel,
    model_ref: ModelRef,
    months: Iterable[Moments],
    programmes: Programmes,
    groups: pd.DataFrame,
    config: ServiceConfig,
    *,
    valid_days: int,
    extract_date: dt.date,
    left_area: Mapping[str, dt.date],
    county_support: pd.DataFrame | None = None,
    progress: Callable[[str], None] | None = None,
) -> ServiceRun:
    """The service over ``months`` (each month's moments, in date order; see the module
    docstring). ``groups``: audit-only group labels by person_id (for group-dependent
    agreement); ``left_area``: the day each young person who left the area left it;
    ``county_support``: the county's own interventions (person_id, programme, start_date,
    end_date), which a programme knows of from their first day (a referral to a programme
    that already supports the young person starts nothing new: ``already_in_programme``)."""
    state = AllocationState()
    rules: list[DayRule] = []
    flags: list[Flag] = []
    decided: list[pd.DataFrame] = []
    support = pd.DataFrame({c: [] for c in SUPPORT_COLUMNS})
    names = {p.id: intervention_name(p) for p in programmes.programmes}
    options = FlagOptions(valid_days=valid_days)
    total = 0
    labels: list[str] = []
    for month in months:
        moments = with_support(month, support)
        scored = score_moments(model, moments)
        total += len(scored)
        if moments.days:
            labels.append(moments.days[0].strftime("%Y-%m"))
        candidates = moment_candidates(scored, moments, programmes)
        made = replay(candidates, programmes, state, seed=0, valid_days=valid_days, rules=rules)
        entries = programme_entries(candidates, made, programmes)
        made_flags = explain_rows(
            model, moments, scored, list(entries), offers=entries, model_ref=model_ref,
            options=options,
        )  # fmt: skip
        flags += made_flags
        ids = dict(zip(entries, (f.flag_id for f in made_flags), strict=True))
        offers = pd.DataFrame(
            {
                "person_id": [str(candidates.person_id[o.row]) for o in made],
                "as_of": [o.day for o in made],
                "programme": [o.programme for o in made],
                "rank": [o.rank for o in made],
                "flag_id": [ids[o.row] for o in made],
                "probability": [float(candidates.probability[o.row]) for o in made],
                "percentile": [float(candidates.percentile[o.row]) for o in made],
            }
        )
        done = decide(
            offers, groups, config, programmes, extract_date=extract_date, left_area=left_area
        )
        done = _already_in_programme(done, names, support, county_support)
        decided.append(done)
        started = done[done["support_start"].notna()]
        if len(started):
            new = pd.DataFrame(
                {
                    "person_id": started["person_id"].astype(str).to_numpy(),
                    "programme_id": started["programme"].to_numpy(),
                    "programme": [names[g] for g in started["programme"]],
                    "start_date": started["support_start"].to_numpy(),
                    "end_date": started["support_end"].to_numpy(),
                    "known_date": started["support_known"].to_numpy(),
                }
            )
            support = pd.concat([support, new], ignore_index=True) if len(support) else new
        if progress is not None and labels:
            progress(labels[-1])
    decisions = (
        pd.concat(decided, ignore_index=True) if decided else pd.DataFrame(columns=["flag_id"])
    )
    return ServiceRun(
        flags=flags,
        decisions=decisions,
        support=support,
        rules=tuple(rules),
        moments=total,
        months=tuple(labels),
        draws=tuple(state.lottery.drawn),
    )


def _already_in_programme(
    done: pd.DataFrame,
    names: Mapping[str, str],
    support: pd.DataFrame,
    county_support: pd.DataFrame | None,
) -> pd.DataFrame:
    """``done`` with ``already_in_programme``: support of the same programme covered the day a
    taken-up referral would have started; such a referral starts nothing new."""
    out = done.assign(already_in_programme=False)
    parts = [p for p in (county_support, support) if p is not None and len(p)]
    starts = out["support_start"].notna().to_numpy()
    if not parts or not starts.any():
        return out
    known = pd.concat(
        [p[["person_id", "programme", "start_date", "end_date"]] for p in parts], ignore_index=True
    )
    wanted = out.loc[starts, ["person_id", "programme", "support_start"]].assign(
        person_id=lambda f: f["person_id"].astype(str),
        programme=lambda f: [names[g] for g in f["programme"]],
        row=np.flatnonzero(starts),
    )
    joined = wanted.merge(known.astype({"person_id": str}), on=["person_id", "programme"])
    day = joined["support_start"]
    inside = (joined["start_date"] <= day) & (
        joined["end_date"].isna() | (joined["end_date"] >= day)
    )
    rows = joined.loc[inside.to_numpy(dtype=bool), "row"].unique()
    if len(rows):
        out.loc[rows, "already_in_programme"] = True
        for column in ("support_start", "support_end", "support_known"):
            out[column] = out[column].astype(object)
            out.loc[rows, column] = None
    return out


def moments_after_prevented(offers: pd.DataFrame, prevented: pd.DataFrame) -> int:
    """How many of the service's ``offers`` (person_id, as_of) came after a record of the same
    young person that its support prevented (``prevented``: person_id, date): in what the service
    scored, that record was still a trigger or a feature."""
    if offers.empty or prevented.empty:
        return 0
    first = prevented.groupby(prevented["person_id"].astype(str))["date"].min()
    day = offers["person_id"].astype(str).map(first)
    known = day.notna().to_numpy()
    later = np.zeros(len(offers), dtype=bool)
    later[known] = [a > d for a, d in zip(offers["as_of"][known], day[known], strict=True)]
    return int(later.sum())
