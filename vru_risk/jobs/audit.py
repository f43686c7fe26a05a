"""The audit job: the fairness audit of a registered model version, its report and gate tag.

:func:`audit_version` fetches what the version's training run logged (its test-fold
predictions, performance summary and experiment), refits the re-weighed mitigation variant,
audits every outcome by group and intersection with bootstrap intervals, runs the proxy test,
writes the report (HTML and JSON) under ``VRU_HOME/reports/``, logs it to the run and tags the
version with the fairness gate's verdict and the allocation its rates describe
(:data:`~vru_risk.models.tags.AUDIT_ALLOCATION_TAG`: :data:`~vru_risk.models.tags.ALLOCATION_RULE`
when the service's allocation was replayed over the audit window, :data:`HINDSIGHT_LISTS` when the
audit had to fall back to the hindsight monthly lists), and the rules its verdict was reached
under, marking a verdict that changed under new rules
(:func:`~vru_risk.fairness_reports.verdicts.changed_verdict_tags`). The replay reads each
moment's context
from the data folder (:func:`~vru_risk.features.context.moment_context`), the programmes from
``settings.programmes_path`` and the percentiles from the version's reference distribution.
:func:`fairness_gate_config` is where the gate's thresholds come from, for a model's audit and
for any tool's scores alike.
"""

from __future__ import annotations

import itertools
import tempfile
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pandas as pd
from mlflow.exceptions import MlflowException

from vru_risk.data.load import DataFolder, InvalidDataError, open_folder, register_sources
from vru_risk.data.validate import FolderNotFoundError
from vru_risk.fairness_reports.allocation import Allocation, NoReplay, Replay
from vru_risk.fairness_reports.gate import FairnessGate, FairnessGateConfig
from vru_risk.fairness_reports.labels import performance_words, with_feature_words
from vru_risk.fairness_reports.model_audit import (
    PRIMARY,
    ModelAudit,
    audit_model,
    sensitive_frame,
    variant_name,
)
from vru_risk.fairness_reports.notes import CANNOT_ASSESS, GroupNote, one_per_group
from vru_risk.fairness_reports.proxy import proxy_notes, proxy_test
from vru_risk.fairness_reports.report import build_report, write_report
from vru_risk.fairness_reports.reweighing import reweighing_notes, reweighing_weights
from vru_risk.fairness_reports.verdicts import changed_verdict_tags
from vru_risk.features.catalog import DEFAULT_REPORTING_LAG_DAYS
from vru_risk.features.context import moment_context
from vru_risk.flags.programmes import ProgrammeConfigError, load_programmes
from vru_risk.jobs.common import JobError, Progress, engine_options
from vru_risk.jobs.events import Listener, ReweighingSkipped, StepsDone, StepStarted, ignore
from vru_risk.jobs.train import feature_table
from vru_risk.models.artifacts import PREDICTIONS_FILE
from vru_risk.models.registry import Registry, RegistryError, VersionInfo
from vru_risk.models.review_log import ReviewLog
from vru_risk.models.risk_model import RiskModel
from vru_risk.models.tags import (
    ALLOCATION_RULE,
    AUDIT_ALLOCATION_TAG,
    CONTENT_HASH_TAG,
    DATA_FINGERPRINT_TAG,
    EXPERIMENT_HASH_TAG,
    FAIRNESS_REPORT_TAG,
    FAIRNESS_TAG,
    PARENT_RUN_TAG,
    TRAIN_END_TAG,
)
from vru_risk.settings import Settings
from vru_risk.training.config import ExperimentConfig, ExperimentConfigError, load_experiment
from vru_risk.training.data import FeatureTableError, load_feature_table
from vru_risk.training.fit import params_from_text
from vru_risk.training.variants import weighted_variant

PROXY_LEVEL = 0.7
PROXY_SAMPLE = 20_000
REWEIGHED = "variant_reweighted_by_ethnicity_in_training"
REWEIGHED_ROW = variant_name(REWEIGHED)
#: the value of AUDIT_ALLOCATION_TAG when the audit fell back to the hindsight monthly lists
HINDSIGHT_LISTS = "hindsight-monthly-top-k"


@dataclass(frozen=True)
class AuditOutcome:
    """The gate's verdict, where the report was written, and the report itself."""

    gate: FairnessGate
    json_path: Path
    html_path: Path
    report: dict[str, Any]


