"""Person-level bootstrap weights: one home for the resampling that training, the fairness
audit's summaries and monitoring use when a young person has many moments.

A young person's moments are not independent (the same life, the same records), so an interval
that resamples rows is too narrow. Each replicate draws young people with replacement and brings
all of a drawn person's rows: the row weight is how many times its person was drawn.

Example
-------
>>> import numpy as np
>>> w = next(person_weights(["a", "a", "b"], replicates=1, seed=0))
>>> bool(w[0] == w[1]), float(w.sum() % 1), len(w)
(True, 0.0, 3)
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import numpy.typing as npt
import pandas as pd


def person_weights(person_id: npt.ArrayLike, replicates: int, seed: int) -> Iterator[np.ndarray]:
    """Row weights of ``replicates`` person-level bootstrap samples: each young person is drawn
    with replacement and brings all their rows (the weights of a replicate add up to the rows of
    the people drawn)."""
    codes, levels = pd.factorize(np.asarray(person_id, dtype=object))
    n = len(levels)
    rng = np.random.default_rng(seed)
    for _ in range(replicates):
        counts = rng.multinomial(n, np.full(n, 1.0 / n)) if n else np.zeros(0)
        yield counts[codes].astype("float64")


def percentile_interval(replicates: npt.ArrayLike, level: float) -> tuple[float, float] | None:
    """The ``level`` percentile interval of the finite ``replicates`` (None when there are
    none)."""
    r = np.asarray(replicates, dtype="float64")
    r = r[np.isfinite(r)]
    if r.size == 0:
        return None
    tail = (1 - level) / 2
    return float(np.quantile(r, tail)), float(np.quantile(r, 1 - tail))
