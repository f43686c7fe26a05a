"""A run's report.json read back for the pages, and the panel's open items: the figures are the
report's own (nothing missing reads as zero), another format is refused with what to do, and an
item stays open until the panel decides on the version after the run was written."""

from __future__ import annotations

import copy
import json
import re
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from tests.monitoring.reports import MONTHS, MonthReports
from vru_risk.models.review_log import ReviewEntry
from vru_risk.monitoring.history import ReportFormatError, RunSummary, parse_report
from vru_risk.monitoring.open_items import figure_lines, open_items

LATEST = MONTHS[-1].as_of
PERSON_ID = re.compile(r"P[0-9]{7}")


def test_a_run_reads_back_the_reports_own_figures(month_reports: MonthReports) -> None:
    report = month_reports.reports[LATEST]
    run = parse_report(json.loads(json.dumps(report)))  # as written to and read from disk
    assert (run.version, run.as_of, run.level) == (1, LATEST, "suspension_recommended")
    assert run.written_at == datetime.fromisoformat(report["generated_at"])
    assert [f.criterion for f in run.findings] == [
        f["criterion"] for f in report["verdict"]["findings"]
    ]
    outage = next(f for f in run.findings if f.criterion == "source_outage")
    assert outage.subject == "ae_visits" and outage.figures == {"allowed": 45, "days": 52}
    precision = report["checks"]["outcomes"]["precision"]
    assert run.precision is not None
    assert run.precision.value == precision["unsupported"]["precision"]["value"]
    assert [m.month for m in run.precision_by_month] == ["2025-01", "2025-02", "2025-03", "2025-04"]
    march = run.precision_by_month[2]
    assert march.precision.value == precision["by_month"][2]["unsupported"]["precision"]["value"]
    assert march.floor == precision["by_month"][2]["floor"] and march.moments == 120
    slope = report["checks"]["outcomes"]["calibration"]["slope"]
    assert run.calibration_slope is not None and run.calibration_slope.value == slope["value"]
    assert run.slope_bounds == (0.6, 1.5)
    assert run.score_psi == report["checks"]["scores"]["psi"]
    police = next(d for d in run.drift if d.source == "police_contacts")
    rows = next(r for r in report["checks"]["inputs"] if r["source"] == "police_contacts")
    assert police.psi == max(f["psi"] for f in rows["by_feature"] if f["psi"] is not None)
    assert police.raises_review and police.feature in {f["feature"] for f in rows["by_feature"]}
    assert run.expected_precision == month_reports.reference.allocation.precision
    # groups: withheld cells carry no figure; the reference is marked
    withheld = [g for g in run.selection if g.suppressed]
    shown = [g for g in run.selection if not g.suppressed]
    assert withheld and shown
    assert all(g.rate is None and g.ratio.value is None and g.people is None for g in withheld)
    assert {g.attribute for g in run.selection} == {"sex", "ethnicity", "ethnicity*sex"}
    assert all(g.ratio.value == 1.0 for g in shown if g.reference)
    assert not PERSON_ID.search(repr(run))


def test_a_report_without_a_check_reads_as_not_available_never_zero(
    month_reports: MonthReports,
) -> None:
    report = copy.deepcopy(dict(month_reports.reports[MONTHS[0].as_of]))
    del report["checks"]["groups"], report["generated_at"]
    report["checks"]["outcomes"] = {"estimate": {"value": 0.31, "moments": 40}}
    report["checks"]["scores"]["psi"] = None
    written = datetime(2026, 5, 2, 8, 0, tzinfo=UTC)
    run = parse_report(report, written_at=written)
    assert run.selection == () and run.precision is None and run.precision_by_month == ()
    assert run.calibration_slope is None and run.slope_bounds is None and run.score_psi is None
    assert run.estimate == 0.31 and run.written_at == written


