"""A candidate beside the champion, for the panel's page: both versions gathered as their model
cards are (:func:`vru_risk.jobs.card.gather`: registry tags, training-run metrics with the
baselines, fairness audit, monitoring reference, review log) with each one's latest monitoring
run, then put side by side by :func:`vru_risk.monitoring.compare.build_comparison`.

Refusals are :class:`~vru_risk.jobs.common.JobError` s saying what to choose instead: no
champion, no candidate chosen (and no version with the ``candidate`` alias), the champion
compared with itself (:class:`SameVersionError`), a version that is not registered
(:class:`UnknownVersionError`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from vru_risk.jobs.card import gather
from vru_risk.jobs.common import JobError
from vru_risk.jobs.monitor_history import version_history
from vru_risk.models.registry import CHAMPION, Registry, RegistryError, VersionInfo
from vru_risk.monitoring.compare import build_comparison
from vru_risk.settings import Settings

CANDIDATE_ALIAS = "candidate"


class UnknownVersionError(JobError):
    """The version asked for is not registered (404)."""


class NothingToCompareError(JobError):
    """No champion, or no candidate to put beside it (the page asks for a choice)."""


class SameVersionError(JobError):
    """The champion compared with itself (422)."""


@dataclass(frozen=True)
class Comparison:
    champion: int
    candidate: int
    document: dict[str, Any]


def choices(settings: Settings) -> tuple[int | None, list[VersionInfo]]:
    """The champion's version (None without one) and every registered version."""
    registry = Registry(settings.tracking_uri)
    try:
        versions = registry.versions()
    except RegistryError as exc:
        raise JobError(str(exc)) from None
    champion = next((v.version for v in versions if CHAMPION in v.aliases), None)
    return champion, versions


def compare(settings: Settings, candidate: int | None) -> Comparison:
    """The comparison of ``candidate`` (default: the version other than the champion with the
    ``candidate`` alias; approving a candidate leaves it the alias) with the champion."""
    champion, versions = choices(settings)
    if champion is None:
        raise NothingToCompareError(
            "no version is in service (no champion): a comparison needs one; the ethics panel "
            "approves a version on the Model versions page"
        )
    if candidate is None:
        candidate = next(
            (v.version for v in versions if CANDIDATE_ALIAS in v.aliases and v.version != champion),
            None,
        )
        if candidate is None:
            raise NothingToCompareError(
                "no version but the champion has the alias `candidate`: choose the version to "
                "compare with the champion"
            )
    if candidate not in {v.version for v in versions}:
        raise UnknownVersionError(
            f"version {candidate} is not registered: `vru models list` shows the versions"
        )
    if candidate == champion:
        raise SameVersionError(
            f"version {candidate} is the champion itself: choose another version to compare with it"
        )
    registry = Registry(settings.tracking_uri)
    sources = {v: gather(settings, registry, v)[0] for v in (champion, candidate)}
    runs = {v: version_history(settings, v).latest for v in (champion, candidate)}
    document = build_comparison(
        sources[champion],
        sources[candidate],
        runs[champion],
        runs[candidate],
        generated_at=datetime.now(UTC).isoformat(timespec="seconds"),
    )
    return Comparison(champion=champion, candidate=candidate, document=document)
