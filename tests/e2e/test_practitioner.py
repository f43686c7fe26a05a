"""In headless Chromium, the practitioner's pages as a youth worker reads them: reasons that each
say something (unshared sources one line, never twice), no data code or jargon, a readable title,
the flag's age, a stale-source warning, the programme's next step, and capacity counts that agree
between the list, its capacity line and the aggregates page."""

from __future__ import annotations

import re
from typing import get_args

from playwright.sync_api import Browser, Page, expect

from tests.e2e.a11y import check_a11y
from tests.e2e.conftest import Live
from tests.e2e.test_browser import open_page, sign_in
from vru_risk.data.contract import TABLES
from vru_risk.features.catalog import load_catalog
from vru_risk.flags.flag import REDACTED, REDACTED_REASON, Flag, TriggerKind
from vru_risk.flags.programmes import load_programmes

#: words a practitioner page never uses
JARGON = ("log-odds", "SHAP", "median", "calibrated probability", "percentile)")


def raw_codes() -> set[str]:
    """Every data code a page could leak: the contract's tables, columns and category values, the
    feature names and families, trigger kinds and programme ids, those that are not words
    themselves (they hold an underscore or a digit: ``missing_person``, ``pol_suspect_365d``)."""
    codes: set[str] = {REDACTED, *get_args(TriggerKind)}
    for table in TABLES.values():
        codes.add(table.name)
        for column in table.columns:
            codes.add(column.name)
            codes.update(column.categories)
    for feature in load_catalog().spec().features:
        codes.update((feature.name, feature.family))
    codes.update(p.id for p in load_programmes().programmes)
    return {c for c in codes if "_" in c or re.search(r"\d", c)}


def check_words(page: Page, where: str) -> str:
    """The page's visible text, checked for data codes and jargon."""
    text = page.inner_text("body")
    leaked = sorted(
        c for c in raw_codes() if re.search(rf"(?<![\w-]){re.escape(c)}(?![\w-])", text)
    )
    assert not leaked, f"{where} shows data codes {leaked}"
    said = [j for j in JARGON if j.lower() in text.lower()]
    assert not said, f"{where} says {said}"
    return text


def offered_to(live: Live, programme: str) -> list[Flag]:
    return [
        f
        for f in live.flags
        if any(o.programme == programme and o.status == "offered" for o in f.programmes)
    ]


def test_the_codes_checked_come_from_the_contract_and_the_catalog() -> None:
    codes = raw_codes()
    # a sample of what the derivation must hold, from each origin
    for code in ("missing_person", "physical_assault", "ae_visits", "pol_suspect_365d"):
        assert code in codes
    assert {"attendance_drop", "another_service", "admit_ae", "looked_after"} <= codes
    assert "suspension" not in codes  # a word, not a code


def test_practitioner_pages_read_plainly_and_counts_agree(live: Live, browser: Browser) -> None:
    """One server for every check (each start costs about 20 s)."""
    admit_ae_list_and_flag(live, browser)
    unshared_sources_are_one_line(live, browser)
    aggregates_agree_with_the_lists(live, browser)


def admit_ae_list_and_flag(live: Live, browser: Browser) -> None:
    mine = offered_to(live, "admit_ae")
    assert mine, "the daily job offered nothing to Admit A&E"
    page, problems = open_page(browser)
    sign_in(page, live, "amy")
    expect(page).to_have_url(f"{live.url}/flags")
    text = check_words(page, "Admit A&E list")
    live.shot(page, "08-admit-ae-list")
    check_a11y(page, "Admit A&E's list")
    # capacity: "N of 10 places offered this week" agrees with the rows marked so
    capacity = page.locator("#capacity").inner_text()
    used = int(re.search(r"(\d+) of 10 places offered this week", capacity).group(1))  # type: ignore[union-attr]
    rows = page.locator("table tbody tr")
    marked = rows.filter(has_text="Offered this week").count()
    assert used == marked == len(mine), (used, marked, len(mine))
    assert "flagged today" in text  # each row says how old it is
    # a row's reasons: never the same line twice, never "another service contributed"
    for i in range(rows.count()):
        items = rows.nth(i).locator("ul.reasons li").all_inner_texts()
        assert len(items) == len(set(items)), items
    assert "another service contributed" not in text
    # the flag page: a readable title, the estimate framed, the stale A&E feed, the next step
    top = min(
        mine, key=lambda f: next(o.rank or 99 for o in f.programmes if o.programme == "admit_ae")
    )
    page.locator(f'a[href^="/flags/{top.flag_id}"]').click()
    heading = page.get_by_role("heading", level=1).inner_text()
    assert top.flag_id not in heading and top.flag_id not in page.title()
    assert heading.startswith("Support opportunity: A&E visit, aged ")
    assert "known on 10 March 2026" in heading
    text = check_words(page, "Admit A&E flag page")
    assert "Flagged today" in text
    assert "young people with scores like this were later recorded by services" in text
    assert "of all young people at such moments" in text
    expect(page.get_by_role("heading", name="Some records may be out of date")).to_be_visible()
    assert "A&E visits were last refreshed 26 days before the service date" in text
    expect(page.get_by_role("heading", name="Next step: Admit A&E")).to_be_visible()
    for label in ("What it offers", "How to make contact", "Consent", "safeguarding concern"):
        assert label in text
    assert "EXAMPLE" in text and "Example text" in text  # the packaged placeholder is marked
    lowers = page.locator("#against-title + ul li").all_inner_texts()
    assert all(t.startswith("Compared with others seen at A&E, ") for t in lowers), lowers
    live.shot(page, "09-admit-ae-flag")
    check_a11y(page, "an Admit A&E flag with a stale feed")
    assert problems == []


def unshared_sources_are_one_line(live: Live, browser: Browser) -> None:
    """Jump Start sees attendance and exclusions only: police and A&E reasons are one line."""
    mine = offered_to(live, "jump_start")
    assert mine
    page, problems = open_page(browser)
    sign_in(page, live, "pat")
    check_words(page, "Jump Start list")
    merged_seen = 0
    for flag in mine[:4]:
        page.goto(f"{live.url}/flags/{flag.flag_id}?programme=jump_start")
        text = check_words(page, f"Jump Start flag {flag.flag_id}")
        for section in ("#for-title + ul li", "#against-title + ul li"):
            items = page.locator(section).all_inner_texts()
            merged = [t for t in items if REDACTED_REASON in t]
            assert len(merged) <= 1, items
            merged_seen += len(merged)
        assert "Police" not in text.split("What the model cannot see")[0].split("What happened")[1]
        assert "Background" not in text  # no internal words for the circumstances section
    assert merged_seen, "no flag of Jump Start had a reason from an unshared source"
    live.shot(page, "10-jump-start-flag")
    check_a11y(page, "a Jump Start flag with unshared sources")
    assert problems == []


def aggregates_agree_with_the_lists(live: Live, browser: Browser) -> None:
    page, problems = open_page(browser)
    sign_in(page, live, "dana")
    page.goto(f"{live.url}/aggregates")
    text = page.inner_text("body")
    flags = len(live.flags)
    people = len({f.person_id for f in live.flags})
    offers = sum(o.status == "offered" for f in live.flags for o in f.programmes)
    assert f"{flags} flags" in text and f"{people} young people" in text
    assert f"offered {offers} times" in text and f"add up to {offers}, not {flags}" in text
    live.shot(page, "11-aggregates-people")
    check_a11y(page, "aggregates by people")
    assert problems == []
