"""Hypothesis: small, lopsided groups never stop an audit stage, and each group a stage cannot
assess gets exactly one note naming it.

The strategy builds groups of 1 to 30 rows, some with one outcome only (no positives, or no
negatives), some of a single person, and rows with a missing group value (the ``unknown``
group), with scores, people and as-of months. Each test computes, from the data alone, which
groups a stage cannot assess, and demands exactly those notes: one per group, with a reason and
a meaning. The functions are called directly (the CLI is covered by
``tests/training/test_audit_cli.py`` and ``tests/cli/test_audit_scores.py``).
"""

from __future__ import annotations

import json
import math
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from hypothesis import event, given, settings
from hypothesis import strategies as st
from markupsafe import escape

from vru_risk.fairness_reports.audit import audit
from vru_risk.fairness_reports.bootstrap import bootstrap_intervals
from vru_risk.fairness_reports.gate import FairnessGateConfig, evaluate_gate
from vru_risk.fairness_reports.labels import attribute_label, group_label
from vru_risk.fairness_reports.mitigation import (
    AS_IS,
    compare_mitigations,
    equal_fnr_thresholds,
    threshold_optimizer_flags,
)
from vru_risk.fairness_reports.notes import (
    STAGE_EQUAL_FNR,
    STAGE_THRESHOLD_OPTIMIZER,
    GroupNote,
)
from vru_risk.fairness_reports.operating_points import ServiceLists, Threshold
from vru_risk.fairness_reports.proxy import proxy_notes, proxy_test
from vru_risk.fairness_reports.report import build_report, render_html
from vru_risk.fairness_reports.reweighing import reweighing_notes, reweighing_weights
from vru_risk.fairness_reports.unassessable import interval_notes

KINDS = ("mixed", "no positives", "all positives", "single person")
THRESHOLDS = (
    {"min_count": 0, "min_positives": 0, "min_flagged": 0},
    {"min_count": 5, "min_positives": 2, "min_flagged": 1},
    {"min_count": 50, "min_positives": 10, "min_flagged": 5},
)
INTERSECTION = ("ethnicity", "sex")


@dataclass(frozen=True)
class Sample:
    """Rows of lopsided groups: outcome, score, person, as-of month, two attributes."""

    y: np.ndarray
    score: np.ndarray
    person: np.ndarray
    as_of: np.ndarray
    sensitive: pd.DataFrame
    thresholds: dict[str, int]

    def labels(self, attribute: str) -> np.ndarray:
        """Group labels as the audit names them (a missing value is ``unknown``)."""
        parts = [
            self.sensitive[name].fillna("unknown").astype(str).to_numpy()
            for name in attribute.split("*")
        ]
        joined = parts[0]
        for part in parts[1:]:
            joined = np.char.add(np.char.add(joined.astype(str), "*"), part.astype(str))
        return np.asarray(joined, dtype=object)


@st.composite
def samples(draw: st.DrawFn) -> Sample:
    kinds = draw(st.lists(st.sampled_from(KINDS), min_size=1, max_size=5))
    missing = draw(st.integers(0, 3))  # rows whose ethnicity is not recorded
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    ethnicity: list[str | None] = []
    y: list[int] = []
    for i, kind in enumerate(kinds):
        n = 1 if kind == "single person" else draw(st.integers(1, 30))
        if kind == "no positives":
            outcomes = np.zeros(n, dtype=int)
        elif kind == "all positives":
            outcomes = np.ones(n, dtype=int)
        else:
            outcomes = (rng.random(n) < rng.uniform(0.05, 0.6)).astype(int)
        ethnicity += [f"g{i}"] * n
        y += outcomes.tolist()
    ethnicity += [None] * missing
    y += (rng.random(missing) < 0.5).astype(int).tolist()
    n = len(y)
    # coarse scores make ties. People have one row each, or two (neighbouring rows, which may
    # straddle groups, as a birthday in mid-month straddles age bands); a single-person group
    # stays one person
    coarse = draw(st.booleans())
    score = np.round(rng.random(n), 1 if coarse else 6)
    person = np.array([f"p{i}" for i in range(n)], dtype=object)
    if draw(st.booleans()):
        person = np.array([f"p{i // 2}" for i in range(n)], dtype=object)
        single = [i for i, k in enumerate(ethnicity) if kinds_of(kinds, k) == "single person"]
        person[single] = [f"s{i}" for i in single]
    months = rng.integers(0, 3, n)
    as_of = (pd.Timestamp("2024-01-15") + pd.to_timedelta(31 * months, "D")).to_numpy()
    sex = rng.choice(np.array(["female", "male", None], dtype=object), n, p=[0.45, 0.45, 0.1])
    sensitive = pd.DataFrame({"ethnicity": ethnicity, "sex": sex})
    return Sample(
        y=np.asarray(y, dtype=int),
        score=score,
        person=person,
        as_of=as_of,
        sensitive=sensitive,
        thresholds=draw(st.sampled_from(THRESHOLDS)),
    )


def kinds_of(kinds: list[str], label: str | None) -> str | None:
    return None if label is None else kinds[int(label[1:])]


