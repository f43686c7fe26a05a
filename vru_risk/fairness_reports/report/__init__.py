"""The fairness report: one JSON document for machines and one self-contained HTML page for the
ethics panel, built from the audits, the bootstrap intervals and the gate.

``report.json`` (schema :data:`SCHEMA_VERSION`) carries the numbers; ``report.html`` is rendered
from it alone (a report can be re-rendered from its JSON). The page has no external resources at
all — inline CSS, charts as inline SVG drawn here — so it opens offline and can be archived as
one file. Its sections, in order: plain-language summary; data window; groups that could not be
assessed (which, why, what it means); metrics at capacity
against baselines; calibration; groups and intersections with intervals; composition; proxy
test; mitigation; the gate per criterion with the primary statement; a glossary; review
history. Every code is shown in words (:mod:`vru_risk.fairness_reports.labels`); the page prints
on A4 (its own ``@media print`` rules). Sections
whose input was not given (an external tool's scores have no model sections) are left out.

The package builds the report in four steps, one module each: :mod:`.document` gathers the
audits, intervals and gate into ``report.json``'s plain data; :mod:`.sentences` writes its
plain-language summary; :mod:`.charts` draws the inline SVG charts; :mod:`.render` renders the
page from the JSON and writes both files.

Example
-------
>>> import numpy as np, pandas as pd
>>> from vru_risk.fairness_reports.audit import audit
>>> from vru_risk.fairness_reports.bootstrap import bootstrap_intervals
>>> from vru_risk.fairness_reports.gate import FairnessGateConfig, evaluate_gate
>>> from vru_risk.fairness_reports.operating_points import Threshold
>>> rng = np.random.default_rng(0)
>>> y = rng.integers(0, 2, 600)
>>> scores = y + rng.normal(0, 1, 600)
>>> people = pd.DataFrame({"sex": rng.choice(["female", "male"], 600)})
>>> op = Threshold(0.5)
>>> result = audit(y, scores, sensitive_features=people, operating_point=op)
>>> intervals = bootstrap_intervals(
...     y, scores, sensitive_features=people, operating_point=op,
...     person_id=np.arange(600), n_resamples=50,
... )
>>> gate = evaluate_gate(intervals, result.by_group, FairnessGateConfig())
>>> report = build_report(
...     title="Example", subject={"kind": "external", "file": "scores.csv"},
...     data_window={"rows": 600}, audits={"label": result}, primary="label",
...     intervals=intervals, gate=gate,
... )
>>> sorted(report["groups"][0]["intervals"])[1:4]
['fnr', 'fnr_difference', 'fnr_ratio']
>>> "<h2" in render_html(report)
True
"""

from vru_risk.fairness_reports.report.document import INTERVAL_METRICS, SCHEMA_VERSION, build_report
from vru_risk.fairness_reports.report.render import render_html, write_report
from vru_risk.fairness_reports.report.sentences import not_assessed_line

__all__ = [
    "INTERVAL_METRICS",
    "SCHEMA_VERSION",
    "build_report",
    "not_assessed_line",
    "render_html",
    "write_report",
]