def fairness_gate_config(experiment: ExperimentConfig | None = None) -> FairnessGateConfig:
    """The fairness gate's thresholds for an audit (of a model trained with ``experiment``,
    or of any tool's scores when None): the one place they are chosen. A model's experiment file
    carries them in its ``fairness_gate:`` section (one logged before that section existed loads
    the defaults); scores from another tool are judged by the defaults."""
    return experiment.fairness_gate if experiment is not None else FairnessGateConfig()


def open_data(settings: Settings, data: Path) -> DataFolder:
    """The checked data folder the audit reads people and the moments' context from."""
    try:
        return open_folder(data, today=date.today(), **engine_options(settings))
    except (InvalidDataError, FolderNotFoundError) as exc:
        raise JobError(str(exc)) from None


def read_people(folder: DataFolder) -> tuple[pd.DataFrame, str]:
    """The people table of a data folder (typed through the contract) and its fingerprint."""
    con = duckdb.connect()
    try:
        register_sources(con, folder, DEFAULT_REPORTING_LAG_DAYS)
        people = con.execute("SELECT * FROM src_people").df()
    finally:
        con.close()
    return people, folder.fingerprint


def audit_version(
    settings: Settings,
    version: int,
    data: Path,
    *,
    resamples: int = 1000,
    demo: bool = False,
    gate_config: FairnessGateConfig | None = None,
    progress: Progress | None = None,
    on_event: Listener = ignore,
) -> AuditOutcome:
    """Audit ``version`` over its audit window on the data it was trained on; write and log
    the report; tag the gate. ``gate_config`` defaults to :func:`fairness_gate_config` of the
    version's experiment."""
    registry = Registry(settings.tracking_uri)
    try:
        info = registry.version(version)
    except RegistryError as exc:
        raise JobError(str(exc)) from None
    parent = info.tags.get(PARENT_RUN_TAG)
    if not parent:
        raise JobError(f"version {version} has no training run recorded; it cannot be audited")
    folder = open_data(settings, data)
    people, fingerprint = read_people(folder)
    if fingerprint != info.tags.get(DATA_FINGERPRINT_TAG):
        raise JobError(
            f"{data} is not the data version {version} was trained on (fingerprint "
            f"{fingerprint[:16]}... vs {info.tags.get(DATA_FINGERPRINT_TAG, '')[:16]}...); "
            "audit with the same data folder"
        )
    run = registry.client.get_run(parent)
    capacity = int(run.data.params.get("capacity_per_month", "40"))
    seed = int(run.data.params.get("seed", "0"))
    with tempfile.TemporaryDirectory(prefix="vru-audit-") as tmp:
        tmp_path = Path(tmp)
        try:
            predictions = pd.read_parquet(registry.download(parent, PREDICTIONS_FILE, tmp_path))
        except MlflowException as exc:
            raise JobError(
                f"version {version}'s test-fold predictions, the data its fairness audit reads, "
                f"cannot be read from its training run ({str(exc)[:160]}). `vru retention apply` "
                "deletes them once they are past VRU_RETENTION_MONTHS; the version then keeps "
                "its last fairness report (its vru.fairness_report tag) but cannot be audited again"
            ) from None
        summary = pd.read_csv(registry.download(parent, "summary.csv", tmp_path))
        config_file = registry.download(parent, "experiment.yaml", tmp_path)
        try:
            config = load_experiment(config_file)
        except ExperimentConfigError as exc:
            raise JobError(f"the experiment of version {version} cannot be read: {exc}") from None
        table = feature_table(settings, config, None, folder, progress=progress, on_event=on_event)
        on_event(StepStarted("re-weighing by ethnicity: the booster refitted on every fold"))
        model, _ = registry.load(version)
        predictions, reweighing = with_reweighted_variant(
            model, version, predictions, people, table, config, on_event=on_event
        )
        on_event(StepStarted("auditing: every group, bootstrap intervals, proxy test"))
        result = audit_model(
            predictions,
            people,
            capacity=capacity,
            seed=seed,
            gate_config=gate_config or fairness_gate_config(config),
            allocation=service_replay(settings, version, config, folder, predictions, model),
            n_resamples=resamples,
        )
        spec = config.feature_spec()
        proxy, proxy_skipped = _proxies(table, predictions, people, spec.names, seed)
        phrases = {f.name: f.phrase for f in spec.features}
        proxy = with_feature_words(proxy, phrases)
        on_event(StepsDone())
    report = build_report(
        title=f"Fairness audit of vru-risk version {version}",
        subject=_subject(info),
        data_window=result.window,
        audits=result.audits,
        primary=PRIMARY,
        intervals=result.intervals,
        gate=result.gate,
        performance=performance_words(summary.to_dict(orient="records"), phrases),
        calibration=_calibration(result),
        proxy=proxy,
        mitigation=note_reweighing(result.mitigation, reweighing),
        review_history=review_history(settings, version),
        allocation=result.allocation,
        demo=demo,
        group_notes=[*result.mitigation_notes, *reweighing, *proxy_skipped],
    )
    out = settings.report_dir(version)
    json_path, html_path = write_report(report, out)
    registry.upload(parent, out, "fairness_report")
    last_seq = max((e.seq for e in ReviewLog(settings.review_log_path).entries()), default=0)
    for key, value in changed_verdict_tags(info.tags, result.gate.status, last_seq).items():
        registry.set_tag(version, key, value)
    registry.set_tag(version, FAIRNESS_TAG, result.gate.status)
    registry.set_tag(version, FAIRNESS_REPORT_TAG, str(html_path))
    registry.set_tag(
        version, AUDIT_ALLOCATION_TAG, ALLOCATION_RULE if result.replayed else HINDSIGHT_LISTS
    )
    return AuditOutcome(gate=result.gate, json_path=json_path, html_path=html_path, report=report)


