"""A fairness verdict that changes under the new audit rules is marked: review again."""

from __future__ import annotations

from vru_risk.fairness_reports.verdicts import (
    AUDIT_RULES,
    REVIEW_AGAIN,
    audited_under_earlier_rules,
    changed_verdict_tags,
    review_again,
)
from vru_risk.models.review_log import ReviewEntry
from vru_risk.models.tags import (
    AUDIT_RULES_TAG,
    FAIRNESS_TAG,
    VERDICT_CHANGED_AFTER_TAG,
    VERDICT_CHANGED_TAG,
)


def entry(seq: int, version: int, action: str = "approve") -> ReviewEntry:
    return ReviewEntry(seq, "", version, "h", action, "ann", "reason", False, "", "")


def test_a_verdict_changed_under_new_rules_is_tagged_with_the_last_review() -> None:
    before = {FAIRNESS_TAG: "fail"}  # audited before the rules were recorded
    assert audited_under_earlier_rules(before)
    tags = changed_verdict_tags(before, "inconclusive", last_review_seq=7)
    assert tags == {
        AUDIT_RULES_TAG: AUDIT_RULES,
        VERDICT_CHANGED_TAG: "fail → inconclusive",
        VERDICT_CHANGED_AFTER_TAG: "7",
    }
    assert not audited_under_earlier_rules({**before, **tags, FAIRNESS_TAG: "inconclusive"})


def test_the_same_verdict_or_the_same_rules_change_nothing() -> None:
    assert changed_verdict_tags({FAIRNESS_TAG: "fail"}, "fail", 3) == {AUDIT_RULES_TAG: AUDIT_RULES}
    same_rules = {FAIRNESS_TAG: "fail", AUDIT_RULES_TAG: AUDIT_RULES}
    assert VERDICT_CHANGED_TAG not in changed_verdict_tags(same_rules, "pass", 3)
    assert VERDICT_CHANGED_TAG not in changed_verdict_tags({}, "pass", 3)  # first audit


def test_review_again_until_the_panel_decides_after_the_change() -> None:
    tags = {VERDICT_CHANGED_TAG: "fail → inconclusive", VERDICT_CHANGED_AFTER_TAG: "2"}
    earlier = [entry(1, 4, "override"), entry(2, 4, "override"), entry(3, 5)]
    words = review_again(4, tags, earlier)
    assert words is not None and words.startswith(REVIEW_AGAIN)
    assert "fail and now reads inconclusive" in words
    assert review_again(4, tags, [*earlier, entry(4, 4, "reject")]) is None
    assert review_again(4, {}, earlier) is None
