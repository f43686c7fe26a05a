"""The Flag: one offer of support at a teachable moment, explained (shared with the API).

A flag is *decision support, not a decision*. It names the trigger(s), the calibrated probability
with its percentile and band against the reference distribution fixed with the model (never
against whoever else triggered that day), the reasons for and against in plain English (which
explain the booster's raw score before calibration), what the model cannot see, what could
change the model's score, the programmes it is offered to, the model that made it, the advisory
notice and an expiry date.

:meth:`Flag.for_programme` is the redaction a practitioner of one programme sees: the reasons
from sources outside that programme's data-sharing agreement are merged into one line per
direction ("records from services your programme does not see strongly raise this"), revealing no
source, date or detail; such triggers are one "another service" entry; missing-data notes from
them are dropped.

Example
-------
>>> band_for(99.5), band_for(93.0), band_for(40.0)
('highest 1%', 'highest 10%', 'below the highest 25%')
"""

from __future__ import annotations

import datetime as dt
import hashlib
from typing import Final, Literal, Protocol

from pydantic import BaseModel, ConfigDict, Field

TriggerKind = Literal["ae_visit", "exclusion", "police_contact", "attendance_drop", "snapshot"]
#: What a programme sees of a trigger from a source outside its data-sharing agreement.
REDACTED: Final = "another_service"
Direction = Literal["raises", "lowers"]
Strength = Literal["strongly", "moderately", "slightly"]

ADVISORY_NOTICE: Final = (
    "Decision support, not a decision. This is an advisory offer of support, made by a "
    "statistical model from records partners share; it is not evidence of anything the young "
    "person has done and must never be used for enforcement. A practitioner decides, and "
    "records what they did and why."
)
REASONS_EXPLAIN: Final = (
    "Reasons explain the model's raw score (log-odds, before calibration): each is the summed "
    "SHAP contribution of one family of inputs; base value + reasons + other factors = raw score."
)
CANNOT_SEE_STANDING: Final = (
    "The model knows nothing of the young person's own account, their family context or any "
    "support they already receive outside the programmes listed here."
)
#: The one reason line that stands for every contribution from sources a programme may not see.
REDACTED_REASON: Final = "records from services your programme does not see"
#: What a programme sees of a trigger from a source it may not see.
REDACTED_TRIGGER: Final = "a record from a service your programme does not see"
#: |log-odds| of a family's summed contribution at or above which it "strongly" / "moderately"
#: moves the score; below the second it "slightly" does.
STRONG: Final = 0.5
MODERATE: Final = 0.15
UNSEEN_PATTERN_REDACTED: Final = (
    "The model never saw this combination of available sources in training; its score for this "
    "young person is less reliable than usual."
)

#: Bands by percentile of the reference distribution: (lowest percentile, label), highest first.
BANDS: Final = (
    (99.0, "highest 1%"),
    (95.0, "highest 5%"),
    (90.0, "highest 10%"),
    (75.0, "highest 25%"),
    (0.0, "below the highest 25%"),
)


def strength_of(contribution: float) -> Strength:
    """How strongly a contribution (log-odds) moves the score, in words.

    >>> strength_of(1.2), strength_of(-0.2), strength_of(0.05)
    ('strongly', 'moderately', 'slightly')
    """
    size = abs(contribution)
    if size >= STRONG:
        return "strongly"
    if size >= MODERATE:
        return "moderately"
    return "slightly"


def band_for(percentile: float) -> str:
    """The band label of a percentile (0-100) in the model's reference distribution."""
    for lowest, label in BANDS:
        if percentile >= lowest:
            return label
    return BANDS[-1][1]


class _Frozen(BaseModel):
    # allow_inf_nan=False: pydantic accepts JSON's Infinity and NaN by default, and would write
    # them back as null (a flag that no longer parses); every number of a flag is finite
    model_config = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False)


class Trigger(_Frozen):
    """An event that opened the teachable moment.

    Seen by a programme whose data-sharing agreement does not cover its source, it is only
    ``kind="another_service"`` with no source, date or detail.
    """

    kind: TriggerKind | Literal["another_service"]
    source: str = Field(description="the data table the trigger came from")
    date: dt.date | None = Field(
        description="the event date (the flag's as_of is the day it was known); none when redacted"
    )
    detail: str | None = Field(
        default=None, description="e.g. the hospital of an A&E visit; redacted by programme"
    )