def once_each(notes: Iterable[GroupNote], expected: set[tuple[str, str]]) -> None:
    """Exactly one note per expected (attribute, group), none for any other; each says why and
    what it means."""
    notes = list(notes)
    named = Counter((n.attribute, n.group) for n in notes)
    assert set(named) == expected, (sorted(named), sorted(expected))
    assert all(times == 1 for times in named.values()), named
    for note in notes:
        assert note.reason.strip() and note.meaning.strip(), note


def one_outcome(groups: np.ndarray, y: np.ndarray) -> set[str]:
    return {str(g) for g in np.unique(groups) if len(np.unique(y[groups == g])) < 2}


def finite_or_none(value: Any) -> bool:
    """No NaN anywhere in plain data (undefined values are None)."""
    if isinstance(value, float):
        return math.isfinite(value)
    if isinstance(value, dict):
        return all(finite_or_none(v) for v in value.values())
    if isinstance(value, list):
        return all(finite_or_none(v) for v in value)
    return True


# ------------------------------------------------------------------ audit, intervals, gate


@settings(max_examples=15)  # MetricFrame costs ~0.3 s an audit: keep the test near 10 s
@given(sample=samples(), service_lists=st.booleans())
def test_audit_intervals_gate_and_report_name_every_group_they_cannot_assess(
    sample: Sample, service_lists: bool
) -> None:
    op = (
        ServiceLists(capacity=3, seed=0, person_id=sample.person, as_of=sample.as_of)
        if service_lists
        else Threshold(0.5)
    )
    options: dict[str, Any] = {
        "sensitive_features": sample.sensitive,
        "operating_point": op,
        "intersections": [INTERSECTION],
        **sample.thresholds,
    }
    result = audit(sample.y, sample.score, probability=sample.score, **options)

    # group rates: a group too small to judge, or with a rate that has nothing to be measured
    # on (nobody with the outcome, everybody with it, nobody flagged, everybody flagged)
    rows, flags = result.selection.rows, result.selection.flagged
    y = sample.y[rows]
    expected: set[tuple[str, str]] = set()
    for attribute in ("ethnicity", "sex", "ethnicity*sex"):
        groups = sample.labels(attribute)[rows]
        for group in np.unique(groups):
            mine = groups == group
            count, positives, flagged = int(mine.sum()), int(y[mine].sum()), int(flags[mine].sum())
            small = (
                count < sample.thresholds["min_count"]
                or positives < sample.thresholds["min_positives"]
                or flagged < sample.thresholds["min_flagged"]
            )
            empty = positives in (0, count) or flagged in (0, count) or not flags.any()
            if small or empty:
                expected.add((attribute, str(group)))
    once_each(result.notes, expected)
    event(f"groups not assessed in full: {'some' if expected else 'none'}")
    assessed = result.by_group[result.by_group["cannot_assess"].isna()]
    rates = ["base_rate", "selection_rate", "tpr", "fnr", "fpr", "ppv", "auc"]
    assert np.isfinite(assessed[rates].to_numpy(float)).all()

    intervals = bootstrap_intervals(
        sample.y, sample.score, person_id=sample.person, n_resamples=20, seed=1, **options
    )
    undefined = intervals["low"].isna() | intervals["high"].isna()
    assert intervals.loc[undefined, "reason"].map(lambda r: isinstance(r, str) and r != "").all()
    assert intervals.loc[~undefined, "reason"].isna().all()
    once_each(
        interval_notes(intervals),
        {(str(a), str(g)) for a, g in intervals.loc[undefined, ["attribute", "group"]].to_numpy()},
    )

    gate = evaluate_gate(intervals, result.by_group, FairnessGateConfig())
    unjudged = [c for c in gate.criteria if c.status == "not assessable"]
    once_each(gate.notes, {(c.attribute, c.group) for c in unjudged})
    assert all(c.reason for c in unjudged)
    suppressed = result.by_group[result.by_group["suppressed"] & ~result.by_group["is_reference"]]
    for attribute, group in suppressed[["attribute", "group"]].to_numpy():
        if "*" in attribute:
            continue  # intersections are reported, not gated
        mine = [c for c in gate.criteria if (c.attribute, c.group) == (attribute, group)]
        assert [c.status for c in mine] == ["not assessable"] * 3  # never a pass, never a fail
    statuses = {c.status for c in gate.criteria}
    if "fail" in statuses:
        assert gate.status == "fail"
    elif statuses and statuses <= {"pass"}:
        assert gate.status == "pass"
    else:
        assert gate.status == "inconclusive"  # not assessable: neither passed nor failed

    report = build_report(
        title="lopsided",
        subject={"kind": "external", "file": "scores.csv"},
        data_window={"rows": len(sample.y)},
        audits={"label": result},
        primary="label",
        intervals=intervals,
        gate=gate,
    )
    json.dumps(report, allow_nan=False)
    assert finite_or_none(report)
    noted = {(n["attribute"], n["group"]) for n in report["cannot_assess"]}
    assert noted == expected | {(n.attribute, n.group) for n in [*gate.notes]} | {
        (n.attribute, n.group) for n in interval_notes(intervals)
    }
    html = render_html(report)
    for attribute, group in noted:
        assert str(escape(f"{attribute_label(attribute)}: {group_label(attribute, group)}")) in html
    if expected:
        assert "cannot be assessed" in html


