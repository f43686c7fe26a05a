"""Who is told what monitoring finds: the ``notify:`` list of a governance file.

A VRU keeps its own ``governance.yaml`` (the packaged one documents the keys and configures no
one); the same file may carry a ``monitoring:`` section of criteria
(:func:`~vru_risk.monitoring.criteria.criteria_from`). Monitoring names the people to be told in
every report and sends nothing itself.

Example
-------
>>> g = governance_from({"governance_version": 1, "notify": [{"role": "DPO", "name": "A. Ng"}]})
>>> g.notify[0].label
'DPO (A. Ng)'
>>> load_governance().notify
()
>>> load_governance().missing_publication_fields()[0]
'senior_responsible_owner'
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import Annotated, Any, Final

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from vru_risk.monitoring.criteria import CriteriaError, MonitoringCriteria, criteria_from
from vru_risk.monitoring.criteria import load_criteria as packaged_criteria
from vru_risk.pydantic_errors import error_lines

GOVERNANCE_VERSION: Final = 1
PACKAGED: Final = "vru_risk/monitoring/governance.yaml"


class GovernanceError(ValueError):
    """A governance file that cannot be used, and what to do."""


class Recipient(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    role: Annotated[str, Field(min_length=1, max_length=200)]
    name: Annotated[str, Field(max_length=200)] = ""
    contact: Annotated[str, Field(max_length=300)] = ""

    @property
    def label(self) -> str:
        who = ", ".join(x for x in (self.name, self.contact) if x.strip())
        return f"{self.role} ({who})" if who else self.role


#: the fields of a UK Algorithmic Transparency Recording Standard record that only people can
#: fill: key in governance.yaml -> what the record calls it. While any is empty, the record of
#: every version reads "draft: not publishable" (:mod:`vru_risk.monitoring.card`).
PUBLICATION_FIELDS: Final = {
    "senior_responsible_owner": "Senior responsible owner",
    "contact": "Contact for questions about the tool",
    "dpia_link": "Data protection impact assessment (link)",
    "equality_impact_assessment_link": "Equality impact assessment (link)",
    "appeals_route": "How to challenge or appeal a decision",
}

_Text = Annotated[str, Field(max_length=500)]


#: the questions a VRU answers, in its governance file, before a programme runs a fair lottery
#: and whenever its evaluation is reported (docs/evaluation.md): key -> the question in words
EVALUATION_QUESTIONS: Final = {
    "analysis_plan_link": "Where is the analysis plan registered before the lottery started?",
    "lawful_basis_follow_up": (
        "What is the lawful basis for following up the outcomes of young people who were not "
        "offered a place?"
    ),
    "informing_families": (
        "How are young people and families told that the last places are allocated by lottery "
        "among equally ranked young people, and what does a family who asks get told?"
    ),
    "stopping_rule": (
        "Who decides to stop the lottery early (evidence of harm, or of help past the "
        "pre-registered boundary), and how quickly?"
    ),
}


class EvaluationAnswers(BaseModel):
    """The VRU's answers to :data:`EVALUATION_QUESTIONS` (free text; empty = not yet answered)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    analysis_plan_link: _Text = ""
    lawful_basis_follow_up: Annotated[str, Field(max_length=2000)] = ""
    informing_families: Annotated[str, Field(max_length=2000)] = ""
    stopping_rule: Annotated[str, Field(max_length=2000)] = ""

    def unanswered(self) -> tuple[str, ...]:
        return tuple(k for k in EVALUATION_QUESTIONS if not str(getattr(self, k)).strip())


class Governance(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")

    governance_version: int = GOVERNANCE_VERSION
    notify: tuple[Recipient, ...] = ()
    senior_responsible_owner: _Text = ""
    contact: _Text = ""
    dpia_link: _Text = ""
    equality_impact_assessment_link: _Text = ""
    appeals_route: Annotated[str, Field(max_length=2000)] = ""
    evaluation: EvaluationAnswers = Field(default_factory=EvaluationAnswers)

    def publication_fields(self) -> dict[str, str]:
        """The transparency record's fields only people can fill (key -> value, stripped)."""
        return {key: str(getattr(self, key)).strip() for key in PUBLICATION_FIELDS}

    def missing_publication_fields(self) -> tuple[str, ...]:
        """The keys of :data:`PUBLICATION_FIELDS` still empty."""
        return tuple(k for k, v in self.publication_fields().items() if not v)


def governance_from(doc: Any, *, origin: str = "governance.yaml") -> Governance:
    if doc is None:
        doc = {}
    if not isinstance(doc, dict):
        raise GovernanceError(f"{origin}: expected a mapping with a `notify:` list")
    try:
        g = Governance.model_validate({k: v for k, v in doc.items() if k != "monitoring"})
    except ValidationError as exc:
        lines = "; ".join(error_lines(exc, default="(governance)")[:5])
        raise GovernanceError(
            f"{origin}: {lines}; see {PACKAGED} for the keys and fix the file"
        ) from None
    if g.governance_version != GOVERNANCE_VERSION:
        raise GovernanceError(
            f"{origin}: governance_version {g.governance_version} is not {GOVERNANCE_VERSION}, "
            "the only version this vru-risk reads"
        )
    return g


def _read(path: Path) -> Any:
    try:
        return yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise GovernanceError(f"{path} cannot be read: {exc}") from None
    except yaml.YAMLError as exc:
        raise GovernanceError(f"{path} is not valid YAML: {exc}") from None


def load_governance(path: Path | None = None) -> Governance:
    """The governance file at ``path`` (the packaged one, configuring no one, by default)."""
    if path is None:
        text = resources.files("vru_risk.monitoring").joinpath("governance.yaml").read_text("utf-8")
        return governance_from(yaml.safe_load(text), origin=PACKAGED)
    return governance_from(_read(path), origin=str(path))


def criteria_for(path: Path | None) -> MonitoringCriteria:
    """The ``monitoring:`` section of the governance file at ``path`` when it has one, else the
    packaged criteria (:mod:`vru_risk.monitoring.criteria`)."""
    if path is None:
        return packaged_criteria()
    doc = _read(path)
    if isinstance(doc, dict) and "monitoring" in doc:
        try:
            return criteria_from(doc, origin=str(path))
        except CriteriaError as exc:
            raise GovernanceError(str(exc)) from None
    return packaged_criteria()
