"""The base rate per trigger kind: the share of young people at a teachable moment of each kind
(in the model's calibration window, labelled moments only) who were later recorded with the
outcome. A flag's estimate is framed against it ("about 6 in 10 young people with scores like
this ..., against about 1 in 12 of all young people at such moments").

Stored in the RiskModel's ``info`` (``base_rate:<kind>`` and ``base_rate:all``, decimal
strings), which is hashed with the model: no new file and no new format version. A model trained
before base rates were stored has none; callers then fall back to the model's average estimate
over its reference population.

Example
-------
>>> info = base_rate_info(pd.Series(["ae_visit", "ae_visit,exclusion", "exclusion", "ae_visit"]),
...                       pd.Series([1.0, 0.0, 0.0, 0.0]), min_examples=1)
>>> info["base_rate:ae_visit"], info["base_rate:exclusion"], info["base_rate:all"]
('0.333333', '0', '0.25')
>>> base_rate_of(info, ["exclusion"]), base_rate_of(info, ["snapshot"])
(0.0, 0.25)
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Final

import pandas as pd

PREFIX: Final = "base_rate:"
ALL: Final = "all"
#: A kind with fewer labelled moments than this gets no rate of its own (the overall one is used).
MIN_EXAMPLES: Final = 200


def base_rate_info(
    trigger_kinds: pd.Series, labels: pd.Series, *, min_examples: int = MIN_EXAMPLES
) -> dict[str, str]:
    """``base_rate:<kind>`` for every trigger kind with at least ``min_examples`` labelled
    moments, and ``base_rate:all``; ``trigger_kinds`` holds comma-joined kinds per moment."""
    y = pd.to_numeric(labels, errors="coerce")
    known = y.notna()
    if not known.any():
        return {}
    kinds = trigger_kinds.fillna("").astype(str)[known].reset_index(drop=True)
    y = y[known].reset_index(drop=True)
    out = {f"{PREFIX}{ALL}": f"{float(y.mean()):.6g}"}
    exploded = kinds.str.split(",").explode()
    for kind in sorted(k for k in exploded.unique() if k):
        rows = exploded.index[exploded == kind].unique()
        if len(rows) >= min_examples:
            out[f"{PREFIX}{kind}"] = f"{float(y.loc[rows].mean()):.6g}"
    return out


def base_rate_of(info: Mapping[str, str], kinds: Sequence[str]) -> float | None:
    """The base rate of the first of ``kinds`` that has one, else the overall one, else None."""
    for key in (*kinds, ALL):
        value = info.get(f"{PREFIX}{key}")
        if value is not None:
            return float(value)
    return None