# ------------------------------------------------------------------------------ mitigations


def best_rows(sample: Sample) -> np.ndarray:
    """Each person's highest-scored row per month (first row on ties), as the lists keep it."""
    frame = pd.DataFrame(
        {
            "person": sample.person,
            "month": pd.DatetimeIndex(sample.as_of).strftime("%Y-%m"),
            "score": sample.score,
            "pos": np.arange(len(sample.y)),
        }
    ).sort_values(["score", "pos"], ascending=[False, True], kind="mergesort")
    return np.sort(frame.drop_duplicates(["month", "person"])["pos"].to_numpy())


@settings(max_examples=15)
@given(sample=samples())
def test_mitigations_skip_the_groups_they_cannot_fit_with_one_note_each(sample: Sample) -> None:
    groups = sample.labels("ethnicity")
    y = sample.y.astype(float)

    weights = reweighing_weights(sample.sensitive["ethnicity"].to_numpy(), y)
    notes = reweighing_notes(sample.sensitive["ethnicity"].to_numpy(), y, attribute="ethnicity")
    lone = one_outcome(groups, sample.y)
    once_each(notes, {("ethnicity", g) for g in lone})
    assert np.isfinite(weights).all() and (weights > 0).all()
    assert weights.mean() == np.float64(1.0) or math.isclose(weights.mean(), 1.0)
    for g in np.unique(groups):
        mine = groups == g
        if str(g) in lone:
            assert (weights[mine] == 1.0).all()  # left as they are
        else:  # balanced: the group's weighted outcome rate is the overall rate
            assert math.isclose(np.average(y[mine], weights=weights[mine]), y.mean())

    total = max(1, len(y) // 4)
    equal = equal_fnr_thresholds(sample.score, sample.y, groups, total, attribute="ethnicity")
    nobody = {str(g) for g in np.unique(groups) if not sample.y[groups == g].any()}
    once_each(equal.notes, {("ethnicity", g) for g in nobody})
    assert not equal.flags[np.isin(groups, list(nobody))].any()

    optimised = threshold_optimizer_flags(
        sample.score, sample.y, groups, seed=0, attribute="ethnicity"
    )
    once_each(optimised.notes, {("ethnicity", g) for g in lone})
    assert not optimised.flags[np.isin(groups, list(lone))].any()
    assert (optimised.skipped is not None) == (lone == {str(g) for g in np.unique(groups)})
    event(f"ThresholdOptimizer: {'not run' if optimised.skipped else f'{len(lone)} left out'}")
    event(f"smallest group: {min(Counter(groups.tolist()).values())}")

    rows = pd.DataFrame({"person_id": sample.person, "as_of": sample.as_of, "label": y})
    other = np.round(sample.score[::-1].copy(), 3)
    table = compare_mitigations(
        rows,
        {AS_IS: sample.score, "another ranking": other},
        sample.sensitive[["ethnicity"]],  # one attribute: each audit inside costs ~0.3 s
        capacity=3,
        seed=0,
        attribute="ethnicity",
        **sample.thresholds,
    )
    assert [r["name"] for r in table.rows][:2] == [AS_IS, "another ranking"]
    assert len(table.rows) == 4
    assert finite_or_none(table.rows)
    kept = best_rows(sample)
    kept_groups, kept_y = groups[kept], sample.y[kept]
    by_stage = {
        STAGE_EQUAL_FNR: {
            str(g) for g in np.unique(kept_groups) if not kept_y[kept_groups == g].any()
        },
        STAGE_THRESHOLD_OPTIMIZER: one_outcome(kept_groups, kept_y),
    }
    for stage, left_out in by_stage.items():
        once_each(
            [n for n in table.notes if n.stage == stage], {("ethnicity", g) for g in left_out}
        )
        row = next(r for r in table.rows if r["name"] == stage)
        assert (row["note"] is None) == (not left_out)


@settings(max_examples=8)
@given(sample=samples())
def test_proxy_test_names_each_group_it_skips(sample: Sample) -> None:
    rng = np.random.default_rng(0)
    n = len(sample.y)
    codes = pd.factorize(sample.labels("ethnicity"))[0]
    features = pd.DataFrame({"a": codes + rng.normal(0, 0.5, n), "b": rng.normal(size=n)})
    entries = proxy_test(features, sample.sensitive, seed=0, min_group=5)
    notes = proxy_notes(sample.sensitive, min_group=5)
    skipped = {(e["attribute"], g) for e in entries for g in e["skipped_groups"]}
    once_each(notes, skipped)
    for entry in entries:
        fitted = {g["group"] for g in entry["groups"]}
        assert fitted.isdisjoint(entry["skipped_groups"])
        assert fitted | set(entry["skipped_groups"]) == set(sample.labels(entry["attribute"]))
