"""The monitoring runs on disk as the pages read them: every run of a version, oldest first, an
unreadable one listed with why; a run named by anything but a date is refused before a path is
made and nothing outside VRU_HOME/monitoring is ever served; the panel's open items follow the
review log; the model card files; a comparison refused with what to choose instead.

No training: the factory model is registered (``register_candidate``) and the reports are made
by the real builders (``tests/monitoring/reports.py``).
"""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest

from tests.monitoring.cards import card_sources, documents
from tests.monitoring.reports import MONTHS, MonthReports, write_runs
from tests.serving.app.conftest import approve, register_candidate
from vru_risk.jobs.card import card_dir, read_document
from vru_risk.jobs.common import JobError
from vru_risk.jobs.compare import (
    NothingToCompareError,
    SameVersionError,
    UnknownVersionError,
    compare,
)
from vru_risk.jobs.monitor_history import (
    BadRunError,
    NoRunError,
    agenda,
    run_report,
    version_history,
    versions_with_runs,
)
from vru_risk.models.promotion import review
from vru_risk.models.risk_model import RiskModel
from vru_risk.monitoring.card_render import write_document
from vru_risk.monitoring.history import timestamp
from vru_risk.settings import Settings

HOSTILE_RUNS = (
    "..",
    "../../etc/passwd",
    "2026-06-30/../..",
    "2026-13-01",
    "2026-02-30",
    "9999-99-99",
    "2026-6-30",
    "20260630",
    "2026-06-30\x00",
    "２０２６-06-30",  # fullwidth digits: a date to isoformat, not to the route
    " 2026-06-30",
    "x" * 5000,
)


@pytest.fixture
def settings(vru_home: Path) -> Settings:
    return Settings(home=vru_home)


def test_every_run_oldest_first_and_unreadable_ones_with_why(
    settings: Settings, month_reports: MonthReports
) -> None:
    folders = write_runs(
        settings.home, month_reports.reports, version=4, latest_written=datetime.now(UTC)
    )
    root = folders[0].parent
    (root / "notes").mkdir()  # not a run: ignored
    (root / "2026-10-31").write_text("a file, not a run")
    broken = root / "2026-07-31"
    broken.mkdir()
    (broken / "report.json").write_text("{not json")
    moved = root / "2026-08-31"
    moved.mkdir()
    (moved / "report.json").write_text((folders[0] / "report.json").read_text())
    (root / "2026-09-30").mkdir()
    history = version_history(settings, 4)
    assert [r.as_of for r in history.runs] == [m.as_of for m in MONTHS]
    assert history.latest is not None and history.latest.level == "suspension_recommended"
    problems = {u.as_of: u.problem for u in history.unreadable}
    assert set(problems) == {"2026-07-31", "2026-08-31", "2026-09-30"}
    assert "cannot be read" in problems["2026-07-31"]
    assert "is filed as version 4 as of 2026-08-31" in problems["2026-08-31"]
    assert "missing" in problems["2026-09-30"]
    (settings.home / "monitoring" / "vru-risk-v12").mkdir()
    (settings.home / "monitoring" / "vru-risk-vX").mkdir()
    (settings.home / "monitoring" / "references").mkdir(exist_ok=True)
    assert versions_with_runs(settings) == [4, 12]
    assert version_history(settings, 5).runs == ()


def test_a_run_is_named_by_its_date_and_never_reaches_outside_the_monitoring_folder(
    settings: Settings, month_reports: MonthReports, tmp_path: Path
) -> None:
    write_runs(settings.home, month_reports.reports, version=1, latest_written=datetime.now(UTC))
    found = run_report(settings, 1, "2026-06-30")
    assert found.is_file() and found.is_relative_to(settings.home.resolve() / "monitoring")
    for name in HOSTILE_RUNS:
        with pytest.raises(BadRunError, match="a run is named by its as-of date, YYYY-MM-DD"):
            run_report(settings, 1, name)
    with pytest.raises(
        NoRunError, match=r"`vru monitor --version 1 --data DATA_DIR` --as-of 2026-03-31"
    ):
        run_report(settings, 1, "2026-03-31")
    with pytest.raises(NoRunError):
        run_report(settings, 2, "2026-06-30")
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "report.html").write_text("<p>not a monitoring report</p>")
    (settings.home / "monitoring" / "vru-risk-v1" / "2026-07-31").symlink_to(outside)
    with pytest.raises(NoRunError):
        run_report(settings, 1, "2026-07-31")


