"""The simulated service's options: how practitioners decide, how support is taken up and how
long it lasts, and how much serious violence it prevents.

Practitioners refer a flag's young person to the programme that offered the place with
probability ``agreement`` (or the rate ``agreement_by_group`` gives the young person's group),
otherwise they record no action or disagree (``disagree_share`` of those), each with a reason
code; ``undecided`` of the offers expire without a decision. A referral is taken up with
probability ``take_up``; support then starts 1 to ``start_days`` days after the decision and
lasts a programme's duration (by default the synthetic county's own programme durations,
:data:`vru_risk.data.synthetic.support.PROGRAMMES`).

Example
-------
>>> config = ServiceConfig(agreement_by_group={"ethnicity": {"black": 0.4}})
>>> config.agreement_for({"ethnicity": "black", "sex": "male"}), config.agreement_for({})
(0.4, 0.6)
>>> parse_group_rate("ethnicity=black:0.4")
('ethnicity', 'black', 0.4)
>>> ServiceConfig(take_up=1.5).problems()[0]
'take_up is 1.5: give a share between 0 and 1'
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

from pydantic import BaseModel, ConfigDict

from vru_risk.data.contract import AUDIT_ONLY_COLUMNS
from vru_risk.data.synthetic.support import PROGRAMMES as COUNTY_PROGRAMMES
from vru_risk.flags.programmes import Programme

#: a programme without a duration of its own in the county lasts this long (days)
DEFAULT_DURATION: Final = (60, 180)


class ServiceConfigError(ValueError):
    """Options of the simulated service that cannot be used; the message lists every one."""


class ServiceConfig(BaseModel):
    """The options of a simulated service (the same options and seed give the same service).

    Attributes
    ----------
    agreement
        Share of decided offers practitioners refer (the rest: no action or disagree).
    agreement_by_group
        Per audit-only attribute, per group, the share referred instead of ``agreement``; the
        first attribute listed that names the young person's group decides.
    disagree_share
        Of the offers not referred, the share recorded as "disagree" (else "no action").
    undecided
        Share of offers that expire with no decision recorded.
    decision_days
        A decision is recorded 0 to this many days after the flag.
    take_up
        Share of referrals whose support starts.
    start_days
        Support starts 1 to this many days after the referral.
    known_lag_days
        The VRU learns of a start 0 to this many days after it (``interventions.known_date``).
    durations
        Per programme id, the shortest and longest support in days (default: the county's
        programme of the same name, else :data:`DEFAULT_DURATION`).
    support_effect
        Share of serious-violence involvements support prevents while it lasts (default: the
        county's ``support_effect_serious_violence`` from its truth folder).
    seed
        Seed of the practitioners' and young people's draws.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    agreement: float = 0.6
    agreement_by_group: dict[str, dict[str, float]] = {}
    disagree_share: float = 0.5
    undecided: float = 0.05
    decision_days: int = 14
    take_up: float = 0.8
    start_days: int = 14
    known_lag_days: int = 14
    durations: dict[str, tuple[int, int]] = {}
    support_effect: float | None = None
    seed: int = 0

    def problems(self, valid_days: int | None = None) -> list[str]:
        """Every problem with these options, each saying what to do (empty when usable);
        ``valid_days``: how long a flag stays valid (a decision must come before it expires)."""
        out: list[str] = []
        shares = {
            "agreement": self.agreement,
            "disagree_share": self.disagree_share,
            "undecided": self.undecided,
            "take_up": self.take_up,
        }
        if self.support_effect is not None:
            shares["support_effect"] = self.support_effect
        out += [
            f"{name} is {value:g}: give a share between 0 and 1"
            for name, value in shares.items()
            if not 0.0 <= value <= 1.0
        ]
        for attribute, rates in self.agreement_by_group.items():
            if attribute not in AUDIT_ONLY_COLUMNS:
                out.append(
                    f"agreement by group names {attribute!r}: give an audit-only attribute "
                    f"({', '.join(AUDIT_ONLY_COLUMNS)})"
                )
            out += [
                f"agreement for {attribute}={group} is {rate:g}: give a share between 0 and 1"
                for group, rate in rates.items()
                if not 0.0 <= rate <= 1.0
            ]
        for name, days in (
            ("decision_days", self.decision_days),
            ("start_days", self.start_days),
            ("known_lag_days", self.known_lag_days),
        ):
            if not 0 <= days <= 365:
                out.append(f"{name} is {days}: give a number of days from 0 to 365")
        if self.start_days < 1:
            out.append("start_days is 0: support starts at least a day after the referral")
        if valid_days is not None and self.decision_days >= valid_days:
            out.append(
                f"decision_days is {self.decision_days}: a decision comes before the flag "
                f"expires ({valid_days} days); give fewer days"
            )
        for programme, (low, high) in self.durations.items():
            if not 1 <= low <= high:
                out.append(
                    f"duration of {programme} is {low} to {high} days: give 1 <= shortest <= "
                    "longest"
                )
        if self.seed < 0:
            out.append(f"seed is {self.seed}: give a non-negative integer")
        return out

    def agreement_for(self, groups: Mapping[str, str]) -> float:
        """The referral rate for a young person with these audit-only ``groups``."""
        for attribute, rates in self.agreement_by_group.items():
            group = groups.get(attribute)
            if group is not None and group in rates:
                return rates[group]
        return self.agreement

    def duration_of(self, programme: Programme) -> tuple[int, int]:
        """Shortest and longest support of a programme, in days."""
        if programme.id in self.durations:
            return self.durations[programme.id]
        names = {programme.name, *programme.intervention_names}
        for county in COUNTY_PROGRAMMES:
            if county.name in names:
                return county.duration_days
        return DEFAULT_DURATION


def parse_group_rate(text: str) -> tuple[str, str, float]:
    """``ATTRIBUTE=GROUP:RATE`` (e.g. ``ethnicity=black:0.4``) as its parts; a ValueError says
    what is wrong."""
    attribute, _, rest = text.partition("=")
    group, _, rate = rest.rpartition(":")
    if not attribute or not group or not rate:
        raise ValueError(
            f"{text!r} is not ATTRIBUTE=GROUP:RATE; write e.g. ethnicity=black:0.4 (an audit-only "
            "attribute, one of its groups, and the share of that group's flags referred)"
        )
    try:
        value = float(rate)
    except ValueError:
        raise ValueError(f"{text!r}: the rate {rate!r} is not a number between 0 and 1") from None
    return attribute.strip(), group.strip(), value
