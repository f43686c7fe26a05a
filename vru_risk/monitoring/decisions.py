"""Practitioners' decisions on a version's flags, for a monitoring run: pure functions from the
offers, decisions and views of the decisions window (the criteria's ``decisions.window_days``
up to the as-of date: a quarter by default, since four weeks of a programme's places hold too few
decisions to judge) to figures by programme, band and audit-only group, and the findings they
raise.

**What is counted.** An *offer* is a flag offered to one programme (flags withdrawn by an
administrator are left out). Only what was recorded by the end of the as-of day counts:

- *opened*: a practitioner acting for the programme was shown the flag (its page or the API's
  flag detail: :mod:`vru_risk.store.flag_views`) on or before its expiry day;
- *the decision*: each offer's latest decision after corrections (a decision that a later one
  corrects no longer counts; of the rest, the latest), referred, no action or disagree; an offer
  with none is *undecided*;
- *time to decide*: days from the flag's date (its as_of, the day the service could act) to the
  offer's first decision, corrections not restarting the clock;
- *agreement*: the share of decided offers that were referred, with a 90% interval that
  resamples young people (all of a person's offers together). Too low: practitioners distrust the
  flags; too high: they may follow them without judgement (``agreement`` criteria);
- *human versus model*: per audit-only group, the share of its offers referred, and its ratio to
  the reference group's with a person-level interval (:mod:`vru_risk.monitoring.decision_groups`).
  A ratio wholly outside the fairness gate's recall-ratio bounds asks for review.

**Suppression.** A cell (a programme, a band, a group, a reason code) is sized by its distinct
young people, never its rows: under ``min_people`` it is withheld, and when exactly one cell of a
breakdown is, the next smallest is too (:func:`~vru_risk.monitoring.groups.group_rates`), so no
cell is recovered from the others and the total. Programme and band cells show counts of offers
(the capacity section shows them too); group cells show shares and a band of people, never a
count, as the groups section does. Reason codes are counted over all programmes only: counting
them per programme as well would let one be subtracted from the other. Times to decide are shown
only when the decided offers of a cell concern at least ``min_people`` young people.

Example
-------
>>> import pandas as pd
>>> d = pd.DataFrame({"id": [1, 2, 3], "flag_id": ["f", "f", "g"],
...     "programme_id": ["p", "p", "p"], "decision": ["no_action", "referred", "disagree"],
...     "reason_code": ["a", "b", "c"], "corrects": [None, 1, None],
...     "created_at": pd.to_datetime(["2026-06-01", "2026-06-02", "2026-07-09"], utc=True)})
>>> current_decisions(d, as_of=date(2026, 6, 30))[["flag_id", "decision"]].values.tolist()
[['f', 'referred']]
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from datetime import date, timedelta
from typing import Any, Final

import numpy as np
import pandas as pd

from vru_risk.flags.flag import BANDS
from vru_risk.monitoring.criteria import MonitoringCriteria
from vru_risk.monitoring.decision_groups import ReferenceOf, by_group, referral_findings, share
from vru_risk.monitoring.group_ratios import people_band
from vru_risk.monitoring.groups import group_rates
from vru_risk.monitoring.outcomes import rate
from vru_risk.monitoring.verdict import Finding, agreement_findings

OFFER_COLUMNS: Final = ("flag_id", "programme_id", "person_id", "as_of", "expires", "band")
DECISION_COLUMNS: Final = (
    "id",
    "flag_id",
    "programme_id",
    "decision",
    "reason_code",
    "created_at",
    "corrects",
)
VIEW_COLUMNS: Final = ("flag_id", "programme_id", "viewed_at")
KINDS: Final = ("referred", "no_action", "disagree")
UNDECIDED: Final = "undecided"
#: the interval of agreement (as the outcomes section's)
LEVEL: Final = 0.9
#: the bootstrap's seed (fixed: the same data give the same report)
SEED: Final = 5
_KEY: Final = ["flag_id", "programme_id"]


def end_of(as_of: date) -> pd.Timestamp:
    """The first instant after the as-of day (UTC): what was recorded before it is known."""
    return pd.Timestamp(as_of + timedelta(days=1), tz="UTC")


def current_decisions(decisions: pd.DataFrame, *, as_of: date) -> pd.DataFrame:
    """Per offer (``flag_id``, ``programme_id``) with a decision recorded by the end of
    ``as_of``: its current ``decision`` and ``reason_code`` (the latest one no other corrects)
    and ``first_at``, when it was first decided."""
    known = decisions[pd.to_datetime(decisions["created_at"], utc=True) < end_of(as_of)].copy()
    known["created_at"] = pd.to_datetime(known["created_at"], utc=True)
    corrected = set(known["corrects"].dropna().astype("int64"))
    live = known[~known["id"].astype("int64").isin(corrected)]
    latest = live.sort_values(["created_at", "id"]).groupby(_KEY, sort=False).tail(1)
    first = known.groupby(_KEY)["created_at"].min().rename("first_at").reset_index()
    out = latest[[*_KEY, "decision", "reason_code"]].merge(first, on=_KEY, how="left")
    return out.sort_values(_KEY).reset_index(drop=True)


def offer_outcomes(
    offers: pd.DataFrame, decisions: pd.DataFrame, views: pd.DataFrame, *, as_of: date
) -> pd.DataFrame:
    """``offers`` (:data:`OFFER_COLUMNS`) with ``opened`` (shown to the programme by the end of
    ``as_of`` and on or before the flag's expiry day), ``decision`` (current, or
    :data:`UNDECIDED`), ``reason_code`` and ``days`` (flag date to first decision; NaN when
    undecided)."""
    out = offers[list(OFFER_COLUMNS)].reset_index(drop=True).copy()
    out["person_id"] = out["person_id"].astype(str)
    seen = views.assign(viewed_at=pd.to_datetime(views["viewed_at"], utc=True))
    seen = seen[seen["viewed_at"] < end_of(as_of)]
    seen = seen.merge(out[[*_KEY, "expires"]], on=_KEY, how="inner")
    expiry = pd.to_datetime(seen["expires"]).dt.tz_localize("UTC") + pd.Timedelta(days=1)
    opened = set(map(tuple, seen.loc[seen["viewed_at"] < expiry, _KEY].to_numpy()))
    out["opened"] = [k in opened for k in map(tuple, out[_KEY].to_numpy())]
    current = current_decisions(decisions, as_of=as_of)
    out = out.merge(current, on=_KEY, how="left")
    out["decision"] = out["decision"].fillna(UNDECIDED).astype(str)
    flagged = pd.to_datetime(out["as_of"]).dt.tz_localize("UTC")
    out["days"] = (pd.to_datetime(out["first_at"], utc=True) - flagged).dt.total_seconds() / 86400
    return out.drop(columns=["first_at"])


@dataclass(frozen=True)
class DecisionCell:
    """A programme's, a band's or all offers' figures; all None when withheld. Shares are of
    the cell's offers; ``agreement`` of its decided offers."""

    label: str
    suppressed: bool
    offered: int | None = None
    people: str | None = None
    opened: float | None = None
    referred: float | None = None
    no_action: float | None = None
    disagree: float | None = None
    undecided: float | None = None
    decided: int | None = None
    agreement: float | None = None
    agreement_low: float | None = None
    agreement_high: float | None = None
    days_q1: float | None = None
    days_median: float | None = None
    days_q3: float | None = None


