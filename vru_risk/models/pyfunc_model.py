"""MLflow "models from code" entry point for a registered RiskModel (nothing is pickled).

MLflow copies this file into the model and runs it on load; the RiskModel itself is read from
the plain-file artifact ``risk_model`` (booster text, calibrator parameters, feature spec).
``predict`` returns calibrated probabilities and refuses a frame that does not match the spec.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import mlflow.models
import numpy as np
import pandas as pd
from mlflow.pyfunc.model import PythonModel

from vru_risk.models.risk_model import RiskModel


class RiskModelPyfunc(PythonModel):
    """Serve a saved RiskModel through MLflow's pyfunc interface."""

    def load_context(self, context: Any) -> None:
        self.model = RiskModel.load(Path(context.artifacts["risk_model"]))

    def predict(
        self,
        context: Any,  # noqa: ARG002 - MLflow's signature
        model_input: pd.DataFrame,
        params: dict[str, str] | None = None,  # noqa: ARG002 - MLflow's signature
    ) -> np.ndarray:
        return np.asarray(self.model.predict(model_input))


mlflow.models.set_model(RiskModelPyfunc())
