"""Every HTML page of the app is named in :data:`tests.e2e.a11y.PAGE_ROUTES`, the pages the
browser tests check with axe-core: a new page route fails here until a browser test checks it.
And the check fails on a page with known violations."""

from __future__ import annotations

from pathlib import Path
from typing import get_type_hints

import pytest
from fastapi.routing import iter_route_contexts
from playwright.sync_api import Browser
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Mount

from tests.e2e.a11y import PAGE_ROUTES, check_a11y, violations
from tests.serving.app.conftest import make_settings
from vru_risk.serving.app import create_app


def html_pages(home: Path) -> set[str]:
    """The app's GET routes that answer a page: not the API, not a redirect, not JSON."""
    app = create_app(make_settings(home))  # the route table only: no lifespan, nothing opened
    found = set()
    for ctx in iter_route_contexts(app.routes):
        route = ctx.original_route
        if isinstance(route, Mount) or "GET" not in (ctx.methods or ()):
            continue
        path = str(ctx.path)
        answer = get_type_hints(route.endpoint).get("return")  # type: ignore[attr-defined]
        if path.startswith("/api/") or not isinstance(answer, type):
            continue
        if issubclass(answer, Response) and not issubclass(
            answer, (RedirectResponse, JSONResponse)
        ):
            found.add(path)
    return found


def test_every_html_page_of_the_app_is_checked_by_a_browser_test(tmp_path: Path) -> None:
    pages = html_pages(tmp_path)
    assert {"/login", "/flags/{flag_id}", "/models/{version}/report", "/docs"} <= pages
    assert pages == set(PAGE_ROUTES)


#: no language, no main landmark, grey on white at 2.3:1, an image without a text alternative,
#: a field without a label
BAD_PAGE = """<!doctype html><html><head><title>bad</title></head><body>
<p style="color:#999;background:#fff">faint text</p><img src="data:," width="10" height="10">
<input type="text"></body></html>"""


def test_the_check_fails_on_a_page_with_known_violations(browser: Browser) -> None:
    page = browser.new_page()
    page.set_content(BAD_PAGE)
    found = {v["id"] for v in violations(page)}
    assert {"html-has-lang", "color-contrast", "image-alt", "label"} <= found, found
    with pytest.raises(AssertionError, match="color-contrast"):
        check_a11y(page, "a bad page")
    page.close()
