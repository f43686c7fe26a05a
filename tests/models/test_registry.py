"""The registry on a temporary SQLite store: tags, artifacts, signature, aliases, blocks."""

from __future__ import annotations

from pathlib import Path

import mlflow
import numpy as np
import pytest
import yaml
from mlflow.exceptions import MlflowException

from tests.factories import frame_for
from vru_risk.models.registry import Registry, RegistryError, ensure_experiment, tracking
from vru_risk.models.risk_model import RiskModel
from vru_risk.models.tags import BLOCKED, CANDIDATE, REJECTED


def register(registry: Registry, model: RiskModel, state: str, root: Path) -> int:
    sample = frame_for(model.spec, 50, 3)[0]
    with tracking(registry.uri):
        experiment = ensure_experiment("tests", (root / "artifacts").as_uri())
        with mlflow.start_run(experiment_id=experiment):
            info = registry.log_and_register(
                model,
                sample=sample,
                tags={"vru.spec_hash": model.spec.hash, "vru.metric.auc": "0.880000"},
                state=state,
            )
    return info.version


@pytest.fixture
def registry(vru_home: Path) -> Registry:
    return Registry(f"sqlite:///{vru_home / 'mlflow.db'}")


def test_a_version_has_its_tags_files_and_a_signature(
    registry: Registry, risk_model: RiskModel, vru_home: Path
) -> None:
    version = register(registry, risk_model, CANDIDATE, vru_home)
    info = registry.version(version)
    assert info.state == CANDIDATE
    assert info.tags["vru.spec_hash"] == risk_model.spec.hash
    assert info.tags["vru.content_hash"] == risk_model.content_hash
    assert info.metric("auc") == pytest.approx(0.88)
    with tracking(registry.uri):
        local = Path(mlflow.artifacts.download_artifacts(f"models:/vru-risk/{version}"))
    mlmodel = yaml.safe_load((local / "MLmodel").read_text())
    assert mlmodel["signature"]["inputs"] is not None
    inputs = yaml.safe_load(mlmodel["signature"]["inputs"])
    assert [c["name"] for c in inputs] == list(risk_model.spec.names)
    assert {c["type"] for c in inputs} == {"double"}
    files = {p.name for p in (local / "artifacts" / "risk_model").iterdir()}
    assert {"booster.txt", "calibration.json", "feature_spec.json", "risk_model.json"} <= files
    assert not list(local.rglob("*.pkl")) and not list(local.rglob("*.pickle"))


def test_loading_by_alias_gives_identical_scores_and_pyfunc_agrees(
    registry: Registry, risk_model: RiskModel, vru_home: Path
) -> None:
    version = register(registry, risk_model, CANDIDATE, vru_home)
    registry.set_alias("candidate", version)
    loaded, info = registry.load("candidate")
    assert info.version == version and info.aliases == ("candidate",)
    rows = frame_for(risk_model.spec, 100, 9)[0]
    assert np.array_equal(loaded.predict(rows), risk_model.predict(rows))
    assert loaded.content_hash == risk_model.content_hash
    with tracking(registry.uri):
        pyfunc = mlflow.pyfunc.load_model("models:/vru-risk@candidate")
        assert np.allclose(pyfunc.predict(rows), risk_model.predict(rows))
        with pytest.raises(MlflowException, match=r"[Ss]chema|column"):
            pyfunc.predict(rows.drop(columns=["age_years"]))


def test_a_blocked_version_can_get_no_alias(
    registry: Registry, risk_model: RiskModel, vru_home: Path
) -> None:
    good = register(registry, risk_model, CANDIDATE, vru_home)
    blocked = register(registry, risk_model, BLOCKED, vru_home)
    rejected = register(registry, risk_model, REJECTED, vru_home)
    other = register(registry, risk_model, CANDIDATE, vru_home)
    for version, gate in ((good, "pass"), (blocked, "pass"), (rejected, "fail"), (other, "pass")):
        registry.set_tag(version, "vru.gate.performance", gate)
    registry.set_tag(other, "vru.capacity_per_month", "10")
    with pytest.raises(RegistryError, match=r"blocked: suspected leakage.*ethics panel"):
        registry.set_alias("candidate", blocked)
    assert registry.alias("candidate") is None
    # the tripwire's yardstick: not blocked, performance gate passed, judged on the same terms
    assert registry.previous().version == other  # type: ignore[union-attr]
    same_terms = {"vru.capacity_per_month": "40"}
    registry.set_tag(good, "vru.capacity_per_month", "40")
    assert registry.previous(like=same_terms).version == good  # type: ignore[union-attr]
    assert registry.previous(before=good) is None
    assert [v.version for v in registry.versions()] == [good, blocked, rejected, other]


def test_unknown_versions_and_aliases_are_named(registry: Registry) -> None:
    assert registry.versions() == []
    with pytest.raises(RegistryError, match="no version 7"):
        registry.version(7)
    with pytest.raises(RegistryError, match="alias 'champion'"):
        registry.load("champion")
    with pytest.raises(RegistryError, match="foo://nowhere"):
        Registry("foo://nowhere").check()
