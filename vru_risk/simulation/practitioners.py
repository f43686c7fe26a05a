"""Simulated practitioners and young people: a decision on each offer, its reason and time, and
for a referral taken up, the support period that follows.

Each offer (young person, day, programme) gets its own draws (:mod:`~vru_risk.simulation.draws`):

- ``undecided`` of the offers expire with no decision;
- the others are decided 0 to ``decision_days`` days after the flag, at a working hour:
  referred (to the programme that offered the place) with the young person's agreement rate
  (:meth:`~vru_risk.simulation.config.ServiceConfig.agreement_for`), else disagree
  (``disagree_share``) or no action, each with a reason code of its kind;
- a referral is taken up with probability ``take_up``: support starts 1 to ``start_days`` days
  after the decision, lasts the programme's duration (ending the day before the young person
  left the area, and never starting after it), and is known 0 to ``known_lag_days`` days
  after it starts (``took_up`` is the young person's choice; ``support_start`` is empty when
  support did not start by the extract date).

A decision or a start after the extract date has not happened yet: it is left out (``None``).

Example
-------
>>> from datetime import date
>>> from vru_risk.flags.programmes import load_programmes
>>> offers = pd.DataFrame({"person_id": ["a"], "as_of": [date(2025, 1, 6)],
...                        "programme": ["jump_start"]})
>>> out = decide(offers, pd.DataFrame(index=pd.Index([], name="person_id")),
...              ServiceConfig(agreement=1.0, undecided=0.0, take_up=1.0), load_programmes(),
...              extract_date=date(2026, 8, 31), left_area={})
>>> out.loc[0, "decision"], bool(out.loc[0, "took_up"]), out.loc[0, "username"]
('referred', True, 'sim-jump-start')
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Final

import numpy as np
import pandas as pd

from vru_risk.flags.programmes import Programmes
from vru_risk.simulation.config import ServiceConfig
from vru_risk.simulation.draws import uniforms, whole_days

#: reason codes of the store's decisions (``vru_risk.store.inputs.REASON_CODES``), by decision
REASONS: Final[dict[str, tuple[str, ...]]] = {
    "referred": (
        "meets_programme_criteria",
        "practitioner_concern",
        "family_or_young_person_request",
    ),
    "no_action": ("support_declined", "not_eligible", "moved_away"),
    "disagree": ("information_out_of_date", "context_model_cannot_see", "score_not_credible"),
}
TEXT: Final = "Simulated decision on a synthetic county (vru simulate service): {}."
#: the working hours (UTC) a decision is recorded in
FIRST_HOUR, HOURS = 9, 8
DECISION_COLUMNS: Final = (
    "username",
    "decision",
    "reason_code",
    "text",
    "decided_at",
    "took_up",
    "support_start",
    "support_end",
    "support_known",
)


def practitioner(programme_id: str) -> str:
    """The simulated practitioner account of a programme (e.g. ``sim-jump-start``)."""
    return f"sim-{programme_id.replace('_', '-')}"


def _keys(offers: pd.DataFrame) -> list[str]:
    return [
        f"{p}|{d.isoformat()}|{g}"
        for p, d, g in zip(offers["person_id"], offers["as_of"], offers["programme"], strict=True)
    ]


def _pick(options: tuple[str, ...], u: np.ndarray) -> np.ndarray:
    chosen: np.ndarray = np.asarray(options, dtype=object)[
        np.minimum((u * len(options)).astype(int), len(options) - 1)
    ]
    return chosen


def decide(
    offers: pd.DataFrame,
    groups: pd.DataFrame,
    config: ServiceConfig,
    programmes: Programmes,
    *,
    extract_date: dt.date,
    left_area: Mapping[str, dt.date],
) -> pd.DataFrame:
    """``offers`` (person_id, as_of, programme) with :data:`DECISION_COLUMNS` (see the module
    docstring); ``groups``: audit-only group labels indexed by person_id; ``left_area``: the
    day each young person who left the area left it."""
    out = offers.reset_index(drop=True).copy()
    n = len(out)
    keys = _keys(out)
    seed = config.seed

    def draw(name: str) -> np.ndarray:
        return uniforms(keys, seed=seed, draw=name)

    listed = [a for a in config.agreement_by_group if a in groups.columns]
    rates = np.array(
        [
            config.agreement_for(
                {a: str(groups.at[p, a]) for a in listed} if p in groups.index else {}
            )
            for p in out["person_id"]
        ],
        dtype="float64",
    )
    days = whole_days(draw("decision_day"), 0, config.decision_days)
    decided_on = [d + dt.timedelta(days=int(k)) for d, k in zip(out["as_of"], days, strict=True)]
    hours = whole_days(draw("decision_hour"), 0, HOURS * 60 - 1)
    decided = (draw("undecided") >= config.undecided) & np.array(
        [d <= extract_date for d in decided_on], dtype=bool
    )
    referred = decided & (draw("refer") < rates)
    disagree = decided & ~referred & (draw("disagree") < config.disagree_share)
    kind = np.where(referred, "referred", np.where(disagree, "disagree", "no_action"))
    u_reason = draw("reason")
    reason = np.full(n, "", dtype=object)
    for name, options in REASONS.items():
        chosen = kind == name
        reason[chosen] = _pick(options, u_reason[chosen])
    out["username"] = [practitioner(g) for g in out["programme"]]
    out["decision"] = [k if ok else None for k, ok in zip(kind, decided, strict=True)]
    out["reason_code"] = [r if ok else None for r, ok in zip(reason, decided, strict=True)]
    out["text"] = [
        TEXT.format(r.replace("_", " ")) if ok else None
        for r, ok in zip(reason, decided, strict=True)
    ]
    out["decided_at"] = [
        dt.datetime.combine(d, dt.time(FIRST_HOUR), tzinfo=dt.UTC) + dt.timedelta(minutes=int(m))
        if ok
        else None
        for d, m, ok in zip(decided_on, hours, decided, strict=True)
    ]
    took = referred & (draw("take_up") < config.take_up)
    by_id = {p.id: p for p in programmes.programmes}
    start_in = whole_days(draw("start"), 1, config.start_days)
    known_in = whole_days(draw("known"), 0, config.known_lag_days)
    u_length = draw("duration")
    starts: list[dt.date | None] = []
    ends: list[dt.date | None] = []
    known: list[dt.date | None] = []
    for k in range(n):
        start = decided_on[k] + dt.timedelta(days=int(start_in[k]))
        left = left_area.get(str(out.at[k, "person_id"]))
        if not took[k] or start > extract_date or (left is not None and start >= left):
            starts.append(None)  # not taken up, not started by the extract date, or moved away
            ends.append(None)
            known.append(None)
            continue
        low, high = config.duration_of(by_id[str(out.at[k, "programme"])])
        end = start + dt.timedelta(days=int(whole_days(u_length[k : k + 1], low, high)[0]) - 1)
        if left is not None:
            end = min(end, left - dt.timedelta(days=1))
        starts.append(start)
        ends.append(end)
        known.append(start + dt.timedelta(days=int(known_in[k])))
    out["took_up"] = took
    out["support_start"] = starts
    out["support_end"] = ends
    out["support_known"] = known
    return out
