"""The monitoring criteria: pre-registered thresholds, read from YAML, hashed for the approval.

The packaged ``criteria.yaml`` documents every key; a VRU's governance file may carry its own
under a ``monitoring:`` section (:func:`load_criteria` reads either). The criteria are fixed
before the ethics panel approves a version, and the approval records :attr:`MonitoringCriteria.hash`
(the sha256 of their canonical JSON), so that a later change of a threshold is visible.

The group bounds default to the fairness gate's bands
(:class:`~vru_risk.models.gate_config.FairnessGateConfig`) of the experiment the version was
audited with: :meth:`MonitoringCriteria.resolved` fills them in, and the hash to record is the
resolved criteria's.

Example
-------
>>> c = load_criteria()
>>> c.drift_for("attendance").psi, c.drift_for("ae_visits").psi, c.outage_days["attendance"]
(0.25, 0.35, 14)
>>> from vru_risk.models.gate_config import FairnessGateConfig
>>> r = c.resolved(FairnessGateConfig())
>>> r.groups.bounds.recall_ratio_low, r.hash != c.hash
(0.8, True)
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import Annotated, Any, Final

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from vru_risk.data.contract import EVENT_TABLES, TABLES
from vru_risk.models.gate_config import FairnessGateConfig
from vru_risk.monitoring.bins import canonical_json, sha256_text
from vru_risk.pydantic_errors import error_lines

CRITERIA_VERSION: Final = 1

Share = Annotated[float, Field(gt=0, le=1)]


class CriteriaError(ValueError):
    """Criteria that cannot be used; ``problems`` lists every one."""

    def __init__(self, origin: str, problems: list[str]) -> None:
        self.problems = tuple(problems)
        listed = "\n".join(f"  - {p}" for p in problems)
        super().__init__(
            f"{origin}: monitoring criteria refused ({len(problems)} problem(s)):\n{listed}\n"
            "Fix the file (the packaged vru_risk/monitoring/criteria.yaml explains every key) "
            "and run again."
        )


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class DriftThresholds(_Frozen):
    """When a feature of a source drifted, and when the source as a whole raises a review."""

    psi: Annotated[float, Field(gt=0)] = 0.25
    js: Share = 0.15
    missing_share_change: Share = 0.10
    min_rows: Annotated[int, Field(ge=1)] = 200
    min_features_drifted: Annotated[int, Field(ge=1)] = 2
    false_alarm_budget: Share = 0.02


class DriftCriteria(_Frozen):
    default: DriftThresholds = DriftThresholds()
    sources: dict[str, DriftThresholds] = Field(default_factory=dict)


class CodingThresholds(_Frozen):
    """When the mix of a categorical column's recorded values has changed (a coding change):
    a value holding at least ``min_share`` of the rows (among the values in ``among``, when
    given) whose share moved by more than ``relative_change`` of itself, on at least
    ``min_rows`` rows in the run's window."""

    among: tuple[str, ...] | None = None
    min_share: Share = 0.01
    relative_change: Annotated[float, Field(gt=0)] = 0.15
    min_rows: Annotated[int, Field(ge=1)] = 20_000


class AgreementBounds(_Frozen):
    too_low: Annotated[float, Field(ge=0, lt=1)] = 0.20
    too_high: Annotated[float, Field(gt=0, le=1)] = 0.95
    min_decisions: Annotated[int, Field(ge=1)] = 30

    @model_validator(mode="after")
    def _ordered(self) -> AgreementBounds:
        if self.too_low >= self.too_high:
            raise ValueError(f"too_low {self.too_low} must be below too_high {self.too_high}")
        return self


class DecisionCriteria(_Frozen):
    """Which decisions a run looks at, and when a group's referral ratio is judged."""

    #: the offers of flags dated in this many days up to the as-of date (a quarter: a programme
    #: of 20 places a month reaches agreement's ``min_decisions`` in it, not in four weeks)
    window_days: Annotated[int, Field(ge=7, le=366)] = 91
    #: a group's referral ratio is judged only with at least this many distinct young people
    #: flagged (with fewer, "none of them referred" happens by chance)
    min_people_to_judge: Annotated[int, Field(ge=1)] = 30


class FeedbackCriteria(_Frozen):
    """The watch on flags whose main reason is police contact."""

    #: the first months of service that are the baseline (the reference holds none)
    baseline_months: Annotated[int, Field(ge=1, le=12)] = 3
    #: the flags of this many days up to the as-of date are compared with the baseline
    window_days: Annotated[int, Field(ge=7, le=366)] = 91
    #: a rise of the share (absolute) beyond which a review is asked for
    max_rise: Share = 0.10
    #: flags needed in the baseline and in the window to judge
    min_flags: Annotated[int, Field(ge=1)] = 100