def service_replay(
    settings: Settings,
    version: int,
    config: ExperimentConfig,
    folder: DataFolder,
    predictions: pd.DataFrame,
    model: RiskModel,
) -> Allocation:
    """What replaying the service's allocation over the audit window needs (each moment's
    context from ``folder``, the programmes file, the version's percentiles and the daily
    job's offer validity), or why it cannot be replayed and what to run."""
    try:
        programmes = load_programmes(settings.programmes_path)
    except ProgrammeConfigError as exc:
        raise JobError(
            f"the fairness audit replays the service's allocation with the programmes file, "
            f"which cannot be read: {exc}"
        ) from None
    as_of = pd.to_datetime(predictions["as_of"])
    start, end = as_of.min().date(), as_of.max().date()
    context = moment_context(
        folder, config.feature_spec(), config.features, start, end, **engine_options(settings)
    )
    keys = set(zip(context.frame["person_id"].astype(str), context.frame["as_of"], strict=True))
    audited = zip(predictions["person_id"].astype(str), as_of.dt.date, strict=True)
    if not any(key in keys for key in audited):
        return NoReplay(
            why=f"the data folder {folder.path} holds none of the audit window's teachable "
            f"moments ({start} to {end}), so no moment's eligibility for a programme is known",
            fix=f"audit with the data folder version {version} was trained on, holding its "
            f"trigger sources: `vru audit --version {version} --data DATA_DIR`",
        )
    return Replay(context, programmes, model.percentile, valid_days=settings.flag_visible_days)


def with_reweighted_variant(
    model: RiskModel,
    version: int,
    predictions: pd.DataFrame,
    people: pd.DataFrame,
    table: Path,
    config: ExperimentConfig,
    *,
    on_event: Listener = ignore,
) -> tuple[pd.DataFrame, list[GroupNote]]:
    """Add the re-weighing mitigation's scores to ``predictions`` (a ``variant_*`` column),
    with one note per ethnicity group that some fold's training data could not balance.

    Each fold's booster (the version's settings) is refitted with Kamiran and Calders' weights
    by ethnicity, computed here from the audit-only people table: training itself never sees a
    protected attribute, and the refitted model is group-blind at decision time.
    """
    params = params_from_text(model.info.get("params", ""))
    if params is None:
        on_event(ReweighingSkipped(version))
        return predictions, []
    try:
        data = load_feature_table(table, config.feature_spec(), config.features)
    except FeatureTableError as exc:
        raise JobError(str(exc)) from None
    ethnicity = people.set_index("person_id")["ethnicity"].astype(object)
    notes: list[GroupNote] = []
    folds = itertools.count(1)  # weighted_variant weighs the folds in order

    def weigh(rows: pd.DataFrame) -> np.ndarray:
        groups = rows["person_id"].map(ethnicity).to_numpy(dtype=object)
        labels = rows[data.label].to_numpy(dtype="float64")
        where = f"in fold {next(folds)}'s training data"
        notes.extend(reweighing_notes(groups, labels, attribute="ethnicity", where=where))
        return reweighing_weights(groups, labels)

    variant = weighted_variant(data, config, params, weigh).rename(columns={"score": REWEIGHED})
    keys = ["person_id", "as_of", "fold"]
    out = predictions.drop(columns=[REWEIGHED], errors="ignore")
    out = out.assign(as_of=pd.to_datetime(out["as_of"]))
    variant = variant.assign(as_of=pd.to_datetime(variant["as_of"]))
    merged = out.merge(variant, on=keys, how="left", validate="one_to_one")
    if merged[REWEIGHED].isna().any():
        raise JobError(
            f"the re-weighed refit did not score every audited example of version {version}; "
            "was the version trained on this feature table? Retrain it, then audit."
        )
    return merged.assign(as_of=predictions["as_of"].to_numpy()), one_per_group(notes)


