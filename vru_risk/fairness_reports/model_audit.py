"""The audit of a trained model over its audit window, as the service would have used it.

The audit window is every fold's test slice (``predictions.parquet`` of the training run): data
after each fold's calibration slice, never used for fitting or selection. The operating point is
the places the service would have offered: the daily job's allocation replayed day by day over
the window (:mod:`~vru_risk.fairness_reports.allocation`; every row, labelled or not, competes
for the places, and each outcome's audit then counts its labelled rows). The hindsight monthly
lists (each calendar month's top *capacity* young people by calibrated score) are audited beside
it as a bound; when the allocation cannot be replayed the audit falls back to them and says so.
The audit-only attributes come from the ``people`` table (they never reach the model) and are
joined here, per example, with the age band on the as-of date and the deprivation band.

The audit runs against the recorded label (primary: the gate uses it), against the harm-only
outcome (A&E assault or being a victim) and, on synthetic data, against true involvement.

Example
-------
>>> import pandas as pd
>>> imd_band(pd.Series([1, 4, 9, None])).tolist()
['1-3 (most deprived)', '4-7', '8-10 (least deprived)', 'unknown']
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from vru_risk.data.contract import AUDIT_ONLY_COLUMNS
from vru_risk.fairness_reports.allocation import (
    Allocation,
    NoReplay,
    Replay,
    allocation_section,
    replay_predictions,
)
from vru_risk.fairness_reports.audit import AuditResult, audit
from vru_risk.fairness_reports.bootstrap import bootstrap_intervals
from vru_risk.fairness_reports.gate import FairnessGate, FairnessGateConfig, evaluate_gate
from vru_risk.fairness_reports.groups import UNKNOWN
from vru_risk.fairness_reports.metrics import (
    MIN_PEOPLE,
    MIN_PEOPLE_FLAGGED,
    MIN_PEOPLE_WITH_OUTCOME,
)
from vru_risk.fairness_reports.mitigation import AS_IS, compare_mitigations
from vru_risk.fairness_reports.notes import GroupNote
from vru_risk.fairness_reports.operating_points import ServiceLists

PRIMARY = "recorded label"
OUTCOMES: Mapping[str, str] = {
    PRIMARY: "label_serious_violence",
    "harm only": "label_serious_violence_harm",
    "true involvement": "label_true_involvement",
}
ATTRIBUTES = ("sex", "ethnicity", "sen", "fsm", "looked_after", "imd_band", "age_band")
INTERSECTIONS: tuple[tuple[str, ...], ...] = (("ethnicity", "sex"),)
#: the allocation of an audit given only scores: the hindsight lists, said to be a fallback
NO_CONTEXT = NoReplay(
    why="the audit was given the scores without the data folder that says which programmes "
    "each moment was eligible for",
    fix="audit the version with `vru audit --version N --data DATA_DIR`, DATA_DIR being the "
    "data folder it was trained on",
)


def imd_band(decile: pd.Series) -> pd.Series:
    values = pd.to_numeric(decile, errors="coerce").astype("float64")
    out = np.where(
        values.isna(),
        UNKNOWN,
        np.where(
            values <= 3,
            "1-3 (most deprived)",
            np.where(values <= 7, "4-7", "8-10 (least deprived)"),
        ),
    )
    return pd.Series(out, index=decile.index, dtype=object)


def age_band(birth: pd.Series, as_of: pd.Series) -> pd.Series:
    b, a = pd.to_datetime(birth), pd.to_datetime(as_of)
    years = (
        a.dt.year
        - b.dt.year
        - ((a.dt.month < b.dt.month) | ((a.dt.month == b.dt.month) & (a.dt.day < b.dt.day))).astype(
            int
        )
    )
    out = np.where(years <= 11, "8-11", np.where(years <= 14, "12-14", "15-18"))
    return pd.Series(np.where(years.isna(), UNKNOWN, out), index=as_of.index, dtype=object)


def variant_name(column: str) -> str:
    """The mitigation table's name of a ``variant_*`` score column (``variant_a_b`` → ``a b``)."""
    return column.removeprefix("variant_").replace("_", " ")


def sensitive_frame(rows: pd.DataFrame, people: pd.DataFrame) -> pd.DataFrame:
    """Audit-only attributes per example (same index as ``rows``)."""
    missing = [c for c in ("person_id", "birth_date", *AUDIT_ONLY_COLUMNS) if c not in people]
    if missing:
        raise ValueError(f"people lacks column(s) {', '.join(missing)} needed for the audit")
    if people["person_id"].duplicated().any():
        raise ValueError("people lists a person_id more than once; validate the data folder")
    joined = rows[["person_id", "as_of"]].merge(
        people[["person_id", "birth_date", *AUDIT_ONLY_COLUMNS]], on="person_id", how="left"
    )
    joined.index = rows.index
    out = pd.DataFrame(index=rows.index)
    for col in ("sex", "ethnicity", "sen"):
        out[col] = joined[col].astype(object).where(joined[col].notna(), UNKNOWN)
    for col in ("fsm", "looked_after"):
        mapped = joined[col].map({True: "yes", False: "no"}).astype(object)
        out[col] = mapped.where(mapped.notna(), UNKNOWN)
    out["imd_band"] = imd_band(joined["imd_decile"])
    out["age_band"] = age_band(joined["birth_date"], joined["as_of"])
    return out


