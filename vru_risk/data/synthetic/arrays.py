"""Arrow arrays from the simulation's codes and day numbers, and the order of rows.

The simulation works in numpy: categories as codes (indexes into the contract's tuples, -1 for
none), dates as day numbers (days since 1970-01-01), people as positions. These functions turn
them into the Arrow arrays of the output tables, and give the row orders the tables are sorted
and de-duplicated by.

Example
-------
>>> string_array(("suspect", "victim"), np.array([1, -1, 0])).to_pylist()
['victim', None, 'suspect']
>>> date_array(np.array([0, 365]), missing=np.array([False, True])).to_pylist()
[datetime.date(1970, 1, 1), None]
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from vru_risk.data.synthetic.context import ChunkContext
from vru_risk.data.synthetic.model import BoolArray, IntArray


def person_ids(ctx: ChunkContext, person: IntArray) -> pa.Array:
    """The ``person_id`` of each of the chunk's people at positions ``person``."""
    ids = pa.array(ctx.pop.person_ids[ctx.lo : ctx.hi], type=pa.string())
    return ids.take(pa.array(person.astype(np.int64)))


def string_array(values: tuple[str, ...], codes: IntArray) -> pa.Array:
    """The category of each code (an index into ``values``); null where the code is negative."""
    mask = codes < 0
    index = pa.array(np.where(mask, 0, codes).astype(np.int64), mask=mask)
    return pa.array(list(values), type=pa.string()).take(index)


def date_array(days: IntArray, missing: BoolArray | None = None) -> pa.Array:
    """Day numbers as Arrow dates; null where ``missing``."""
    values = days if missing is None else np.where(missing, 0, days)
    return pa.array(np.asarray(values).astype(np.int32), mask=missing).view(pa.date32())


def bool_array(values: BoolArray, missing: BoolArray | None = None) -> pa.Array:
    """Booleans as an Arrow array; null where ``missing``."""
    return pa.array(values.astype(np.bool_), type=pa.bool_(), mask=missing)


def rank(names: tuple[str, ...]) -> IntArray:
    """Each name's position in alphabetical order (to sort codes as their text sorts)."""
    return np.asarray(np.argsort(np.argsort(np.array(names))), dtype=np.int64)


def sort_order(keys: list[IntArray]) -> IntArray:
    """Row order by the given keys, first key most significant."""
    return np.asarray(np.lexsort(tuple(reversed(keys))), dtype=np.int64)


def first_of_runs(keys: list[IntArray]) -> BoolArray:
    """For rows already sorted by ``keys``, flag the first of each run of equal keys."""
    if keys[0].size == 0:
        return np.zeros(0, dtype=np.bool_)
    same = np.ones(keys[0].size - 1, dtype=np.bool_)
    for k in keys:
        same &= k[1:] == k[:-1]
    return np.asarray(np.r_[True, ~same], dtype=np.bool_)
