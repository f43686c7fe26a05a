"""``vru models card``: gather what exists about a version and write its model card and its UK
Algorithmic Transparency Recording Standard record (:mod:`vru_risk.monitoring.card`).

Sources: the registry (tags), the training run's pooled metrics (every model, baselines
included), the RiskModel (feature spec, windows, source availability), the fairness audit's
``report.json`` (``VRU_HOME/reports/vru-risk-vN/``, else the run's copy), the review log, the
monitoring reference and criteria, and ``VRU_HOME/governance.yaml``. A missing piece is stated
as missing in the documents. The four files go to ``VRU_HOME/cards/vru-risk-vN/`` and are logged
to the version's run under ``model_card/``. An unknown version is a :class:`JobError`.
"""

from __future__ import annotations

import json
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final

from mlflow.exceptions import MlflowException

from vru_risk.jobs.common import JobError
from vru_risk.jobs.monitor_data import criteria_of, governance_path, load_reference
from vru_risk.models.artifacts import LEGACY_POOLED_RUN, POOLED_PREFIX
from vru_risk.models.registry import Registry, RegistryError, VersionInfo
from vru_risk.models.review_log import ReviewLog, ReviewLogError
from vru_risk.models.tags import MONITORING_REFERENCE_TAG, PARENT_RUN_TAG
from vru_risk.monitoring.card import (
    METRIC_COLUMNS,
    CardSources,
    build_card,
)
from vru_risk.monitoring.card_render import checked_document, write_document
from vru_risk.monitoring.card_text import INTERVAL_KEYS
from vru_risk.monitoring.governance import GovernanceError, load_governance
from vru_risk.monitoring.reference import MonitoringReference
from vru_risk.monitoring.transparency import build_transparency
from vru_risk.settings import Settings

CARD_ARTIFACT = "model_card"


@dataclass(frozen=True)
class CardResult:
    version: int
    folder: Path
    card: dict[str, Any]
    transparency: dict[str, Any]


#: the documents ``vru models card`` writes: file stem -> what it is called
DOCUMENTS: Final = {"card": "model card", "transparency": "transparency record"}


def card_dir(settings: Settings, version: int) -> Path:
    return settings.home / "cards" / f"vru-risk-v{version}"


def card_command(version: int) -> str:
    return f"`vru models card --version {version}`"


def has_card(settings: Settings, version: int) -> bool:
    return (card_dir(settings, version) / "card.json").is_file()


def read_document(settings: Settings, version: int, stem: str) -> dict[str, Any] | None:
    """Version ``version``'s model card (``stem`` "card") or transparency record
    ("transparency") as ``vru models card`` wrote it, checked for the pages; None when it has
    not been made. A file that cannot be read is a :class:`JobError` saying to make it again."""
    if stem not in DOCUMENTS:
        raise ValueError(f"unknown document {stem!r}: one of {', '.join(DOCUMENTS)}")
    path = card_dir(settings, version) / f"{stem}.json"
    if not path.is_file():
        return None
    try:
        return checked_document(json.loads(path.read_text(encoding="utf-8")))
    except (OSError, ValueError) as exc:  # DocumentError and bad JSON are ValueErrors
        raise JobError(
            f"the {DOCUMENTS[stem]} of version {version} ({path}) cannot be read ({exc}); make "
            f"it again with {card_command(version)}"
        ) from None


def split_metrics(metrics: dict[str, float]) -> dict[str, dict[str, float]]:
    """The pooled run's ``{model}_{metric}`` keys, by model, for the card's metrics. A model is
    a prefix with an ``_auc`` key that does not extend another model's (``lightgbm_gap0`` is a
    variant of ``lightgbm``, not a model of its own).

    >>> split_metrics({"lightgbm_auc": 0.8, "lightgbm_gap0_auc": 0.7, "lightgbm_ece": 0.1})
    {'lightgbm': {'auc': 0.8}}
    """
    prefixes = sorted(k[: -len("_auc")] for k in metrics if k.endswith("_auc"))
    models = [p for p in prefixes if not any(p.startswith(f"{q}_") for q in prefixes)]
    wanted = [*(k for k, _ in METRIC_COLUMNS), *INTERVAL_KEYS]
    return {
        m: {k: float(metrics[f"{m}_{k}"]) for k in wanted if f"{m}_{k}" in metrics} for m in models
    }