def note_reweighing(
    mitigation: list[dict[str, Any]], notes: list[GroupNote]
) -> list[dict[str, Any]]:
    """The mitigation rows, the re-weighed refit's row noting the groups it could not balance."""
    if not notes:
        return mitigation
    names = ", ".join(n.group for n in notes)
    note = (
        f"could not balance {len(notes)} ethnicity group{'s' if len(notes) != 1 else ''} with "
        f"one outcome only in some fold's training data ({names}): see the groups that could "
        "not be assessed"
    )
    return [{**row, "note": note} if row["name"] == REWEIGHED_ROW else row for row in mitigation]


def review_history(settings: Settings, version: int) -> list[dict[str, Any]]:
    """The review log's entries about ``version``, as the report lists them."""
    return [
        {
            "seq": e.seq,
            "time": e.time,
            "action": e.action,
            "reviewer": e.reviewer,
            "reason": e.reason,
            "demo": e.demo,
        }
        for e in ReviewLog(settings.review_log_path).for_version(version)
    ]


def refresh_report(settings: Settings, version: int, report: dict[str, Any]) -> Path:
    """Rewrite a version's report with the review history as it now stands."""
    registry = Registry(settings.tracking_uri)
    updated = {**report, "review_history": review_history(settings, version)}
    out = settings.report_dir(version)
    _, html_path = write_report(updated, out)
    parent = registry.version(version).tags.get(PARENT_RUN_TAG)
    if parent:
        registry.upload(parent, out, "fairness_report")
    return html_path


def _subject(info: VersionInfo) -> dict[str, Any]:
    return {
        "kind": "model",
        "name": "vru-risk",
        "version": info.version,
        "content_hash": info.tags.get(CONTENT_HASH_TAG, ""),
        "state": info.state,
        "train_end": info.tags.get(TRAIN_END_TAG, ""),
        "experiment_hash": info.tags.get(EXPERIMENT_HASH_TAG, ""),
    }


def _calibration(result: ModelAudit) -> list[dict[str, Any]]:
    """Calibration error per group with its 95% interval (resampling people); a group too
    small to judge says why in ``note``."""
    rows = result.audits[PRIMARY].by_group
    table = result.intervals
    interval = {
        (str(a), str(g)): (lo, hi)
        for a, g, m, lo, hi in table[["attribute", "group", "metric", "low", "high"]].itertuples(
            index=False
        )
        if m == "calibration_error" and pd.notna(lo) and pd.notna(hi)
    }
    return [
        {
            "attribute": str(r["attribute"]),
            "group": str(r["group"]),
            "calibration_error": None
            if pd.isna(r["calibration_error"])
            else float(r["calibration_error"]),
            "interval_low": interval.get((str(r["attribute"]), str(r["group"])), (None, None))[0],
            "interval_high": interval.get((str(r["attribute"]), str(r["group"])), (None, None))[1],
            "note": f"{CANNOT_ASSESS}: {r['cannot_assess_reason']}"
            if pd.isna(r["calibration_error"]) and isinstance(r["cannot_assess_reason"], str)
            else None,
        }
        for _, r in rows.iterrows()
        if "*" not in str(r["attribute"])
    ]


def _proxies(
    table: Path,
    predictions: pd.DataFrame,
    people: pd.DataFrame,
    names: tuple[str, ...],
    seed: int,
) -> tuple[list[dict[str, Any]], list[GroupNote]]:
    """The proxy test on (a sample of) the audited examples, and its skipped groups' notes."""
    frame = pd.read_parquet(table, columns=["person_id", "as_of", *names])
    frame["as_of"] = pd.to_datetime(frame["as_of"])
    keys = predictions[["person_id", "as_of"]].assign(as_of=lambda d: pd.to_datetime(d["as_of"]))
    rows = keys.merge(frame, on=["person_id", "as_of"], how="inner")
    if len(rows) > PROXY_SAMPLE:
        rows = rows.sample(PROXY_SAMPLE, random_state=seed)
    rows = rows.reset_index(drop=True)
    sensitive = sensitive_frame(rows, people).drop(columns=["age_band"])
    return proxy_test(rows[list(names)], sensitive, level=PROXY_LEVEL, seed=seed), proxy_notes(
        sensitive
    )