@dataclass
class ModelAudit:
    audits: dict[str, AuditResult]
    intervals: pd.DataFrame
    gate: FairnessGate
    primary: str = PRIMARY
    proxy: list[dict[str, Any]] = field(default_factory=list)
    window: dict[str, Any] = field(default_factory=dict)
    mitigation: list[dict[str, Any]] = field(default_factory=list)
    mitigation_notes: list[GroupNote] = field(default_factory=list)
    """The groups the mitigations had to leave out (the audit's, the intervals' and the gate's
    own notes are on ``audits``, ``intervals`` and ``gate``)."""
    allocation: dict[str, Any] = field(default_factory=dict)
    """The report's ``allocation`` section (:func:`~.allocation.allocation_section`)."""

    @property
    def replayed(self) -> bool:
        """Whether the rates are those of the service's allocation, replayed."""
        return bool(self.allocation.get("replayed"))


def audit_model(
    predictions: pd.DataFrame,
    people: pd.DataFrame,
    *,
    capacity: int,
    seed: int,
    gate_config: FairnessGateConfig,
    allocation: Allocation = NO_CONTEXT,
    n_resamples: int = 1000,
    min_count: int = MIN_PEOPLE,
    min_positives: int = MIN_PEOPLE_WITH_OUTCOME,
    min_flagged: int = MIN_PEOPLE_FLAGGED,
) -> ModelAudit:
    """Audit the calibrated scores of ``predictions`` against every outcome available, at the
    places the service would have offered (``allocation``: a :class:`Replay`), or at the
    hindsight monthly lists when it cannot be replayed (a :class:`NoReplay` saying why)."""
    audits: dict[str, AuditResult] = {}
    intervals = pd.DataFrame()
    predictions = predictions.reset_index(drop=True)
    replayed = None
    if isinstance(allocation, Replay):
        replayed = replay_predictions(predictions, allocation)
    hindsight: dict[str, Any] = {}
    for outcome, column in OUTCOMES.items():
        if column not in predictions.columns:
            continue
        keep = predictions[column].notna().to_numpy()
        rows = predictions[keep].reset_index(drop=True)
        if rows.empty:
            continue
        sensitive = sensitive_frame(rows, people)[list(ATTRIBUTES)]
        lists = ServiceLists(
            capacity=capacity,
            seed=seed,
            person_id=rows["person_id"].to_numpy(),
            as_of=pd.to_datetime(rows["as_of"]).to_numpy(),
        )
        point = lists if replayed is None else replayed[0].restricted(keep)
        y = rows[column].to_numpy(dtype="float64")
        score = rows["score"].to_numpy(dtype="float64")
        audits[outcome] = audit(
            y,
            score,
            sensitive_features=sensitive,
            operating_point=point,
            intersections=INTERSECTIONS,
            probability=score,
            person_id=rows["person_id"].to_numpy(),
            min_count=min_count,
            min_positives=min_positives,
            min_flagged=min_flagged,
        )
        if outcome == PRIMARY:
            bound = audits[outcome]
            if replayed is not None:  # the hindsight lists, audited beside it as a bound
                bound = audit(
                    y,
                    score,
                    sensitive_features=sensitive,
                    operating_point=lists,
                    min_count=min_count,
                    min_positives=min_positives,
                    min_flagged=min_flagged,
                )
            hindsight = _overall(bound)
            intervals = bootstrap_intervals(
                y,
                score,
                sensitive_features=sensitive,
                operating_point=point,
                person_id=rows["person_id"].to_numpy(),
                probability=score,
                n_resamples=n_resamples,
                seed=seed,
                intersections=INTERSECTIONS,
                min_count=min_count,
                min_positives=min_positives,
                min_flagged=min_flagged,
            )
    if PRIMARY not in audits:
        raise ValueError("the predictions hold no labelled examples to audit")
    gate = evaluate_gate(intervals, audits[PRIMARY].by_group, gate_config)
    labelled = predictions[predictions["label_serious_violence"].notna()].reset_index(drop=True)
    scores = {AS_IS: labelled["score"].to_numpy(dtype="float64")}
    for col in (c for c in labelled.columns if c.startswith("variant_")):
        scores[variant_name(col)] = labelled[col].to_numpy(dtype="float64")
    mitigation = compare_mitigations(
        labelled.assign(label=labelled["label_serious_violence"]),
        scores,
        sensitive_frame(labelled, people)[list(ATTRIBUTES)],
        capacity=capacity,
        seed=seed,
        attribute="ethnicity",
        min_count=min_count,
        min_positives=min_positives,
        min_flagged=min_flagged,
    )
    as_of = pd.to_datetime(predictions["as_of"])
    window = {
        "from": str(as_of.min().date()),
        "to": str(as_of.max().date()),
        "examples": len(predictions),
        "labelled": int(predictions["label_serious_violence"].notna().sum()),
        "people": int(predictions["person_id"].nunique()),
        "folds": sorted(int(f) for f in predictions["fold"].unique())
        if "fold" in predictions
        else [],
        "capacity_per_month": capacity,
    }
    section = allocation_section(
        allocation,
        None if replayed is None else replayed[1],
        predictions["label_serious_violence"].to_numpy(dtype="float64"),
        hindsight=hindsight,
        capacity=capacity,
    )
    window["operating_point"] = section["operating_point"]
    return ModelAudit(
        audits, intervals, gate, PRIMARY, [], window, mitigation.rows, mitigation.notes, section
    )


def _overall(result: AuditResult) -> dict[str, Any]:
    """The hindsight bound's figures: who its lists counted and flagged, and how well."""
    overall = result.overall

    def share(key: str) -> float | None:
        value = float(overall[key])
        return None if np.isnan(value) else value

    return {
        "population": result.population,
        "count": int(overall["count"]),
        "flagged": int(overall["flagged"]),
        "precision": share("ppv"),
        "recall": share("tpr"),
        "selection_rate": share("selection_rate"),
    }
