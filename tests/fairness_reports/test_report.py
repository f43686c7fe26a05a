"""The fairness report on a synthetic audit: report.json's shape and nulls, the plain-language
summary, and a self-contained, accessible HTML page with its sections in order."""

from __future__ import annotations

import itertools
import json
import math
import re
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from markupsafe import escape

from tests.conftest import REPORT_GROUP_KEYS
from vru_risk.fairness_reports.audit import audit
from vru_risk.fairness_reports.bootstrap import bootstrap_intervals
from vru_risk.fairness_reports.gate import (
    PRIMARY_STATEMENT,
    FairnessGate,
    FairnessGateConfig,
    evaluate_gate,
)
from vru_risk.fairness_reports.operating_points import TopK
from vru_risk.fairness_reports.report import (
    INTERVAL_METRICS,
    SCHEMA_VERSION,
    build_report,
    render_html,
    write_report,
)
from vru_risk.fairness_reports.report import render as report_module

N = 2000
INTERSECTION = ("ethnicity", "sex")
GROUP_FIELDS = REPORT_GROUP_KEYS | {"intervals"}
RATES = ("base_rate", "selection_rate", "tpr", "fnr", "fpr", "ppv", "auc")
SECTION_ORDER = [
    "summary",
    "data-window",
    "cannot-assess",
    "performance",
    "calibration",
    "groups",
    "composition",
    "proxy",
    "mitigation",
    "gate",
    "glossary",
    "review-history",
]


class Example:
    """Audits (two outcomes), intervals and gate of one synthetic sample, built once."""

    def __init__(self) -> None:
        rng = np.random.default_rng(7)
        sex = rng.choice(np.array(["female", "male", None], dtype=object), N, p=[0.48, 0.49, 0.03])
        ethnicity = rng.choice(["white", "black", "asian", "other"], N, p=[0.6, 0.2, 0.185, 0.015])
        risk = rng.random(N)
        self.y = (rng.random(N) < 0.05 + 0.5 * risk).astype(int)
        harm = (rng.random(N) < 0.02 + 0.3 * risk).astype(int)
        self.scores = np.clip(0.05 + 0.5 * risk + rng.normal(0, 0.05, N), 0, 1)
        self.people = pd.DataFrame({"sex": sex, "ethnicity": ethnicity})
        self.op = TopK(400)
        options: dict[str, Any] = {
            "sensitive_features": self.people,
            "operating_point": self.op,
            "intersections": [INTERSECTION],
        }
        self.primary = audit(self.y, self.scores, **options)
        self.harm = audit(harm, self.scores, **options)
        self.intervals = bootstrap_intervals(
            self.y, self.scores, person_id=np.arange(N), n_resamples=100, seed=1, **options
        )
        self.gate = evaluate_gate(self.intervals, self.primary.by_group, FairnessGateConfig())

    def report(self, **overrides: Any) -> dict[str, Any]:
        arguments: dict[str, Any] = {
            "title": "Fairness audit of vru-risk version 3",
            "subject": {"kind": "model", "name": "vru-risk", "version": 3, "content_hash": "ab12"},
            "data_window": {"from": "2024-01-01", "to": "2024-12-31", "rows": N},
            "audits": {"recorded label": self.primary, "harm only": self.harm},
            "primary": "recorded label",
            "intervals": self.intervals,
            "gate": self.gate,
        }
        arguments.update(overrides)
        built: dict[str, Any] = build_report(**arguments)
        return built


@pytest.fixture(scope="module")
def example() -> Example:
    return Example()


@pytest.fixture(scope="module")
def report(example: Example) -> dict[str, Any]:
    return example.report()


MODEL_SECTIONS: dict[str, Any] = {
    "performance": [
        {"ranker": "model", "precision": 0.31, "recall": 0.52, "lift": 2.4},
        {"ranker": "police contact as suspect", "precision": 0.2, "recall": 0.33, "lift": 1.5},
    ],
    "calibration": [
        {"bin": "0.0-0.1", "count": 500, "mean_predicted": 0.06, "observed": 0.07},
        {"bin": "0.5-0.6", "count": 100, "mean_predicted": 0.55, "observed": math.nan},
        {"attribute": "sex", "group": "male", "mean_predicted": 0.3, "observed": 0.28},
    ],
    "proxy": [{"attribute": "ethnicity", "auc": 0.58, "verdict": "weak"}],
    "mitigation": [{"option": "none", "tpr_ratio_min": 0.81}],
    "review_history": [{"seq": 1, "action": "approve", "reviewer": "a", "reason": "ok"}],
}


def group(report: dict[str, Any], attribute: str, name: str) -> dict[str, Any]:
    found: list[dict[str, Any]] = [
        g for g in report["groups"] if g["attribute"] == attribute and g["group"] == name
    ]
    assert len(found) == 1, f"{attribute}={name} not in the report"
    return found[0]


def walk(value: Any) -> list[Any]:
    if isinstance(value, dict):
        return [leaf for item in value.values() for leaf in walk(item)]
    if isinstance(value, list):
        return [leaf for item in value for leaf in walk(item)]
    return [value]


