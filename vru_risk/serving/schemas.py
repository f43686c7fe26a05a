"""Response and request models of the JSON API (``/api/v1``), separate from internal objects.

These are the API's contract: the internal :class:`~vru_risk.flags.flag.Flag`,
:class:`~vru_risk.store.decisions.DecisionInfo` and the registry's records may change shape;
these only change with a new API version. Every number says its unit and scale.

Example
-------
>>> ErrorOut(detail="no flag abc among your programmes' flags").detail
"no flag abc among your programmes' flags"
"""

from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from vru_risk.flags.flag import ADVISORY_NOTICE
from vru_risk.store.inputs import MAX_ID, MAX_TEXT, PERSON_ID_PATTERN


class _Out(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")


class ErrorOut(_Out):
    """What went wrong and what to do about it."""

    detail: str = Field(description="what is wrong and what to do")


class WithdrawnOut(_Out):
    """A flag an administrator withdrew: when and why (410 Gone)."""

    detail: str = Field(description="what happened and what it means")
    flag_id: str
    withdrawn_at: dt.datetime = Field(description="when it was withdrawn (UTC)")
    reason: str = Field(description="why, in the administrator's words")


class FieldProblem(_Out):
    loc: list[str | int] = Field(description="where in the request: body, query or path, name")
    msg: str
    type: str


class ValidationErrorOut(_Out):
    """A request that is not valid: a summary and each problem."""

    detail: str = Field(description="what is wrong and what to do")
    problems: list[FieldProblem] = Field(default_factory=list)


# --- flags -----------------------------------------------------------------------------------


class TriggerOut(_Out):
    kind: Literal[
        "ae_visit", "exclusion", "police_contact", "attendance_drop", "snapshot", "another_service"
    ] = Field(
        description="'another_service' for a trigger from a source the programme's data-sharing "
        "agreement does not cover (then source, date and detail say nothing more)"
    )
    source: str = Field(description="the data table the trigger came from")
    date: dt.date | None = Field(description="the event date (none when redacted)")
    detail: str | None = Field(
        description="e.g. the hospital of an A&E visit; from an unshared source it reads "
        "'a record from a service your programme does not see'"
    )


class ReasonOut(_Out):
    """One family of inputs and its contribution. Every contribution from sources the
    programme may not see is merged into one reason per direction (family and source
    'another_service', text 'records from services your programme does not see', no features),
    placed by the size of its summed contribution."""

    family: str = Field(
        description="the family of inputs ('another_service' for the merged unshared sources)"
    )
    source: str
    direction: Literal["raises", "lowers"]
    strength: Literal["strongly", "moderately", "slightly"]
    text: str = Field(description="the young person's own values in plain English")
    contribution: float = Field(
        description="summed SHAP values of the family, in log-odds of the model's raw score "
        "(before calibration)"
    )
    features: list[str]
    background: bool = Field(
        default=False,
        description="the young person's circumstances (age, sessions on roll), which support "
        "cannot change; the pages show these apart",
    )


class SourceNoteOut(_Out):
    source: str
    why: Literal["not shared with this VRU", "no record for this young person"]


class NotKnownOut(_Out):
    source: str
    family: str
    text: str


class CannotSeeOut(_Out):
    sources_unavailable: list[SourceNoteOut]
    sources_refreshed: dict[str, dt.date | None] = Field(
        description="the date each source was last refreshed"
    )
    not_known: list[NotKnownOut] = Field(description="inputs with no value for this young person")
    standing: str
    unseen_pattern_warning: str | None


class WhatIfOut(_Out):
    family: str
    source: str
    inputs: str
    probability: float = Field(
        ge=0.0, le=1.0, description="calibrated probability (0-1) with this family moved"
    )
    text: str


class ProgrammeOfferOut(_Out):
    programme: str = Field(description="programme id")
    name: str
    status: Literal["offered", "already_supported"]
    rank: int | None = Field(description="rank within the programme's list (1 = first)")
    capacity: int = Field(description="places per capacity period")
    lottery: bool = Field(
        default=False,
        description="the place was allocated by lottery among equally ranked young people",
    )


class ScoringModelOut(_Out):
    name: str
    version: int
    content_hash: str


class FlagOut(_Out):
    """One offer of support at a teachable moment, explained. Advisory only."""

    flag_id: str
    person_id: str = Field(description="pseudonymous identifier")
    as_of: dt.date = Field(description="the day the VRU knew of the trigger(s)")
    age_years: int | None
    triggers: list[TriggerOut]
    probability: float = Field(
        ge=0.0,
        le=1.0,
        description="calibrated probability (0-1) of the recorded outcome within a year",
    )
    percentile: float = Field(
        ge=0.0, le=100.0, description="percentile (0-100) in the model's reference distribution"
    )
    band: str = Field(description="e.g. 'highest 5%' of the reference distribution")
    raw_score: float = Field(description="the booster's raw score, log-odds before calibration")
    base_value: float = Field(description="the raw score of an average example, log-odds")
    reasons_for: list[ReasonOut] = Field(description="inputs that raise the raw score")
    reasons_against: list[ReasonOut] = Field(description="inputs that lower the raw score")
    other_factors: float = Field(description="log-odds of every contribution not shown")
    reasons_explain: str
    cannot_see: CannotSeeOut
    what_could_change: list[WhatIfOut]
    programmes: list[ProgrammeOfferOut]
    scoring_model: ScoringModelOut
    advisory_notice: str = ADVISORY_NOTICE
    expires: dt.date
    warnings: list[str]
    reference_rate: float | None = Field(
        default=None,
        ge=0.0,
        le=1.0,
        description="the model's average calibrated estimate (0-1) over its reference "
        "population, all young people at such moments: the frame for `probability`",
    )


class ProgrammeOut(_Out):
    id: str
    name: str
    capacity: int = Field(description="places per capacity period")
    period: Literal["week", "month"]
    period_start: dt.date | None = Field(description="first day of the current capacity period")
    period_end: dt.date | None


class FlagListOut(_Out):
    """Today's flags for one programme, by rank, as that programme may see them."""

    programme: ProgrammeOut
    today: dt.date | None = Field(
        description="the service's 'today': the newest as_of among shown flags (published, "
        "not withdrawn: the daily extract's date), never after the server's date; null when no "
        "flag is shown"
    )
    capacity_used: int = Field(description="flags offered to the programme this capacity period")
    places_left: int = Field(description="places not yet offered this capacity period")
    how_offers_chosen: str = Field(
        description="how the programme chose the day's offers: its policy (first come above its "
        "floor, or places spread across the period), the percentile they cleared, places left"
    )
    flags: list[FlagOut]
    advisory_notice: str = ADVISORY_NOTICE


# --- decisions -------------------------------------------------------------------------------


class DecisionIn(BaseModel):
    """A practitioner's decision on a flag. Append-only: a correction is a new decision that
    names the one it corrects."""

    model_config = ConfigDict(extra="forbid")

    decision: Literal["referred", "no_action", "disagree"]
    reason_code: str = Field(
        min_length=1,
        max_length=64,
        description="one of the reason codes of the decision (see the flag page or docs)",
    )
    text: str = Field(
        default="",
        max_length=MAX_TEXT,
        description="free text, kept with it: no control characters but line breaks and tabs",
    )
    referred_to: str | None = Field(
        default=None, max_length=64, description="programme id, required when referred"
    )
    programme: str | None = Field(
        default=None,
        max_length=64,
        description="the programme you act for; default your first programme the flag concerns",
    )
    corrects: int | None = Field(
        default=None,
        ge=1,
        le=MAX_ID,
        description="id of an earlier decision of your programme on this flag that this corrects",
    )


class DecisionOut(_Out):
    id: int
    flag_id: str
    programme: str = Field(description="the programme the practitioner acted for")
    username: str
    decision: Literal["referred", "no_action", "disagree"]
    referred_to: str | None
    reason_code: str
    text: str
    created_at: dt.datetime
    corrects: int | None


class DecisionListOut(_Out):
    flag_id: str
    decisions: list[DecisionOut] = Field(description="oldest first; your programmes' only")


# --- scoring ---------------------------------------------------------------------------------


class ScoreIn(BaseModel):
    """A teachable moment offered to your programme: the person and day of one of its flags."""

    model_config = ConfigDict(extra="forbid")

    person_id: str = Field(
        min_length=1,
        max_length=128,
        pattern=PERSON_ID_PATTERN,
        description="the pseudonymous person id of a flag shown to your programme (no control "
        "characters)",
    )
    as_of: dt.date = Field(description="that flag's as_of date")
    programme: str | None = Field(
        default=None,
        max_length=64,
        description="the programme you act for (redaction follows its data-sharing agreement); "
        "default the first of yours the flag is offered to",
    )


# --- model, aggregates, health ---------------------------------------------------------------


class ModelOut(_Out):
    """The model the service scores with, and its review state."""

    name: str
    in_service: bool = Field(description="whether scoring is available")
    version: int | None
    content_hash: str | None
    review_state: str = Field(description="from the ethics panel's review log")
    report_url: str | None = Field(description="the version's fairness report page, if written")
    fix: str | None = Field(description="when not in service: how to put a model into service")


class AggregatesOut(_Out):
    """Counts only: never a person. A cell of fewer than ``min_people`` distinct young people
    is left out of its map and named in ``withheld``."""

    today: dt.date | None
    total_flags: int = Field(description="flags loaded (a young person at a moment)")
    total_people: int = Field(default=0, description="distinct young people flagged")
    total_offers: int = Field(
        default=0, description="offers to programmes (a flag may be offered to several)"
    )
    min_people: int = Field(default=1, description="fewest distinct people a shown cell holds")
    flags_by_programme_band: dict[str, dict[str, int]] = Field(
        description="offers by programme and band"
    )
    decisions_by_programme_kind: dict[str, dict[str, int]]
    flags_by_model_version: dict[str, int]
    withheld: list[str] = Field(
        default_factory=list, description="the cells withheld for holding too few people"
    )


class HealthOut(_Out):
    status: Literal["ok", "degraded"]
    scoring: Literal["available", "unavailable"]
    reason: str | None = Field(description="why the service is degraded")
    fix: str | None = Field(description="how to fix it")
    audit_log: Literal["ready", "unavailable"] = Field(
        description="individual data is served only with a working audit log"
    )
