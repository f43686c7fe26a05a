"""The way from a trained model to ``champion``, and the ethics panel's rules (this module).

Read in order; each step names where its rule lives:

1. **Training gates** (:mod:`vru_risk.training.gates`): a fold plan with a slice too thin is
   refused; the *performance gate* (LightGBM beats every rule baseline at capacity, on every fold
   and pooled) and the *leakage tripwire* (an implausible AUC, or a jump over the previous
   comparable version) decide the state a new version is registered with
   (:func:`~vru_risk.training.gates.version_state`). Thresholds: the experiment file's ``gates:``
   section (:class:`~vru_risk.models.gate_config.GatesConfig`).
2. **States and aliases** (:mod:`vru_risk.models.registry`, tag keys and state values in
   :mod:`vru_risk.models.tags`): every version is registered with its state ``candidate``,
   ``not a candidate: performance gate failed`` or ``blocked: suspected leakage``; a candidate
   gets the alias ``candidate``; no alias can point at a blocked version; only the decisions
   below move ``champion``.
3. **Fairness gate** (:mod:`vru_risk.fairness_reports.gate`): ``vru audit`` audits a version on
   its test folds and tags the verdict (``pass``, ``fail`` or ``inconclusive``). Bands: the
   ``fairness_gate:`` section (:class:`~vru_risk.models.gate_config.FairnessGateConfig`) of the
   experiment file the version was trained with.
4. **The panel's decisions** (:func:`review`, the rules below).
5. **The review log** (:mod:`vru_risk.models.review_log`): every decision is appended to a
   hash-chained log; :meth:`~vru_risk.models.registry.Registry.load_champion` serves a version
   only while the log approves its content hash (an alias set by hand is refused). The server
   mirrors the log into its database for its pages (:mod:`vru_risk.serving`).

The panel's rules:

- ``approve``: a ``candidate`` (or a version whose leakage block was cleared) whose
  performance and fairness gates pass becomes ``champion``.
- ``override``: when the fairness gate fails or is inconclusive, two different panel members,
  each with a reason; after the second the version becomes ``champion``.
- ``reject``: any version that is not the champion; it loses the ``candidate`` alias.
- ``suspend``: an approved version goes out of service at once (the ``champion`` alias is
  removed and the loader refuses it).
- ``clear-leakage``: a version ``blocked: suspected leakage``, by someone other than who
  trained it; it becomes a candidate if its performance gate passed.

Every decision is appended to the hash-chained review log and mirrored in the version's MLflow
tags: ``vru.review`` (who decided what) and ``vru.state``, kept in step with the log
(``champion: in service`` once approved or overridden in, ``replaced: out of service (by version
N)`` for the champion it replaces, ``rejected by the ethics panel``, ``suspended by the ethics
panel``). Whether a version may go into service is decided by its gates, never by that tag.
Only these decisions move ``champion``; the previous champion stays until
a new one is approved or overridden in.
"""

from __future__ import annotations

from dataclasses import dataclass

from vru_risk.models.registry import CHAMPION, Registry, VersionInfo
from vru_risk.models.review_log import ReviewEntry, ReviewLog, service_status
from vru_risk.models.tags import (
    BLOCKED,
    CANDIDATE,
    CONTENT_HASH_TAG,
    FAIRNESS_TAG,
    IN_SERVICE,
    LEAKAGE_CLEARED_BY_TAG,
    MONITORING_REFERENCE_TAG,
    PANEL_REJECTED,
    PERFORMANCE_GATE_TAG,
    REJECTED,
    REPLACED,
    REVIEW_TAG,
    STATE_TAG,
    SUSPENDED,
    TRAINED_BY_TAG,
)


class ReviewRefusedError(ValueError):
    """A decision the rules do not allow; the message says why and what would be allowed."""


@dataclass(frozen=True)
class ReviewOutcome:
    entry: ReviewEntry
    champion: int | None
    message: str


def _gates(info: VersionInfo) -> tuple[str, str]:
    return info.tags.get(PERFORMANCE_GATE_TAG, ""), info.tags.get(FAIRNESS_TAG, "")


def _eligible(info: VersionInfo, action: str) -> None:
    if info.blocked:
        raise ReviewRefusedError(
            f"version {info.version} is '{info.state}': it cannot be {action}d until someone "
            "other than its trainer runs `vru review clear-leakage`"
        )
    performance, _ = _gates(info)
    if info.state == REJECTED and LEAKAGE_CLEARED_BY_TAG not in info.tags:
        raise ReviewRefusedError(
            f"version {info.version} is '{info.state}', not a candidate: only a candidate can go "
            "into service"
        )
    if performance != "pass":
        raise ReviewRefusedError(
            f"version {info.version} did not pass the performance gate (it does not beat the "
            "rule baselines); it cannot go into service"
        )