# ----------------------------------------------------------------------------- report.json


def test_top_level_keys(report: dict[str, Any], example: Example) -> None:
    assert {
        "schema_version",
        "title",
        "subject",
        "demo",
        "data_window",
        "operating_point",
        "groups",
        "outcomes",
        "composition",
        "gate",
        "performance",
        "calibration",
        "proxy",
        "mitigation",
        "review_history",
        "summary",
    } <= set(report)
    assert report["schema_version"] == SCHEMA_VERSION
    assert report["demo"] is False
    assert report["subject"]["content_hash"] == "ab12"
    assert report["operating_point"] == {"kind": "top_k", "k": 400}
    assert report["primary_outcome"] == "recorded label"
    assert report["overall"]["flagged"] == example.primary.selection.n_flagged
    for section in MODEL_SECTIONS:
        assert report[section] is None  # not given


def test_groups_carry_counts_rates_and_intervals(report: dict[str, Any], example: Example) -> None:
    assert len(report["groups"]) == len(example.primary.by_group)
    for item in report["groups"]:
        assert set(item) >= GROUP_FIELDS
        assert set(item["intervals"]) == set(INTERVAL_METRICS)
    female = group(report, "sex", "female")
    male = group(report, "sex", "male")
    assert female["is_reference"] and not male["is_reference"]
    table = example.intervals.set_index(["attribute", "group", "metric"])
    low, high = table.loc[("sex", "male", "tpr"), ["low", "high"]]
    assert male["intervals"]["tpr"] == pytest.approx([low, high])
    assert male["intervals"]["tpr_ratio"] == pytest.approx(
        list(table.loc[("sex", "male", "tpr_ratio"), ["low", "high"]])
    )
    assert male["intervals"]["fnr_difference"] is not None
    assert female["intervals"]["tpr_ratio"] is None  # the reference has no ratio to itself
    row = example.primary.by_group.query("attribute == 'sex' and group == 'male'").iloc[0]
    assert male["tpr"] == pytest.approx(row["tpr"])
    assert male["count"] == row["count"]


def test_missing_values_are_an_unknown_group(report: dict[str, Any], example: Example) -> None:
    unknown = group(report, "sex", "unknown")
    assert unknown["count"] == int(example.people["sex"].isna().sum())


def test_suppressed_groups_keep_counts_and_null_rates(report: dict[str, Any]) -> None:
    other = group(report, "ethnicity", "other")
    assert other["suppressed"] is True
    assert other["count"] < 50
    assert "people" in other["suppression_reason"]
    assert all(other[rate] is None for rate in RATES)
    assert all(value is None for value in other["intervals"].values())
    gated = [c for c in report["gate"]["criteria"] if c["group"] == "other"]
    assert {c["status"] for c in gated} == {"not assessable"}


def test_intersections_are_named_with_a_star(report: dict[str, Any]) -> None:
    crossed = [g for g in report["groups"] if g["attribute"] == "ethnicity*sex"]
    names = {g["group"] for g in crossed}
    assert {"white*female", "black*male", "white*unknown"} <= names
    assert sum(g["count"] for g in crossed) == N
    assert not any("*" in c["attribute"] for c in report["gate"]["criteria"])


def test_every_outcome_is_reported(report: dict[str, Any], example: Example) -> None:
    assert list(report["outcomes"]) == ["recorded label", "harm only"]
    harm = report["outcomes"]["harm only"]
    assert harm["primary"] is False
    assert harm["overall"]["positives"] == int(example.harm.overall["positives"])
    assert len(harm["groups"]) == len(example.harm.by_group)
    assert report["outcomes"]["recorded label"]["primary"] is True


def test_composition_and_gate(report: dict[str, Any], example: Example) -> None:
    white = next(
        c for c in report["composition"] if c["attribute"] == "ethnicity" and c["group"] == "white"
    )
    assert set(white) >= {"flagged_share", "outcome_share", "composition_ratio"}
    shares = [c["flagged_share"] for c in report["composition"] if c["attribute"] == "sex"]
    assert sum(shares) == pytest.approx(1.0)
    gate = report["gate"]
    assert gate["passed"] is example.gate.passed
    assert gate["status"] == example.gate.status
    assert gate["primary"] == PRIMARY_STATEMENT
    assert len(gate["criteria"]) == len(example.gate.criteria)


def test_report_is_strict_json(example: Example) -> None:
    full = example.report(**MODEL_SECTIONS, notes=["synthetic data"])
    text = json.dumps(full, allow_nan=False)  # raises on NaN or infinity
    assert json.loads(text) == full
    floats = [leaf for leaf in walk(full) if isinstance(leaf, float)]
    assert floats and all(math.isfinite(leaf) for leaf in floats)
    assert full["calibration"][1]["observed"] is None  # NaN given → null