class PrecisionFloor(_Frozen):
    relative_floor: Share = 0.6
    absolute_floor: Share | None = None
    matured_windows: Annotated[int, Field(ge=1, le=12)] = 2
    min_moments: Annotated[int, Field(ge=1)] = 50

    def floor(self, expected_precision: float | None) -> float | None:
        """The precision below which a matured window counts against the model: the absolute
        floor when set, else ``relative_floor`` x the reference's expected precision.

        >>> PrecisionFloor().floor(0.5), PrecisionFloor(absolute_floor=0.2).floor(0.5)
        (0.3, 0.2)
        """
        if self.absolute_floor is not None:
            return self.absolute_floor
        if expected_precision is None:
            return None
        return round(self.relative_floor * expected_precision, 12)


class CalibrationBounds(_Frozen):
    slope_low: Annotated[float, Field(gt=0, lt=1)] = 0.6
    slope_high: Annotated[float, Field(gt=1)] = 1.5
    min_moments: Annotated[int, Field(ge=1)] = 200


class GroupCriteria(_Frozen):
    #: None: the fairness gate's bands of the experiment the version was audited with.
    bounds: FairnessGateConfig | None = None
    min_people_per_cell: Annotated[int, Field(ge=1)] = 10
    #: a group's recall is judged (and shown) only with at least this many distinct young
    #: people who went on to the outcome: with fewer, "none of them offered" happens by chance
    #: and its bootstrap interval collapses to 0 to 0
    min_positives_to_judge: Annotated[int, Field(ge=1)] = 30
    bootstrap_replicates: Annotated[int, Field(ge=50, le=10_000)] = 400


class MonitoringCriteria(_Frozen):
    """Every threshold ``vru monitor`` judges a month by (see ``criteria.yaml``)."""

    criteria_version: int = CRITERIA_VERSION
    drift: DriftCriteria = DriftCriteria()
    outage_days: dict[str, Annotated[int, Field(ge=1, le=365)]] = Field(default_factory=dict)
    #: watched columns, ``source.column`` (e.g. ``attendance.status``)
    coding: dict[str, CodingThresholds] = Field(default_factory=dict)
    agreement: AgreementBounds = AgreementBounds()
    decisions: DecisionCriteria = DecisionCriteria()
    feedback: FeedbackCriteria = FeedbackCriteria()
    precision: PrecisionFloor = PrecisionFloor()
    calibration: CalibrationBounds = CalibrationBounds()
    groups: GroupCriteria = GroupCriteria()

    @model_validator(mode="after")
    def _version(self) -> MonitoringCriteria:
        if self.criteria_version != CRITERIA_VERSION:
            raise ValueError(
                f"criteria_version {self.criteria_version} is not {CRITERIA_VERSION}, the only "
                "version this vru-risk reads"
            )
        for key, limits in self.coding.items():
            source, _, column = key.partition(".")
            table = TABLES.get(source)
            if source not in EVENT_TABLES or table is None or column not in table.column_names:
                raise ValueError(
                    f"coding: {key!r} is not SOURCE.COLUMN of an event table's categorical "
                    "column (e.g. attendance.status)"
                )
            allowed = table.column(column).categories
            if not allowed:
                raise ValueError(f"coding: {key!r} is not a categorical column")
            unknown = [v for v in limits.among or () if v not in allowed]
            if unknown:
                raise ValueError(
                    f"coding.{key}.among: {', '.join(unknown)} not among its values "
                    f"({', '.join(allowed)})"
                )
        return self

    def drift_for(self, source: str) -> DriftThresholds:
        return self.drift.sources.get(source, self.drift.default)

    def resolved(self, gate: FairnessGateConfig) -> MonitoringCriteria:
        """These criteria with the group bounds filled from ``gate`` where none are set."""
        if self.groups.bounds is not None:
            return self
        groups = self.groups.model_copy(update={"bounds": gate})
        return self.model_copy(update={"groups": groups})

    def canonical_json(self) -> str:
        return canonical_json(self.model_dump(mode="json"))

    @property
    def hash(self) -> str:
        """sha256 of the canonical JSON: what the panel's approval records."""
        return sha256_text(self.canonical_json())


def criteria_from(doc: Any, *, origin: str = "monitoring criteria") -> MonitoringCriteria:
    """Criteria from a parsed YAML document: its ``monitoring:`` section when it has one (a
    governance file), else the whole document."""
    if isinstance(doc, dict) and "monitoring" in doc:
        doc = doc["monitoring"]
    if not isinstance(doc, dict):
        raise CriteriaError(origin, ["expected a mapping of criteria (see criteria.yaml)"])
    try:
        return MonitoringCriteria.model_validate(doc)
    except ValidationError as exc:
        raise CriteriaError(origin, error_lines(exc, default="(criteria)")) from None


def load_criteria(path: Path | None = None) -> MonitoringCriteria:
    """Read criteria from ``path`` (the packaged ``criteria.yaml`` by default)."""
    if path is None:
        pkg = resources.files("vru_risk.monitoring").joinpath("criteria.yaml")
        return criteria_from(yaml.safe_load(pkg.read_text("utf-8")), origin="criteria.yaml")
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise CriteriaError(str(path), [f"{path} does not exist"]) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise CriteriaError(str(path), [f"{path} cannot be read as UTF-8 text: {exc}"]) from None
    try:
        doc = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise CriteriaError(str(path), [f"not valid YAML: {exc}"]) from None
    return criteria_from(doc, origin=str(path))
