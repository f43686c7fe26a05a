"""A candidate beside the champion: one document (the shape of a model card, see
:mod:`vru_risk.monitoring.card`) built from what each version's card is built from
(:class:`~vru_risk.monitoring.card.CardSources`) and each one's latest monitoring run.

Nothing is recomputed: the metrics are each training run's pooled test-fold figures (the
service's allocation replayed, the hindsight bound, the baselines), the gate verdicts and group
ratios are the registry's tags and each fairness audit's gate, the expected precision is each
monitoring reference's. Each version was evaluated on its own test folds, so a difference is
only like for like when the two were trained on the same data and windows: the document says
whether they were. Aggregates only.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Final

from vru_risk.data.contract import source_name
from vru_risk.models.tags import (
    ALLOCATION_RULE,
    AUDIT_ALLOCATION_TAG,
    CAPACITY_TAG,
    CONTENT_HASH_TAG,
    DATA_FINGERPRINT_TAG,
    EXPERIMENT_HASH_TAG,
    FAIRNESS_TAG,
    LABEL_TIMESPAN_TAG,
    LEAKAGE_GATE_TAG,
    PERFORMANCE_GATE_TAG,
    SPEC_HASH_TAG,
    STATE_TAG,
    TRAINED_BY_TAG,
    TRAINING_ALLOCATION_TAG,
)
from vru_risk.models.words import allocation_words, model_words
from vru_risk.monitoring.card import METRIC_COLUMNS, CardSources
from vru_risk.monitoring.card_text import pct, rate, section
from vru_risk.monitoring.history import RunSummary

__all__ = ["build_comparison"]

LEVEL_WORDS: Final = {
    "nothing": "nothing to report",
    "review": "review: the panel should look",
    "suspension_recommended": "suspension recommended",
}
#: the model the service runs, among a training run's models
MODEL: Final = "lightgbm"


def _heads(champion: CardSources, candidate: CardSources) -> list[str]:
    return [
        "",
        f"Champion: version {champion.version}",
        f"Candidate: version {candidate.version}",
    ]


def _both(
    champion: CardSources, candidate: CardSources, rows: Sequence[tuple[str, str, str]]
) -> dict[str, Any]:
    return {"columns": _heads(champion, candidate), "rows": [list(r) for r in rows]}


def _review(s: CardSources) -> str:
    if not s.reviews:
        return "no panel decision yet"
    e = s.reviews[-1]
    return f"{e.action} by {e.reviewer} on {e.time[:10]} (entry {e.seq})"


def _versions(a: CardSources, b: CardSources) -> dict[str, Any]:
    def row(label: str, key: str, missing: str = "not recorded") -> tuple[str, str, str]:
        return (label, a.tags.get(key) or missing, b.tags.get(key) or missing)

    rows = [
        ("Registered", a.registered, b.registered),
        row("Trained by", TRAINED_BY_TAG),
        row("State", STATE_TAG),
        ("Aliases", ", ".join(a.aliases) or "none", ", ".join(b.aliases) or "none"),
        (
            "Content hash (what the panel approves)",
            (a.tags.get(CONTENT_HASH_TAG) or "not recorded")[:16],
            (b.tags.get(CONTENT_HASH_TAG) or "not recorded")[:16],
        ),
        ("Latest panel decision", _review(a), _review(b)),
    ]
    return section("versions", "The two versions", [], [], _both(a, b, rows))


def _metric(s: CardSources, model: str, key: str) -> float | None:
    return s.run_metrics.get(model, {}).get(key)


def _difference(x: float | None, y: float | None) -> str:
    return "n/a" if x is None or y is None else f"{y - x:+.3f}"


def _metrics(a: CardSources, b: CardSources) -> dict[str, Any]:
    rows = [
        [
            heading,
            rate(_metric(a, MODEL, key)),
            rate(_metric(b, MODEL, key)),
            _difference(_metric(a, MODEL, key), _metric(b, MODEL, key)),
        ]
        for key, heading in METRIC_COLUMNS
    ]
    text = [
        "The service's own allocation (floors, places per programme, filled day by day) "
        "replayed over each version's test folds: what each can achieve in service. The "
        "hindsight bound picks each month's top list knowing the whole month: the service "
        "cannot reach it.",
    ]
    for s in (a, b):
        if s.tags.get(TRAINING_ALLOCATION_TAG) != ALLOCATION_RULE:
            text.append(
                f"Version {s.version} was evaluated under the previous allocation rule (the "
                "hindsight lists only): its replayed figures do not exist; review again."
            )
        if MODEL not in s.run_metrics:
            text.append(f"Version {s.version}: its training run's metrics could not be read.")
    table = {
        "columns": [*_heads(a, b), "Difference (candidate minus champion)"],
        "rows": rows,
    }
    return section("metrics", "LightGBM at the service's allocation", text, [], table)


def _baselines(a: CardSources, b: CardSources) -> dict[str, Any]:
    models = sorted(
        {m for s in (a, b) for m in s.run_metrics if m != MODEL},
    )
    key, bound = "precision_at_capacity", "hindsight_precision_at_capacity"
    phrases = {f.name: f.phrase for s in (a, b) for f in s.spec.features}
    rows = [
        [
            model_words(m, phrases),
            rate(_metric(a, m, key)),
            rate(_metric(a, m, bound)),
            rate(_metric(b, m, key)),
            rate(_metric(b, m, bound)),
        ]
        for m in [MODEL, *models]
    ]
    text = [
        "Each version's training run trained simple rules and a logistic regression beside "
        "LightGBM on the same moments: the model is only worth its risks if it beats them. "
        "Precision is the share of young people offered a place who went on to the outcome."
    ]
    table = {
        "columns": [
            "Model",
            f"Version {a.version}: replayed",
            f"Version {a.version}: hindsight bound",
            f"Version {b.version}: replayed",
            f"Version {b.version}: hindsight bound",
        ],
        "rows": rows,
    }
    return section("baselines", "Beside the baselines (precision)", text, [], table)


def _gates(a: CardSources, b: CardSources) -> dict[str, Any]:
    def row(label: str, key: str, missing: str) -> tuple[str, str, str]:
        def value(tags: Mapping[str, str]) -> str:
            found = tags.get(key)
            if key in (TRAINING_ALLOCATION_TAG, AUDIT_ALLOCATION_TAG):
                found = allocation_words(found)
            return found or missing

        return (label, value(a.tags), value(b.tags))

    rows = [
        row("Performance gate (beats the rule baselines)", PERFORMANCE_GATE_TAG, "missing"),
        row("Leakage tripwire", LEAKAGE_GATE_TAG, "missing"),
        row("Fairness gate", FAIRNESS_TAG, "missing: no fairness audit yet"),
        row(
            "Allocation the training figures describe",
            TRAINING_ALLOCATION_TAG,
            "previous rule (hindsight lists)",
        ),
        row("Allocation the audit's figures describe", AUDIT_ALLOCATION_TAG, "missing"),
    ]
    return section("gates", "Gate verdicts", [], [], _both(a, b, rows))


def _criteria(s: CardSources) -> dict[tuple[str, str, str], Mapping[str, Any]]:
    gate = (s.audit or {}).get("gate") or {}
    out: dict[tuple[str, str, str], Mapping[str, Any]] = {}
    for c in gate.get("criteria") or []:
        if isinstance(c, Mapping) and c.get("metric") == "tpr_ratio":
            out[(str(c.get("attribute")), str(c.get("group")), str(c.get("reference")))] = c
    return out


def _ratio(c: Mapping[str, Any] | None) -> str:
    if c is None:
        return "not audited"
    estimate, low, high = c.get("estimate"), c.get("low"), c.get("high")
    status = str(c.get("status", ""))
    if not isinstance(estimate, int | float):
        return f"{status}: {c.get('reason') or 'cannot be assessed'}"
    interval = (
        f" ({low:.2f} to {high:.2f})"
        if isinstance(low, int | float) and isinstance(high, int | float)
        else ""
    )
    return f"{estimate:.2f}{interval}: {status}"


def _groups(a: CardSources, b: CardSources) -> dict[str, Any]:
    ca, cb = _criteria(a), _criteria(b)
    keys = sorted(set(ca) | set(cb))
    text = [
        "From each version's fairness audit: for each group, the share of its young people who "
        "went on to the outcome that the service would have offered a place (recall), over the "
        "same share in the reference group, with its 95% interval and the gate's verdict (pass: "
        "the interval lies inside the band; fail: wholly outside; inconclusive: it straddles "
        "the band, and the panel decides)."
    ]
    for s in (a, b):
        if s.audit is None:
            text.append(
                f"Version {s.version} has no fairness audit: `vru audit --version {s.version} "
                "--data DIR`."
            )
    bands = {tuple(c.get("band") or ()) for c in (*ca.values(), *cb.values()) if c.get("band")}
    if len(bands) == 1:
        low, high = next(iter(bands))
        text.append(f"The gate's band for this ratio is {low:g} to {high:g}.")
    rows = [
        (f"{k[0]} = {k[1]} (against {k[2]})", _ratio(ca.get(k)), _ratio(cb.get(k))) for k in keys
    ]
    table = _both(a, b, rows) if rows else None
    return section("groups", "Recall ratios by group (fairness audits)", text, [], table)


def _reference(a: CardSources, b: CardSources) -> dict[str, Any]:
    def cells(s: CardSources) -> list[str]:
        r = s.reference
        if r is None:
            return [f"no reference: `vru monitor reference --version {s.version} --data DIR`"] + [
                "missing"
            ] * 3
        al = r.allocation
        return [
            rate(al.precision),
            rate(al.recall),
            pct(al.places_used_share),
            f"{r.window_start} to {r.window_end}",
        ]

    labels = [
        "Expected precision of offers (allocation replayed)",
        "Expected recall of offers",
        "Share of places used",
        "Reference window (calibration)",
    ]
    ra, rb = cells(a), cells(b)
    rows = [(label, x, y) for label, x, y in zip(labels, ra, rb, strict=True)]
    text = [
        "What each version's monitoring reference, fixed before approval, expects of the "
        "service: monthly monitoring holds the version in service to these figures."
    ]
    return section("reference", "What each is expected to achieve", text, [], _both(a, b, rows))


def _status(s: CardSources, run: RunSummary | None) -> tuple[str, str, str]:
    if run is None:
        in_service = "champion" in s.aliases
        why = "no monitoring run yet" if in_service else "not monitored: not in service"
        return why, "", ""
    n = len(run.findings)
    return (
        run.as_of.isoformat(),
        LEVEL_WORDS.get(run.level, run.level),
        f"{n} finding{'s' if n != 1 else ''}",
    )


def _monitoring(
    a: CardSources, b: CardSources, ra: RunSummary | None, rb: RunSummary | None
) -> dict[str, Any]:
    sa, sb = _status(a, ra), _status(b, rb)
    rows = [
        ("Latest monitoring run (as of)", sa[0], sb[0]),
        ("Its verdict", sa[1] or "none", sb[1] or "none"),
        ("Findings", sa[2] or "none", sb[2] or "none"),
    ]
    return section("monitoring", "Monitoring status", [], [], _both(a, b, rows))


def _window(s: CardSources, kind: str) -> str:
    i = s.model_info
    return f"{i.get(f'{kind}_start', '?')} to {i.get(f'{kind}_end', '?')}"


def _listed(names: Sequence[str]) -> str:
    return ", ".join(names) if names else "none"


def _differences(a: CardSources, b: CardSources) -> dict[str, Any]:
    fa, fb = a.spec.names, b.spec.names
    added = [f for f in fb if f not in fa]
    dropped = [f for f in fa if f not in fb]

    def same(x: str, y: str) -> str:
        if x.startswith("not recorded") or y.startswith("not recorded"):
            return "not recorded"
        return "same" if x == y else "differs"

    pairs = [
        ("Training window", _window(a, "train"), _window(b, "train")),
        ("Calibration window", _window(a, "calibration"), _window(b, "calibration")),
        (
            "Data sources read",
            ", ".join(map(source_name, a.spec.sources)),
            ", ".join(map(source_name, b.spec.sources)),
        ),
        ("Number of features", str(len(fa)), str(len(fb))),
        (
            "Outcome predicted within",
            a.tags.get(LABEL_TIMESPAN_TAG) or "not recorded",
            b.tags.get(LABEL_TIMESPAN_TAG) or "not recorded",
        ),
        (
            "Places per month assumed",
            a.tags.get(CAPACITY_TAG) or "not recorded",
            b.tags.get(CAPACITY_TAG) or "not recorded",
        ),
        (
            "Data (fingerprint)",
            (a.tags.get(DATA_FINGERPRINT_TAG) or "not recorded")[:16],
            (b.tags.get(DATA_FINGERPRINT_TAG) or "not recorded")[:16],
        ),
        (
            "Feature specification (hash)",
            (a.tags.get(SPEC_HASH_TAG) or a.spec.hash)[:16],
            (b.tags.get(SPEC_HASH_TAG) or b.spec.hash)[:16],
        ),
        (
            "Experiment configuration (hash)",
            (a.tags.get(EXPERIMENT_HASH_TAG) or "not recorded")[:16],
            (b.tags.get(EXPERIMENT_HASH_TAG) or "not recorded")[:16],
        ),
    ]
    rows = [[label, x, y, same(x, y)] for label, x, y in pairs]
    comparable = all(
        same(x, y) == "same"
        for label, x, y in pairs
        if label in ("Training window", "Calibration window", "Data (fingerprint)")
    )
    text = [
        f"Features only the candidate uses ({len(added)}): {_listed(added)}.",
        f"Features only the champion uses ({len(dropped)}): {_listed(dropped)}.",
        "The two were trained on the same data and windows: their figures are like for like."
        if comparable
        else "The two were not trained on the same data and windows: each figure describes "
        "its own test folds, so differences mix the models with the data they were judged on.",
    ]
    table = {"columns": [*_heads(a, b), "Same or differs"], "rows": rows}
    return section("differences", "What differs", text, [], table)


def build_comparison(
    champion: CardSources,
    candidate: CardSources,
    champion_run: RunSummary | None,
    candidate_run: RunSummary | None,
    *,
    generated_at: str,
) -> dict[str, Any]:
    """The side-by-side document (JSON-ready; rendered like a model card)."""
    a, b = champion, candidate
    return {
        "kind": "comparison",
        "title": f"Candidate version {b.version} beside the champion, version {a.version}",
        "status": "generated from the registry, the training runs, the fairness audits and the "
        "monitoring references and runs; figures are not edited by hand",
        "generated_at": generated_at,
        "sections": [
            _versions(a, b),
            _metrics(a, b),
            _baselines(a, b),
            _gates(a, b),
            _groups(a, b),
            _reference(a, b),
            _monitoring(a, b, champion_run, candidate_run),
            _differences(a, b),
        ],
    }