def test_summary_speaks_in_numbers(report: dict[str, Any]) -> None:
    summary = report["summary"]
    text = " ".join(summary)
    overall = report["overall"]
    assert f"the list reached {round(100 * overall['tpr'])}." in text
    assert f"{overall['count']:,} young people" in text
    male = group(report, "sex", "male")
    low, high = male["intervals"]["tpr"]
    assert (
        f"among male young people {round(100 * male['tpr'])} "
        f"(95% interval {round(100 * low)} to {round(100 * high)})" in text
    )
    verdict = {"pass": "PASSED", "fail": "FAILED", "inconclusive": "INCONCLUSIVE"}
    assert f"Fairness check: {verdict[report['gate']['status']]}" in text
    small = next(s for s in summary if s.startswith("Too few to judge"))
    other = group(report, "ethnicity", "other")
    assert f"Ethnicity: Other ({other['people']} young people" in small
    assert "harm only" in text


def test_primary_must_be_audited(example: Example) -> None:
    with pytest.raises(ValueError, match="primary 'true involvement'"):
        example.report(primary="true involvement")


def test_intervals_must_belong_to_the_audit(example: Example) -> None:
    stranger = example.intervals.assign(group=example.intervals["group"] + "x")
    with pytest.raises(ValueError, match="groups the primary audit does not have"):
        example.report(intervals=stranger)


def test_a_pass_gate_reads_passed(example: Example) -> None:
    passed = example.report(gate=FairnessGate("pass"))
    assert passed["gate"]["passed"] is True
    assert any(s.startswith("Fairness check: PASSED") for s in passed["summary"])


# ------------------------------------------------------------------------------------ html


def section_ids(html: str) -> list[str]:
    return re.findall(r'<section id="([^"]+)"', html)


def test_html_is_self_contained(example: Example) -> None:
    html = render_html(example.report(**MODEL_SECTIONS, demo=True))
    lowered = html.lower()
    for remote in ("http://", "https://", "<script", "<link", "src=", "url(", "@import", "//cdn"):
        assert remote not in lowered, remote
    assert "<style>" in html
    assert html.count("<svg") >= 4  # three TPR charts and at least one calibration chart


def test_html_sections_in_order(example: Example) -> None:
    html = render_html(example.report(**MODEL_SECTIONS))
    assert section_ids(html) == SECTION_ORDER
    headings = [int(level) for level in re.findall(r"<h([1-6])", html)]
    assert headings[0] == 1 and headings.count(1) == 1
    assert all(b - a <= 1 for a, b in itertools.pairwise(headings))


def test_html_without_model_sections(report: dict[str, Any]) -> None:
    html = render_html(report)
    assert section_ids(html) == [
        "summary",
        "data-window",
        "cannot-assess",
        "groups",
        "composition",
        "gate",
        "glossary",
    ]
    assert "Not part of this report" in html


def test_demo_banner_only_for_demos(example: Example, report: dict[str, Any]) -> None:
    assert "DEMO — not a real review" in render_html(example.report(demo=True))
    assert "DEMO" not in render_html(report)


def test_html_tables_and_words(report: dict[str, Any]) -> None:
    html = render_html(report)
    assert "<th>" not in html  # every header cell says what it heads
    assert re.search(r'<th scope="(col|row)"', html)
    for sentence in report["summary"]:
        assert str(escape(sentence)) in html
    statuses = {c["status"] for c in report["gate"]["criteria"]}
    for status in statuses:  # the word is printed, not only a colour
        assert f">{status.upper()}</span>" in html
    assert str(escape(PRIMARY_STATEMENT)) in html
    assert "too few to judge" in html


def test_html_escapes_user_text(example: Example) -> None:
    evil = "<script>alert(1)</script>"
    html = render_html(example.report(title=evil, data_window={"note": evil}))
    assert "<script>" not in html
    assert "&lt;script&gt;" in html


# ----------------------------------------------------------------------------------- files


def test_write_report(tmp_path: Path, report: dict[str, Any]) -> None:
    out = tmp_path / "new" / "report"
    json_path, html_path = write_report(report, out)
    assert (json_path, html_path) == (out / "report.json", out / "report.html")
    assert sorted(p.name for p in out.iterdir()) == ["report.html", "report.json"]
    assert json.loads(json_path.read_text(encoding="utf-8")) == report
    assert html_path.read_text(encoding="utf-8") == render_html(report)
    write_report(report, out)  # rewriting replaces both
    assert sorted(p.name for p in out.iterdir()) == ["report.html", "report.json"]


def test_write_report_writes_nothing_when_rendering_fails(
    tmp_path: Path, report: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(_report: object) -> str:
        raise RuntimeError("template error")

    monkeypatch.setattr(report_module, "render_html", broken)
    with pytest.raises(RuntimeError):
        write_report(report, tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_calibration_charts(example: Example) -> None:
    curves = render_html(example.report(calibration=MODEL_SECTIONS["calibration"]))
    assert curves.count('aria-labelledby="calibration-curve-') == 2  # overall and sex: male
    errors = [
        {"attribute": "sex", "group": "female", "calibration_error": 0.02},
        {"attribute": "sex", "group": "male", "calibration_error": 0.08},
        {"attribute": "sex", "group": "unknown", "calibration_error": None},
    ]
    html = render_html(example.report(calibration=errors))
    assert 'aria-labelledby="calibration-error-title"' in html
    assert "0.080" in html and "not assessable" in html
    assert "gate tolerance 0.05" in html