def run_metrics(registry: Registry, info: VersionInfo) -> dict[str, dict[str, float]]:
    """The pooled test-fold metrics of the training run that made ``info``, by model: from its
    per-model pooled runs (``pooled/<model>``), or the single ``pooled`` run of older versions;
    LightGBM's from the version's tags when the run holds none (empty when nothing is found)."""
    out: dict[str, dict[str, float]] = {}
    parent = info.tags.get(PARENT_RUN_TAG, "")
    if parent:
        try:
            experiment = registry.client.get_run(parent).info.experiment_id
            runs = list(
                registry.client.search_runs(
                    [experiment],
                    filter_string=f"tags.mlflow.parentRunId = '{parent}' "
                    f"and tags.mlflow.runName LIKE '{LEGACY_POOLED_RUN}%'",
                )
            )
        except MlflowException:
            runs = []
        wanted = [*(k for k, _ in METRIC_COLUMNS), *INTERVAL_KEYS]
        for run in runs:
            name = run.info.run_name or ""
            if name.startswith(POOLED_PREFIX):
                metrics = run.data.metrics
                out[name.removeprefix(POOLED_PREFIX)] = {
                    k: float(metrics[k]) for k in wanted if k in metrics
                }
            elif name == LEGACY_POOLED_RUN:
                out = split_metrics(dict(run.data.metrics)) | out
    if "lightgbm" not in out:
        tagged = {k: info.metric(k) for k, _ in METRIC_COLUMNS}
        found = {k: v for k, v in tagged.items() if v is not None}
        if found:
            out["lightgbm"] = found
    return out


def _audit(
    settings: Settings, registry: Registry, info: VersionInfo
) -> tuple[dict[str, Any] | None, str | None]:
    local = settings.report_dir(info.version) / "report.json"
    try:
        if local.is_file():
            where = f"VRU_HOME/{local.relative_to(settings.home).as_posix()}"  # no server path
            return json.loads(local.read_text(encoding="utf-8")), where
        parent = info.tags.get(PARENT_RUN_TAG, "")
        if not parent:
            return None, None
        with tempfile.TemporaryDirectory(prefix="vru-card-") as tmp:
            got = registry.download(parent, "fairness_report/report.json", Path(tmp))
            return json.loads(got.read_text(encoding="utf-8")), f"run {parent}: fairness_report/"
    except (MlflowException, OSError, ValueError):
        return None, None


def _reference(
    settings: Settings, registry: Registry, info: VersionInfo
) -> MonitoringReference | None:
    if not info.tags.get(MONITORING_REFERENCE_TAG):
        return None
    try:
        return load_reference(settings, registry, info)
    except JobError:  # unreadable or another hash: the card says there is none to show
        return None


def gather(settings: Settings, registry: Registry, version: int) -> tuple[CardSources, str]:
    """Everything the documents are built from, and the run the version was logged in."""
    try:
        model, info = registry.load(version, threads=1)
    except RegistryError as exc:
        raise JobError(str(exc)) from None
    try:
        reviews = ReviewLog(settings.review_log_path).for_version(version)
        governance = load_governance(governance_path(settings))
    except (ReviewLogError, GovernanceError) as exc:
        raise JobError(str(exc)) from None
    audit, where = _audit(settings, registry, info)
    registered = datetime.fromtimestamp(info.created_ms / 1000, tz=UTC)
    sources = CardSources(
        model_name=registry.name,
        version=info.version,
        aliases=info.aliases,
        tags=dict(info.tags),
        registered=registered.isoformat(timespec="seconds"),
        model_info=dict(model.info),
        spec=model.spec,
        source_patterns=dict(model.source_patterns),
        run_metrics=run_metrics(registry, info),
        audit=audit,
        audit_location=where,
        reviews=tuple(reviews),
        reference=_reference(settings, registry, info),
        criteria=criteria_of(settings, registry, info),
        governance=governance,
        generated_at=datetime.now(UTC).isoformat(timespec="seconds"),
    )
    return sources, info.run_id


def make_card(settings: Settings, version: int) -> CardResult:
    """Build, write and log version ``version``'s model card and transparency record."""
    registry = Registry(settings.tracking_uri)
    sources, run_id = gather(settings, registry, version)
    card = build_card(sources)
    record = build_transparency(sources, card)
    folder = card_dir(settings, version)
    write_document(card, folder, "card")
    write_document(record, folder, "transparency")
    registry.upload(run_id, folder, CARD_ARTIFACT)
    return CardResult(version=version, folder=folder, card=card, transparency=record)
