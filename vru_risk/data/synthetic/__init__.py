"""The synthetic county: contract-v1 data with a known truth, kept apart.

A latent, time-varying propensity per young person drives attendance, exclusions, police
contacts, A&E visits and true involvement in serious violence; what gets *recorded* depends on
group (measurement bias, configurable). See ``docs/synthetic-data.md``.

Example
-------
>>> from vru_risk.data.synthetic import SyntheticConfig
>>> SyntheticConfig().people
10000
"""

from vru_risk.data.synthetic.config import (
    RecordingMultipliers,
    SyntheticConfig,
    SyntheticConfigError,
)
from vru_risk.data.synthetic.generate import GenerationSummary, generate_county
from vru_risk.data.synthetic.oracle import oracle_probabilities

__all__ = [
    "GenerationSummary",
    "RecordingMultipliers",
    "SyntheticConfig",
    "SyntheticConfigError",
    "generate_county",
    "oracle_probabilities",
]