def _cell(label: str, rows: pd.DataFrame, *, min_people: int, replicates: int) -> DecisionCell:
    kind = rows["decision"]
    decided = rows[kind != UNDECIDED]
    agreement = rate(
        (kind == "referred").astype("float64"),
        (kind != UNDECIDED).to_numpy(),
        rows["person_id"],
        replicates=replicates,
        level=LEVEL,
        seed=SEED,
    ).precision
    days: tuple[float | None, float | None, float | None] = (None, None, None)
    if decided["person_id"].nunique() >= min_people:
        q = np.quantile(decided["days"].to_numpy(dtype=float), [0.25, 0.5, 0.75])
        days = (round(float(q[0]), 1), round(float(q[1]), 1), round(float(q[2]), 1))
    return DecisionCell(
        label=label,
        suppressed=False,
        offered=len(rows),
        people=people_band(int(rows["person_id"].nunique()), min_people),
        opened=share(rows["opened"]),
        referred=share(kind == "referred"),
        no_action=share(kind == "no_action"),
        disagree=share(kind == "disagree"),
        undecided=share(kind == UNDECIDED),
        decided=len(decided),
        agreement=None if agreement.value is None else round(agreement.value, 3),
        agreement_low=None if agreement.low is None else round(agreement.low, 3),
        agreement_high=None if agreement.high is None else round(agreement.high, 3),
        days_q1=days[0],
        days_median=days[1],
        days_q3=days[2],
    )


def _withheld(labels: np.ndarray, person: np.ndarray, *, min_people: int) -> set[str]:
    """The cells of a breakdown withheld (small, and the next smallest when exactly one is)."""
    marks = np.zeros(len(labels), dtype=bool)
    return {
        r.group for r in group_rates(labels, person, marks, min_people=min_people) if r.suppressed
    }


