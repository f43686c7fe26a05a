"""The figures of benchmarks/monitor_power.py: what a run and a fault trial record, which
findings name a fault, Wilson intervals, and the printed tables."""

from __future__ import annotations

import math
import statistics
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

import numpy as np

from vru_risk.monitoring.criteria import MonitoringCriteria
from vru_risk.monitoring.verdict import Finding


def wilson(k: int, n: int, z: float = 1.96) -> tuple[float, float]:
    """The 95% Wilson interval of ``k`` successes in ``n`` trials."""
    if n == 0:
        return (0.0, 1.0)
    p = k / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return (max(0.0, centre - half), min(1.0, centre + half))


def rate(k: int, n: int) -> str:
    low, high = wilson(k, n)
    return f"{k}/{n} = {k / n:.1%} (95% Wilson {low:.1%} to {high:.1%})" if n else "0/0"


@dataclass
class Run:
    seed: int
    as_of: date
    level: str
    findings: tuple[Finding, ...]
    seconds: float
    #: per source, each input's (PSI, Jensen-Shannon, change of the missing share)
    inputs: dict[str, list[tuple[float | None, float | None, float | None]]]
    #: the score distribution's (PSI, Jensen-Shannon)
    score: tuple[float | None, float | None]
    #: per watched column judged, the largest relative change of a watched value's share
    coding: dict[str, float]


def coding_changes(report: dict[str, object]) -> dict[str, float]:
    checks = report["checks"]
    assert isinstance(checks, dict)
    out = {}
    for c in checks.get("coding", []):
        changes = [
            abs(v["change"]) for v in c["values"] if v["watched"] and v["change"] is not None
        ]
        if c["judged"] and changes:
            out[f"{c['source']}.{c['column']}"] = max(changes)
    return out


def input_distances(report: dict[str, object]) -> dict[str, list[tuple[float | None, ...]]]:
    checks = report["checks"]
    assert isinstance(checks, dict)
    out: dict[str, list[tuple[float | None, ...]]] = {}
    for source in checks["inputs"]:
        if not source.get("fed", True):  # delivered nothing in the window: not judged
            continue
        rows = []
        for f in source["by_feature"]:
            ref, cur = f["missing_reference"], f["missing_current"]
            change = None if ref is None or cur is None else abs(cur - ref)
            rows.append((f["psi"], f["js"], change))
        out[source["source"]] = rows
    return out


@dataclass(frozen=True)
class Arm:
    kind: str
    source: str | None
    size: float | None

    @property
    def name(self) -> str:
        if self.kind == "stop":
            return f"stop {self.source}"
        return f"{self.kind} {self.size:g}"


@dataclass
class Trial:
    arm: Arm
    seed: int
    start: date
    found: date | None = None
    level: str | None = None
    bound: int | None = None
    disagreement: bool = False
    runs: int = 0
    note: str = ""

    @property
    def delay(self) -> int | None:
        return None if self.found is None else (self.found - self.start).days


def found_by(arm: Arm, findings: Sequence[Finding]) -> bool:
    """Whether a run's findings name the fault of ``arm`` (see the module docstring)."""
    if arm.kind == "stop":
        return any(f.criterion == "source_outage" and f.subject == arm.source for f in findings)
    if arm.kind == "coding":
        return any(f.subject == "attendance" for f in findings)
    return any(f.criterion in ("score_shift", "input_drift", "coding_change") for f in findings)


def report_clean(runs: Sequence[Run], criteria: MonitoringCriteria) -> None:
    n = len(runs)
    review = sum(r.level != "nothing" for r in runs)
    suspension = sum(r.level == "suspension_recommended" for r in runs)
    print(f"\nClean runs: {n} (seeds x Sundays of the service period)")
    print(f"  false review or worse (exit 4 or 3): {rate(review, n)}")
    print(f"  false suspension recommended (exit 3): {rate(suspension, n)}  [target at most 1%]")
    by = Counter((f.level, f.criterion, f.subject) for r in runs for f in r.findings)
    for (level, criterion, subject), k in sorted(by.items()):
        print(f"    {level:<23} {criterion:<18} {subject:<30} {k:>3} runs")
    sources = sorted({f.subject for r in runs for f in r.findings if f.criterion == "input_drift"})
    for s in sources:
        k = sum(
            any(f.criterion == "input_drift" and f.subject == s for f in r.findings) for r in runs
        )
        budget = criteria.drift_for(s).false_alarm_budget
        flag = "ABOVE BUDGET" if wilson(k, n)[0] > budget else "within budget"
        print(f"  input drift of {s}: {rate(k, n)}; budget {budget:.0%}: {flag}")
    months = Counter(r.as_of.strftime("%m") for r in runs if r.level != "nothing")
    if months:
        print(
            "  false alarms by month of the as-of date: "
            + ", ".join(f"{m}: {k}" for m, k in sorted(months.items()))
        )


