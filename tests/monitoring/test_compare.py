"""A candidate beside the champion: each figure is the one its own card is built from, the
differences are named (features, windows, data), and what is missing says how to make it."""

from __future__ import annotations

import dataclasses
import json
from typing import Any

from tests.monitoring.cards import METRICS, audit_report, card_sources
from tests.monitoring.reports import MONTHS, MonthReports
from vru_risk.features.catalog import FeatureSpec
from vru_risk.models.words import MODEL_WORDS
from vru_risk.monitoring.compare import build_comparison
from vru_risk.monitoring.history import parse_report


def table(document: dict[str, Any], ident: str) -> dict[str, list[str]]:
    """A section's table as {first cell: the other cells}."""
    section = next(s for s in document["sections"] if s["id"] == ident)
    return {row[0]: row[1:] for row in section["table"]["rows"]}


def text(document: dict[str, Any], ident: str) -> str:
    return " ".join(next(s for s in document["sections"] if s["id"] == ident)["text"])


def test_the_two_versions_side_by_side(spec: FeatureSpec, month_reports: MonthReports) -> None:
    fewer = spec.model_copy(update={"features": spec.features[:-2]})
    champion = card_sources(
        1, spec, month_reports.reference, aliases=("champion",), audit=audit_report(1)
    )
    candidate = card_sources(2, fewer, None, aliases=("candidate",), audit=audit_report(2))
    run = parse_report(json.loads(json.dumps(month_reports.reports[MONTHS[-1].as_of])))
    doc = build_comparison(champion, candidate, run, None, generated_at="2026-07-02T10:00:00+00:00")
    assert doc["title"] == "Candidate version 2 beside the champion, version 1"
    versions = next(s for s in doc["sections"] if s["id"] == "versions")
    assert versions["table"]["columns"] == ["", "Champion: version 1", "Candidate: version 2"]
    metrics = table(doc, "metrics")
    replayed = "Precision at capacity, the service's allocation replayed"
    assert metrics[replayed] == ["0.312", "0.331", "+0.019"]
    baselines = table(doc, "baselines")
    suspect = "Rule: at least 1 of police contacts as a suspect in the last year"
    assert baselines[suspect] == ["0.201", "0.266", "0.201", "0.266"]
    assert next(iter(baselines)) == MODEL_WORDS["lightgbm"]
    gates = table(doc, "gates")
    assert gates["Fairness gate"] == ["pass", "inconclusive"]
    groups = table(doc, "groups")
    assert groups["ethnicity = asian (against white)"] == [
        "0.96 (0.81 to 1.14): pass",
        "0.90 (0.74 to 1.08): inconclusive",
    ]
    assert "The gate's band for this ratio is 0.8 to 1.25." in text(doc, "groups")
    reference = table(doc, "reference")
    expected = f"{month_reports.reference.allocation.precision:.3f}"
    assert reference["Expected precision of offers (allocation replayed)"][0] == expected
    assert (
        "`vru monitor reference --version 2 --data DIR`"
        in reference["Expected precision of offers (allocation replayed)"][1]
    )
    monitoring = table(doc, "monitoring")
    assert monitoring["Latest monitoring run (as of)"] == [
        "2026-06-30",
        "not monitored: not in service",
    ]
    assert monitoring["Its verdict"] == ["suspension recommended", "none"]
    differences = table(doc, "differences")
    assert differences["Training window"] == [
        "2020-09-01 to 2024-12-31",
        "2021-03-01 to 2025-06-30",
        "differs",
    ]
    assert differences["Number of features"][2] == "differs"
    dropped = [f.name for f in spec.features[-2:]]
    assert f"Features only the champion uses (2): {', '.join(dropped)}." in text(doc, "differences")
    assert "Features only the candidate uses (0): none." in text(doc, "differences")
    assert "not trained on the same data and windows" in text(doc, "differences")


def test_missing_pieces_are_said_to_be_missing(spec: FeatureSpec) -> None:
    no_runs = {"lightgbm": {"auc": 0.8}}
    champion = card_sources(1, spec, None, aliases=("champion",), audit=None, metrics=no_runs)
    candidate = card_sources(2, spec, None, audit=None, metrics={})
    doc = build_comparison(champion, candidate, None, None, generated_at="g")
    metrics = table(doc, "metrics")
    assert metrics["AUC (ranking, all moments)"] == ["0.800", "missing", "n/a"]
    assert "Version 2: its training run's metrics could not be read." in text(doc, "metrics")
    assert "`vru audit --version 1 --data DIR`" in text(doc, "groups")
    assert next(s for s in doc["sections"] if s["id"] == "groups")["table"] is None
    assert table(doc, "monitoring")["Latest monitoring run (as of)"] == [
        "no monitoring run yet",
        "not monitored: not in service",
    ]


def test_like_for_like_only_on_the_same_data_and_windows(spec: FeatureSpec) -> None:
    a = card_sources(1, spec, None, aliases=("champion",), audit=audit_report(1))
    b = dataclasses.replace(a, version=2, aliases=(), run_metrics=METRICS)
    doc = build_comparison(a, b, None, None, generated_at="g")
    assert "trained on the same data and windows: their figures are like for like" in text(
        doc, "differences"
    )
    assert all(row[-1] in ("same", "not recorded") for row in table(doc, "differences").values())
