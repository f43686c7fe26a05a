"""Fixtures shared by the CLI tests of `vru flags generate` on either engine."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
import yaml

from vru_risk.features.config import FeatureBuildConfig
from vru_risk.flags.programmes import load_programmes
from vru_risk.models.risk_model import RiskModel


@pytest.fixture
def open_programmes(tmp_path: Path) -> Path:
    """The packaged programmes with no percentile threshold (the test model is a toy)."""
    doc = load_programmes().model_dump(mode="json")
    for p in doc["programmes"]:
        p["min_percentile"] = 0
    path = tmp_path / "programmes.yaml"
    path.write_text(yaml.safe_dump(doc), encoding="utf-8")
    return path


@pytest.fixture
def deployable(risk_model: RiskModel) -> RiskModel:
    info = {**risk_model.info, "build_config": FeatureBuildConfig().model_dump_json()}
    return dataclasses.replace(risk_model, info=info)
