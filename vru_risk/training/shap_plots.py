"""The global SHAP views a data scientist reads in MLflow for each fold's LightGBM: a summary
table (size *and* direction of each input's contribution) and a beeswarm plot.

Values are exact TreeSHAP contributions in log-odds of the uncalibrated booster, on a sample of
the fold's test moments. Direction is the correlation between an input's value and its
contribution: positive when higher values raise the score.
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any, Final

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

#: moments sampled from a fold's test slice for its SHAP views
SHAP_SAMPLE: Final = 2000
#: inputs shown in the beeswarm (largest mean |SHAP| first)
TOP: Final = 20


def shap_values(booster: Any, x: pd.DataFrame, *, seed: int) -> tuple[np.ndarray, pd.DataFrame]:
    """Exact TreeSHAP values (rows x inputs) of a sample of ``x``, and the sample."""
    with warnings.catch_warnings():
        # shap 0.51 calls matplotlib's Colormap.set_bad/set_over/set_under on import
        warnings.filterwarnings("ignore", category=PendingDeprecationWarning)
        import shap

    sample = x.sample(min(len(x), SHAP_SAMPLE), random_state=seed) if len(x) else x
    # called (not .shap_values) so that binary LightGBM gives one matrix, equal to pred_contrib
    matrix = np.asarray(shap.TreeExplainer(booster)(sample.to_numpy()).values)
    return matrix.reshape(len(sample), x.shape[1]), sample


def _direction(values: np.ndarray, contributions: np.ndarray) -> float:
    ok = ~np.isnan(values)
    if ok.sum() < 3 or np.std(values[ok]) == 0 or np.std(contributions[ok]) == 0:
        return float("nan")
    return float(np.corrcoef(values[ok], contributions[ok])[0, 1])


def shap_summary(matrix: np.ndarray, sample: pd.DataFrame) -> pd.DataFrame:
    """Per input: mean |SHAP| (size), mean SHAP (net push) and the correlation of the input's
    value with its contribution (direction), largest first.

    >>> m = np.array([[0.5, 0.0], [-0.5, 0.1], [1.0, 0.0]])
    >>> s = shap_summary(m, pd.DataFrame({"a": [2.0, 0.0, 3.0], "b": [1.0, 1.0, 1.0]}))
    >>> s["feature"].tolist(), round(float(s.loc[0, "direction"]), 2)
    (['a', 'b'], 1.0)
    """
    out = pd.DataFrame(
        {
            "feature": list(sample.columns),
            "mean_abs_shap": np.abs(matrix).mean(axis=0) if len(matrix) else 0.0,
            "mean_shap": matrix.mean(axis=0) if len(matrix) else 0.0,
            "direction": [
                _direction(sample[c].to_numpy(dtype="float64"), matrix[:, k])
                for k, c in enumerate(sample.columns)
            ],
        }
    )
    return out.sort_values("mean_abs_shap", ascending=False, ignore_index=True)


def plot_beeswarm(matrix: np.ndarray, sample: pd.DataFrame, path: Path) -> None:
    """One row per input (the :data:`TOP` largest), one dot per moment at its contribution,
    coloured by the input's value within its own range (blue low, red high)."""
    order: list[int] = (
        [int(k) for k in np.argsort(-np.abs(matrix).mean(axis=0))[:TOP][::-1]]
        if len(matrix)
        else []
    )
    fig, ax = plt.subplots(figsize=(8, 0.35 * max(len(order), 4) + 1.5))
    rng = np.random.default_rng(0)
    scatter = None
    for row, k in enumerate(order):
        values = sample.iloc[:, k].to_numpy(dtype="float64")
        low, high = np.nanpercentile(values, [5, 95]) if np.isfinite(values).any() else (0, 1)
        scaled = np.clip((values - low) / (high - low), 0, 1) if high > low else values * 0 + 0.5
        jitter = rng.uniform(-0.3, 0.3, len(values))
        scatter = ax.scatter(
            matrix[:, k], row + jitter, c=scaled, cmap="coolwarm", s=4, vmin=0, vmax=1
        )
    ax.set_yticks(range(len(order)), [str(sample.columns[k]) for k in order])
    ax.axvline(0, color="grey", linewidth=0.8)
    ax.set_xlabel("contribution to the score (log-odds before calibration): right raises it")
    ax.set_title("How each input moved the score, one dot per moment")
    if scatter is not None:
        bar = fig.colorbar(scatter, ax=ax, ticks=[0, 1])
        bar.ax.set_yticklabels(["low value", "high value"])
    fig.tight_layout()
    fig.savefig(path, dpi=80)
    plt.close(fig)
