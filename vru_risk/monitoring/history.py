"""A version's monitoring runs over time: one run's ``report.json`` parsed into the figures the
pages chart (:func:`parse_report`; the panel's open items are
:mod:`vru_risk.monitoring.open_items`).

Pure: a report arrives as parsed JSON; finding the files is the job's
(:mod:`vru_risk.jobs.monitor_history`). A report holds aggregates only, and so does
everything read from it. Any key a report lacks (an older run, a check that could not be made)
reads as "not available", never as zero; a report of another format, or without its as-of date
or verdict, is refused with :class:`ReportFormatError`.

Example
-------
>>> run = parse_report({"format": REPORT_FORMAT, "as_of": "2026-06-30",
...                     "subject": {"version": 3}, "verdict": {"level": "review"}})
>>> run.version, run.as_of.isoformat(), run.level, run.precision
(3, '2026-06-30', 'review', None)
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from typing import Any, Final, cast

from vru_risk.monitoring.report import LEVEL_WORDS, REPORT_FORMAT
from vru_risk.monitoring.verdict import Level

__all__ = [
    "GroupRate",
    "Interval",
    "MonthPrecision",
    "ReportFormatError",
    "RunFinding",
    "RunSummary",
    "SourceDrift",
    "parse_report",
    "timestamp",
]

#: levels a panel is asked to act on
ACTIONABLE: Final = ("review", "suspension_recommended")


class ReportFormatError(ValueError):
    """A ``report.json`` that is not a monitoring report this version can read."""


@dataclass(frozen=True)
class Interval:
    value: float | None
    low: float | None = None
    high: float | None = None


@dataclass(frozen=True)
class MonthPrecision:
    """Realised precision of one matured month on moments not given support."""

    month: str
    precision: Interval
    expected: float | None
    floor: float | None
    moments: int | None
    suppressed: bool


@dataclass(frozen=True)
class SourceDrift:
    """A source's largest feature drift (PSI) in one run, and whether it raised a review."""

    source: str
    psi: float | None
    feature: str | None
    drifted: int
    features: int
    raises_review: bool


@dataclass(frozen=True)
class GroupRate:
    """Selection (share of moments offered a place) of one audit-only group in one run, and its
    ratio to the attribute's reference group; withheld cells carry no figure."""

    attribute: str
    group: str
    reference: bool
    rate: float | None
    ratio: Interval
    people: str | None
    suppressed: bool


@dataclass(frozen=True)
class RunFinding:
    criterion: str
    level: str
    subject: str
    sentence: str
    figures: Mapping[str, Any]


@dataclass(frozen=True)
class RunSummary:
    """What the pages show of one monitoring run."""

    version: int
    as_of: date
    #: when the run was written (the report's ``generated_at``, else its file's time); None:
    #: unknown, and then the end of the as-of day stands for it
    written_at: datetime | None
    level: Level
    headline: str
    summary: str
    what_to_do: str
    findings: tuple[RunFinding, ...]
    #: what the reference expects of the service's offers (replayed allocation)
    expected_precision: float | None
    #: realised precision on matured moments not given support, all matured months together
    precision: Interval | None
    precision_by_month: tuple[MonthPrecision, ...]
    #: before any month matured: the mean calibrated probability of recent offers (an estimate
    #: that assumes nothing changed)
    estimate: float | None
    calibration_slope: Interval | None
    slope_bounds: tuple[float, float] | None
    score_psi: float | None
    score_psi_threshold: float | None
    drift: tuple[SourceDrift, ...]
    #: the default PSI threshold of a source's features (a source may have its own)
    drift_threshold: float | None
    selection: tuple[GroupRate, ...]
    matured_months: tuple[str, ...]

    @property
    def actionable(self) -> bool:
        return self.level in ACTIONABLE

    @property
    def written(self) -> datetime:
        """When the run was written, or the end of its as-of day when that is unknown."""
        if self.written_at is not None:
            return self.written_at
        return datetime.combine(self.as_of, time(23, 59, 59), tzinfo=UTC)


