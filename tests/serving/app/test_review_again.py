"""A version approved before the fairness audit judged the service's allocation is marked on the
panel's page "evaluated under the previous allocation rule: review again" until it is audited
again; it keeps loading and serving meanwhile."""

from __future__ import annotations

from html import unescape

from tests.serving.app.conftest import approve, register_candidate, serve
from vru_risk.models.promotion import review
from vru_risk.models.risk_model import RiskModel
from vru_risk.models.tags import (
    ALLOCATION_RULE,
    AUDIT_ALLOCATION_TAG,
    VERDICT_CHANGED_AFTER_TAG,
    VERDICT_CHANGED_TAG,
)
from vru_risk.serving.routes.model_pages import REVIEW_AGAIN
from vru_risk.settings import Settings


def version_box(page: str, version: int) -> str:
    """The page's section of one version (up to the next version's, or the end)."""
    start = page.index(f'id="version-{version}"')
    end = page.find('<section class="panel-box"', start)
    return page[start : end if end != -1 else len(page)]


def test_an_approval_under_the_previous_allocation_rule_is_marked_until_re_audited(
    settings: Settings, risk_model: RiskModel
) -> None:
    new = register_candidate(settings, risk_model)  # audited on the service's allocation
    new.registry.set_tag(new.version, AUDIT_ALLOCATION_TAG, ALLOCATION_RULE)
    approve(new)
    pending = register_candidate(settings, risk_model)  # not approved: nothing to review again
    old = register_candidate(settings, risk_model)  # audited before the allocation was replayed
    approve(old)  # the champion now
    with serve(settings) as served:
        # the version approved under the previous rule loads and serves
        status = served.state.models.status()
        assert status.info.version == old.version
        assert served.client.get("/health").json()["scoring"] != "unavailable"
        page = unescape(served.browser("eve").get("/models").text)
        assert REVIEW_AGAIN in version_box(page, old.version)
        assert f"vru audit --version {old.version} --data DATA_DIR" in page
        assert f"Version {old.version} was {REVIEW_AGAIN}." in page  # the in-service line
        assert REVIEW_AGAIN not in version_box(page, new.version)
        assert REVIEW_AGAIN not in version_box(page, pending.version)
        # the data scientist who would re-audit it sees the mark too
        scientist = unescape(served.browser("dana").get("/models").text)
        assert REVIEW_AGAIN in version_box(scientist, old.version)

        # audited again on the service's allocation: the mark goes
        old.registry.set_tag(old.version, AUDIT_ALLOCATION_TAG, ALLOCATION_RULE)
        assert REVIEW_AGAIN not in unescape(served.browser("eve").get("/models").text)


def test_the_panel_page_shows_the_review_state_and_offers_only_allowed_decisions(
    settings: Settings, risk_model: RiskModel
) -> None:
    failing = register_candidate(settings, risk_model, fairness="fail")
    for member in ("eve", "fay"):  # two members override the failed gate
        review(
            "override",
            version=failing.version,
            reviewer=member,
            reason="read the report; the gap favours the group",
            registry=failing.registry,
            log=failing.log,
        )
    other = register_candidate(settings, risk_model, fairness="fail")
    changed = register_candidate(settings, risk_model)
    changed.registry.set_tag(changed.version, VERDICT_CHANGED_TAG, "fail → pass")
    changed.registry.set_tag(changed.version, VERDICT_CHANGED_AFTER_TAG, "2")
    with serve(settings) as served:
        page = unescape(served.browser("eve").get("/models").text)
        overridden = version_box(page, failing.version)
        assert "overridden (by eve and fay)" in overridden and "champion: in service" in overridden
        assert "Approve: put into service" not in overridden  # in service, failed gate
        assert "Suspend: take out of service now" in overridden
        offered = version_box(page, other.version)
        assert "Override: put into service" in offered
        assert "Approve: put into service" not in offered  # its fairness gate failed
        assert "verdict changed under the new rules: review again" in version_box(
            page, changed.version
        )
        assert "verdict changed" not in overridden
