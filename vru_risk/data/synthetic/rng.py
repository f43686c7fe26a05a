"""Named, independent random streams: one per stage, chunk of people and process.

Each stream is ``numpy.random.Generator(PCG64(SeedSequence(seed, spawn_key=...)))`` with a
spawn key made of fixed integer codes, so a stream depends only on the seed, its name and its
chunk: adding a draw to one process never shifts another's numbers.

Example
-------
>>> from vru_risk.data.synthetic.rng import stream
>>> float(stream(0, "population").random()) == float(stream(0, "population").random())
True
"""

from __future__ import annotations

import numpy as np

#: Fixed codes of the streams (never reorder or reuse a code: it would change the output).
STREAMS: dict[str, int] = {
    "population": 1,
    "latent": 2,
    "serious_violence": 3,
    "offending": 4,
    "stop_search": 5,
    "school": 6,
    "police_other": 7,
    "ae": 8,
    "support": 9,
    "attendance": 10,
    "lags": 11,
    "serious_violence_extra": 12,
    "offending_extra": 13,
    "stop_search_extra": 14,
    "school_extra": 15,
}


def stream(seed: int, name: str, chunk: int = 0) -> np.random.Generator:
    """Return the random stream ``name`` of chunk ``chunk`` for ``seed``.

    Parameters
    ----------
    seed
        The generator's seed (non-negative).
    name
        A key of :data:`STREAMS`.
    chunk
        Index of the chunk of people (0 for whole-county stages).

    Returns
    -------
    numpy.random.Generator
        A PCG64 generator.
    """
    seq = np.random.SeedSequence(seed, spawn_key=(STREAMS[name], chunk))
    return np.random.Generator(np.random.PCG64(seq))