def _map(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _list(value: Any) -> list[Any]:
    return list(value) if isinstance(value, list) else []


def _num(value: Any) -> float | None:
    """A finite number, else None (a bool is not a number here)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value) if math.isfinite(value) else None


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _text(value: Any) -> str:
    return value if isinstance(value, str) else ""


def _interval(value: Any) -> Interval | None:
    m = _map(value)
    found = Interval(_num(m.get("value")), _num(m.get("low")), _num(m.get("high")))
    return found if found.value is not None else None


def timestamp(value: Any) -> datetime | None:
    """An ISO 8601 time (UTC when it names no zone), or None."""
    if not isinstance(value, str):
        return None
    try:
        stamp = datetime.fromisoformat(value)
    except ValueError:
        return None
    return stamp if stamp.tzinfo is not None else stamp.replace(tzinfo=UTC)


def _findings(verdict: Mapping[str, Any]) -> tuple[RunFinding, ...]:
    out = []
    for f in _list(verdict.get("findings")):
        f = _map(f)
        figures = {
            str(k): v
            for k, v in _map(f.get("figures")).items()
            if v is None or isinstance(v, str | int | float)
        }
        out.append(
            RunFinding(
                criterion=_text(f.get("criterion")),
                level=_text(f.get("level")),
                subject=_text(f.get("subject")),
                sentence=_text(f.get("sentence")),
                figures=figures,
            )
        )
    return tuple(out)


def _months(precision: Mapping[str, Any]) -> tuple[MonthPrecision, ...]:
    out = []
    for m in _list(precision.get("by_month")):
        m = _map(m)
        unsupported = _map(m.get("unsupported"))
        out.append(
            MonthPrecision(
                month=_text(m.get("month")),
                precision=_interval(unsupported.get("precision")) or Interval(None),
                expected=_num(m.get("expected")),
                floor=_num(m.get("floor")),
                moments=_int(unsupported.get("moments")),
                suppressed=bool(unsupported.get("suppressed", False)),
            )
        )
    return tuple(out)


def _drift(inputs: list[Any]) -> tuple[SourceDrift, ...]:
    out = []
    for row in inputs:
        row = _map(row)
        worst: tuple[float, str] | None = None
        for f in _list(row.get("by_feature")):
            f = _map(f)
            psi = _num(f.get("psi"))
            if psi is not None and (worst is None or psi > worst[0]):
                worst = (psi, _text(f.get("feature")))
        out.append(
            SourceDrift(
                source=_text(row.get("source")),
                psi=worst[0] if worst else None,
                feature=worst[1] if worst else None,
                drifted=_int(row.get("drifted")) or 0,
                features=_int(row.get("features")) or 0,
                raises_review=bool(row.get("raises_review", False)),
            )
        )
    return tuple(out)


def _selection(groups: Mapping[str, Any]) -> tuple[GroupRate, ...]:
    out = []
    for attribute in _list(groups.get("selection")):
        attribute = _map(attribute)
        name, reference = _text(attribute.get("attribute")), _text(attribute.get("reference"))
        for g in _list(attribute.get("groups")):
            g = _map(g)
            suppressed = bool(g.get("suppressed", False))
            ratio = Interval(
                _num(g.get("ratio")), _num(g.get("ratio_low")), _num(g.get("ratio_high"))
            )
            out.append(
                GroupRate(
                    attribute=name,
                    group=_text(g.get("group")),
                    reference=_text(g.get("group")) == reference,
                    rate=None if suppressed else _num(g.get("rate")),
                    ratio=Interval(None) if suppressed else ratio,
                    people=None if suppressed else (_text(g.get("people")) or None),
                    suppressed=suppressed,
                )
            )
    return tuple(out)


def parse_report(data: Any, *, written_at: datetime | None = None) -> RunSummary:
    """The figures of one run's ``report.json`` (already parsed); ``written_at`` stands in when
    the report does not say when it was written."""
    if not isinstance(data, Mapping):
        raise ReportFormatError("the file is not a JSON object: it is not a monitoring report")
    if data.get("format") != REPORT_FORMAT:
        raise ReportFormatError(
            f"its format is {data.get('format')!r}, not {REPORT_FORMAT!r}: it was not written "
            "by this version's `vru monitor`; run `vru monitor` again for that date"
        )
    try:
        as_of = date.fromisoformat(str(data.get("as_of")))
    except ValueError:
        raise ReportFormatError("it has no valid as-of date (`as_of`, YYYY-MM-DD)") from None
    verdict = _map(data.get("verdict"))
    level = verdict.get("level")
    if level not in LEVEL_WORDS:
        raise ReportFormatError(
            f"its verdict level is {level!r}, not one of {', '.join(LEVEL_WORDS)}"
        )
    subject = _map(data.get("subject"))
    version = _int(subject.get("version"))
    if version is None:
        raise ReportFormatError("it does not say which version it monitored (`subject.version`)")
    checks = _map(data.get("checks"))
    outcomes = _map(checks.get("outcomes"))
    precision = _map(outcomes.get("precision"))
    calibration = _map(outcomes.get("calibration"))
    bounds = _map(outcomes.get("bounds"))
    low, high = _num(bounds.get("slope_low")), _num(bounds.get("slope_high"))
    scores = _map(checks.get("scores"))
    estimate = _map(outcomes.get("estimate"))
    return RunSummary(
        version=version,
        as_of=as_of,
        written_at=timestamp(data.get("generated_at")) or written_at,
        level=cast(Level, level),
        headline=_text(verdict.get("headline")) or LEVEL_WORDS[level],
        summary=_text(verdict.get("summary")),
        what_to_do=_text(verdict.get("what_to_do")),
        findings=_findings(verdict),
        expected_precision=_num(subject.get("reference_expected_precision"))
        if "reference_expected_precision" in subject
        else _num(precision.get("expected_precision")),
        precision=_interval(_map(precision.get("unsupported")).get("precision")),
        precision_by_month=_months(precision),
        estimate=_num(estimate.get("value")),
        calibration_slope=_interval(calibration.get("slope")),
        slope_bounds=(low, high) if low is not None and high is not None else None,
        score_psi=_num(scores.get("psi")),
        score_psi_threshold=_num(scores.get("psi_threshold")),
        drift=_drift(_list(checks.get("inputs"))),
        drift_threshold=_num(scores.get("psi_threshold")),
        selection=_selection(_map(checks.get("groups"))),
        matured_months=tuple(str(m) for m in _list(outcomes.get("matured_months"))),
    )
