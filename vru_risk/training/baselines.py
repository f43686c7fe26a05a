"""Rule baselines: each ranks examples by one feature, so a model must beat simple rules.

A baseline is written ``feature`` (rank by "any": value above 0), ``feature>=k`` (rank by value
at least k) or a named rule (``persistent_absence``: attendance under 90% over the last year).
Ties are broken in a seeded random order by the evaluation, never by row order.

Example
-------
>>> import pandas as pd
>>> rule = parse_baseline("excl_suspensions_365d>=2")
>>> rule.score(pd.DataFrame({"excl_suspensions_365d": [0.0, 2.0, 5.0]})).tolist()
[0.0, 1.0, 1.0]
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np
import pandas as pd

_RULE = re.compile(r"^(?P<feature>[a-z][a-z0-9_]*)(\s*>=\s*(?P<k>\d+(\.\d+)?))?$")

#: Named rules that are not "one feature above a threshold" in the catalog's own terms.
NAMED: dict[str, tuple[str, str]] = {
    # persistent absence (DfE): missing 10% or more of possible sessions
    "persistent_absence": ("att_rate_365d", "below 0.9"),
}


class BaselineError(ValueError):
    """A baseline that names no feature of the spec, or cannot be parsed."""


@dataclass(frozen=True)
class Baseline:
    name: str
    feature: str
    rule: str  # "above 0", ">= k" or "below 0.9"
    threshold: float

    def score(self, frame: pd.DataFrame) -> np.ndarray:
        """1.0 where the rule holds, else 0.0 (a missing value never satisfies it)."""
        values = frame[self.feature].to_numpy(dtype="float64")
        with np.errstate(invalid="ignore"):
            if self.rule == "below":
                hit = values < self.threshold
            elif self.rule == "at least":
                hit = values >= self.threshold
            else:
                hit = values > self.threshold
        return np.where(np.isnan(values), 0.0, hit.astype("float64"))

    def describe(self) -> str:
        return f"{self.feature} {self.rule} {self.threshold:g}"


def parse_baseline(text: str) -> Baseline:
    if text in NAMED:
        feature, rule = NAMED[text]
        word, threshold = rule.split()
        return Baseline(text, feature, word, float(threshold))
    match = _RULE.match(text.strip())
    if match is None:
        raise BaselineError(
            f"baseline {text!r} is not 'feature', 'feature>=k' or one of {', '.join(NAMED)}"
        )
    k = match.group("k")
    if k is None:
        return Baseline(text, match.group("feature"), "above", 0.0)
    return Baseline(text, match.group("feature"), "at least", float(k))


def check_baselines(names: tuple[str, ...], features: tuple[str, ...]) -> list[str]:
    """Problems with the configured baselines against the feature spec (empty when fine)."""
    problems = []
    for name in names:
        try:
            rule = parse_baseline(name)
        except BaselineError as exc:
            problems.append(str(exc))
            continue
        if rule.feature not in features:
            problems.append(f"baseline {name!r} uses {rule.feature!r}, not a feature of the spec")
    return problems
