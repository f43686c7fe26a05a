"""The audit's inputs, validated and aligned: 0/1 labels, finite scores, probabilities in
[0, 1] and one array of group labels per attribute and intersection.

Every error is a ``ValueError`` that names what is wrong and what to change. Arrays are aligned
with ``y_true`` by position (a DataFrame's index is ignored).

Example
-------
>>> import pandas as pd
>>> inputs = check_inputs(
...     [1, 0, 1], [0.9, 0.2, 0.4],
...     pd.DataFrame({"sex": ["f", None, "m"], "band": [1.0, 2.0, 1.0]}),
...     intersections=[("sex", "band")],
... )
>>> {name: labels.tolist() for name, labels in inputs.groups.items()}
{'sex': ['f', 'unknown', 'm'], 'band': ['1', '2', '1'], 'sex*band': ['f*1', 'unknown*2', 'm*1']}
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pandas as pd

from vru_risk.fairness_reports.groups import INTERSECTION_SEP, group_labels


@dataclass(frozen=True, eq=False)
class AuditInputs:
    """Validated, position-aligned inputs: 0/1 labels, float scores, string group labels."""

    y_true: np.ndarray
    scores: np.ndarray
    groups: dict[str, np.ndarray]
    probability: np.ndarray | None


def _length(name: str, values: object) -> int:
    try:
        return len(values)  # type: ignore[arg-type]
    except TypeError as exc:
        raise ValueError(f"{name} must be array-like with one value per row") from exc


def check_length(name: str, values: object, n: int) -> None:
    """``values`` has one value per row of ``y_true`` (``n``), or a ValueError naming it."""
    got = _length(name, values)
    if got != n:
        raise ValueError(
            f"{name} has {got} rows but y_true has {n}: pass arrays aligned row by row "
            "with y_true (same length, same order)"
        )


def _first_positions(mask: np.ndarray) -> str:
    positions = np.flatnonzero(mask)
    head = ", ".join(str(p) for p in positions[:5])
    return f"{len(positions)} rows (first at positions {head})"


def check_labels(y_true: npt.ArrayLike) -> np.ndarray:
    """0/1 labels as an int8 array, or a ValueError naming what is wrong."""
    values = pd.Series(np.asarray(y_true, dtype=object).ravel(), dtype=object)
    missing = values.isna().to_numpy()
    if missing.any():
        raise ValueError(
            f"y_true has missing labels in {_first_positions(missing)}: drop censored or "
            "unlabelled examples before auditing"
        )
    numeric = pd.to_numeric(values, errors="coerce").to_numpy(dtype=float)
    bad = ~np.isin(numeric, [0.0, 1.0])
    if bad.any():
        found = sorted({str(v) for v in values[bad].unique()[:5]})
        raise ValueError(
            f"y_true must be binary (0/1 or False/True); found {found} in {_first_positions(bad)}"
        )
    return numeric.astype(np.int8)


def check_scores(name: str, scores: npt.ArrayLike, n: int) -> np.ndarray:
    """Finite float scores aligned with ``y_true``, or a ValueError."""
    check_length(name, scores, n)
    try:
        values = np.asarray(scores, dtype=float).ravel()
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{name} must be numeric: {exc}") from exc
    bad = ~np.isfinite(values)
    if bad.any():
        raise ValueError(
            f"{name} has NaN or infinite values in {_first_positions(bad)}: score every row "
            "(or drop the rows the model could not score) before auditing"
        )
    return values


def sensitive_groups(
    sensitive_features: pd.DataFrame,
    intersections: Sequence[tuple[str, ...]],
    n: int,
) -> dict[str, np.ndarray]:
    """Group labels per attribute, then per intersection (``"a*b"``), in that order."""
    if not isinstance(sensitive_features, pd.DataFrame):
        raise ValueError(
            "sensitive_features must be a pandas DataFrame with one column per attribute "
            f"(e.g. sex, ethnicity), got {type(sensitive_features).__name__}"
        )
    if sensitive_features.shape[1] == 0:
        raise ValueError("sensitive_features has no columns: pass at least one attribute")
    check_length("sensitive_features", sensitive_features, n)
    groups: dict[str, np.ndarray] = {}
    for column in sensitive_features.columns:
        if not isinstance(column, str) or INTERSECTION_SEP in column:
            raise ValueError(
                f"sensitive feature names must be strings without {INTERSECTION_SEP!r}, "
                f"got {column!r}"
            )
        groups[column] = group_labels(sensitive_features[column].reset_index(drop=True))
    for given in intersections:
        combo = _intersection(given)
        unknown = [name for name in combo if name not in sensitive_features.columns]
        if unknown:
            raise ValueError(
                f"intersection {combo!r} names {unknown}, which are not columns of "
                f"sensitive_features ({list(sensitive_features.columns)})"
            )
        parts = [groups[name].astype(str) for name in combo]
        joined = parts[0]
        for part in parts[1:]:
            joined = np.char.add(np.char.add(joined, INTERSECTION_SEP), part)
        groups[INTERSECTION_SEP.join(combo)] = joined.astype(object)
    return groups


def _intersection(combo: object) -> tuple[str, ...]:
    if (
        isinstance(combo, str)
        or not isinstance(combo, Sequence)
        or len(combo) < 2
        or not all(isinstance(name, str) for name in combo)
    ):
        raise ValueError(
            f"an intersection is a tuple of two or more attribute names, got {combo!r}"
        )
    return tuple(combo)


def check_inputs(
    y_true: npt.ArrayLike,
    scores: npt.ArrayLike,
    sensitive_features: pd.DataFrame,
    intersections: Sequence[tuple[str, ...]] = (),
    probability: npt.ArrayLike | None = None,
) -> AuditInputs:
    """Validate and align the audit's inputs (every error names what to change)."""
    n = _length("y_true", y_true)
    y = check_labels(y_true)
    s = check_scores("scores", scores, n)
    groups = sensitive_groups(sensitive_features, intersections, n)
    p = None
    if probability is not None:
        p = check_scores("probability", probability, n)
        if ((p < 0) | (p > 1)).any():
            raise ValueError(
                "probability must be in [0, 1]: pass calibrated probabilities, or leave it out "
                "to skip the calibration error"
            )
    return AuditInputs(y, s, groups, p)


def check_count(name: str, value: object) -> None:
    """A non-negative integer (not a bool), or a ValueError naming ``name``."""
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < 0:
        raise ValueError(f"{name} must be a non-negative integer, got {value!r}")
