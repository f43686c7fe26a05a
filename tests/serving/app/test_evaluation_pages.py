"""The evaluation pages (issue 20): the panel and data scientists see every evaluation with what
each design may say and open the full report; no one else does; hostile version numbers and run
names are answered 404 or 422 with what to do, never a file outside VRU_HOME, never a young
person."""

from __future__ import annotations

import re
from collections.abc import Iterator
from html import unescape
from pathlib import Path

import pytest

from tests.evaluation.reports import PARTICIPANTS, RUN, write_evaluation
from tests.serving.app.conftest import Served, make_settings, serve
from tests.serving.app.test_pages import Fields

PERSON_ID = re.compile(r"P[0-9]{7}")


@pytest.fixture(scope="module")
def pages(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    """One running app for the module's read-only requests (each test signs in afresh)."""
    settings = make_settings(tmp_path_factory.mktemp("evaluation-pages") / "home")
    settings.home.mkdir(parents=True)
    write_evaluation(settings.home, version=1)
    with serve(settings) as served:
        yield served


def test_the_panel_sees_every_evaluation_and_its_statements(pages: Served) -> None:
    for who in ("eve", "dana"):  # the ethics panel, a data scientist
        browser = pages.browser(who)
        listing = browser.get("/evaluation")
        assert listing.status_code == 200
        html = unescape(listing.text)
        assert "Version 1: 2025-01-01 to 2025-06-30" in html
        assert "Jump Start Mentoring" in html and "Fair lottery" in html
        assert "no evidence either way yet (about 9 more months at current numbers" in html
        assert f'href="/evaluation/1/{RUN}"' in html
        page = Fields()
        page.feed(listing.text)
        assert page.scripts == 0 and page.skip and page.lang == "en-GB"
        report = browser.get(f"/evaluation/1/{RUN}")
        assert report.status_code == 200
        assert report.headers["content-type"] == "text/html; charset=utf-8"
        assert "Who benefits: programme reach and effect" in unescape(report.text)
        for text in (listing.text, report.text):
            assert not PERSON_ID.search(text)
            assert not any(p in text for p in PARTICIPANTS)


def test_practitioners_and_administrators_are_refused(pages: Served) -> None:
    for who in ("pat", "ada"):
        browser = pages.browser(who)
        assert browser.get("/evaluation").status_code == 403
        assert browser.get(f"/evaluation/1/{RUN}").status_code == 403


@pytest.mark.parametrize(
    ("url", "status", "says"),
    [
        ("/evaluation/1/2025-01-01_2025-07-31", 404, "has no evaluation"),
        ("/evaluation/2/" + RUN, 404, "has no evaluation"),
        ("/evaluation/1/..%2F..%2Fmlflow.db", 404, ""),  # decoded to a path: no such route
        ("/evaluation/1/2025-01-01_2025-06-30_..", 422, "is not an evaluation"),
        ("/evaluation/0/" + RUN, 422, ""),
        ("/evaluation/99999999999/" + RUN, 422, ""),
    ],
)
def test_hostile_versions_and_runs(pages: Served, url: str, status: int, says: str) -> None:
    response = pages.browser("dana").get(url)
    assert response.status_code == status, response.text[:300]
    assert says in unescape(response.text)
    assert "sqlite" not in response.text.lower()


def test_no_evaluation_yet_says_how_to_make_one(tmp_path: Path) -> None:
    settings = make_settings(tmp_path / "home")
    settings.home.mkdir(parents=True)
    with serve(settings) as served:
        html = unescape(served.browser("eve").get("/evaluation").text)
    assert "No evaluation has been made yet" in html and "vru evaluate --data" in html
