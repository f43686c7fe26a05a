"""What a job tells its caller on the way, besides progress: typed events, never text.

A job calls ``on_event(event)`` (when given) as things happen, so that a CLI can say them in
order (a cached table reused before the long fit, not after it); the CLI words them
(:func:`vru_risk.cli.printing.print_event`). Without a listener nothing is lost: the job's
result holds what matters.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from vru_risk.features.build import BuildSummary
    from vru_risk.training.abandoned_runs import AbandonedRun


@dataclass(frozen=True)
class FeaturesReused:
    """The data folder's cached feature table was built the same way: used as it is."""

    path: Path


@dataclass(frozen=True)
class FeaturesStale:
    """A cached feature table built otherwise (or damaged): rebuilt now."""

    path: Path


@dataclass(frozen=True)
class FeaturesBuilt:
    """A feature table was built."""

    summary: BuildSummary


@dataclass(frozen=True)
class RunClosed:
    """An MLflow run a killed training left RUNNING, now marked FAILED."""

    run: AbandonedRun


@dataclass(frozen=True)
class RunsUncheckable:
    """Runs left RUNNING could not be checked (never a reason not to train)."""

    problem: str


@dataclass(frozen=True)
class EventDatesUsed:
    """A feature table built with other than known dates: its features can see records before
    they arrived."""

    table: Path
    knowledge_dates: str


@dataclass(frozen=True)
class ReweighingSkipped:
    """The version records no booster settings, so the re-weighed refit is left out."""

    version: int


@dataclass(frozen=True)
class StepStarted:
    """A step without a measurable length began (a CLI shows a spinner until the next one, or
    :class:`StepsDone`)."""

    text: str


@dataclass(frozen=True)
class StepsDone:
    """The last step without a measurable length ended."""


Event = (
    FeaturesReused
    | FeaturesStale
    | FeaturesBuilt
    | RunClosed
    | RunsUncheckable
    | EventDatesUsed
    | ReweighingSkipped
    | StepStarted
    | StepsDone
)
#: ``on_event(event)``: a job's caller hearing what happens.
Listener = Callable[[Event], None]


def ignore(_event: Event) -> None:
    """The listener of a caller that does not listen."""
