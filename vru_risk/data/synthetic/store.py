"""Column stores: the incidents and records of a chunk as named numpy columns.

A column store (:data:`Cols`) maps a column name to an array, every array one row per incident
or record. The processes (:mod:`~vru_risk.data.synthetic.processes`) build them with defaults for
the columns a source does not have; support thins them; the chunk shapes them into tables.
Records point at their incident by position (``records["incident"]``).

Example
-------
>>> cols = make_cols(INCIDENT_DEFAULTS, 2, person=[4, 7])
>>> cols["person"].tolist(), cols["process"].tolist()
([4, 7], [-1, -1])
>>> take(cols, cols["person"] > 5)["person"].tolist()
[7]
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np
import numpy.typing as npt

Cols = dict[str, npt.NDArray[Any]]

# sources of records
POLICE, AE, EXCLUSION = 0, 1, 2
# thinning classes: what support changes; the *_EXTRA ones: what only harmful support causes
THIN_NONE, THIN_SV, THIN_INCIDENT, THIN_SV_EXTRA, THIN_INCIDENT_EXTRA = 0, 1, 2, 3, 4
# processes
(
    PROC_SV,
    PROC_OFFENDING,
    PROC_STOP,
    PROC_SCHOOL,
    PROC_VICTIM,
    PROC_WITNESS,
    PROC_MISSING,
    PROC_POLICE_OTHER,
    PROC_AE,
) = range(9)

RECORD_DEFAULTS: dict[str, tuple[type, float]] = {
    "incident": (np.int64, -1),
    "person": (np.int64, -1),
    "day": (np.int64, -1),
    "source": (np.int64, -1),
    "known": (np.int64, -1),
    "role": (np.int64, -1),
    "offence": (np.int64, -1),
    "outcome": (np.int64, -1),
    "outcome_day": (np.int64, -1),
    "hospital": (np.int64, -1),
    "arrival": (np.int64, -1),
    "ae_reason": (np.int64, -1),
    "admitted": (np.bool_, 0),
    "ex_kind": (np.int64, -1),
    "ex_reason": (np.int64, -1),
    "ex_days": (np.float64, np.nan),
}
INCIDENT_DEFAULTS: dict[str, tuple[type, float]] = {
    "person": (np.int64, -1),
    "day": (np.int64, -1),
    "process": (np.int64, -1),
    "thin": (np.int64, THIN_NONE),
    "u_thin": (np.float64, 0.0),
    "kind": (np.int64, -1),
    "serious": (np.bool_, 0),
    "record_prob": (np.float64, np.nan),
}


def make_cols(defaults: dict[str, tuple[type, float]], n: int, **values: Any) -> Cols:
    """Build a column store of ``n`` rows: given ``values``, defaults for the rest."""
    out: Cols = {}
    for name, (dtype, default) in defaults.items():
        if name in values:
            out[name] = np.asarray(values[name], dtype=dtype)
        else:
            out[name] = np.full(n, default, dtype=dtype)
    unknown = set(values) - set(defaults)
    if unknown:
        raise KeyError(f"unknown columns {sorted(unknown)}")
    return out


def take(cols: Cols, index: npt.NDArray[Any]) -> Cols:
    """Select rows (an index or a boolean mask) of every column."""
    return {k: v[index] for k, v in cols.items()}


def concat(parts: list[Cols], defaults: dict[str, tuple[type, float]]) -> Cols:
    """Concatenate column stores with the same columns."""
    if not parts:
        return make_cols(defaults, 0)
    return {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}


def incidents_of(
    process: int, *, person: npt.NDArray[Any], day: npt.NDArray[Any], **values: Any
) -> Cols:
    """The incidents of ``process``: one per (``person``, ``day``), with ``values`` for the rest."""
    n = person.size
    return make_cols(
        INCIDENT_DEFAULTS, n, person=person, day=day, process=np.full(n, process), **values
    )


def records_of(
    incident: npt.NDArray[Any],
    *,
    person: npt.NDArray[Any],
    day: npt.NDArray[Any],
    source: int,
    known: npt.NDArray[Any],
    **values: Any,
) -> Cols:
    """One record by ``source`` of each incident at positions ``incident``.

    ``person``, ``day`` and ``known`` (the day the record became known) are per record;
    ``values`` fill the source's own columns, the defaults the rest.
    """
    return make_cols(
        RECORD_DEFAULTS,
        incident.size,
        incident=incident,
        person=person,
        day=day,
        source=np.full(incident.size, source),
        known=known,
        **values,
    )


def stack(parts: Iterable[tuple[Cols, Cols]]) -> tuple[Cols, Cols]:
    """Concatenate ``(incidents, records)`` pairs, each record pointing at its incident's new row.

    Each pair's ``records["incident"]`` indexes its own ``incidents``; in the result it indexes
    the concatenated incidents. The pairs are consumed in order (so a generator that draws them
    from one random stream keeps its order of draws).
    """
    inc_parts: list[Cols] = []
    rec_parts: list[Cols] = []
    offset = 0
    for incidents, records in parts:
        records["incident"] = records["incident"] + offset
        offset += incidents["person"].size
        inc_parts.append(incidents)
        rec_parts.append(records)
    return concat(inc_parts, INCIDENT_DEFAULTS), concat(rec_parts, RECORD_DEFAULTS)
