"""Fairness verdicts reached under earlier audit rules: detect a change, mark it, say so.

The audit's rules have a version, :data:`AUDIT_RULES`, recorded on every audited version
(:data:`~vru_risk.models.tags.AUDIT_RULES_TAG`). Two rule changes can move a registered
version's gate verdict: small cells counted in distinct people instead of rows
(:data:`~vru_risk.fairness_reports.metrics.SUPPRESSION_RULE`: a group of 17 moments from 4
young people is now too few to judge) and an interval on every gate criterion (calibration
included). When ``vru audit`` audits a version again, :func:`verdict_change` compares the new
verdict with the one its tags carry from an audit under other rules; a changed verdict is
written to :data:`~vru_risk.models.tags.VERDICT_CHANGED_TAG` (with the review log's last entry
number), and :func:`review_again` gives the panel's page the words
(:data:`REVIEW_AGAIN`) until the panel records a decision on the version after that entry.
:func:`audited_under_earlier_rules` names the versions whose verdict may change: audit them
again to find out.

Example
-------
>>> verdict_change({"vru.gate.fairness": "fail"}, "inconclusive")
'fail → inconclusive'
>>> verdict_change({"vru.gate.fairness": "fail", "vru.audit.rules": AUDIT_RULES}, "pass") is None
True
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Final, Protocol

from vru_risk.fairness_reports.metrics import SUPPRESSION_RULE
from vru_risk.models.tags import (
    AUDIT_RULES_TAG,
    FAIRNESS_TAG,
    VERDICT_CHANGED_AFTER_TAG,
    VERDICT_CHANGED_TAG,
)

#: the version of the rules an audit's verdict is reached under: small cells counted in
#: distinct people, and an interval on every gate criterion (calibration included)
AUDIT_RULES: Final = f"{SUPPRESSION_RULE}+interval-every-criterion-1"
REVIEW_AGAIN: Final = "verdict changed under the new rules: review again"


class _Decision(Protocol):
    @property
    def seq(self) -> int: ...

    @property
    def version(self) -> int: ...


def verdict_change(previous_tags: Mapping[str, str], status: str) -> str | None:
    """``"old → new"`` when a version's earlier verdict, reached under other rules than
    :data:`AUDIT_RULES`, differs from ``status``; None when nothing changed, when there was no
    earlier verdict, or when it was already reached under these rules."""
    before = previous_tags.get(FAIRNESS_TAG)
    if not before or previous_tags.get(AUDIT_RULES_TAG) == AUDIT_RULES or before == status:
        return None
    return f"{before} → {status}"


def changed_verdict_tags(
    previous_tags: Mapping[str, str], status: str, last_review_seq: int
) -> dict[str, str]:
    """The tags an audit writes besides its verdict: the rules it was reached under, and, when
    the verdict changed under them, the change and the review log's last entry number."""
    tags = {AUDIT_RULES_TAG: AUDIT_RULES}
    change = verdict_change(previous_tags, status)
    if change is not None:
        tags[VERDICT_CHANGED_TAG] = change
        tags[VERDICT_CHANGED_AFTER_TAG] = str(last_review_seq)
    return tags


def review_again(
    version: int, tags: Mapping[str, str], decisions: Iterable[_Decision]
) -> str | None:
    """:data:`REVIEW_AGAIN` with the change and what to do, while the panel has recorded no
    decision on ``version`` since its verdict changed under the new rules; None otherwise."""
    change = tags.get(VERDICT_CHANGED_TAG)
    if not change:
        return None
    after = int(tags.get(VERDICT_CHANGED_AFTER_TAG) or 0)
    if any(d.version == version and d.seq > after for d in decisions):
        return None
    return (
        f"{REVIEW_AGAIN}. Its fairness gate read {change.replace(' → ', ' and now reads ')} "
        "now that small groups are counted in distinct young people and every criterion is "
        "judged on its interval; the panel reads the new report and records a decision."
    )


def audited_under_earlier_rules(tags: Mapping[str, str]) -> bool:
    """Whether a version has a fairness verdict reached under rules other than
    :data:`AUDIT_RULES` (audit it again: its verdict may change)."""
    return bool(tags.get(FAIRNESS_TAG)) and tags.get(AUDIT_RULES_TAG) != AUDIT_RULES
