"""In headless Chromium, on a champion monitored for three months whose latest run recommends
suspension: the ethics panel sees the open item, reads it and follows the link to decide; a
data scientist goes from the model versions to the monitoring over time (charts drawn on the
server), a run's full report, the model card (printable) and its transparency record, and the
candidate beside the champion. Screenshots are written for people to look at; no page shows a
young person's identifier."""

from __future__ import annotations

import re

from playwright.sync_api import Browser, Page, expect

from tests.e2e.a11y import check_a11y, on_a_phone
from tests.e2e.conftest import PanelLive
from tests.e2e.test_browser import open_page, sign_in
from tests.e2e.test_practitioner import raw_codes
from tests.evaluation.reports import write_evaluation
from tests.monitoring.reports import PEOPLE
from tests.serving.app.conftest import make_settings
from vru_risk.models.promotion import allowed_actions
from vru_risk.models.registry import Registry
from vru_risk.models.review_log import ReviewLog

#: the county's identifier format: no page may show one
PERSON_ID = re.compile(r"P[0-9]{7}")


def shows_no_person(page: Page) -> None:
    """No identifier of a young person, and no data code (a contract table, column or value, a
    feature or family name, a trigger kind or a programme id: derived, as on the practitioner's
    pages) in the page's visible text."""
    html = page.content()
    assert not PERSON_ID.search(html), PERSON_ID.search(html)
    assert not any(p in html for p in PEOPLE[:50])
    text = page.inner_text("body")
    leaked = sorted(
        c for c in raw_codes() if re.search(rf"(?<![\w-]){re.escape(c)}(?![\w-])", text)
    )
    assert not leaked, f"{page.url} shows data codes {leaked}"


def offers_only_the_allowed_actions(page: Page, live: PanelLive) -> None:
    """Each version's form offers exactly the decisions the rules allow now
    (:func:`~vru_risk.models.promotion.allowed_actions`): the candidate, whose fairness gate
    did not pass, is never offered "Approve"; the champion is never offered "Reject"."""
    registry = Registry(make_settings(live.home).tracking_uri)
    entries = ReviewLog(live.home / "review_log.jsonl").entries()
    champion = live.models.champion.version
    for registered in (live.models.champion, live.models.candidate):
        info = registry.version(registered.version)
        allowed = allowed_actions(info, champion=champion, entries=entries)
        radios = page.locator(f"#version-{info.version} input[name='action']")
        offered = tuple(radios.nth(i).get_attribute("value") for i in range(radios.count()))
        assert offered == allowed, (info.version, offered, allowed)
    candidate = page.locator(f"#version-{live.models.candidate.version}")
    expect(candidate.get_by_label("Approve: put into service")).to_have_count(0)
    assert "approve" not in offered and "reject" in offered  # the candidate's


def test_the_panel_sees_the_open_item_and_follows_the_link_to_decide(
    panel_live: PanelLive, browser: Browser
) -> None:
    live = panel_live
    version = live.models.champion.version
    page, problems = open_page(browser)
    sign_in(page, live, "eve")
    expect(page).to_have_url(f"{live.url}/models")
    summary = page.get_by_role("region", name="Open monitoring items: 1 waiting for the panel")
    check_a11y(page, "model versions with an open item")
    offers_only_the_allowed_actions(page, live)
    expect(summary).to_contain_text(f"Version {version}, monitoring run as of 2026-06-30")
    summary.get_by_role("link", name="Read the open items and decide on them").click()
    expect(page).to_have_url(f"{live.url}/monitoring#open")
    item = page.get_by_role("article", name=re.compile(f"Version {version}: monitoring run"))
    expect(item).to_contain_text("Suspension recommended")
    expect(item).to_contain_text("Source A&E visits: no rows known for 52 days (allowed: 45)")
    expect(item).to_contain_text("Realised precision on moments not given support")
    expect(item.get_by_text("Days without new records", exact=True)).to_be_visible()
    shows_no_person(page)
    live.shot(page, "12-open-items")
    check_a11y(page, "monitoring: the open items")
    item.get_by_role("link", name=f"Decide on version {version}").click()
    expect(page).to_have_url(f"{live.url}/models#version-{version}")
    section = page.locator(f"#version-{version}")
    section.get_by_label("Approve: put into service").check()
    section.get_by_label("Your reason (kept in the review log)").fill(
        "The A&E feed stopped on the hospital's side and is being restored; the two low months "
        "follow the outage. Kept in service; the panel looks again at next month's run."
    )
    section.get_by_role("button", name=f"Record decision on version {version}").click()
    expect(page.get_by_text(f"approve of version {version} by eve")).to_be_visible()
    expect(page.get_by_text("Open monitoring items")).to_have_count(0)
    page.goto(f"{live.url}/monitoring")
    expect(page.get_by_text("Nothing is open")).to_be_visible()
    check_a11y(page, "monitoring: nothing open")
    entry = ReviewLog(live.home / "review_log.jsonl").entries()[-1]
    assert (entry.action, entry.reviewer, entry.version) == ("approve", "eve", version)
    assert problems == []


