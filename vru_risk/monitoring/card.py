"""A version's model card and its UK Algorithmic Transparency Recording Standard (ATRS) record,
built from what already exists: pure functions from :class:`CardSources` to plain documents.

Nothing here invents a figure: every number comes from the registry's tags, the training run's
pooled metrics, the RiskModel, the fairness audit's report, the review log, the monitoring
reference and criteria, or the governance file. A piece that does not exist yet (no audit, no
reference) is said to be missing. A document is ``{"title", "status", "sections": [...]}``; a
section is ``{"id", "title", "text": [str], "facts": [[label, value]], "table": {"columns",
"rows"} | None}``, rendered by :mod:`vru_risk.monitoring.card_render`. Neither document holds
anything about an individual: only aggregates, hashes and the panel's reviewers.

The metrics "at capacity" are the service's own allocation replayed over the test folds
(:data:`~vru_risk.models.tags.ALLOCATION_RULE`); the ``hindsight_*`` ones are the monthly top-k
list chosen with hindsight, an upper bound the service cannot reach. Both are named so.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

from vru_risk.data.contract import source_name
from vru_risk.features.catalog import FeatureSpec
from vru_risk.models.review_log import ReviewEntry
from vru_risk.models.tags import (
    ALLOCATION_RULE,
    AUDIT_ALLOCATION_TAG,
    CAPACITY_TAG,
    CONTENT_HASH_TAG,
    DATA_FINGERPRINT_KIND_TAG,
    DATA_FINGERPRINT_TAG,
    DEMO_TAG,
    FAIRNESS_TAG,
    LABEL_TIMESPAN_TAG,
    LEAKAGE_GATE_TAG,
    LEAKAGE_REASONS_TAG,
    MONITORING_REFERENCE_TAG,
    PERFORMANCE_GATE_TAG,
    STATE_TAG,
    TRAIN_END_TAG,
    TRAINED_BY_TAG,
    TRAINING_ALLOCATION_TAG,
)
from vru_risk.models.words import allocation_words, family_words, model_words
from vru_risk.monitoring.card_text import (
    CANNOT_SEE,
    INTENDED_USE,
    INTERVAL_METRICS,
    MODEL_DETAILS,
    OUT_OF_SCOPE,
    criteria_lines,
    pct,
    rate,
    section,
    with_interval,
)
from vru_risk.monitoring.criteria import MonitoringCriteria
from vru_risk.monitoring.governance import Governance
from vru_risk.monitoring.reference import MonitoringReference

#: the columns of the metrics table: (metric in the training run, heading)
METRIC_COLUMNS: Final = (
    ("precision_at_capacity", "Precision at capacity, the service's allocation replayed"),
    ("recall_at_capacity", "Recall at capacity, the service's allocation replayed"),
    ("lift_at_capacity", "Lift at capacity, the service's allocation replayed"),
    ("hindsight_precision_at_capacity", "Hindsight bound: precision of the monthly top-k list"),
    ("hindsight_recall_at_capacity", "Hindsight bound: recall of the monthly top-k list"),
    ("auc", "AUC (ranking, all moments)"),
)


@dataclass(frozen=True)
class CardSources:
    """Everything a card is built from, gathered by :mod:`vru_risk.jobs.card`."""

    model_name: str
    version: int
    aliases: tuple[str, ...]
    tags: Mapping[str, str]
    registered: str
    model_info: Mapping[str, str]
    spec: FeatureSpec
    source_patterns: Mapping[str, int]
    #: the pooled test-fold metrics of every model of the training run (model -> name -> value)
    run_metrics: Mapping[str, Mapping[str, float]]
    audit: Mapping[str, Any] | None
    audit_location: str | None
    reviews: Sequence[ReviewEntry]
    reference: MonitoringReference | None
    criteria: MonitoringCriteria
    governance: Governance
    generated_at: str


def _details(s: CardSources) -> dict[str, Any]:
    t = s.tags
    demo = t.get(DEMO_TAG) == "true"
    facts = [
        ["Model", f"{s.model_name} version {s.version}"],
        ["Aliases", ", ".join(s.aliases) or "none"],
        ["State", t.get(STATE_TAG) or "not recorded"],
        ["Registered", s.registered],
        ["Trained by", t.get(TRAINED_BY_TAG) or "not recorded"],
        ["Content hash (what the panel approves)", t.get(CONTENT_HASH_TAG) or "not recorded"],
        [
            "Data fingerprint",
            (t.get(DATA_FINGERPRINT_TAG) or "not recorded")
            + (f" (by {kind})" if (kind := t.get(DATA_FINGERPRINT_KIND_TAG)) else ""),
        ],
        ["Outcome predicted within", t.get(LABEL_TIMESPAN_TAG) or "not recorded"],
        ["Places per month assumed", t.get(CAPACITY_TAG) or "not recorded"],
        ["Demonstration model", "yes: trained on synthetic data" if demo else "no"],
    ]
    return section("details", "Model details", MODEL_DETAILS, facts)


def _windows(s: CardSources) -> dict[str, Any]:
    i = s.model_info
    facts = [
        ["Training window", f"{i.get('train_start', '?')} to {i.get('train_end', '?')}"],
        ["Training examples", i.get("training_examples", "not recorded")],
        [
            "Calibration window",
            f"{i.get('calibration_start', '?')} to {i.get('calibration_end', '?')}",
        ],
        ["Calibration examples", i.get("calibration_examples", "not recorded")],
        ["Training end (registry tag)", s.tags.get(TRAIN_END_TAG) or "not recorded"],
    ]
    text = [
        "The model learned from moments in the training window; its probabilities were "
        "calibrated on the later calibration window, which it never trained on."
    ]
    return section("training", "Training and calibration windows", text, facts)


def unseen_shares(s: CardSources) -> dict[str, float]:
    """Per source, the share of training rows on which the model could not see it."""
    total = sum(s.source_patterns.values())
    out: dict[str, float] = {}
    for pattern, count in s.source_patterns.items():
        for source in filter(None, pattern.split(",")):
            out[source] = out.get(source, 0.0) + count
    return {k: v / total for k, v in out.items()} if total else {}


def _sources(s: CardSources) -> dict[str, Any]:
    unseen = unseen_shares(s)
    coverage = s.reference.source_coverage if s.reference else {}
    rows = []
    for source in s.spec.sources:
        mine = [f for f in s.spec.features if f.source == source]
        families = sorted({family_words(f.family) for f in mine})
        seen = "always" if source == "people" else pct(1.0 - unseen.get(source, 0.0))
        cov = coverage.get(source, {}).get("all")
        rows.append([source_name(source), len(mine), ", ".join(families), seen, pct(cov)])
    text = [
        "Each source the model reads, the feature families built from it, the share of "
        "training moments on which the source could be seen, and the share of calibration "
        "moments with at least one of its features known (from the monitoring reference; "
        "'missing' when there is no reference yet)."
    ]
    table = {
        "columns": [
            "Source",
            "Features",
            "Families",
            "Seen in training",
            "Known in calibration window",
        ],
        "rows": rows,
    }
    return section("data", "Data sources and feature families", text, [], table)


def _metrics(s: CardSources) -> dict[str, Any]:
    replayed = s.tags.get(TRAINING_ALLOCATION_TAG) == ALLOCATION_RULE
    text = [
        "Figures are pooled over the test folds of the training run (moments the model never "
        "trained on). 'The service's allocation replayed' means the daily job's own rule "
        "(floors, places per programme, day by day) was replayed over the test folds: these "
        "are the figures the service can achieve. The 'hindsight bound' picks each month's "
        "top-k list knowing the whole month; the service cannot reach it.",
        "Rule baselines and the logistic regression are shown beside LightGBM: the model is "
        "only worth its risks if it does better than simple rules.",
    ]
    if not replayed:
        text.insert(
            0,
            "This version was evaluated under the previous allocation rule (the "
            "hindsight lists only): review again; its replayed figures do not exist.",
        )
    if not s.run_metrics:
        text.append("Missing: the training run's pooled metrics could not be read.")
    order = sorted(s.run_metrics, key=lambda m: (m != "lightgbm", m))
    phrases = {f.name: f.phrase for f in s.spec.features}
    rows = [
        [
            model_words(model, phrases),
            *(with_interval(s.run_metrics[model], k) for k, _ in METRIC_COLUMNS),
        ]
        for model in order
    ]
    if any(f"{INTERVAL_METRICS[0]}_low" in m for m in s.run_metrics.values()):
        text.append(
            "The figures in brackets are 95% intervals from resampling young people (all of a "
            "person's moments together): the range the figure could plausibly take on "
            "another sample of the same county."
        )
    else:
        text.append(
            "No interval was recorded with this version (it was trained before vru-risk "
            "logged them); the training summary shows the spread across folds."
        )
    table = {"columns": ["Model", *(h for _, h in METRIC_COLUMNS)], "rows": rows}
    return section("metrics", "Performance at the service's allocation", text, [], table)


def _gates(s: CardSources) -> dict[str, Any]:
    t = s.tags
    reasons = t.get(LEAKAGE_REASONS_TAG, "")
    facts = [
        ["Performance gate (beats the rule baselines)", t.get(PERFORMANCE_GATE_TAG) or "missing"],
        [
            "Leakage tripwire",
            (t.get(LEAKAGE_GATE_TAG) or "missing") + (f": {reasons}" if reasons else ""),
        ],
        ["Fairness gate", t.get(FAIRNESS_TAG) or "missing: no fairness audit yet"],
        [
            "Allocation the training figures describe",
            allocation_words(t.get(TRAINING_ALLOCATION_TAG)) or "previous rule (hindsight lists)",
        ],
        [
            "Allocation the audit's figures describe",
            allocation_words(t.get(AUDIT_ALLOCATION_TAG))
            or "missing: no audit under a recorded rule",
        ],
    ]
    return section("gates", "Gate verdicts", [], facts)


def _fairness(s: CardSources) -> dict[str, Any]:
    if s.audit is None:
        return section(
            "fairness",
            "Fairness audit",
            [
                "Missing: no fairness audit report exists for this version. Run `vru audit "
                f"--version {s.version} --data DIR` before the panel reviews it."
            ],
            [],
        )
    gate = s.audit.get("gate") or {}
    criteria = list(gate.get("criteria") or [])
    counts: dict[str, int] = {}
    for c in criteria:
        counts[str(c.get("status"))] = counts.get(str(c.get("status")), 0) + 1
    facts = [
        ["Gate verdict", str(gate.get("status", "not recorded"))],
        [
            "Criteria by verdict",
            ", ".join(f"{k}: {v}" for k, v in sorted(counts.items())) or "none",
        ],
        [
            "Operating point",
            str((s.audit.get("operating_point") or {}).get("name", "")) or "not recorded",
        ],
        ["Groups that could not be assessed", str(len(s.audit.get("cannot_assess") or []))],
        ["Report", s.audit_location or "not recorded"],
    ]
    headline = [
        str(c.get("explanation")) for c in criteria if c.get("status") in ("fail", "inconclusive")
    ][:10]
    text = [str(gate.get("primary", ""))] if gate.get("primary") else []
    text += [
        "Findings outside or straddling the bands:"
        if headline
        else "No group's criterion lies outside or straddles its band."
    ]
    table = {"columns": ["Finding"], "rows": [[h] for h in headline]} if headline else None
    return section("fairness", "Fairness audit", text, facts, table)


def _decisions(s: CardSources) -> dict[str, Any]:
    rows = [
        [
            e.seq,
            e.time,
            e.action,
            e.reviewer,
            e.reason,
            e.content_hash[:12],
            (e.reference_hash or "not recorded")[:12],
            (e.criteria_hash or "not recorded")[:12],
        ]
        for e in s.reviews
    ]
    text = ["The ethics panel's decisions on this version, from the hash-chained review log."]
    if not rows:
        text.append("None yet: the panel has not reviewed this version.")
    table = (
        {
            "columns": [
                "#",
                "Time",
                "Decision",
                "Reviewer",
                "Reason",
                "Content hash",
                "Reference hash",
                "Criteria hash",
            ],
            "rows": rows,
        }
        if rows
        else None
    )
    return section("decisions", "Ethics panel decisions", text, [], table)


def _cannot_see(s: CardSources) -> dict[str, Any]:
    unseen = unseen_shares(s)
    text = list(CANNOT_SEE)
    facts = [
        [f"{src} unavailable", f"on {pct(share)} of training moments"]
        for src, share in sorted(unseen.items())
    ]
    return section("cannot_see", "What the model cannot see", text, facts)


def _monitoring(s: CardSources) -> dict[str, Any]:
    recorded = s.tags.get(MONITORING_REFERENCE_TAG, "")
    if s.reference is None:
        text = [
            "Missing: this version has no monitoring reference; create it with `vru monitor "
            f"reference --version {s.version} --data DIR` before approval."
        ]
        facts: list[list[Any]] = [["Reference hash (registry)", recorded or "none"]]
    else:
        a = s.reference.allocation
        text = [
            "Each month `vru monitor` compares what the service sees with this reference, "
            "fixed before approval, and recommends review or suspension under the criteria "
            "below. It never suspends by itself; the panel decides."
        ]
        facts = [
            ["Reference window", f"{s.reference.window_start} to {s.reference.window_end}"],
            ["Reference moments / young people", f"{s.reference.moments} / {s.reference.people}"],
            ["Expected precision of offers (replayed allocation)", rate(a.precision)],
            ["Expected recall of offers (replayed allocation)", rate(a.recall)],
            ["Share of places used", pct(a.places_used_share)],
            ["Reference hash", s.reference.hash],
        ]
    facts.append(["Criteria hash", s.criteria.hash])
    table = {"columns": ["Criterion"], "rows": [[c] for c in criteria_lines(s.criteria)]}
    return section("monitoring", "Monitoring plan and criteria", text, facts, table)


def build_card(s: CardSources) -> dict[str, Any]:
    """The model card of one version (JSON-ready)."""
    return {
        "kind": "model card",
        "title": f"Model card: {s.model_name} version {s.version}",
        "status": "generated from the registry; figures are not edited by hand",
        "generated_at": s.generated_at,
        "sections": [
            _details(s),
            section("intended_use", "Intended use", INTENDED_USE, []),
            section("out_of_scope", "Out-of-scope uses", OUT_OF_SCOPE, []),
            _sources(s),
            _windows(s),
            _metrics(s),
            _gates(s),
            _fairness(s),
            _decisions(s),
            _cannot_see(s),
            _monitoring(s),
        ],
    }
