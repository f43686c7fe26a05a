"""Which sources a model could not see for each row: the availability patterns.

A source counts as unseen for a row when the VRU lacks it (the feature table's
``sources_unavailable``) or when every feature the source feeds is missing for that row (e.g. no
school record). A pattern spells the unseen sources sorted and comma-joined ('' = every source
seen). A :class:`~vru_risk.models.risk_model.RiskModel` stores the patterns of its training rows
and marks a row whose pattern it never saw in training.

Example
-------
>>> import numpy as np, pandas as pd
>>> availability_patterns(pd.DataFrame({"a": [1.0, np.nan]}), {"x": ("a",)}, "").tolist()
['', 'x']
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from vru_risk.features.catalog import FeatureSpec


def source_columns(spec: FeatureSpec) -> dict[str, tuple[str, ...]]:
    """The features each source feeds, in the spec's order (the people table is always seen)."""
    out: dict[str, list[str]] = {}
    for f in spec.features:
        if f.source != "people":
            out.setdefault(f.source, []).append(f.name)
    return {k: tuple(v) for k, v in out.items()}


def availability_patterns(
    features: pd.DataFrame,
    sources: Mapping[str, tuple[str, ...]],
    sources_unavailable: pd.Series | Sequence[str] | str,
) -> pd.Series:
    """Per row, the sorted, comma-joined sources the model could not see ('' = all seen).

    ``sources`` maps each source to the features it feeds (:func:`source_columns`).

    A source counts as unseen for a row when the VRU lacks it (``sources_unavailable``) or when
    every feature the source feeds is missing for that row (e.g. no school record). Vectorised:
    each row's unseen sources are a bit mask, and only the distinct masks are spelled out.
    """
    missing = {
        source: np.isnan(features[list(cols)].to_numpy(dtype="float64")).all(axis=1)
        for source, cols in sources.items()
    }
    spelled = _spell_patterns(missing, listed_unavailable(sources_unavailable, len(features)))
    return pd.Series(spelled, index=features.index, dtype=object)


def listed_unavailable(sources_unavailable: pd.Series | Sequence[str] | str, n: int) -> np.ndarray:
    """Per row, the comma-joined sources the VRU lacks ('' = none), as an object array."""
    if isinstance(sources_unavailable, str):
        return np.full(n, sources_unavailable, dtype=object)
    if isinstance(sources_unavailable, pd.Series):
        return sources_unavailable.fillna("").astype(str).to_numpy(dtype=object)
    return np.array(["" if s is None else str(s) for s in sources_unavailable], dtype=object)


def _spell_patterns(missing: Mapping[str, np.ndarray], listed: np.ndarray) -> np.ndarray:
    """The patterns of :func:`availability_patterns` from, per source, whether all its inputs
    are missing on each row, and each row's comma-joined sources the VRU lacks."""
    spelled, inverse = distinct_patterns(missing, listed)
    result: np.ndarray = spelled[inverse]
    return result


def _factorize(values: np.ndarray) -> tuple[np.ndarray, Sequence[object]]:
    """Codes and uniques of ``values`` (:func:`pandas.factorize`; a dictionary for the few rows
    of a score on demand, where pandas' set-up costs more than the work)."""
    if len(values) > 64:
        codes, uniques = pd.factorize(values)
        return np.asarray(codes), list(uniques)
    position: dict[object, int] = {}
    codes = np.array([position.setdefault(v, len(position)) for v in values], dtype=np.int64)
    return codes, list(position)


def distinct_patterns(
    missing: Mapping[str, np.ndarray], listed: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """The distinct patterns spelled out, and each row's position among them."""
    n = len(listed)
    if n == 0:
        return np.zeros(0, dtype=object), np.zeros(0, dtype=np.int64)
    codes, uniques = _factorize(listed)
    vru_sets = [set(filter(None, str(u).split(","))) for u in uniques]
    names = sorted(set(missing) | {s for v in vru_sets for s in v})
    bit = {name: 1 << k for k, name in enumerate(names)}
    vru_bits = np.array([sum(bit[s] for s in v) for v in vru_sets] or [0], dtype=np.int64)
    mask = vru_bits[codes]
    for source, all_missing in missing.items():
        mask = mask | np.where(all_missing, bit[source], 0)
    distinct, inverse = np.unique(mask, return_inverse=True)
    spelled = np.array(
        [",".join(s for s in names if int(m) & bit[s]) for m in distinct], dtype=object
    )
    return spelled, inverse.reshape(-1)
