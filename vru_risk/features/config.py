"""Settings of the feature and label build, in triage's temporal vocabulary.

These are part of an experiment (the training config embeds them) and are hashed with it.

Example
-------
>>> cfg = FeatureBuildConfig()
>>> cfg.label.gap_days, cfg.label.horizon_days, cfg.cohort.min_age, cfg.cohort.max_age
(7, 365, 8, 18)
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from vru_risk.data.contract import POLICE_OFFENCE, POLICE_ROLE, SERIOUS_VIOLENCE_OFFENCES
from vru_risk.features.catalog import DEFAULT_REPORTING_LAG_DAYS

TriggerKind = Literal["ae_visit", "exclusion", "police_contact", "attendance_drop"]
TRIGGER_KINDS: tuple[TriggerKind, ...] = (
    "ae_visit",
    "exclusion",
    "police_contact",
    "attendance_drop",
)


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class AttendanceTrigger(_Frozen):
    """Attendance over the trailing ``trailing_weeks`` school weeks falling below ``threshold``.

    Schools report attendance by the week, so the trigger is computed on weekly totals: a week
    (Monday to Sunday) counts once it has a possible session, its knowledge date is the latest
    ``known_date`` of its sessions. A crossing is a week whose trailing rate (attended / possible
    sessions over the last ``trailing_weeks`` such weeks, at least ``min_sessions`` possible) is
    below the threshold while the trailing rate one week earlier was at or above it. A crossing
    within ``min_days_between`` days of the person's previous crossing opens no new moment.
    """

    threshold: Annotated[float, Field(gt=0, lt=1)] = 0.85
    trailing_weeks: Annotated[int, Field(ge=1, le=39)] = 4
    min_sessions: Annotated[int, Field(ge=1)] = 20
    min_days_between: Annotated[int, Field(ge=0)] = 56


class CohortConfig(_Frozen):
    """Who is an example: young people aged ``min_age``..``max_age`` (completed years)."""

    min_age: Annotated[int, Field(ge=0, le=25)] = 8
    max_age: Annotated[int, Field(ge=0, le=25)] = 18
    #: The VRU's data covers a person until this birthday; label windows running past it are
    #: censored.
    coverage_end_age: Annotated[int, Field(ge=1, le=30)] = 19
    trigger_kinds: tuple[TriggerKind, ...] = TRIGGER_KINDS
    #: Police roles that open a teachable moment. Stop and search is left out by default: stops
    #: are recorded very unevenly across groups, so they would decide who is even considered.
    police_trigger_roles: tuple[str, ...] = ("suspect", "victim", "witness", "missing_person")

    @model_validator(mode="after")
    def _check(self) -> CohortConfig:
        if self.min_age > self.max_age:
            raise ValueError(f"min_age {self.min_age} is above max_age {self.max_age}")
        if self.coverage_end_age <= self.max_age:
            raise ValueError("coverage_end_age must be above max_age")
        bad = sorted(set(self.police_trigger_roles) - set(POLICE_ROLE))
        if bad:
            raise ValueError(f"unknown police roles {bad}; roles: {', '.join(POLICE_ROLE)}")
        return self


class LabelConfig(_Frozen):
    """The outcome: involvement in serious violence in ``(as_of + gap, as_of + horizon]``."""

    gap_days: Annotated[int, Field(ge=0, le=365)] = 7
    horizon_days: Annotated[int, Field(ge=30, le=3650)] = 365
    serious_offences: tuple[str, ...] = SERIOUS_VIOLENCE_OFFENCES
    #: Extra label columns for sensitivity checks (``label_serious_violence_gap0`` ...).
    extra_gaps: tuple[int, ...] = (0, 30)

    @model_validator(mode="after")
    def _check(self) -> LabelConfig:
        if self.gap_days >= self.horizon_days:
            raise ValueError("gap_days must be shorter than horizon_days")
        bad = sorted(set(self.serious_offences) - set(POLICE_OFFENCE))
        if bad or not self.serious_offences:
            raise ValueError(
                f"serious_offences must be police offence groups; unknown: {bad}; "
                f"groups: {', '.join(POLICE_OFFENCE)}"
            )
        out = [g for g in self.extra_gaps if not 0 <= g < self.horizon_days]
        if out:
            raise ValueError(f"extra_gaps {out} must be from 0 to below horizon_days")
        return self


class FeatureBuildConfig(_Frozen):
    """Everything that decides the rows and values of a feature table besides the catalog."""

    reporting_lag_days: dict[str, Annotated[int, Field(ge=0, le=365)]] = Field(
        default_factory=lambda: dict(DEFAULT_REPORTING_LAG_DAYS)
    )
    cohort: CohortConfig = CohortConfig()
    attendance_trigger: AttendanceTrigger = AttendanceTrigger()
    label: LabelConfig = LabelConfig()
    #: Cohort snapshot dates (everyone in the age range on the day): off by default, because
    #: scoring everyone is profiling, not a teachable moment.
    snapshot_dates: tuple[date, ...] = ()

    @model_validator(mode="after")
    def _lags_cover_sources(self) -> FeatureBuildConfig:
        missing = sorted(set(DEFAULT_REPORTING_LAG_DAYS) - set(self.reporting_lag_days))
        if missing:
            raise ValueError(f"reporting_lag_days has no lag for {', '.join(missing)}")
        return self

    @property
    def label_lag_days(self) -> int:
        """The longest reporting lag of the label sources (police contacts, A&E)."""
        return max(self.reporting_lag_days["police_contacts"], self.reporting_lag_days["ae_visits"])