def breakdown(
    rows: pd.DataFrame, column: str, *, min_people: int, replicates: int, order: Sequence[str] = ()
) -> list[DecisionCell]:
    """One :class:`DecisionCell` per value of ``column`` (``order`` first, then sorted)."""
    if rows.empty:
        return []
    labels = rows[column].astype(str).to_numpy(dtype=object)
    withheld = _withheld(labels, rows["person_id"].to_numpy(dtype=object), min_people=min_people)
    present = set(labels)
    names = [o for o in order if o in present] + sorted(present - set(order))
    return [
        DecisionCell(label=name, suppressed=True)
        if name in withheld
        else _cell(name, rows[labels == name], min_people=min_people, replicates=replicates)
        for name in names
    ]


def reason_counts(rows: pd.DataFrame, *, min_people: int) -> list[dict[str, Any]]:
    """Decided offers by decision and reason code, over all programmes; a reason given for
    fewer than ``min_people`` young people is withheld (and the next smallest of its decision
    when exactly one is: each decision's total follows from the overall shares)."""
    out: list[dict[str, Any]] = []
    for kind in KINDS:
        part = rows[rows["decision"] == kind]
        if part.empty:
            continue
        labels = part["reason_code"].astype(str).to_numpy(dtype=object)
        person = part["person_id"].to_numpy(dtype=object)
        withheld = _withheld(labels, person, min_people=min_people)
        counts = pd.Series(labels).value_counts()
        for code in sorted(counts.index, key=lambda c: (-int(counts[c]), str(c))):
            hidden = code in withheld
            out.append(
                {
                    "decision": kind,
                    "reason_code": str(code),
                    "suppressed": hidden,
                    "count": None if hidden else int(counts[code]),
                }
            )
    return out


def decision_section(
    outcomes: pd.DataFrame,
    people: pd.DataFrame,
    *,
    attributes: Sequence[tuple[str, ...]],
    reference_of: ReferenceOf,
    criteria: MonitoringCriteria,
    programme_names: Mapping[str, str],
) -> tuple[dict[str, Any], list[Finding]]:
    """The report's decisions section and its findings, from :func:`offer_outcomes` and the
    audit-only attributes of people (``person_id`` and attribute columns)."""
    least = criteria.groups.min_people_per_cell
    replicates = criteria.groups.bootstrap_replicates
    section: dict[str, Any] = {
        "min_people": least,
        "agreement_bounds": criteria.agreement.model_dump(),
        "ratio_bounds": None,
        "min_people_to_judge": criteria.decisions.min_people_to_judge,
        "overall": None,
        "by_programme": [],
        "by_band": [],
        "by_group": [],
        "reasons": [],
    }
    if criteria.groups.bounds is not None:
        b = criteria.groups.bounds
        section["ratio_bounds"] = {"low": b.recall_ratio_low, "high": b.recall_ratio_high}
    if outcomes.empty:
        return section, []
    if outcomes["person_id"].nunique() < least:
        section["overall"] = asdict(DecisionCell(label="all programmes", suppressed=True))
        return section, []
    section["overall"] = asdict(
        _cell("all programmes", outcomes, min_people=least, replicates=replicates)
    )
    programmes = breakdown(outcomes, "programme_id", min_people=least, replicates=replicates)
    section["by_programme"] = [
        {**asdict(c), "name": programme_names.get(c.label, c.label)} for c in programmes
    ]
    bands = [label for _, label in BANDS]
    section["by_band"] = [
        asdict(c)
        for c in breakdown(outcomes, "band", min_people=least, replicates=replicates, order=bands)
    ]
    section["reasons"] = reason_counts(outcomes, min_people=least)
    joined = outcomes.merge(people, on="person_id", how="left")
    groups = by_group(joined, attributes, reference_of, criteria)
    section["by_group"] = [{**g, "groups": [asdict(x) for x in g["groups"]]} for g in groups]
    findings: list[Finding] = []
    for c in programmes:  # agreement, judged per programme shown
        if c.suppressed:
            continue
        kind = outcomes.loc[outcomes["programme_id"].astype(str) == c.label, "decision"]
        findings += agreement_findings(
            int((kind == "referred").sum()),
            int((kind != UNDECIDED).sum()),
            criteria,
            subject=programme_names.get(c.label, c.label),
            interval=(c.agreement_low, c.agreement_high),
        )
    if criteria.groups.bounds is not None:
        findings += referral_findings(groups, criteria)
    return section, findings
