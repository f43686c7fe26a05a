"""In headless Chromium: a practitioner records a decision and sees it in the history; an
ethics-panel member approves a candidate with a written reason. Keyboard use and the browser
console are checked on the way; screenshots are written for people to look at."""

from __future__ import annotations

import httpx2
from playwright.sync_api import Browser, ConsoleMessage, Page, expect

from tests.e2e.a11y import check_a11y, on_a_phone
from tests.e2e.conftest import Live, PanelLive
from tests.serving.app.conftest import PASSWORD
from vru_risk.models.review_log import ReviewLog


def open_page(browser: Browser) -> tuple[Page, list[str]]:
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    problems: list[str] = []

    def note(message: ConsoleMessage) -> None:
        if message.type in ("error", "warning"):
            problems.append(message.text)

    page.on("console", note)
    return page, problems


def sign_in(page: Page, live: Live | PanelLive, username: str) -> None:
    page.goto(f"{live.url}/login")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()


def refused_sign_in(browser: Browser, live: Live) -> None:
    """The sign-in page after a wrong password (its own page: the browser logs the 401)."""
    page = browser.new_page()
    page.goto(f"{live.url}/login")
    page.get_by_label("Username").fill("ed")
    page.get_by_label("Password").fill("not the password")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("alert")).to_contain_text("There is a problem")
    check_a11y(page, "the sign-in page after a wrong password")
    page.close()


def error_page(browser: Browser, signed_in: Page, url: str, title: str) -> None:
    """The error page at ``url``, in another page with the same session cookie (the browser
    logs the error status, which the page under test must not)."""
    context = browser.new_context(storage_state=signed_in.context.storage_state())
    page = context.new_page()
    page.goto(url)
    expect(page.get_by_role("heading", level=1)).to_have_text(title)
    check_a11y(page, f"the error page ({title})")
    context.close()


def test_a_practitioner_records_a_decision_and_sees_it_in_the_history(
    live: Live, browser: Browser
) -> None:
    mine = [
        f
        for f in live.flags
        if any(o.programme == "early_intervention" and o.status == "offered" for o in f.programmes)
    ]
    assert mine, "the daily job offered nothing to the Early Intervention Team"
    flag = min(
        mine,
        key=lambda f: next(o.rank for o in f.programmes if o.programme == "early_intervention"),
    )
    page, problems = open_page(browser)
    page.goto(f"{live.url}/login")
    # the first Tab reaches the skip link, which is then visible
    page.keyboard.press("Tab")
    expect(page.get_by_role("link", name="Skip to main content")).to_be_focused()
    live.shot(page, "01-login")
    check_a11y(page, "the sign-in page")
    refused_sign_in(browser, live)
    sign_in(page, live, "ed")
    expect(page).to_have_url(f"{live.url}/flags")
    expect(page.get_by_role("heading", name="Today's support opportunities")).to_be_visible()
    expect(page.get_by_text("Decision support, not a decision").first).to_be_visible()
    live.shot(page, "02-flags")
    check_a11y(page, "a practitioner's list")
    on_a_phone(page, "a practitioner's list")
    page.locator(f'a[href^="/flags/{flag.flag_id}"]').click()
    expect(page.get_by_role("heading", name="What raises the model's score")).to_be_visible()
    expect(page.get_by_role("heading", name="What the model cannot see")).to_be_visible()
    expect(page.get_by_role("heading", name="What could change the model's score")).to_be_visible()
    expect(page.get_by_text("No decision has been recorded yet.")).to_be_visible()
    live.shot(page, "03-flag")
    check_a11y(page, "a flag page")
    on_a_phone(page, "a flag page")
    page.get_by_label("Refer to a programme").check()
    page.get_by_label("Reason", exact=True).select_option(label="Meets programme criteria")
    page.get_by_label("Referred to (when you refer)").select_option(value="early_intervention")
    page.get_by_label("What you did and why").fill(
        "Spoke with the school; an officer will offer 1:1 mentoring this week."
    )
    page.get_by_role("button", name="Record decision").click()
    expect(page.get_by_role("status")).to_contain_text("Your decision was recorded")
    history = page.locator("#history + table")
    expect(history).to_contain_text("Refer to a programme: Early Intervention Team")
    expect(history).to_contain_text("ed (Early Intervention Team)")
    expect(history).to_contain_text("offer 1:1 mentoring")
    live.shot(page, "04-decision-recorded")
    check_a11y(page, "a flag page after a decision")
    error_page(browser, page, f"{live.url}/flags/no-such-flag", "Page not found")
    assert problems == []


def test_an_ethics_panel_member_approves_a_candidate_with_a_reason(
    live: Live, browser: Browser
) -> None:
    assert httpx2.get(f"{live.url}/health").json()["scoring"] == "unavailable"
    page, problems = open_page(browser)
    sign_in(page, live, "eve")
    expect(page).to_have_url(f"{live.url}/models")
    expect(page.get_by_text("No model is in service")).to_be_visible()
    live.shot(page, "05-model-versions")
    check_a11y(page, "model versions")
    on_a_phone(page, "model versions")
    version = live.candidate
    section = page.locator(f"#version-{version}")
    section.get_by_label("Approve: put into service").check()
    section.get_by_label("Your reason (kept in the review log)").fill(
        "Fairness gate passes on every group; the panel read the report on 9 March."
    )
    section.get_by_role("button", name=f"Record decision on version {version}").click()
    expect(
        page.get_by_text(f"Review entry 1 recorded: approve of version {version} by eve")
    ).to_be_visible()
    expect(page.get_by_text(f"In service: version {version}")).to_be_visible()
    live.shot(page, "06-approved")
    check_a11y(page, "model versions after an approval")
    (entry,) = ReviewLog(live.home / "review_log.jsonl").entries()
    assert (entry.action, entry.reviewer, entry.version) == ("approve", "eve", version)
    assert httpx2.get(f"{live.url}/health").json()["status"] == "ok"
    page.goto(f"{live.url}/aggregates")
    expect(page.get_by_role("heading", name="Aggregates")).to_be_visible()
    live.shot(page, "07-aggregates")
    check_a11y(page, "aggregates")
    on_a_phone(page, "aggregates")
    error_page(browser, page, f"{live.url}/users", "You cannot open this page")
    assert problems == []
    administrators_pages(live, browser)  # on the same server: each start costs about 20 s


def administrators_pages(live: Live, browser: Browser) -> None:
    page, problems = open_page(browser)
    sign_in(page, live, "ada")
    page.goto(f"{live.url}/users")
    expect(page.get_by_role("heading", name="Users")).to_be_visible()
    check_a11y(page, "users")
    page.goto(f"{live.url}/docs")
    expect(page.get_by_role("heading", name="API reference", exact=True)).to_be_visible()
    check_a11y(page, "the API reference")
    assert problems == []