def test_a_data_scientist_reads_monitoring_the_card_and_the_comparison(
    panel_live: PanelLive, browser: Browser
) -> None:
    live = panel_live
    version, candidate = live.models.champion.version, live.models.candidate.version
    page, problems = open_page(browser)
    sign_in(page, live, "dana")
    expect(page).to_have_url(f"{live.url}/models")
    page.get_by_role("link", name=f"Monitoring of version {version} over time").click()
    expect(page.get_by_role("heading", name=f"Monitoring of version {version}")).to_be_visible()
    runs = page.get_by_role("table", name="Runs")
    expect(runs.locator("tbody tr")).to_have_count(3)
    expect(runs).to_contain_text("Suspension recommended")
    # the charts are inline SVG drawn by the server, each with its figures as a table
    for title in (
        "Realised precision by matured month",
        "Calibration slope at each run",
        "Largest input drift of each source",
        "Drift of the scores at each run",
        "Share of moments offered a place, by sex",
    ):
        expect(page.locator("svg title", has_text=title)).to_have_count(1)
    expect(page.locator("script")).to_have_count(0)
    expect(page.get_by_text("The ethics panel decides on version")).to_be_visible()
    shows_no_person(page)
    live.shot(page, "13-monitoring")
    check_a11y(page, "monitoring of a version over time")
    on_a_phone(page, "monitoring of a version over time")
    page.get_by_role("link", name="Report as of 2026-06-30").click()
    expect(page.get_by_role("heading", name="Monitoring of vru-risk version 1 on 2026-06-30"))
    shows_no_person(page)
    check_a11y(page, "a monitoring run's report")
    on_a_phone(page, "a monitoring run's report")
    page.go_back()

    page.get_by_role("link", name=f"Model card of version {version}").first.click()
    expect(
        page.get_by_role("heading", name=f"Model card: vru-risk version {version}", exact=True)
    ).to_be_visible()
    for heading in (
        "Performance at the service's allocation",
        "Fairness audit",
        "Ethics panel decisions",
        "What the model cannot see",
        "Monitoring plan and criteria",
    ):
        expect(page.get_by_role("heading", name=heading, exact=True)).to_be_visible()
    shows_no_person(page)
    live.shot(page, "14-model-card")
    check_a11y(page, "the model card")
    on_a_phone(page, "the model card")
    page.emulate_media(media="print")  # printed: the card alone, no navigation or forms
    expect(page.locator(".site-header")).to_be_hidden()
    expect(page.get_by_role("navigation", name="Sections of this document")).to_be_hidden()
    page.emulate_media(media="screen")
    page.get_by_role("link", name=f"Algorithmic transparency record of version {version}").click()
    expect(page.get_by_text("Status: draft: not publishable")).to_be_visible()
    check_a11y(page, "the transparency record")

    page.goto(f"{live.url}/models")
    page.get_by_role("link", name=f"Version {candidate} beside the champion").click()
    expect(
        page.get_by_role(
            "heading", name=f"Candidate version {candidate} beside the champion, version {version}"
        )
    ).to_be_visible()
    versions = page.get_by_role("region", name="The two versions", exact=True)
    expect(
        versions.get_by_role("columnheader", name=f"Champion: version {version}")
    ).to_be_visible()
    expect(
        versions.get_by_role("columnheader", name=f"Candidate: version {candidate}")
    ).to_be_visible()
    expect(page.get_by_role("region", name="What differs", exact=True)).to_contain_text(
        "Training window"
    )
    expect(
        page.get_by_role("region", name="Recall ratios by group (fairness audits)", exact=True)
    ).to_contain_text("ethnicity = black (against white)")
    expect(page.get_by_label("Version to put beside the champion (version 1)")).to_have_value(
        str(candidate)
    )
    shows_no_person(page)
    live.shot(page, "15-comparison")
    check_a11y(page, "a candidate beside the champion")
    on_a_phone(page, "a candidate beside the champion")
    assert problems == []


def test_the_panel_reads_an_evaluation(panel_live: PanelLive, browser: Browser) -> None:
    """The ethics panel goes from the menu to the evaluations, reads what each design may say,
    and opens the full report: no script, no young person, WCAG 2.2 AA."""
    live = panel_live
    write_evaluation(live.home, version=live.models.champion.version)
    page, problems = open_page(browser)
    sign_in(page, live, "eve")
    page.get_by_role("link", name="Evaluation", exact=True).click()
    expect(page.get_by_role("heading", name="Who benefits: programme evaluations")).to_be_visible()
    expect(page.get_by_text("no evidence either way yet (about 9 more months")).to_be_visible()
    expect(page.locator("script")).to_have_count(0)
    shows_no_person(page)
    live.shot(page, "18-evaluation")
    check_a11y(page, "the evaluations")
    on_a_phone(page, "the evaluations")
    page.get_by_role("link", name=re.compile("Read the full report")).click()
    expect(
        page.get_by_role("heading", name=re.compile("Who benefits: programme reach and effect"))
    ).to_be_visible()
    expect(page.get_by_role("heading", name="Fair lottery").first).to_be_visible()
    shows_no_person(page)
    check_a11y(page, "an evaluation's report")
    on_a_phone(page, "an evaluation's report")
    assert not problems, problems
