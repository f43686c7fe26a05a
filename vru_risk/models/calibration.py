"""Calibrators: a null object or a sigmoid (Platt) map from the booster's raw log-odds.

A sigmoid calibrator is two numbers, stored as such (never pickled); :func:`calibrator_from`
rebuilds one from its parameters.

Example
-------
>>> import numpy as np
>>> NoCalibration().transform(np.array([0.0])).tolist()
[0.5]
>>> calibrator_from({"method": "sigmoid", "slope": 2.0, "intercept": 0.0}).transform(
...     np.array([0.0])).tolist()
[0.5]
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Protocol

import numpy as np
from sklearn.linear_model import LogisticRegression


def sigmoid(x: np.ndarray) -> np.ndarray:
    result: np.ndarray = 1.0 / (1.0 + np.exp(-x))
    return result


class Calibrator(Protocol):
    def fit(self, raw: np.ndarray, y: np.ndarray) -> Calibrator: ...
    def transform(self, raw: np.ndarray) -> np.ndarray: ...
    def params(self) -> dict[str, float | str]: ...


@dataclass
class NoCalibration:
    """The booster's own probability (sigmoid of its raw log-odds)."""

    def fit(self, raw: np.ndarray, y: np.ndarray) -> NoCalibration:  # noqa: ARG002 - null object
        return self

    def transform(self, raw: np.ndarray) -> np.ndarray:
        return sigmoid(raw)

    def params(self) -> dict[str, float | str]:
        return {"method": "none"}


@dataclass
class SigmoidCalibration:
    """p = sigmoid(slope * raw + intercept), fitted by (almost unpenalised) logistic regression."""

    slope: float = 1.0
    intercept: float = 0.0

    def fit(self, raw: np.ndarray, y: np.ndarray) -> SigmoidCalibration:
        model = LogisticRegression(C=1e6, max_iter=1000)
        model.fit(raw.reshape(-1, 1), y)
        self.slope = float(model.coef_[0, 0])
        self.intercept = float(model.intercept_[0])
        return self

    def transform(self, raw: np.ndarray) -> np.ndarray:
        return sigmoid(self.slope * raw + self.intercept)

    def params(self) -> dict[str, float | str]:
        return {"method": "sigmoid", "slope": self.slope, "intercept": self.intercept}


def make_calibrator(method: str) -> Calibrator:
    """An unfitted calibrator for a configured method ("sigmoid" or "none")."""
    return SigmoidCalibration() if method == "sigmoid" else NoCalibration()


def calibrator_from(params: Mapping[str, object]) -> Calibrator:
    """Rebuild a fitted calibrator from :meth:`Calibrator.params` (raises ValueError)."""
    method = params.get("method")
    if method == "none":
        return NoCalibration()
    if method == "sigmoid":
        slope, intercept = params.get("slope"), params.get("intercept")
        if not isinstance(slope, int | float) or not isinstance(intercept, int | float):
            raise ValueError(f"a sigmoid calibrator needs numeric slope and intercept: {params}")
        return SigmoidCalibration(float(slope), float(intercept))
    raise ValueError(f"unknown calibration method {method!r}; expected 'sigmoid' or 'none'")