def _next_second(stamp: datetime) -> None:
    while datetime.now(UTC).replace(microsecond=0) <= stamp:
        time.sleep(0.05)


def test_open_items_follow_the_review_log(
    settings: Settings, risk_model: RiskModel, month_reports: MonthReports
) -> None:
    assert agenda(settings).in_service == ()  # nothing registered: nothing open
    champion = register_candidate(settings, risk_model)
    approve(champion)
    approved = timestamp(champion.log.entries()[-1].time)
    assert approved is not None
    write_runs(
        settings.home, month_reports.reports, version=champion.version, latest_written=approved
    )
    todo = agenda(settings)
    assert todo.in_service == (champion.version,) and todo.problem == ""
    (item,) = todo.items
    assert item.run.as_of == MONTHS[-1].as_of and item.run.level == "suspension_recommended"
    assert item.last_decision is not None and item.last_decision.action == "approve"
    _next_second(approved)
    review(
        "approve",
        version=champion.version,
        reviewer="eve",
        reason="the feed is being restored; kept in service",
        registry=champion.registry,
        log=champion.log,
    )
    assert agenda(settings).items == ()
    _next_second(timestamp(champion.log.entries()[-1].time) or approved)
    write_runs(  # a later run finds something again: open again
        settings.home,
        {MONTHS[-1].as_of: month_reports.reports[MONTHS[-1].as_of]},
        version=champion.version,
        latest_written=datetime.now(UTC).replace(microsecond=0),
    )
    assert len(agenda(settings).items) == 1
    review(
        "suspend",
        version=champion.version,
        reviewer="eve",
        reason="suspended until the A&E feed is restored",
        registry=champion.registry,
        log=champion.log,
    )
    assert agenda(settings).in_service == () and agenda(settings).items == ()
    log = settings.review_log_path
    log.write_text(log.read_text().replace("suspended until", "kept until"))
    problem = agenda(settings).problem
    assert "open items cannot be worked out" in problem and "restore it from backup" in problem


def test_the_card_files_are_read_checked_or_said_to_be_missing(
    settings: Settings, spec: object, month_reports: MonthReports
) -> None:
    assert read_document(settings, 3, "card") is None
    card, record = documents(card_sources(1, spec, month_reports.reference))  # type: ignore[arg-type]
    folder = card_dir(settings, 3)
    write_document(card, folder, "card")
    write_document(record, folder, "transparency")
    got = read_document(settings, 3, "card")
    assert got is not None and got["title"] == card["title"]
    assert [s["id"] for s in got["sections"]] == [s["id"] for s in card["sections"]]
    assert read_document(settings, 3, "transparency")["status"] == "draft: not publishable"  # type: ignore[index]
    (folder / "card.json").write_text(json.dumps({"title": "x", "sections": [{"facts": [["a"]]}]}))
    with pytest.raises(JobError, match=r"make it again with `vru models card --version 3`"):
        read_document(settings, 3, "card")
    (folder / "card.json").write_text("[")
    with pytest.raises(JobError, match="cannot be read"):
        read_document(settings, 3, "card")


def test_a_comparison_is_refused_with_what_to_choose(
    settings: Settings, risk_model: RiskModel
) -> None:
    with pytest.raises(NothingToCompareError, match="no version is in service"):
        compare(settings, None)
    champion = register_candidate(settings, risk_model)
    approve(champion)
    with pytest.raises(
        NothingToCompareError, match="no version but the champion has the alias `candidate`"
    ):
        compare(settings, None)
    with pytest.raises(SameVersionError, match="is the champion itself"):
        compare(settings, champion.version)
    with pytest.raises(UnknownVersionError, match="version 99 is not registered"):
        compare(settings, 99)