@pytest.mark.parametrize(
    ("change", "words"),
    [
        (lambda r: r.update(format="vru-monitoring-report-0"), "not 'vru-monitoring-report-1'"),
        (lambda r: r.update(as_of="30 June"), "no valid as-of date"),
        (lambda r: r["verdict"].update(level="fine"), "verdict level is 'fine'"),
        (lambda r: r["subject"].update(version="1"), "which version"),
    ],
)
def test_another_format_or_a_broken_report_is_refused_saying_why(
    month_reports: MonthReports, change: Any, words: str
) -> None:
    report = copy.deepcopy(dict(month_reports.reports[LATEST]))
    change(report)
    with pytest.raises(ReportFormatError, match=re.escape(words)):
        parse_report(report)
    with pytest.raises(ReportFormatError, match="not a JSON object"):
        parse_report([report])


def _entry(seq: int, version: int, action: str, time: datetime) -> ReviewEntry:
    return ReviewEntry(
        seq=seq,
        time=time.isoformat(timespec="seconds"),
        version=version,
        content_hash="c" * 64,
        action=action,
        reviewer="eve",
        reason="read",
        demo=False,
        previous_hash="0" * 64,
        hash="1" * 64,
    )


def _run(month_reports: MonthReports, as_of: date, version: int, written: datetime) -> RunSummary:
    report = copy.deepcopy(dict(month_reports.reports[as_of]))
    report["subject"]["version"] = version
    report["generated_at"] = written.isoformat(timespec="seconds")
    return parse_report(report)


def test_an_item_stays_open_until_the_panel_decides_after_the_run(
    month_reports: MonthReports,
) -> None:
    t = datetime(2026, 7, 1, 9, 0, tzinfo=UTC)
    review_run = _run(month_reports, MONTHS[1].as_of, 1, t)
    suspension_run = _run(month_reports, LATEST, 2, t)
    clean = _run(month_reports, MONTHS[0].as_of, 3, t)
    approved = [_entry(1, 1, "approve", t - timedelta(days=40)), _entry(2, 2, "approve", t)]
    items = open_items([review_run, suspension_run, clean], approved)
    # suspensions first; a decision in the same second as the run is not "after" it
    assert [(i.version, i.run.level) for i in items] == [
        (2, "suspension_recommended"),
        (1, "review"),
    ]
    assert items[0].last_decision is not None and items[0].last_decision.seq == 2
    decided = [*approved, _entry(3, 2, "approve", t + timedelta(seconds=1))]
    assert [i.version for i in open_items([review_run, suspension_run], decided)] == [1]
    # a decision on another version does not close an item
    other = [*approved, _entry(3, 3, "suspend", t + timedelta(days=1))]
    assert [i.version for i in open_items([review_run, suspension_run], other)] == [2, 1]


def test_a_run_without_its_time_counts_as_written_at_the_end_of_its_day(
    month_reports: MonthReports,
) -> None:
    report = copy.deepcopy(dict(month_reports.reports[LATEST]))
    del report["generated_at"]
    run = parse_report(report)
    assert run.written == datetime(2026, 6, 30, 23, 59, 59, tzinfo=UTC)
    same_day = _entry(1, 1, "approve", datetime(2026, 6, 30, 12, 0, tzinfo=UTC))
    next_day = _entry(2, 1, "approve", datetime(2026, 7, 1, 8, 0, tzinfo=UTC))
    assert len(open_items([run], [same_day])) == 1
    assert open_items([run], [same_day, next_day]) == []


def test_figures_read_in_plain_words_in_a_fixed_order() -> None:
    """Codes among the figures (the worst feature, a column, a value, a group) are left to the
    finding's sentence, which says them in words."""
    lines = figure_lines(
        {
            "worst_feature": "pol_suspect_365d",
            "psi": 0.5623,
            "missing_current": 0.125,
            "drifted": 3,
            "features": 15,
            "floor_2025-03": 0.243,
            "precision_2025-04": 0.1,
            "precision_2025-03": 0.117,
            "approved": "a" * 64,
            "zeta": None,
        }
    )
    assert lines == [
        ("Inputs from the source", "15"),
        ("Inputs that moved beyond the threshold", "3"),
        ("Population stability index (0 is no change)", "0.562"),
        ("Share missing now", "12.5%"),
        ("What the panel approved", "a" * 16),
        ("Realised precision, 2025-03", "0.117"),
        ("Floor, 2025-03", "0.243"),
        ("Realised precision, 2025-04", "0.100"),
        ("Zeta", "not available"),
    ]
