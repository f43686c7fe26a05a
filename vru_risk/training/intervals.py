"""Intervals for the pooled metrics at capacity: the precision and recall of the service's
allocation replayed over the test folds, each with a person-level bootstrap interval
(:func:`vru_risk.models.person_bootstrap.person_weights`: a young person's moments are
resampled together).

They are logged beside the point figures (``precision_at_capacity_low`` ...) so that the model
card and the comparison of versions can say how sure each figure is.

Example
-------
>>> import numpy as np
>>> out = capacity_intervals(
...     np.array(["a", "a", "b", "c", "d", "e"]),
...     np.array([True, True, True, False, True, False]),
...     np.array([1.0, 0.0, 1.0, 1.0, 0.0, 0.0]),
...     seed=0, replicates=200,
... )
>>> sorted(out)
['precision_at_capacity_high', 'precision_at_capacity_low', 'recall_at_capacity_high', \
'recall_at_capacity_low']
>>> out["precision_at_capacity_low"] <= 0.5 <= out["precision_at_capacity_high"]
True
"""

from __future__ import annotations

from typing import Final

import numpy as np
import numpy.typing as npt

from vru_risk.models.person_bootstrap import percentile_interval, person_weights

#: replicates of the bootstrap (the pooled test folds hold tens of thousands of moments)
REPLICATES: Final = 500
#: the intervals' coverage
LEVEL: Final = 0.95


def capacity_intervals(
    person_id: npt.ArrayLike,
    offered: npt.ArrayLike,
    label: npt.ArrayLike,
    *,
    seed: int,
    replicates: int = REPLICATES,
    level: float = LEVEL,
) -> dict[str, float]:
    """``precision_at_capacity_{low,high}`` and ``recall_at_capacity_{low,high}`` of the
    ``offered`` rows against ``label`` (1, 0; NaN rows left out), NaN where undefined."""
    y = np.asarray(label, dtype="float64")
    known = ~np.isnan(y)
    people = np.asarray(person_id, dtype=object)[known]
    hit = np.asarray(offered, dtype=bool)[known]
    positive = y[known] == 1
    precision, recall = [], []
    for w in person_weights(people, replicates if len(people) else 0, seed):
        offered_w, positive_w = float(w[hit].sum()), float(w[positive].sum())
        both = float(w[hit & positive].sum())
        precision.append(both / offered_w if offered_w else float("nan"))
        recall.append(both / positive_w if positive_w else float("nan"))
    out: dict[str, float] = {}
    for name, reps in (("precision", precision), ("recall", recall)):
        bounds = percentile_interval(reps, level) or (float("nan"), float("nan"))
        out[f"{name}_at_capacity_low"], out[f"{name}_at_capacity_high"] = bounds
    return out
