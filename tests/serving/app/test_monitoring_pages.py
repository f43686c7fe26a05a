"""The monitoring, model card and comparison pages on a seeded home (``model_home.py``: a
champion monitored for three months whose latest run recommends suspension, a candidate, both
model cards): what each shows the panel and data scientists, the open item closing when the
panel decides, what a missing piece says, and hostile version numbers, dates and paths answered
404 or 422 with a clear message, never a file outside VRU_HOME, never a young person."""

from __future__ import annotations

import re
import shutil
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from html import unescape
from pathlib import Path

import pytest

from tests.monitoring.reports import PEOPLE, MonthReports
from tests.serving.app.conftest import Served, make_settings, serve
from tests.serving.app.model_home import ModelHome, seed_model_home
from tests.serving.app.test_pages import Fields
from vru_risk.models.risk_model import RiskModel
from vru_risk.settings import Settings

PERSON_ID = re.compile(r"P[0-9]{7}")
PAGES = (
    "/monitoring",
    "/models/1/monitoring",
    "/models/1/monitoring/2026-06-30",
    "/models/1/card",
    "/models/1/transparency",
    "/models/compare",
    "/models/compare?candidate=2",
    "/models",
)


@pytest.fixture(scope="module")
def seeded(
    tmp_path_factory: pytest.TempPathFactory,
    mlflow_template: Path,
    risk_model: RiskModel,
    month_reports: MonthReports,
) -> tuple[Path, ModelHome]:
    """The seeded home, made once for the module (tests serve copies of it)."""
    home = tmp_path_factory.mktemp("pages-home")
    shutil.copy(mlflow_template, home / "mlflow.db")
    models = seed_model_home(
        make_settings(home), risk_model, month_reports.reference, month_reports.reports
    )
    return home, models


def copied(seeded: Path, home: Path) -> Settings:
    """A copy of the seeded home (never served itself); the registry's artifacts are not
    copied: the store names them in the seeded home."""
    shutil.copytree(seeded, home, ignore=shutil.ignore_patterns("artifacts", "*.lock"))
    return make_settings(home)


@pytest.fixture(scope="module")
def shared(
    seeded: tuple[Path, ModelHome], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Served]:
    """The app on a copy of the seeded home, for the tests that change nothing in it."""
    with serve(copied(seeded[0], tmp_path_factory.mktemp("shared") / "home")) as served:
        yield served


@pytest.fixture
def pages(seeded: tuple[Path, ModelHome], tmp_path: Path) -> Iterator[Served]:
    """The app on a copy of the seeded home of its own, for a test that changes it."""
    with serve(copied(seeded[0], tmp_path / "home")) as served:
        yield served


def no_person(text: str) -> None:
    assert not PERSON_ID.search(text), PERSON_ID.search(text)
    assert not any(p in text for p in PEOPLE)


def test_the_pages_show_aggregates_only_and_work_without_scripts(shared: Served) -> None:
    pages = shared
    for who in ("eve", "dana"):
        browser = pages.browser(who)
        for url in PAGES:
            response = browser.get(url)
            assert response.status_code == 200, (who, url, response.text[:300])
            no_person(response.text)
            page = Fields()
            page.feed(response.text)
            assert page.scripts == 0, url
            assert not [r for r in page.refs if r.startswith(("http:", "https:", "//"))], url
            if not url.endswith("2026-06-30"):  # the run's own report is a document of its own
                assert page.skip and page.lang == "en-GB", url
                assert all(c.get("id") in page.labels for c in page.controls), url


def test_monitoring_over_time_shows_every_run_and_its_charts(shared: Served) -> None:
    pages = shared
    html = unescape(pages.browser("dana").get("/models/1/monitoring").text)
    for day in ("2026-04-30", "2026-05-31", "2026-06-30"):
        assert f'href="/models/1/monitoring/{day}"' in html
    assert html.count("<svg") == 6  # precision, slope, drift, scores, by sex, by ethnicity
    assert "Realised precision by matured month (run of 2026-06-30)" in html
    assert "Police contacts" in html  # sources in plain words
    assert "The ethics panel decides on version 1." in html and "Decide on version 1" not in html
    assert "withheld: too few young people to show" in html
    report = pages.browser("dana").get("/models/1/monitoring/2026-06-30")
    assert report.headers["content-type"] == "text/html; charset=utf-8"
    assert "Monitoring of vru-risk version 1 on 2026-06-30" in report.text