def review(
    action: str,
    *,
    version: int,
    reviewer: str,
    reason: str,
    registry: Registry,
    log: ReviewLog,
    demo: bool = False,
    criteria_hash: str | None = None,
) -> ReviewOutcome:
    """Apply one panel decision (raises :class:`ReviewRefusedError` when the rules forbid it).

    An approval or override records what the model will be watched against in service: the
    hash of the version's monitoring reference (its tag, when one was made) and
    ``criteria_hash``, the monitoring criteria in force (the caller's, from the governance
    file)."""
    info = registry.version(version)
    content_hash = info.tags.get(CONTENT_HASH_TAG, "")
    if not reason.strip():
        raise ReviewRefusedError("every decision needs a written reason (--reason)")
    if not reviewer.strip():
        raise ReviewRefusedError("every decision needs the reviewer's name (--reviewer)")
    champion = registry.alias(CHAMPION)
    _, fairness = _gates(info)

    def record(act: str) -> ReviewEntry:
        putting_in_service = act in ("approve", "override")
        entry = log.append(
            version=version,
            content_hash=content_hash,
            action=act,
            reviewer=reviewer,
            reason=reason,
            demo=demo,
            reference_hash=info.tags.get(MONITORING_REFERENCE_TAG) if putting_in_service else None,
            criteria_hash=criteria_hash if putting_in_service else None,
        )
        note = f"{act} by {reviewer} (review entry {entry.seq}{', demo' if demo else ''})"
        registry.set_tag(version, REVIEW_TAG, note)
        return entry

    if action == "approve":
        _eligible(info, "approve")
        if fairness != "pass":
            state = fairness or "no fairness report yet"
            raise ReviewRefusedError(
                f"version {version}'s fairness gate is '{state}': approve needs a passing gate; "
                "the panel may instead record `vru review override` by two different members, "
                "each with a reason"
            )
        entry = record("approve")
        _into_service(registry, version, champion)
        return ReviewOutcome(entry, version, f"version {version} is now the champion")
    if action == "override":
        _eligible(info, "override")
        if fairness == "pass":
            raise ReviewRefusedError(
                f"version {version}'s fairness gate passes: use `vru review approve`"
            )
        if not fairness:
            raise ReviewRefusedError(
                f"version {version} has no fairness report yet; audit it before any decision"
            )
        pending = _pending_overrides(log.for_version(version))
        if reviewer.strip() in pending:
            raise ReviewRefusedError(
                f"{reviewer} has already recorded an override of version {version}; a second, "
                "different panel member must record the other"
            )
        entry = record("override")
        if len(pending) + 1 >= 2:
            _into_service(registry, version, champion)
            return ReviewOutcome(
                entry,
                version,
                f"version {version} is now the champion by override of {', '.join(pending)} and "
                f"{reviewer}",
            )
        return ReviewOutcome(
            entry,
            champion.version if champion else None,
            f"override 1 of 2 recorded; a different panel member must also override version "
            f"{version} before it goes into service",
        )
    if action == "reject":
        if champion is not None and champion.version == version:
            raise ReviewRefusedError(
                f"version {version} is the champion: take it out of service with "
                "`vru review suspend` first"
            )
        entry = record("reject")
        registry.set_tag(version, STATE_TAG, PANEL_REJECTED)
        if "candidate" in info.aliases:
            registry.remove_alias("candidate")
        return ReviewOutcome(entry, champion.version if champion else None, "rejected")
    if action == "suspend":
        status = service_status(log.entries(), version, content_hash)
        if not status.usable:
            raise ReviewRefusedError(f"version {version} is not in service: {status.reason}")
        entry = record("suspend")
        registry.set_tag(version, STATE_TAG, SUSPENDED)
        if champion is not None and champion.version == version:
            registry.remove_alias(CHAMPION)
        return ReviewOutcome(
            entry,
            None,
            f"version {version} is suspended and out of service; scoring is refused until the "
            "panel approves a version",
        )
    if action == "clear-leakage":
        if info.state != BLOCKED or LEAKAGE_CLEARED_BY_TAG in info.tags:
            raise ReviewRefusedError(f"version {version} is not blocked as suspected leakage")
        trainer = info.tags.get(TRAINED_BY_TAG, "")
        if trainer and trainer == reviewer.strip():
            raise ReviewRefusedError(
                f"{reviewer} trained version {version}; its leakage block must be cleared by "
                "someone else"
            )
        entry = record("clear-leakage")
        registry.set_tag(version, LEAKAGE_CLEARED_BY_TAG, reviewer.strip())
        performance, _ = _gates(info)
        if performance == "pass":
            registry.set_tag(version, STATE_TAG, CANDIDATE)
            registry.set_alias("candidate", version)
        return ReviewOutcome(entry, champion.version if champion else None, "leakage block cleared")
    raise ReviewRefusedError(
        f"unknown action {action!r}: approve, reject, override, suspend or clear-leakage"
    )


def _into_service(registry: Registry, version: int, champion: VersionInfo | None) -> None:
    """Make ``version`` the champion and keep the state tags in step: it is in service, the
    champion it replaces is not."""
    registry.set_alias(CHAMPION, version)
    registry.set_tag(version, STATE_TAG, IN_SERVICE)
    if champion is not None and champion.version != version:
        registry.set_tag(champion.version, STATE_TAG, f"{REPLACED} (by version {version})")


def _pending_overrides(entries: list[ReviewEntry]) -> list[str]:
    """Reviewers of overrides since the last approval or suspension of a version."""
    pending: list[str] = []
    for e in entries:
        if e.action in ("approve", "suspend"):
            pending = []
        elif e.action == "override" and e.reviewer not in pending:
            pending.append(e.reviewer)
    return pending if len(pending) < 2 else []


def allowed_actions(
    info: VersionInfo, *, champion: int | None, entries: list[ReviewEntry]
) -> tuple[str, ...]:
    """The decisions the rules above allow on ``info`` now (what a page may offer): approve
    only with both gates passing, override only when the fairness gate did not pass, reject
    only when not the champion, suspend only while in service; none on a blocked version but
    clear-leakage (a CLI decision, not offered on a page)."""
    performance, fairness = _gates(info)
    if info.blocked:
        return ()
    out: list[str] = []
    eligible = performance == "pass" and not (
        info.state == REJECTED and LEAKAGE_CLEARED_BY_TAG not in info.tags
    )
    if eligible and fairness == "pass":
        out.append("approve")
    if eligible and fairness and fairness != "pass":
        out.append("override")
    if champion != info.version:
        out.append("reject")
    content_hash = info.tags.get(CONTENT_HASH_TAG, "")
    if service_status(entries, info.version, content_hash).usable:
        out.append("suspend")
    return tuple(out)
