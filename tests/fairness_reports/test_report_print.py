"""The fairness report printed: Chromium (Debian's, driven by Playwright as tests/e2e does) to
PDF, then poppler's ``pdfinfo`` and ``pdftoppm``: A4 pages, the plain summary alone on the first
page, no table wider than the page, and the reason a group's rates are withheld printed."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import sync_playwright

from tests.e2e.a11y import readable, violations
from tests.e2e.conftest import CHROMIUM, LAUNCH_ARGS
from vru_risk.fairness_reports.report import write_report

A4_POINTS = (595.28, 841.89)
A4_CSS_WIDTH = 210 / 25.4 * 96  # px at 96 per inch
TOOLS = ("pdfinfo", "pdftoppm")

pytestmark = pytest.mark.skipif(
    not CHROMIUM.exists() or any(shutil.which(t) is None for t in TOOLS),
    reason="needs Debian's chromium and poppler-utils (apt-get install chromium poppler-utils)",
)

# every table's right edge and the widest thing inside it, in the print layout
MEASURE = """() => {
  const page = document.documentElement.clientWidth;
  return Array.from(document.querySelectorAll('table')).map(t => ({
    caption: (t.caption && t.caption.textContent) || '',
    right: t.getBoundingClientRect().right,
    width: t.scrollWidth,
    box: t.clientWidth,
    page: page,
  }));
}"""


@pytest.fixture(scope="module")
def printed(
    tmp_path_factory: pytest.TempPathFactory,
    full: tuple[dict[str, Any], set[str]],
) -> dict[str, Any]:
    report, _ = full
    out = tmp_path_factory.mktemp("printed")
    _, html = write_report(report, out)
    pdf = out / "report.pdf"
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=LAUNCH_ARGS)
        try:
            page = browser.new_page()
            page.goto(html.as_uri())
            on_screen = violations(page)  # axe-core at WCAG 2.2 AA, as /models/{v}/report serves it
            page.set_viewport_size({"width": 375, "height": 800})  # a phone: tables scroll
            on_screen += violations(page)
            page.emulate_media(media="print")
            page.set_viewport_size({"width": round(A4_CSS_WIDTH - 24 / 25.4 * 96), "height": 1000})
            tables = page.evaluate(MEASURE)
            page.pdf(path=str(pdf), prefer_css_page_size=True, print_background=True)
        finally:
            browser.close()
    info = subprocess.run(["pdfinfo", str(pdf)], capture_output=True, text=True, check=True)
    fields = dict(line.split(":", 1) for line in info.stdout.splitlines() if ":" in line)
    subprocess.run(["pdftoppm", "-r", "30", "-png", str(pdf), str(out / "page")], check=True)
    text = subprocess.run(
        ["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True, check=True
    ).stdout
    screenshots(pdf, text)
    return {
        "report": report,
        "tables": tables,
        "pages": int(fields["Pages"].strip()),
        "size": fields["Page size"].strip(),
        "images": sorted(out.glob("page-*.png")),
        "text": text,
        "violations": on_screen,
    }


def screenshots(pdf: Path, text: str) -> None:
    """With ``VRU_E2E_SCREENSHOTS_OUT`` set (``make screenshots``): the summary's page and
    the gate table's first page, at 70 dpi, there."""
    out = os.environ.get("VRU_E2E_SCREENSHOTS_OUT")
    if not out:
        return
    pages = text.split("\f")
    caption = "Criteria per group against its reference group"
    gate = next(i for i, t in enumerate(pages) if caption in t)
    if pages[gate].rstrip().endswith(caption):  # the caption ends its page: the table follows
        gate += 1
    for number, name in (
        (1, "16-fairness-report-print-summary"),
        (gate + 1, "17-fairness-report-print-gate"),  # pdftoppm counts pages from 1
    ):
        stem = Path(out) / name
        page = ["-f", str(number), "-l", str(number), "-singlefile"]
        subprocess.run(["pdftoppm", "-r", "70", *page, "-png", str(pdf), str(stem)], check=True)


def test_the_printed_report_is_a4_and_its_page_count_is_known(printed: dict[str, Any]) -> None:
    width, height = (float(v) for v in printed["size"].split(" pts")[0].split(" x "))
    assert (round(width), round(height)) == tuple(round(v) for v in A4_POINTS)
    assert len(printed["images"]) == printed["pages"]
    print(f"printed fairness report: {printed['pages']} A4 pages")  # quoted in the PR note
    assert printed["pages"] <= 30  # 23 on this report of 32 groups and 54 gate criteria


def test_no_table_is_wider_than_the_page(printed: dict[str, Any]) -> None:
    tables = printed["tables"]
    assert tables
    too_wide = [t for t in tables if t["right"] > t["page"] + 1 or t["width"] > t["box"] + 1]
    assert too_wide == []


def test_the_summary_is_first_and_the_why_suppressed_column_is_printed(
    printed: dict[str, Any],
) -> None:
    pages = printed["text"].split("\f")
    assert "Summary in plain language" in pages[0]
    assert "What was audited" not in pages[0]  # the summary has its own page(s)
    withheld = [g for g in printed["report"]["groups"] if g["suppressed"]]
    assert withheld
    text = " ".join(printed["text"].split())
    assert "rates withheld: too few to judge" in text


def test_the_report_passes_axe_core_at_wcag_22_aa(printed: dict[str, Any]) -> None:
    assert printed["violations"] == [], readable(printed["violations"])