class Reason(_Frozen):
    """One family of inputs (one source and subject, several windows) and its contribution."""

    family: str
    source: str
    direction: Direction
    strength: Strength
    text: str = Field(description="the person's own values in plain English")
    contribution: float = Field(description="summed SHAP values, log-odds of the raw score")
    features: tuple[str, ...]
    background: bool = Field(
        default=False,
        description="the young person's circumstances (age, sessions on roll), which support "
        "cannot change: shown apart from the reasons a practitioner can act on",
    )

    @property
    def sentence(self) -> str:
        if self.family == REDACTED:  # a plural subject: "records ... strongly raise this"
            verb = "raise" if self.direction == "raises" else "lower"
            return f"{self.text} {self.strength} {verb} the model's score"
        return f"{self.text}: {self.strength} {self.direction} the model's score"


class SourceNote(_Frozen):
    """A source the model could not see for this young person, and why."""

    source: str
    why: Literal["not shared with this VRU", "no record for this young person"]


class NotKnown(_Frozen):
    """An input family with no value for this young person."""

    source: str
    family: str
    text: str


class CannotSee(_Frozen):
    """What the model cannot see, on every flag."""

    sources_unavailable: tuple[SourceNote, ...]
    sources_refreshed: dict[str, dt.date | None] = Field(
        description="the date each source was last refreshed, from the data manifest"
    )
    not_known: tuple[NotKnown, ...] = Field(
        description="inputs with no value for this young person (the model used its default "
        "for missing values)"
    )
    standing: str = CANNOT_SEE_STANDING
    unseen_pattern_warning: str | None = None


class WhatIf(_Frozen):
    """The model's score with one actionable family moved to the cohort median."""

    family: str
    source: str
    inputs: str
    probability: float
    text: str


class ProgrammeOffer(_Frozen):
    """A programme this flag concerns: offered within capacity, or already supporting them."""

    programme: str = Field(description="programme id from the programmes configuration")
    name: str
    status: Literal["offered", "already_supported"]
    rank: int | None = Field(
        default=None,
        description="place among the programme's offers in its capacity period (1 = first)",
    )
    capacity: int
    policy: Literal["first_come", "paced"] | None = Field(
        default=None,
        description="how the programme spent its places: first come above its floor, or paced "
        "across the period (None: a flag made before policies were recorded)",
    )
    threshold: float | None = Field(
        default=None,
        description="the percentile the day's offers had to reach (the floor, or the paced "
        "threshold)",
    )
    lottery: bool = Field(
        default=False,
        description="the place was drawn by the programme's fair lottery among young people "
        "whose scores were equally ranked at the day's last place",
    )


class ModelRef(_Frozen):
    name: str
    version: int
    content_hash: str


