"""Per-group confusion counts and the rates taken from them, with numpy alone.

The bootstrap computes every replicate from confusion cells (``MetricFrame`` costs about 0.3 s
a replicate); :func:`confusion_counts` and :func:`rates_from_counts` are tested equal to
``MetricFrame`` on the full sample. A rate whose denominator is empty is NaN.

Example
-------
>>> counts = confusion_counts([1, 0, 1, 1], [1, 1, 0, 1], ["a", "a", "b", "b"])
>>> rates_from_counts(counts)["tpr"].tolist()
[1.0, 0.5]
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pandas as pd

from vru_risk.fairness_reports.metrics import (
    CONFUSION_RATES,
    FN,
    FP,
    TN,
    TP,
    rates_from_cells,
)

__all__ = [
    "CONFUSION_RATES",
    "FN",
    "FP",
    "TN",
    "TP",
    "confusion_counts",
    "rates_from_cells",
    "rates_from_counts",
]


def confusion_counts(
    y_true: npt.ArrayLike, flagged: npt.ArrayLike, groups: npt.ArrayLike
) -> pd.DataFrame:
    """Per-group confusion counts: ``count``, ``tp``, ``fp``, ``fn``, ``tn`` (sorted groups).

    Examples
    --------
    >>> confusion_counts([1, 0, 1, 0], [1, 1, 0, 0], ["a", "a", "b", "b"]).to_numpy().tolist()
    [[2, 1, 1, 0, 0], [2, 0, 0, 1, 1]]
    """
    y = np.asarray(y_true).astype(np.int64)
    f = np.asarray(flagged).astype(np.int64)
    codes, labels = pd.factorize(np.asarray(groups, dtype=object), sort=True)
    if not len(y) == len(f) == len(codes):
        raise ValueError(
            f"y_true, flagged and groups must have the same length, got {len(y)}, {len(f)} "
            f"and {len(codes)}"
        )
    cells = np.bincount(codes * 4 + 2 * y + f, minlength=4 * len(labels)).reshape(-1, 4)
    return pd.DataFrame(
        {
            "count": cells.sum(axis=1),
            "tp": cells[:, TP],
            "fp": cells[:, FP],
            "fn": cells[:, FN],
            "tn": cells[:, TN],
        },
        index=pd.Index([str(label) for label in labels], name="group"),
    )


def rates_from_counts(counts: pd.DataFrame) -> pd.DataFrame:
    """Selection rate, TPR, FNR, FPR and PPV from :func:`confusion_counts` (NaN if undefined)."""
    cells = counts[["tn", "fp", "fn", "tp"]].to_numpy(np.int64)
    return pd.DataFrame(rates_from_cells(cells), index=counts.index)
