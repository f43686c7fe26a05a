"""axe-core on the page in the browser, at WCAG 2.2 AA: every page the browser tests visit passes.

axe-core's script is the one bundled with ``axe-playwright-python`` (read from the installed
package, never downloaded); it runs in the page through Playwright. :data:`PAGE_ROUTES` names
the app's HTML pages and where the browser tests check each, and
``tests/e2e/test_a11y_routes.py`` keeps that list in step with the app's routes.
"""

from __future__ import annotations

from typing import Any

from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Page

#: axe-core's rule tags for WCAG 2.0, 2.1 and 2.2 at levels A and AA
WCAG_22_AA = ("wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa")

#: every GET route of the app that answers a page of HTML, and the browser test that checks it
PAGE_ROUTES: dict[str, str] = {
    "/login": "test_browser: signing in (and a wrong password)",
    "/flags": "test_browser, test_practitioner: a practitioner's list",
    "/flags/{flag_id}": "test_browser, test_practitioner: flags, a decision, a 404 page",
    "/models": "test_browser, test_panel_pages: model versions, before and after a review",
    "/models/{version}/report": "tests/fairness_reports/test_report_print: the file it serves",
    "/models/{version}/card": "test_panel_pages: the champion's model card",
    "/models/{version}/transparency": "test_panel_pages: the transparency record",
    "/models/compare": "test_panel_pages: the candidate beside the champion",
    "/monitoring": "test_panel_pages: open items, and nothing open",
    "/models/{version}/monitoring": "test_panel_pages: monitoring over time",
    "/models/{version}/monitoring/{run}": "test_panel_pages: one run's report",
    "/evaluation": "test_panel_pages: every evaluation and what each design may say",
    "/evaluation/{version}/{run}": "test_panel_pages: one evaluation's report",
    "/aggregates": "test_browser, test_practitioner: aggregates",
    # the error page (403, 404) is checked on /users (a panel member) and /flags/{flag_id}
    "/users": "test_browser: the administrator's list of users (and a 403 page)",
    "/docs": "test_browser: the API reference, to an administrator",
}

_AXE = Axe()  # reads the bundled axe.min.js once


def violations(page: Page) -> list[dict[str, Any]]:
    """axe-core's violations of WCAG 2.2 AA on the page as it is now."""
    options = {
        "runOnly": {"type": "tag", "values": list(WCAG_22_AA)},
        "resultTypes": ["violations"],
    }
    found: list[dict[str, Any]] = _AXE.run(page, options=options).response["violations"]
    return found


def readable(found: list[dict[str, Any]]) -> str:
    """One paragraph per violated rule: its id, impact, help and the elements' selectors."""
    lines = []
    for v in found:
        lines.append(f"- {v['id']} ({v['impact']}): {v['help']} [{v['helpUrl']}]")
        for node in v["nodes"]:
            target = " ".join(str(t) for t in node["target"])
            summary = node.get("failureSummary", "").splitlines()[1:]  # after "Fix any of ..."
            lines.append(f"    {target}: {' '.join(s.strip() for s in summary)}")
    return "\n".join(lines)


def check_a11y(page: Page, where: str) -> None:
    """Fail, listing every violation, unless axe-core finds none at WCAG 2.2 AA on the page."""
    found = violations(page)
    assert not found, f"{where} ({page.url}) fails WCAG 2.2 AA:\n{readable(found)}"


def on_a_phone(page: Page, where: str) -> None:
    """The page checked again 375 px wide, where wide tables scroll sideways (a scrolling region
    must be reachable by keyboard), then the page's own size again."""
    size = page.viewport_size
    assert size is not None
    page.set_viewport_size({"width": 375, "height": 800})
    try:
        check_a11y(page, f"{where}, 375 px wide")
    finally:
        page.set_viewport_size(size)