class Flag(_Frozen):
    """One offer of support at a teachable moment, explained."""

    flag_id: str
    person_id: str
    as_of: dt.date = Field(description="the day the VRU knew of the trigger(s)")
    age_years: int | None
    triggers: tuple[Trigger, ...]
    probability: float = Field(
        ge=0.0, le=1.0, description="calibrated probability of the recorded outcome (0-1)"
    )
    percentile: float = Field(
        ge=0.0, le=100.0, description="percentile in the model's reference distribution"
    )
    band: str
    raw_score: float = Field(description="the booster's raw score (log-odds, uncalibrated)")
    base_value: float = Field(description="the raw score of an average example (log-odds)")
    reasons_for: tuple[Reason, ...]
    reasons_against: tuple[Reason, ...]
    other_factors: float = Field(description="log-odds of every contribution not shown as a reason")
    reasons_explain: str = REASONS_EXPLAIN
    cannot_see: CannotSee
    what_could_change: tuple[WhatIf, ...]
    programmes: tuple[ProgrammeOffer, ...]
    scoring_model: ModelRef
    advisory_notice: str = ADVISORY_NOTICE
    expires: dt.date
    warnings: tuple[str, ...] = ()
    reference_rate: float | None = Field(
        default=None,
        ge=0.0,
        le=1.0,
        description="the share of all young people at such moments (the flag's trigger kind) "
        "later recorded with the outcome, from the model's calibration window; for a model "
        "without stored base rates, its average estimate over its reference population",
    )

    @property
    def shown_total(self) -> float:
        """Base value + every shown reason + other factors (equals :attr:`raw_score`)."""
        shown = sum(r.contribution for r in (*self.reasons_for, *self.reasons_against))
        return self.base_value + shown + self.other_factors

    def for_programme(self, programme: ProgrammeView) -> Flag:
        """The flag as one programme's practitioners may see it.

        Anything from a source outside the programme's data-sharing agreement is redacted, even
        the source's refresh date. The reasons from such sources are merged into ONE line per
        direction (:data:`REDACTED_REASON`, their contributions summed: none dropped, none
        re-signed, so the numbers still add up), placed among the visible reasons by the size of
        its contribution; a trigger becomes ``another_service`` with no source, date or detail
        (several become one); what-ifs and missing-value notes from such sources are dropped,
        and so are notes that the person has no record in one; the unseen-pattern warning loses
        the source names. Of the programme entries only the viewer's own is kept: which other
        services support or were offered to the young person is not theirs to see.
        """
        shared = set(programme.shared_sources) | {"people"}

        def reasons(found: tuple[Reason, ...]) -> tuple[Reason, ...]:
            hidden = [r for r in found if r.source not in shared]
            if not hidden:
                return found
            total = sum(r.contribution for r in hidden)
            line = Reason(
                family=REDACTED,
                source=REDACTED,
                direction=hidden[0].direction,
                strength=strength_of(total),
                text=REDACTED_REASON,
                contribution=total,
                features=(),
            )
            visible = [r for r in found if r.source in shared]
            # contribution order (largest first), as the unredacted lists are
            return tuple(sorted([*visible, line], key=lambda r: -abs(r.contribution)))

        def trigger(t: Trigger) -> Trigger:
            if t.source in shared:
                return t
            return Trigger(kind=REDACTED, source=REDACTED, date=None, detail=REDACTED_TRIGGER)

        unseen_elsewhere = any(
            n.source not in shared and n.why == "no record for this young person"
            for n in self.cannot_see.sources_unavailable
        )
        warning = self.cannot_see.unseen_pattern_warning
        if warning is not None and unseen_elsewhere:
            warning = UNSEEN_PATTERN_REDACTED
        cannot = self.cannot_see.model_copy(
            update={
                "sources_unavailable": tuple(
                    n
                    for n in self.cannot_see.sources_unavailable
                    if n.source in shared or n.why == "not shared with this VRU"
                ),
                "not_known": tuple(n for n in self.cannot_see.not_known if n.source in shared),
                "sources_refreshed": {
                    k: v for k, v in self.cannot_see.sources_refreshed.items() if k in shared
                },
                "unseen_pattern_warning": warning,
            }
        )
        triggers = tuple(trigger(t) for t in self.triggers)
        if sum(t.kind == REDACTED for t in triggers) > 1:  # not even how many
            triggers = (
                *(t for t in triggers if t.kind != REDACTED),
                Trigger(kind=REDACTED, source=REDACTED, date=None, detail=REDACTED_TRIGGER),
            )
        original_warning = self.cannot_see.unseen_pattern_warning
        return self.model_copy(
            update={
                "reasons_for": reasons(self.reasons_for),
                "reasons_against": reasons(self.reasons_against),
                "triggers": triggers,
                "what_could_change": tuple(w for w in self.what_could_change if w.source in shared),
                "cannot_see": cannot,
                "programmes": tuple(p for p in self.programmes if p.programme == programme.id),
                "warnings": tuple(
                    UNSEEN_PATTERN_REDACTED if w == original_warning and unseen_elsewhere else w
                    for w in self.warnings
                ),
            }
        )


class ProgrammeView(Protocol):
    """What redaction needs of a programme (``vru_risk.flags.programmes.Programme``)."""

    @property
    def id(self) -> str: ...

    @property
    def shared_sources(self) -> tuple[str, ...]: ...


def flag_id(person_id: str, as_of: dt.date, content_hash: str) -> str:
    """A stable identifier: the same person, day and model give the same flag id."""
    text = f"{person_id}|{as_of.isoformat()}|{content_hash}"
    return hashlib.sha256(text.encode()).hexdigest()[:20]
