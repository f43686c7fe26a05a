"""Seeded uniform draws keyed by what they decide: one number per (draw, key) for a seed.

A draw is a keyed hash (SipHash, :func:`pandas.util.hash_array`) of ``"<draw>|<key>"`` under a
key made from the seed, so an offer's decision, delay and take-up depend only on the seed and
the offer itself (young person, day, programme), never on how many offers came before it: two
services that differ in one setting make the same draws for the offers they share.

Example
-------
>>> a = uniforms(["p1|2025-01-02|jump_start", "p2|2025-01-02|jump_start"], seed=0, draw="refer")
>>> b = uniforms(["p2|2025-01-02|jump_start"], seed=0, draw="refer")
>>> bool(a[1] == b[0]), bool(0.0 <= a.min() and a.max() < 1.0)
(True, True)
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd


def uniforms(keys: Sequence[str], *, seed: int, draw: str) -> np.ndarray:
    """A uniform number in [0, 1) for each key (see the module docstring)."""
    if len(keys) == 0:
        return np.zeros(0, dtype="float64")
    text = np.asarray([f"{draw}|{k}" for k in keys], dtype=object)
    hashed = pd.util.hash_array(text, hash_key=f"vru-sim{seed:09d}"[-16:], categorize=False)
    return np.asarray((hashed >> np.uint64(11)).astype("float64") * 2.0**-53, dtype="float64")


def whole_days(u: np.ndarray, low: int, high: int) -> np.ndarray:
    """Uniform whole numbers from ``low`` to ``high`` (inclusive) from uniforms ``u``."""
    return np.asarray(low + np.floor(u * (high - low + 1)).astype("int64"), dtype="int64")
