"""The jobs run from Python, without the CLI: a training, an audit and the daily flags job on
the demo county (the session's county and feature table, built once for every package's tests).

The training is the session's (:mod:`tests.trained`: ``train`` called from Python on the
county's data folder, the default experiment with one small booster, LightGBM on one thread);
this module's home is a copy of its home, where the audit and the flags job use its version.
The jobs take their Settings as an argument: this module's VRU_HOME is its own, whatever the
environment says.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from datetime import date
from importlib import resources
from pathlib import Path

import pytest

from tests.trained import (
    TRAINED_BY,
    TrainedHome,
    copy_home,
    one_thread,
    one_thread_settings,
    seed_feature_cache,
)
from vru_risk.fairness_reports.verdicts import AUDIT_RULES
from vru_risk.flags.ledger import issued_file, read_flags_file
from vru_risk.flags.programmes import load_programmes
from vru_risk.jobs.audit import AuditOutcome, audit_version
from vru_risk.jobs.common import JobError
from vru_risk.jobs.events import Event, FeaturesReused, StepsDone, StepStarted
from vru_risk.jobs.flags import FlagsRequest, run
from vru_risk.jobs.train import TrainRequest, TrainResult, train
from vru_risk.models.promotion import review
from vru_risk.models.registry import Registry
from vru_risk.models.review_log import ReviewLog
from vru_risk.models.tags import (
    ALLOCATION_RULE,
    AUDIT_ALLOCATION_TAG,
    AUDIT_RULES_TAG,
    CANDIDATE,
    FAIRNESS_TAG,
    TRAINED_BY_TAG,
    TRAINING_ALLOCATION_TAG,
    VERDICT_CHANGED_TAG,
)
from vru_risk.settings import Settings
from vru_risk.training.config import load_experiment
from vru_risk.training.results import LIGHTGBM


@pytest.fixture(scope="module")
def single_thread() -> Iterator[None]:
    with pytest.MonkeyPatch.context() as patch:
        one_thread(patch)
        yield


@pytest.fixture(scope="module")
def settings(tmp_path_factory: pytest.TempPathFactory, trained_home: TrainedHome) -> Settings:
    """This module's home: a copy of the session's trained home."""
    return one_thread_settings(copy_home(trained_home, tmp_path_factory.mktemp("jobs-home")))


@pytest.fixture(scope="module")
def trained(trained_home: TrainedHome) -> TrainResult:
    """The session's training, from the data folder (its feature table already in the cache),
    as `vru train --data`."""
    return trained_home.result


@pytest.fixture(scope="module")
def audited(
    settings: Settings,
    trained: TrainResult,
    county: Path,
    county_features: Path,
    single_thread: None,
) -> tuple[AuditOutcome, list[Event]]:
    seed_feature_cache(settings.home, county / "data", county_features)
    heard: list[Event] = []
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr("vru_risk.jobs.audit.PROXY_SAMPLE", 3_000)
        outcome = audit_version(
            settings,
            trained.outcome.version.version,
            county / "data",
            resamples=100,
            on_event=heard.append,
        )
    return outcome, heard


def test_a_training_runs_from_python_and_registers_its_version(
    settings: Settings, trained: TrainResult, trained_home: TrainedHome
) -> None:
    outcome = trained.outcome
    assert outcome.state == CANDIDATE and outcome.performance.passed
    # the session's table, cached in the home it was trained in
    assert trained.table.parent == trained_home.settings.features_dir
    models = set(trained.experiment.summary["model"])
    assert {"lightgbm", "logistic_regression", "oracle"} <= models
    version = Registry(settings.tracking_uri).version(outcome.version.version)
    assert version.aliases == ("candidate",)
    assert version.tags[TRAINED_BY_TAG] == TRAINED_BY


def test_a_training_from_a_data_folder_judges_the_places_the_service_would_offer(
    settings: Settings, trained: TrainResult
) -> None:
    result = trained.experiment
    assert result.replayed and result.allocation is not None
    pooled = result.pooled[LIGHTGBM].metrics
    # the metrics at capacity are the replayed offers', the monthly lists beside them
    assert pooled["precision_at_capacity"] == pooled["offered_positive"] / pooled["offered"]
    assert pooled["hindsight_precision_at_capacity"] > pooled["precision_at_capacity"]
    assert 0 < pooled["places_used_share"] <= 1 and 0 < pooled["days_with_place_share"] <= 1
    assert "precision at capacity: the places the service would have offered" in (
        result.allocation_text()
    )
    registry = Registry(settings.tracking_uri)
    version = registry.version(trained.outcome.version.version)
    assert version.tags[TRAINING_ALLOCATION_TAG] == ALLOCATION_RULE
    assert version.metric("precision_at_capacity") == pytest.approx(
        pooled["precision_at_capacity"], abs=1e-6
    )
    params = registry.client.get_run(trained.outcome.run_id).data.params
    expected = hashlib.sha256(
        resources.files("vru_risk.flags").joinpath("programmes.yaml").read_bytes()
    ).hexdigest()
    assert params["allocation"] == ALLOCATION_RULE
    assert params["programmes_sha256"] == expected
    assert {k: v for k, v in params.items() if k.startswith("policy.")} == {
        f"policy.{p.id}": p.policy for p in load_programmes().programmes
    }


def test_a_training_refuses_a_request_without_one_source_of_features(
    settings: Settings, county_features: Path
) -> None:
    with pytest.raises(JobError, match="not both or neither"):
        train(settings, TrainRequest(load_experiment()))
    with pytest.raises(JobError, match="not both or neither"):
        train(
            settings,
            TrainRequest(load_experiment(), data=county_features.parent, table=county_features),
        )


def test_an_audit_runs_from_python_writes_the_report_and_tags_the_gate(
    settings: Settings, trained: TrainResult, audited: tuple[AuditOutcome, list[Event]]
) -> None:
    outcome, heard = audited
    version = trained.outcome.version.version
    assert outcome.html_path == settings.report_dir(version) / "report.html"
    assert outcome.html_path.is_file() and outcome.json_path.is_file()
    assert outcome.report["subject"]["version"] == version
    assert outcome.gate.status in {"pass", "fail", "inconclusive"}
    tags = Registry(settings.tracking_uri).version(version).tags
    assert tags[FAIRNESS_TAG] == outcome.gate.status
    # the rates are those of the service's allocation, replayed: the version says so
    assert tags[AUDIT_ALLOCATION_TAG] == ALLOCATION_RULE
    # and the rules the verdict was reached under; a first audit changes no verdict
    assert tags[AUDIT_RULES_TAG] == AUDIT_RULES
    assert VERDICT_CHANGED_TAG not in tags
    allocation = outcome.report["allocation"]
    assert allocation["replayed"] and allocation["fallback"] is None
    assert outcome.report["population"] == "moments"
    assert outcome.report["operating_point"]["kind"] == "service_allocation"
    figures, bound = allocation["figures"], allocation["hindsight_bound"]
    assert 0 < figures["offered"] < figures["moments"] and figures["places"] > 0
    assert bound["name"] == "hindsight bound" and bound["flagged"] > 0
    # what a CLI would say, in order: the cached table reused, two steps, their end
    assert isinstance(heard[0], FeaturesReused)
    assert [type(e) for e in heard[1:]] == [StepStarted, StepStarted, StepsDone]


def test_the_daily_flags_job_runs_from_python_for_the_approved_version(
    settings: Settings,
    trained: TrainResult,
    audited: tuple[AuditOutcome, list[Event]],
    county: Path,
    tmp_path: Path,
) -> None:
    registry, log = Registry(settings.tracking_uri), ReviewLog(settings.review_log_path)
    version = trained.outcome.version.version
    passed = audited[0].gate.passed
    for reviewer in ("panel-1",) if passed else ("panel-1", "panel-2"):
        review(
            "approve" if passed else "override",
            version=version,
            reviewer=reviewer,
            reason="job tests",
            registry=registry,
            log=log,
        )
    manifest = json.loads((county / "data" / "manifest.json").read_text(encoding="utf-8"))
    extract = date.fromisoformat(manifest["extract_date"])
    out = tmp_path / "flags.jsonl"
    result = run(settings, FlagsRequest(county / "data", extract, out, days=14))
    assert result.model_ref.version == version and result.days[-1] == extract
    written = read_flags_file(out, today=date.today())
    assert written == result.batch.flags and written
    assert all(f.scoring_model.version == version for f in written)
    for day in result.days:  # the ledger holds each day's offers
        assert issued_file(settings.issued_dir, day).exists()
    assert (settings.flags_dir / f"moments-{extract.isoformat()}").is_dir()
