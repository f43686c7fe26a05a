"""Group labels of the audit-only attributes, shared by the fairness audit and monitoring.

Group labels are strings. A missing value becomes the explicit group ``"unknown"`` (never
dropped); booleans become ``"true"``/``"false"``, integral floats their integer (``3.0`` →
``"3"``), anything else ``str(value)``. An intersection of attributes ``("ethnicity", "sex")`` is
the attribute ``"ethnicity*sex"`` with groups such as ``"black*male"``.

Example
-------
>>> import pandas as pd
>>> group_labels(pd.Series([True, None, 3.0, "a"])).tolist()
['true', 'unknown', '3', 'a']
"""

from __future__ import annotations

from typing import Final

import numpy as np
import pandas as pd

UNKNOWN: Final = "unknown"
"""The group of rows whose audit-only value is missing."""

INTERSECTION_SEP: Final = "*"
"""Joins attribute names (``ethnicity*sex``) and group labels (``black*male``)."""


def group_labels(values: pd.Series) -> np.ndarray:
    """String group labels; missing values become :data:`UNKNOWN`."""

    def label(value: object) -> str:
        if isinstance(value, bool | np.bool_):
            return "true" if value else "false"
        if isinstance(value, float | np.floating) and float(value).is_integer():
            return str(int(value))
        return str(value)

    codes, levels = pd.factorize(values.to_numpy(dtype=object))  # missing values get code -1
    names = np.array([label(level) for level in levels] + [UNKNOWN], dtype=object)
    return names[codes]  # code -1 picks the trailing UNKNOWN
