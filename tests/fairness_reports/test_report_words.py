"""No raw code in the rendered fairness report: every attribute, group, measure, criterion and
feature the report carries is shown in words (issue 17).

The codes are derived, not listed by hand: the contract's category values, the group values and
attribute names of the report, every key of its records (groups, gate criteria, mitigation,
proxy, calibration, operating point, data window) and the catalog's feature names. A code is
*raw* when its label does not contain it as a word (``ehcp`` → "EHC plan" is raw, ``white`` →
"White" is not). A raw code that is an attribute name, a key or a feature name (``fsm``,
``tpr_ratio``, ``att_rate_30d``) must not appear anywhere in the page's visible text; a raw group
value (``none``, ``yes``, ``8-11``) is an ordinary word too, so it must not appear, outside the
words given for groups and attributes, in the places where groups are named: headings,
captions, header cells, term names and chart labels.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser
from typing import Any

import pytest

from tests.fairness_reports.test_model_audit import (
    model_report,
    run,
    synthetic_window,
    window_replay,
)
from vru_risk.data.contract import ETHNICITY, SEN, SEX
from vru_risk.fairness_reports.labels import (
    attribute_label,
    column_label,
    group_label,
    performance_words,
    with_feature_words,
)
from vru_risk.fairness_reports.report import build_report, render_html
from vru_risk.features.catalog import load_catalog
from vru_risk.models.tags import ALLOCATION_RULE, HINDSIGHT_ONLY
from vru_risk.training.config import load_experiment
from vru_risk.training.results import LIGHTGBM, LOGISTIC, ORACLE

LABEL_TAGS = {"th", "caption", "h1", "h2", "h3", "dt", "text", "title"}


class _Text(HTMLParser):
    """Visible text of a page (no style), and the text of the places that name groups."""

    def __init__(self) -> None:
        super().__init__()
        self.stack: list[str] = []
        self.visible: list[str] = []
        self.labels: list[str] = []

    def handle_starttag(self, tag: str, _attrs: list[tuple[str, str | None]]) -> None:
        self.stack.append(tag)

    def handle_endtag(self, tag: str) -> None:
        while self.stack and self.stack.pop() != tag:
            pass

    def handle_data(self, data: str) -> None:
        if "style" in self.stack:
            return
        self.visible.append(data)
        if any(tag in LABEL_TAGS for tag in self.stack):
            self.labels.append(data)


def _keys(records: Any) -> set[str]:
    out: set[str] = set()
    if isinstance(records, dict):
        for key, value in records.items():
            out.add(str(key))
            out |= _keys(value)
    elif isinstance(records, list):
        for value in records:
            out |= _keys(value)
    return out


def _raw(code: str, label: str) -> bool:
    return re.search(rf"(?<![\w-]){re.escape(code.lower())}(?![\w-])", label.lower()) is None


def _without(text: str, words: set[str]) -> str:
    for word in sorted(words, key=len, reverse=True):
        text = text.replace(word, " ")
    return text


def _found(code: str, texts: list[str]) -> list[str]:
    pattern = re.compile(rf"(?<![\w-]){re.escape(code)}(?![\w-])")
    return [t.strip() for t in texts if pattern.search(t)]


def full_report() -> tuple[dict[str, Any], set[str]]:
    """A model's report with every section a panel reads (the allocation replayed, mitigation,
    proxy test and calibration), and the catalog's feature names."""
    predictions, people = synthetic_window()
    people.loc[people.index[:40], "sen"] = "ehcp"  # every SEN value of the contract
    result = run(predictions, people, allocation=window_replay(predictions))
    features = {f.name: f.phrase for f in load_catalog().spec().features}
    names = sorted(features)
    proxy = [
        {
            "attribute": a,
            "auc": 0.74,
            "group": "yes" if a in ("fsm", "looked_after") else "ehcp",
            "top_features": names[:3],
            "flagged": True,
            "level": 0.7,
            "groups": [],
            "skipped_groups": ["unknown"],
        }
        for a in ("sen", "fsm", "looked_after")
    ]
    base = model_report(result)
    report = build_report(
        title="audit",
        subject={"kind": "model", "name": "vru-risk", "version": 1},
        data_window=result.window,
        audits=result.audits,
        primary="recorded label",
        intervals=result.intervals,
        gate=result.gate,
        mitigation=result.mitigation,
        allocation=result.allocation,
        proxy=with_feature_words(proxy, features),
        performance=performance_words(performance_rows(), features),
        calibration=[
            {"attribute": g["attribute"], "group": g["group"], "calibration_error": 0.03}
            for g in base["groups"]  # type: ignore[attr-defined]
        ],
    )
    return report, set(names)


