"""Every MLflow tag vru-risk writes or reads: one constant per tag key, and the states a version
can be in (the values of :data:`STATE_TAG`).

Model-version tags (set when a version is registered, or later by the audit and the panel):

- provenance: :data:`EXPERIMENT_HASH_TAG`, :data:`SPEC_HASH_TAG`, :data:`DATA_FINGERPRINT_TAG`,
  :data:`TRAIN_END_TAG`, :data:`PARENT_RUN_TAG`, :data:`TRAINED_BY_TAG`,
  :data:`CONTENT_HASH_TAG` (the sha256 of the saved RiskModel the panel approves);
- the terms a version is judged on (a version is a tripwire yardstick only for versions with the
  same ones): :data:`SPEC_HASH_TAG`, :data:`LABEL_TIMESPAN_TAG`, :data:`CAPACITY_TAG`,
  :data:`DEMO_TAG`; the allocation its figures describe: :data:`TRAINING_ALLOCATION_TAG`,
  :data:`AUDIT_ALLOCATION_TAG`; what monitoring compares it with:
  :data:`MONITORING_REFERENCE_TAG`;
- the promotion path (see :mod:`vru_risk.models.promotion`): :data:`STATE_TAG` (one of
  :data:`CANDIDATE`, :data:`REJECTED`, :data:`BLOCKED`),
  :data:`PERFORMANCE_GATE_TAG`, :data:`LEAKAGE_GATE_TAG`, :data:`LEAKAGE_REASONS_TAG`,
  :data:`LEAKAGE_COMPARED_TO_TAG`, :data:`LEAKAGE_CLEARED_BY_TAG`, :data:`FAIRNESS_TAG`,
  :data:`FAIRNESS_REPORT_TAG`, :data:`REVIEW_TAG`;
- the headline metrics, one tag each (:func:`metric_tag`).

Run tags: :data:`REGISTERED_VERSION_TAG` on the final run, and on every run the process that
logged it (:data:`HOST_TAG`, :data:`PID_TAG`, :data:`PID_STARTED_TAG`) and, once it is found
abandoned, :data:`ABANDONED_TAG`.

The keys are stored in MLflow: renaming one orphans the tags of every version already
registered.

Example
-------
>>> metric_tag("auc")
'vru.metric.auc'
"""

from __future__ import annotations

from typing import Final

# --- model versions: provenance --------------------------------------------------------------
EXPERIMENT_HASH_TAG: Final = "vru.experiment_hash"
SPEC_HASH_TAG: Final = "vru.spec_hash"
DATA_FINGERPRINT_TAG: Final = "vru.data_fingerprint"
#: ``content`` or ``metadata``: how the data fingerprint was made (vru_risk.data.fingerprint)
DATA_FINGERPRINT_KIND_TAG: Final = "vru.data_fingerprint_kind"
TRAIN_END_TAG: Final = "vru.train_end"
PARENT_RUN_TAG: Final = "vru.parent_run_id"
TRAINED_BY_TAG: Final = "vru.trained_by"
CONTENT_HASH_TAG: Final = "vru.content_hash"

# --- model versions: the terms it is judged on -------------------------------------------------
LABEL_TIMESPAN_TAG: Final = "vru.label_timespan"
CAPACITY_TAG: Final = "vru.capacity_per_month"
DEMO_TAG: Final = "vru.demo"
#: the allocation rule a version's metrics at capacity (training) and group rates (the audit)
#: describe: :data:`ALLOCATION_RULE` for the service's own allocation replayed
#: (:mod:`vru_risk.flags.replay`); a version without it was judged on the monthly top-k lists
#: alone, and its approval is "evaluated under the previous allocation rule: review again"
TRAINING_ALLOCATION_TAG: Final = "vru.allocation.training"
AUDIT_ALLOCATION_TAG: Final = "vru.allocation.audit"
ALLOCATION_RULE: Final = "service-replay-1"
#: the value of TRAINING_ALLOCATION_TAG of a version judged on the hindsight lists alone
HINDSIGHT_ONLY: Final = "hindsight-top-k"
#: the rules the fairness audit's verdict was reached under
#: (:data:`vru_risk.fairness_reports.verdicts.AUDIT_RULES`: small cells counted in distinct
#: people, an interval on every gate criterion); a version audited before it has none
AUDIT_RULES_TAG: Final = "vru.audit.rules"
#: set when an audit under new rules changed the version's fairness verdict ("fail →
#: inconclusive"), with the review log's last entry number at that audit: the version reads
#: "verdict changed under the new rules: review again" until the panel records a decision on it
#: after that entry (:func:`vru_risk.fairness_reports.verdicts.review_again`)
VERDICT_CHANGED_TAG: Final = "vru.gate.fairness.changed"
VERDICT_CHANGED_AFTER_TAG: Final = "vru.gate.fairness.changed_after_review"
#: the sha256 of the version's monitoring reference (:mod:`vru_risk.monitoring.reference`), a
#: separate artifact of the version's run (``monitoring_reference/reference.json``) written by
#: ``vru monitor reference``: a version without it has "no reference" and cannot be monitored
MONITORING_REFERENCE_TAG: Final = "vru.monitoring.reference"

# --- model versions: the promotion path -------------------------------------------------------
STATE_TAG: Final = "vru.state"
PERFORMANCE_GATE_TAG: Final = "vru.gate.performance"
LEAKAGE_GATE_TAG: Final = "vru.gate.leakage"
LEAKAGE_REASONS_TAG: Final = "vru.gate.leakage_reasons"
LEAKAGE_COMPARED_TO_TAG: Final = "vru.gate.leakage_compared_to"
LEAKAGE_CLEARED_BY_TAG: Final = "vru.leakage_cleared_by"
FAIRNESS_TAG: Final = "vru.gate.fairness"
FAIRNESS_REPORT_TAG: Final = "vru.fairness_report"
REVIEW_TAG: Final = "vru.review"

#: the states (values of STATE_TAG): the gates passed and the tripwire did not fire (the version
#: also gets the alias ``candidate``); it does not beat the rule baselines; the tripwire fired
#: (no alias can point at it until the block is cleared)
CANDIDATE: Final = "candidate"
REJECTED: Final = "not a candidate: performance gate failed"
BLOCKED: Final = "blocked: suspected leakage"
#: the states the ethics panel's decisions set (the review log is the record; the tag keeps the
#: registry in step with it, so that MLflow's UI and ``vru models list`` show where a version is)
IN_SERVICE: Final = "champion: in service"
PANEL_REJECTED: Final = "rejected by the ethics panel"
SUSPENDED: Final = "suspended by the ethics panel"
REPLACED: Final = "replaced: out of service"

# --- model versions: headline metrics ---------------------------------------------------------
METRIC_TAG_PREFIX: Final = "vru.metric."

# --- runs ---------------------------------------------------------------------------------------
REGISTERED_VERSION_TAG: Final = "vru.registered_version"
HOST_TAG: Final = "vru.host"
PID_TAG: Final = "vru.pid"
PID_STARTED_TAG: Final = "vru.pid_started"
ABANDONED_TAG: Final = "vru.abandoned"


def metric_tag(name: str) -> str:
    """The version tag holding headline metric ``name`` (e.g. ``auc``)."""
    return f"{METRIC_TAG_PREFIX}{name}"