def test_the_panel_sees_the_open_item_until_it_decides(pages: Served) -> None:
    eve = pages.browser("eve")
    models = unescape(eve.get("/models").text)
    assert "Open monitoring items: 1 waiting for the panel" in models
    assert "Version 1, monitoring run as of 2026-06-30: 4 findings." in models
    monitoring = unescape(eve.get("/monitoring").text)
    assert 'href="/models#version-1">Decide on version 1</a>' in monitoring
    assert "Source A&E visits: no rows known for 52 days (allowed: 45)" in monitoring
    assert "<code>vru review suspend --version 1</code>" in monitoring
    assert "Days without new records" in monitoring
    approved = pages.state.review_log.entries()[-1].time
    while datetime.now(UTC).isoformat(timespec="seconds") <= approved:
        time.sleep(0.05)  # the review log counts in seconds: decide after the run was written
    done = eve.post(
        "/models/1/review",
        {"action": "approve", "reason": "The A&E feed is being restored; kept in service."},
    )
    assert done.status_code == 303
    assert "Open monitoring items" not in eve.get("/models").text
    assert "Nothing is open" in eve.get("/monitoring").text


def test_the_card_and_the_record_are_the_files_the_job_wrote(shared: Served) -> None:
    pages = shared
    dana = pages.browser("dana")
    card = unescape(dana.get("/models/1/card").text)
    assert "Model card: vru-risk version 1" in card
    assert "Performance at the service's allocation" in card
    assert "Rule: at least 1 of police contacts as a suspect in the last year" in card
    assert "<code>vru models card --version 1</code>" in card
    record = unescape(dana.get("/models/1/transparency").text)
    assert "Status:</strong> draft: not publishable" in record
    compare = unescape(dana.get("/models/compare").text)
    assert "Candidate version 2 beside the champion, version 1" in compare
    assert "Champion: version 1" in compare and "Candidate: version 2" in compare


def test_what_is_missing_says_how_to_make_it(pages: Served) -> None:
    settings: Settings = pages.state.settings
    dana = pages.browser("dana")
    shutil.rmtree(settings.home / "cards" / "vru-risk-v2")
    missing = dana.get("/models/2/card")
    assert missing.status_code == 404
    assert "`vru models card --version 2`" in unescape(missing.text)
    (settings.home / "cards" / "vru-risk-v1" / "card.json").write_text('{"sections": 3}')
    broken = dana.get("/models/1/card")
    assert broken.status_code == 404 and "make it again with" in unescape(broken.text)
    never = dana.get("/models/2/monitoring")
    assert never.status_code == 404
    assert "`vru monitor --version 2 --data DATA_DIR`" in unescape(never.text)
    unknown = dana.get("/models/compare?candidate=99")
    assert unknown.status_code == 404 and "version 99 is not registered" in unknown.text
    itself = dana.get("/models/compare?candidate=1")
    assert itself.status_code == 422 and "is the champion itself" in itself.text


HOSTILE = {
    "/models/1/monitoring/..%2F..%2F..%2Fetc%2Fpasswd": (404,),
    "/models/1/monitoring/%2e%2e": (404, 422),
    "/models/1/monitoring/2026-06-30%00": (422,),
    "/models/1/monitoring/2026-02-30": (422,),
    "/models/1/monitoring/9999-99-99": (422,),
    "/models/1/monitoring/2026-06-30%2F..%2F..%2Fmlflow.db": (404,),
    "/models/1/monitoring/review_log.jsonl": (422,),
    "/models/1/monitoring/2025-01-31": (404,),
    "/models/0/monitoring": (422,),
    "/models/-1/card": (422,),
    "/models/99999999999999999999/card": (422,),
    "/models/1e3/card": (422,),
    "/models/%2e%2e/card": (404, 422),
    "/models/2147483648/transparency": (422,),
    "/models/compare?candidate=-1": (422,),
    "/models/compare?candidate=abc": (422,),
    "/models/compare?candidate=1%20OR%201=1": (422,),
}


def test_hostile_versions_dates_and_paths_are_refused_clearly(
    shared: Served, tmp_path: Path
) -> None:
    settings: Settings = shared.state.settings
    secret = tmp_path / "outside"
    secret.mkdir()
    (secret / "report.html").write_text("<p>SECRET-OUTSIDE-VRU-HOME</p>")
    link = settings.home / "monitoring" / "vru-risk-v1" / "2026-07-31"
    link.symlink_to(secret)
    try:
        refused(shared)
    finally:
        link.unlink()


def refused(served: Served) -> None:
    """Every hostile request answered 404 or 422 with a clear message and nothing from
    outside VRU_HOME (a run folder linking outside it included)."""
    eve = served.browser("eve")
    for url, statuses in {**HOSTILE, "/models/1/monitoring/2026-07-31": (404,)}.items():
        response = eve.get(url)
        assert response.status_code in statuses, (url, response.status_code, response.text[:300])
        text = unescape(response.text)
        assert "SECRET-OUTSIDE-VRU-HOME" not in text and "root:" not in text, url
        assert "vru-risk-v1" not in text or "vru monitor" in text, url
        if response.status_code == 422:
            assert "YYYY-MM-DD" in text or "the request is not valid" in text, (url, text[:300])
        else:
            assert any(
                w in text for w in ("no monitoring run", "Page not found", "not registered")
            ), url
