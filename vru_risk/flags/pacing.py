"""Pacing: spreading a period's places across the period instead of giving them to whoever
arrives first.

A programme with the ``paced`` policy offers, each day, only to eligible moments whose
percentile clears a threshold set so that, in expectation, the places left go to about the
highest-scored moments of the rest of the period. The threshold comes from the programme's
recent moments (:class:`PacingHistory`: per day, how many eligible moments there were above the
programme's floor, by percentile of the model's reference distribution; counts only, never a
person): with ``places`` left, ``days`` left in the period (today included) and ``rate``
eligible moments a day, the day offers to moments in the top ``places / (rate * days * PACE)``
of that distribution: the places left are aimed at the first :data:`PACE` of the days left, so
that a quiet spell or a moment that cannot be offered (someone offered already) does not leave
places unused at the period's end (``benchmarks/allocation.py``: with ``PACE`` 1 the paced
programmes used 94.2% of the places the hindsight bound fills on the 70,000-person county, with
0.5 98.9%, at a higher precision; docs/flags.md). When places are plentiful the threshold is
the floor; on the period's last day it is the floor too, so no place is held back past the
period's end. Without history (a new programme or a first run) the day falls back to the floor
and says so.

Example
-------
>>> from datetime import date, timedelta
>>> history = PacingHistory()
>>> start = date(2026, 3, 1)
>>> for k in range(28):  # 10 eligible moments a day, percentiles 90 to 99
...     history.record("p", start + timedelta(days=k), list(range(90, 100)))
>>> day = date(2026, 4, 1)
>>> history.threshold("p", day, floor=90.0, places=30, days=30)  # 150 expected, 30 places
98.0
>>> history.threshold("p", day, floor=90.0, places=30, days=1)  # the last day: the floor
90.0
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Final

import numpy as np

#: how many recent days the expected rate and distribution are taken over
WINDOW_DAYS: Final = 28
#: the share of the days left the places left are aimed at
PACE: Final = 0.5
#: fewer recorded days than this and the day falls back to the floor
MIN_DAYS: Final = 7
BINS: Final = 101  # integer percentiles 0..100
FORMAT: Final = 1


class PacingHistoryError(ValueError):
    """A pacing history file that cannot be read; the message says what to do."""


@dataclass
class PacingHistory:
    """Per programme and day, the eligible moments above the floor, counted by integer
    percentile (aggregates only)."""

    days: dict[str, dict[date, np.ndarray]] = field(default_factory=dict)

    def record(self, programme: str, day: date, percentiles: Iterable[float]) -> None:
        """The day's eligible moments above the floor (their percentiles); a day with none is
        recorded too (a rate counts quiet days)."""
        values = np.clip(np.floor(np.asarray(list(percentiles), dtype="float64")), 0, 100)
        counts = np.bincount(values.astype(np.int64), minlength=BINS)
        self.days.setdefault(programme, {})[day] = counts

    def window(self, programme: str, day: date) -> tuple[int, np.ndarray]:
        """The days recorded in the :data:`WINDOW_DAYS` before ``day`` and their summed
        counts."""
        since = day - timedelta(days=WINDOW_DAYS)
        recorded = [c for d, c in self.days.get(programme, {}).items() if since <= d < day]
        total = np.sum(recorded, axis=0) if recorded else np.zeros(BINS, dtype=np.int64)
        return len(recorded), total

    def threshold(
        self, programme: str, day: date, *, floor: float, places: int, days: int
    ) -> float | None:
        """The lowest percentile offered to on ``day`` with ``places`` left and ``days`` left
        in the period (today included): at least ``floor``; None without enough history."""
        if places <= 0:
            return floor
        recorded, counts = self.window(programme, day)
        if recorded < MIN_DAYS:
            return None
        if days <= 1:
            return floor
        expected = counts.sum() / recorded * max(days * PACE, 1.0)
        if places >= expected:
            return floor
        # the highest bin whose tail (moments at or above it) still holds the expected share
        tail = np.cumsum(counts[::-1])[::-1]
        wanted = places / expected * counts.sum()
        above = np.flatnonzero(tail >= wanted)
        cut = float(above.max()) if len(above) else floor
        return max(floor, cut)

    # --- the daily job keeps it beside the issued-flags ledger -----------------------------

    def prune(self) -> None:
        """Forget days older than the window of the newest day recorded needs."""
        newest = max((d for per_day in self.days.values() for d in per_day), default=None)
        if newest is None:
            return
        since = newest - timedelta(days=WINDOW_DAYS)
        for per_day in self.days.values():
            for d in [d for d in per_day if d < since]:
                del per_day[d]

    def to_json(self) -> str:
        return json.dumps(
            {
                "format": FORMAT,
                "programmes": {
                    p: {d.isoformat(): c.tolist() for d, c in sorted(per_day.items())}
                    for p, per_day in sorted(self.days.items())
                },
            },
            indent=1,
        )

    @classmethod
    def read(cls, path: Path) -> PacingHistory:
        """The history in ``path``; an empty one when the file does not exist."""
        if not path.exists():
            return cls()
        try:
            raw = json.loads(path.read_text(encoding="utf-8"))
            if raw.get("format") != FORMAT:
                raise ValueError(f"format {raw.get('format')!r}, not {FORMAT}")
            days = {
                str(p): {
                    date.fromisoformat(d): np.asarray(c, dtype=np.int64) for d, c in per_day.items()
                }
                for p, per_day in raw["programmes"].items()
            }
        except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
            raise PacingHistoryError(
                f"{path} is not a pacing history vru-risk can read ({exc}); it holds only "
                "counts, so delete it and the next `vru flags generate` starts a new one "
                "(paced programmes offer above their floor until it has a week of days)"
            ) from None
        if any(len(c) != BINS for per_day in days.values() for c in per_day.values()):
            raise PacingHistoryError(
                f"{path} has a day without {BINS} percentile counts; delete it and the next "
                "`vru flags generate` starts a new one"
            )
        return cls(days)
