"""Shared test factories: the packaged feature spec and a small RiskModel trained on a world with
known signal (fixtures ``spec`` and ``risk_model``, shared with every test by the root conftest).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from vru_risk.features.catalog import FeatureSpec
from vru_risk.models.calibration import SigmoidCalibration
from vru_risk.models.risk_model import RiskModel, feature_medians, reference_quantiles
from vru_risk.training.config import load_experiment
from vru_risk.training.fit import BoosterParams, fit_lightgbm


@pytest.fixture(scope="session")
def spec() -> FeatureSpec:
    return load_experiment().feature_spec()


def frame_for(spec: FeatureSpec, n: int, seed: int) -> tuple[pd.DataFrame, np.ndarray]:
    rng = np.random.default_rng(seed)
    names = list(spec.names)
    x = pd.DataFrame(rng.poisson(0.4, size=(n, len(names))).astype("float64"), columns=names)
    x["att_rate_365d"] = rng.uniform(0.5, 1.0, n)
    # rates and changes in their own ranges, so that phrases read like real ones
    for f in spec.features:
        if f.aggregate == "rate" and f.name != "att_rate_365d":
            low, high = (0.5, 1.0) if f.family == "attendance_presence" else (0.0, 0.3)
            x[f.name] = rng.uniform(low, high, n)
        elif f.aggregate == "change":
            x[f.name] = rng.uniform(-0.3, 0.1, n)
        elif f.aggregate == "age":
            x[f.name] = rng.uniform(8.0, 18.9, n)
    x.loc[rng.random(n) < 0.1, [c for c in names if c.startswith("att_")]] = np.nan
    logit = -3 + 1.5 * x["pol_suspect_365d"] - 3 * (x["att_rate_365d"].fillna(0.9) - 0.9)
    y = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype("float64")
    return x, y


@pytest.fixture(scope="session")
def risk_model(spec: FeatureSpec) -> RiskModel:
    x, y = frame_for(spec, 4000, 0)
    booster = fit_lightgbm(
        x.to_numpy(), y, BoosterParams(60, 7, 0.1, 20), seed=0, names=list(spec.names)
    )
    xc, yc = frame_for(spec, 2000, 1)
    raw = np.asarray(booster.predict(xc.to_numpy(), raw_score=True))
    calibrator = SigmoidCalibration().fit(raw, yc)
    return RiskModel(
        spec=spec,
        booster=booster,
        calibrator=calibrator,
        reference_scores=reference_quantiles(calibrator.transform(raw)),
        source_patterns={"": 3600, "attendance": 400},
        feature_medians=feature_medians(xc),
        info={"train_end": "2024-01-01"},
    )
