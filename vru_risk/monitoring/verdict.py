"""The verdict of a monitoring run: typed findings at two levels, combined into one level and
the exit code of ``vru monitor``.

- ``review``: the ethics panel should look (inputs drifted beyond threshold, a coding change, a
  population shift, practitioners' agreement out of bounds);
- ``suspension_recommended``: the model should stop reaching practitioners until the panel has
  decided (realised precision on unsupported moments below the floor for the configured number
  of matured windows, a group's recall or miss rate wholly outside the gate's bounds, calibration
  slope wholly outside bounds, a source outage longer than its allowed days).

Monitoring recommends, the panel decides: nothing here suspends anything. Every finding names
its criterion and its subject (a source, a feature, a programme, a group) in a plain-English
sentence with its figures, and carries the figures for the report.

Exit codes: :data:`EXIT_NOTHING` 0, :data:`EXIT_REVIEW` 4, :data:`EXIT_SUSPENSION` 3 (2, bad
input, is the job's).

Example
-------
>>> combine([]).exit_code
0
>>> f = Finding("source_outage", "suspension_recommended", "attendance",
...             "No attendance rows known for 30 days (allowed: 14).", {"days": 30})
>>> v = combine([f]); v.level, v.exit_code
('suspension_recommended', 3)
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Final, Literal

from vru_risk.data.contract import source_name
from vru_risk.models.words import attribute_label, feature_label, group_label
from vru_risk.monitoring.criteria import MonitoringCriteria
from vru_risk.monitoring.drift import SourceDrift

FindingLevel = Literal["review", "suspension_recommended"]
Level = Literal["nothing", "review", "suspension_recommended"]

EXIT_NOTHING: Final = 0
EXIT_REVIEW: Final = 4
EXIT_SUSPENSION: Final = 3
EXIT_CODES: Final[Mapping[Level, int]] = {
    "nothing": EXIT_NOTHING,
    "review": EXIT_REVIEW,
    "suspension_recommended": EXIT_SUSPENSION,
}
_RANK: Final[Mapping[Level, int]] = {"nothing": 0, "review": 1, "suspension_recommended": 2}

Figure = float | int | str | None


@dataclass(frozen=True)
class Finding:
    """One criterion met: which, at which level, about what, in words and in figures."""

    criterion: str
    level: FindingLevel
    subject: str
    sentence: str
    figures: Mapping[str, Figure] = field(default_factory=dict)

    def to_dict(self) -> dict[str, object]:
        return {
            "criterion": self.criterion,
            "level": self.level,
            "subject": self.subject,
            "sentence": self.sentence,
            "figures": dict(self.figures),
        }


@dataclass(frozen=True)
class Verdict:
    """The overall level (the worst finding's) and the findings, suspensions first."""

    level: Level
    findings: tuple[Finding, ...]

    @property
    def exit_code(self) -> int:
        return EXIT_CODES[self.level]

    @property
    def summary(self) -> str:
        if self.level == "nothing":
            return "Nothing to report: no monitoring criterion was met."
        n_sus = sum(f.level == "suspension_recommended" for f in self.findings)
        n_rev = len(self.findings) - n_sus
        head = (
            f"Suspension recommended ({n_sus} criterion/criteria met); the ethics panel decides."
            if n_sus
            else "Review: the ethics panel should look."
        )
        return f"{head} {n_sus + n_rev} finding(s): " + " ".join(f.sentence for f in self.findings)


def combine(findings: Iterable[Finding]) -> Verdict:
    """The verdict of ``findings``: the worst level among them, ``nothing`` when there are none."""
    ordered = tuple(sorted(findings, key=lambda f: (-_RANK[f.level], f.criterion, f.subject)))
    level: Level = "nothing"
    for f in ordered:
        if _RANK[f.level] > _RANK[level]:
            level = f.level
    return Verdict(level=level, findings=ordered)


def _fmt(x: float | None, digits: int = 3) -> str:
    return "n/a" if x is None else f"{x:.{digits}f}"


def drift_findings(
    summaries: Sequence[SourceDrift], phrases: Mapping[str, str] | None = None
) -> list[Finding]:
    """One ``review`` per source whose drifted features reach its threshold count; its sentence
    says the source and the worst feature in words (``phrases``: feature name → the catalog's
    phrase; a feature without one is said with its underscores as spaces)."""
    out = []
    for s in summaries:
        worst = s.worst
        if not s.raises_review or worst is None:
            continue
        how = (
            f"PSI {_fmt(worst.psi)}, Jensen-Shannon {_fmt(worst.js)}"
            if worst.shifted
            else f"missing share {_fmt(worst.missing_reference)} -> {_fmt(worst.missing_current)}"
        )
        out.append(
            Finding(
                criterion="input_drift",
                level="review",
                subject=s.source,
                sentence=(
                    f"Source {source_name(s.source)}: {len(s.drifted)} of {len(s.features)} "
                    "features drifted from the reference; the worst is "
                    f"“{feature_label(worst.feature, phrases)}” ({how})."
                ),
                figures={
                    "features": len(s.features),
                    "drifted": len(s.drifted),
                    "worst_feature": worst.feature,
                    "psi": worst.psi,
                    "js": worst.js,
                    "missing_reference": worst.missing_reference,
                    "missing_current": worst.missing_current,
                },
            )
        )
    return out


def outage_findings(
    days_without_rows: Mapping[str, int], criteria: MonitoringCriteria
) -> list[Finding]:
    """``suspension_recommended`` for each source silent for longer than its outage days
    (``days_without_rows``: per source, days since its last known row beyond what the same
    season of the reference shows)."""
    out = []
    for source, days in sorted(days_without_rows.items()):
        allowed = criteria.outage_days.get(source)
        if allowed is None or days <= allowed:
            continue
        out.append(
            Finding(
                criterion="source_outage",
                level="suspension_recommended",
                subject=source,
                sentence=(
                    f"Source {source_name(source)}: no rows known for {days} days (allowed: "
                    f"{allowed}); the model's inputs from it are silently missing."
                ),
                figures={"days": days, "allowed": allowed},
            )
        )
    return out


def agreement_findings(
    referred: int,
    decided: int,
    criteria: MonitoringCriteria,
    *,
    subject: str = "all programmes",
    interval: tuple[float | None, float | None] = (None, None),
) -> list[Finding]:
    """``review`` when the share of decided flags referred is outside the agreement bounds
    (``interval``: the share's person-level interval, reported with it)."""
    bounds = criteria.agreement
    if decided < bounds.min_decisions:
        return []
    share = referred / decided
    if bounds.too_low <= share <= bounds.too_high:
        return []
    why = (
        "practitioners may distrust the flags"
        if share < bounds.too_low
        else "flags may be followed without judgement"
    )
    low, high = interval
    band = "" if low is None or high is None else f", interval {low:.0%} to {high:.0%}"
    return [
        Finding(
            criterion="agreement",
            level="review",
            subject=subject,
            sentence=(
                f"Agreement ({subject}): {referred} of {decided} decided flags referred "
                f"({share:.0%}{band}), outside [{bounds.too_low:.0%}, {bounds.too_high:.0%}]: "
                f"{why}."
            ),
            figures={
                "referred": referred,
                "decided": decided,
                "share": share,
                "low": low,
                "high": high,
                "too_low": bounds.too_low,
                "too_high": bounds.too_high,
            },
        )
    ]


def calibration_findings(
    slope: float, low: float, high: float, moments: int, criteria: MonitoringCriteria
) -> list[Finding]:
    """``suspension_recommended`` when the calibration slope's interval [low, high] lies wholly
    outside the bounds, on at least the configured number of matured moments."""
    b = criteria.calibration
    if moments < b.min_moments or (b.slope_low <= high and low <= b.slope_high):
        return []
    return [
        Finding(
            criterion="calibration_slope",
            level="suspension_recommended",
            subject="calibration",
            sentence=(
                f"Calibration slope {slope:.2f} (interval {low:.2f} to {high:.2f}, {moments} "
                f"matured moments) lies outside [{b.slope_low}, {b.slope_high}]."
            ),
            figures={
                "slope": slope,
                "low": low,
                "high": high,
                "moments": moments,
                "slope_low": b.slope_low,
                "slope_high": b.slope_high,
            },
        )
    ]


def precision_findings(
    windows: Sequence[tuple[str, float, float, int] | tuple[str, float, float, int, float | None]],
    expected_precision: float | None,
    criteria: MonitoringCriteria,
) -> list[Finding]:
    """``suspension_recommended`` when the last ``matured_windows`` matured windows (each
    ``(month, precision, interval_high, moments[, expected])`` on unsupported moments, oldest
    first) all have their interval's upper end below their floor, each on enough moments.

    A window's floor is the criteria's share of what a still-healthy model expects of *those*
    moments (``expected``: the mean calibrated probability of the moments judged), so that
    moments the allocation never chose (above the floor, no place left) are not held to the
    precision of the ones it did; without it, of the reference's ``expected_precision``."""
    p = criteria.precision
    recent = list(windows)[-p.matured_windows :]
    if len(recent) < p.matured_windows:
        return []
    judged = []
    for window in recent:
        month, prec, high, n = window[:4]
        own = window[4] if len(window) > 4 else None
        floor = p.floor(own if own is not None else expected_precision)
        if floor is None or n < p.min_moments or high >= floor:
            return []
        judged.append((month, prec, high, n, floor))
    months = ", ".join(
        f"{m} {prec:.2f} (up to {high:.2f}, n={n}; floor {floor:.2f})"
        for m, prec, high, n, floor in judged
    )
    return [
        Finding(
            criterion="precision_floor",
            level="suspension_recommended",
            subject="unsupported matured moments",
            sentence=(
                "Realised precision on moments not given support was below its floor (a share "
                f"of what the model expects of those moments) in the last {len(judged)} matured "
                f"months: {months}."
            ),
            figures={
                "floor": judged[-1][4],
                "expected_precision": expected_precision,
                **{f"precision_{m}": prec for m, prec, _, _, _ in judged},
                **{f"floor_{m}": floor for m, _, _, _, floor in judged},
            },
        )
    ]


@dataclass(frozen=True)
class GroupComparison:
    """A group's recall ratio (``tpr_ratio``) or miss-rate difference (``fnr_difference``)
    against its attribute's reference group, with a person-level bootstrap interval."""

    attribute: str
    group: str
    reference: str
    metric: Literal["tpr_ratio", "fnr_difference"]
    estimate: float
    low: float
    high: float


def group_findings(
    comparisons: Sequence[GroupComparison], criteria: MonitoringCriteria
) -> list[Finding]:
    """``suspension_recommended`` for each comparison whose interval lies wholly outside the
    gate's bounds (the criteria must be :meth:`~MonitoringCriteria.resolved`)."""
    bounds = criteria.groups.bounds
    if bounds is None:
        raise ValueError(
            "the monitoring criteria have no group bounds: resolve them with the fairness gate "
            "of the version's experiment (MonitoringCriteria.resolved) first"
        )
    out = []
    for c in comparisons:
        if c.metric == "tpr_ratio":
            band = (bounds.recall_ratio_low, bounds.recall_ratio_high)
            words = "recall ratio"
        else:
            band = (-bounds.max_fnr_difference, bounds.max_fnr_difference)
            words = "miss-rate difference"
        if band[0] <= c.high and c.low <= band[1]:
            continue
        out.append(
            Finding(
                criterion=f"group_{c.metric}",
                level="suspension_recommended",
                subject=f"{c.attribute}={c.group}",
                sentence=(
                    f"Group {attribute_label(c.attribute)} = {group_label(c.attribute, c.group)}: "
                    f"{words} against {group_label(c.attribute, c.reference)} is "
                    f"{c.estimate:.2f} (interval {c.low:.2f} to {c.high:.2f}), wholly outside "
                    f"[{band[0]:.2f}, {band[1]:.2f}]."
                ),
                figures={
                    "estimate": c.estimate,
                    "low": c.low,
                    "high": c.high,
                    "band_low": band[0],
                    "band_high": band[1],
                    "reference": c.reference,
                },
            )
        )
    return out


def approval_findings(approved: Mapping[str, str | None], now: Mapping[str, str]) -> list[Finding]:
    """A review when what the model is watched against is not what the panel approved:
    ``approved`` holds the hashes the panel's newest approval or override recorded
    (``reference``, ``criteria``; None: not recorded), ``now`` those in force."""
    words = {"reference": "monitoring reference", "criteria": "monitoring criteria"}
    found = []
    for key, name in words.items():
        then = approved.get(key)
        if then is not None and then != now[key]:
            found.append(
                Finding(
                    criterion="approval_changed",
                    level="review",
                    subject=name,
                    sentence=(
                        f"The {name} in force ({now[key][:12]}) is not the one the panel "
                        f"approved ({then[:12]}): the panel should look at the change and "
                        "approve the model again if it still deserves it"
                    ),
                    figures={"approved": then, "now": now[key]},
                )
            )
    return found