def _nth_largest(values: Sequence[float | None], n: int) -> float:
    known = sorted((v for v in values if v is not None), reverse=True)
    return known[n - 1] if len(known) >= n else 0.0


def report_thresholds(runs: Sequence[Run], criteria: MonitoringCriteria) -> None:
    """What the clean runs' distances were, against the thresholds in force: a source raises a
    review when its ``min_features_drifted``-th largest distance is above a threshold (sources
    that delivered nothing in a run's window are not judged, and not counted)."""
    print(
        "\nClean runs' distances (a source's n-th largest over its inputs; n = min_features_"
        "drifted), percentiles 50 / 90 / 99 / max, against the thresholds in force"
    )

    def line(name: str, values: list[float], threshold: float) -> None:
        q = np.quantile(values, [0.5, 0.9, 0.99]) if values else [0, 0, 0]
        above = sum(v > threshold for v in values)
        print(
            f"  {name:<40} {q[0]:.3f} / {q[1]:.3f} / {q[2]:.3f} / {max(values, default=0):.3f}"
            f"  threshold {threshold:g} (above in {above}/{len(values)})"
        )

    for source in sorted({s for r in runs for s in r.inputs}):
        limits = criteria.drift_for(source)
        rows = [r.inputs[source] for r in runs if source in r.inputs]
        n = min(limits.min_features_drifted, min(len(x) for x in rows))
        for k, (name, threshold) in enumerate(
            (
                ("PSI", limits.psi),
                ("Jensen-Shannon", limits.js),
                ("missing share change", limits.missing_share_change),
            )
        ):
            line(
                f"{source} {name}",
                [_nth_largest([x[k] for x in row], n) for row in rows],
                threshold,
            )
    score = criteria.drift_for("score")
    line("score PSI", [r.score[0] or 0.0 for r in runs], score.psi)
    line("score Jensen-Shannon", [r.score[1] or 0.0 for r in runs], score.js)
    for key, limits in sorted(criteria.coding.items()):
        changes = [r.coding[key] for r in runs if key in r.coding]
        line(f"coding {key}: largest relative change", changes, limits.relative_change)


def report_faults(trials: Sequence[Trial], clean: Sequence[Run]) -> None:
    print(
        "\nFaults (found: the fault named by a weekly run within the horizon; by chance: the "
        "share of clean runs the same rule fires on)"
    )
    arms = list(dict.fromkeys(t.arm for t in trials))
    for arm in arms:
        mine = [t for t in trials if t.arm == arm]
        found = [t for t in mine if t.found is not None]
        delays = [t.delay for t in found if t.delay is not None]
        spread = (
            f"delay median {statistics.median(delays):g} days (min {min(delays)}, max "
            f"{max(delays)})"
            if delays
            else "no delay"
        )
        levels = Counter(t.level for t in found)
        print(
            f"  {arm.name:<22} found {rate(len(found), len(mine))}; {spread}; levels {dict(levels)}"
        )
        if clean:
            chance = sum(found_by(arm, r.findings) for r in clean)
            print(f"  {'':<22} by chance on clean runs: {rate(chance, len(clean))}")
        if arm.kind == "stop":
            within = sum(
                t.delay is not None and t.bound is not None and t.delay <= t.bound for t in mine
            )
            print(f"  {'':<22} within outage_days + season's silence + 7: {within}/{len(mine)}")
        off = [t for t in mine if t.disagreement]
        if off:
            print(f"  {'':<22} prediction and job disagreed in {len(off)} trial(s)")
    stops = [t for t in trials if t.arm.kind == "stop"]
    if stops:
        found = sum(t.found is not None for t in stops)
        within = sum(
            t.delay is not None and t.bound is not None and t.delay <= t.bound for t in stops
        )
        print(
            f"  {'stop, all sources':<22} found {rate(found, len(stops))}; within their bound "
            f"{within}/{len(stops)}"
        )