def performance_rows() -> list[dict[str, Any]]:
    """The training's comparison as its summary.csv holds it: every model the packaged
    experiment compares, under both allocations."""
    names = [LIGHTGBM, LOGISTIC, *load_experiment().models.baselines, ORACLE]
    return [
        {"model": name, "kind": "baseline", "allocation": rule, "precision_at_capacity": 0.4}
        for name in names
        for rule in (ALLOCATION_RULE, HINDSIGHT_ONLY)
    ]


@pytest.fixture(scope="module")
def page(full: tuple[dict[str, Any], set[str]]) -> tuple[dict[str, Any], _Text, set[str]]:
    report, names = full
    parser = _Text()
    parser.feed(render_html(report))
    return report, parser, names


def test_no_raw_code_appears_in_the_rendered_report(
    page: tuple[dict[str, Any], _Text, set[str]],
) -> None:
    report, text, feature_names = page
    attributes = {g["attribute"] for g in report["groups"]}
    groups = {(g["attribute"], g["group"]) for g in report["groups"]}
    groups |= {("sex", v) for v in SEX} | {("ethnicity", v) for v in ETHNICITY}
    groups |= {("sen", v) for v in SEN}
    keys = (
        _keys(report["groups"])
        | _keys(report["gate"]["criteria"])
        | {c["metric"] for c in report["gate"]["criteria"]}
        | _keys(report["mitigation"])
        | _keys(report["proxy"])
        | _keys(report["calibration"])
        | _keys(report["operating_point"])
        | _keys(report["data_window"])
    )
    everywhere = {a for a in attributes if _raw(a, attribute_label(a))}
    everywhere |= {k for k in keys if _raw(k, column_label(k))}
    everywhere |= feature_names
    # the models compared and the allocations, said in words (and not as codes with spaces)
    models = {r["model"] for r in performance_rows()} | {ALLOCATION_RULE, HINDSIGHT_ONLY}
    everywhere |= models | {n.replace("_", " ") for n in feature_names}
    in_labels = {g for a, g in groups if _raw(g, group_label(a, g))}
    assert {"ehcp", "sen_support", "yes", "8-11"} <= in_labels  # the derivation finds them
    assert {"fsm", "looked_after", "imd_band", "tpr_ratio", "fnr_difference"} <= everywhere
    seen = {code: _found(code, text.visible) for code in sorted(everywhere)}
    assert {code: where for code, where in seen.items() if where} == {}
    # a group value is an ordinary word ("no", "none"): look for it outside the words given
    words = {group_label(a, g) for a, g in groups} | {attribute_label(a) for a in attributes}
    unexplained = [_without(t, words) for t in text.labels]
    named = {code: _found(code, unexplained) for code in sorted(in_labels)}
    assert {code: where for code, where in named.items() if where} == {}


def test_the_report_has_a_glossary_of_the_words_it_uses(
    page: tuple[dict[str, Any], _Text, set[str]],
) -> None:
    _, text, _ = page
    visible = " ".join(" ".join(text.visible).split())
    assert "Glossary" in text.labels
    for term in ("EHC plan", "recall", "miss rate", "95% interval", "reference group"):
        assert term in text.labels
    assert "EHC plan" in visible and "{" not in visible  # no raw JSON for the proxy table


def test_the_summary_says_which_way_each_failed_gap_runs(
    page: tuple[dict[str, Any], _Text, set[str]],
) -> None:
    report, _, _ = page
    failed = [
        c
        for c in report["gate"]["criteria"]
        if c["status"] == "fail" and c["metric"] != "calibration_error"
    ]
    assert failed  # the synthetic window's gate fails on gaps, not only on calibration
    sentence = next(s for s in report["summary"] if s.startswith("Fairness check: FAILED"))
    first = failed[0]
    assert first["direction"] in sentence
    assert re.search(r"(MORE|LESS) often than .*: (fewer|more) of them were missed", sentence)
    assert "fared better than the reference group" in sentence
