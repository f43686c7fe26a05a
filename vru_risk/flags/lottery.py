"""The fair lottery for a programme's last places, and its append-only record.

Ranking by score is fair between clearly different scores, but at the cut of a day whose places
run out the model cannot tell apart young people whose scores differ by less than its own
uncertainty: giving the place to the one a hair above the other is arbitrary, and it leaves
nobody to compare the supported with. A programme whose ``lottery`` is enabled (and whose
lottery the ethics panel approved, :mod:`vru_risk.jobs.lottery_gate`) therefore draws those
places: the moments whose score is within ``score_tolerance`` of the last place's score (the
*band*, straddling the cut) count as equally ranked; everyone above the band is offered as
usual, and the places left go to band members drawn by a seeded lottery (:func:`draw`: numpy's
Generator, seeded by the programme's seed, the programme and the day, so the same inputs give
the same draw). The losers are not offered anything: they stay in the record, where the
pre-registered evaluation compares them with the winners.

The record is an append-only, hash-chained JSON-lines file beside the review log
(:class:`LotteryRecord`), not a database table: the daily job that draws writes files only
(the flags and the issued-flags ledger; the database is loaded from them later), the record
must exist before any flag of the day is published, and a hash chain makes any edit, removal or
reordering detectable on every read, as the review log does. A day already in the record is
replayed from it, never redrawn, even with another seed or changed scores (:func:`choose`).

Example
-------
>>> from datetime import date
>>> d = draw("p", date(2026, 3, 2), seed=1, places=1, band=[("a", 0.5), ("b", 0.5)],
...          cut_score=0.5, tolerance=0.01)
>>> d == draw("p", date(2026, 3, 2), seed=1, places=1, band=[("b", 0.5), ("a", 0.5)],
...           cut_score=0.5, tolerance=0.01)
True
>>> sorted(d.winners + d.losers)
['a', 'b']
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Final

import numpy as np
import pandas as pd

from vru_risk.file_lock import exclusive_lock
from vru_risk.models.review_log import GENESIS, canonical_digest

#: a tolerance compared with float scores is widened by this much (a score exactly at the
#: tolerance's edge, up to rounding, counts as in the band)
EPSILON: Final = 1e-12


class LotteryRecordError(ValueError):
    """A lottery record that has been altered or cannot be read; the message says what to do."""


@dataclass(frozen=True)
class Draw:
    """One programme-day's lottery: the places drawn among the band (person id and score,
    ordered by person id), the last place's score and the tolerance that made the band, and the
    winners (in the order drawn) and the losers."""

    programme: str
    day: date
    seed: int
    places: int
    cut_score: float
    tolerance: float
    band: tuple[tuple[str, float], ...]
    winners: tuple[str, ...]
    losers: tuple[str, ...]

    def to_body(self) -> dict[str, object]:
        return {
            "programme": self.programme,
            "day": self.day.isoformat(),
            "seed": self.seed,
            "places": self.places,
            "cut_score": self.cut_score,
            "tolerance": self.tolerance,
            "band": [[p, s] for p, s in self.band],
            "winners": list(self.winners),
            "losers": list(self.losers),
        }

    @classmethod
    def from_body(cls, body: dict[str, object]) -> Draw:
        band = body["band"]
        winners, losers = body["winners"], body["losers"]
        if not isinstance(band, list) or not isinstance(winners, list):
            raise TypeError("band and winners must be lists")
        if not isinstance(losers, list):
            raise TypeError("losers must be a list")
        return cls(
            programme=str(body["programme"]),
            day=date.fromisoformat(str(body["day"])),
            seed=int(str(body["seed"])),
            places=int(str(body["places"])),
            cut_score=float(str(body["cut_score"])),
            tolerance=float(str(body["tolerance"])),
            band=tuple((str(p), float(s)) for p, s in band),
            winners=tuple(str(w) for w in winners),
            losers=tuple(str(x) for x in losers),
        )


def generator(seed: int, programme: str, day: date) -> np.random.Generator:
    """The draw's random numbers: seeded by ``seed``, the programme and the day only."""
    key = int.from_bytes(hashlib.sha256(programme.encode()).digest()[:8], "big")
    return np.random.default_rng([seed, key, day.toordinal()])


def draw(
    programme: str,
    day: date,
    *,
    seed: int,
    places: int,
    band: Iterable[tuple[str, float]],
    cut_score: float,
    tolerance: float,
) -> Draw:
    """Draw ``places`` winners among ``band`` (person id, score), whatever order it comes in."""
    members = tuple(sorted((str(p), float(s)) for p, s in band))
    if not 0 < places < len(members):
        raise ValueError(f"a lottery draws 1 to {len(members) - 1} places of {len(members)}")
    order = generator(seed, programme, day).permutation(len(members))
    winners = tuple(members[k][0] for k in order[:places])
    won = set(winners)
    return Draw(
        programme,
        day,
        seed,
        places,
        cut_score,
        tolerance,
        members,
        winners,
        tuple(p for p, _ in members if p not in won),
    )


@dataclass
class LotteryBook:
    """The draws an allocation may replay (``recorded``, by programme and day) and those it
    drew (``drawn``, for the caller to append to the record)."""

    recorded: dict[tuple[str, date], Draw] = field(default_factory=dict)
    drawn: list[Draw] = field(default_factory=list)

    @classmethod
    def of(cls, draws: Iterable[Draw]) -> LotteryBook:
        return cls(recorded={(d.programme, d.day): d for d in draws})

    def add(self, made: Draw) -> None:
        self.recorded[(made.programme, made.day)] = made
        self.drawn.append(made)


def choose(
    programme: str,
    day: date,
    ordered: Sequence[int],
    persons: np.ndarray,
    probability: np.ndarray,
    *,
    places: int,
    seed: int,
    tolerance: float,
    book: LotteryBook,
) -> list[tuple[int, bool]]:
    """The rows offered a place (and whether by lottery) among ``ordered`` (rows that may be
    offered, highest score first) with ``places`` left: the first ``places`` when they all fit
    or no one below the cut is within ``tolerance`` of the last place; otherwise everyone above
    the band, then the band's places drawn (or, when ``book`` recorded this day, replayed)."""
    recorded = book.recorded.get((programme, day))
    if recorded is not None:
        band = {p for p, _ in recorded.band}
        row_of = {str(persons[i]): int(i) for i in ordered}
        winners = [row_of[w] for w in recorded.winners if w in row_of][: max(places, 0)]
        others = [int(i) for i in ordered if str(persons[i]) not in band]
        return [(i, False) for i in others[: places - len(winners)]] + [(i, True) for i in winners]
    if places <= 0 or len(ordered) <= places:
        return [(int(i), False) for i in ordered[: max(places, 0)]]
    rows = np.asarray(ordered)
    cut = float(probability[rows[places - 1]])
    near = np.abs(probability[rows] - cut) <= tolerance + EPSILON
    above = rows[(probability[rows] > cut) & ~near]
    band_rows = rows[near]
    left = places - len(above)
    if len(band_rows) <= left:  # nobody below the cut is equally ranked: no lottery
        return [(int(i), False) for i in rows[:places]]
    made = draw(
        programme,
        day,
        seed=seed,
        places=left,
        band=[(str(persons[i]), float(probability[i])) for i in band_rows],
        cut_score=cut,
        tolerance=tolerance,
    )
    book.add(made)
    row_of = {str(persons[i]): int(i) for i in band_rows}
    return [(int(i), False) for i in above] + [(row_of[w], True) for w in made.winners]


#: the columns of :func:`draws_frame`
DRAW_COLUMNS: Final = (
    "programme", "day", "person_id", "score", "won", "seed", "places", "cut_score", "tolerance",
)  # fmt: skip


def draws_frame(draws: Iterable[Draw]) -> pd.DataFrame:
    """One row per band member of each draw (:data:`DRAW_COLUMNS`; ``won``: a winner): what an
    evaluation compares, winners against losers."""
    rows = [
        (d.programme, d.day, p, s, p in set(d.winners), d.seed, d.places, d.cut_score, d.tolerance)
        for d in draws
        for p, s in d.band
    ]
    return pd.DataFrame(rows, columns=list(DRAW_COLUMNS))


class LotteryRecord:
    """The append-only record of every draw: one JSON line each, numbered without gaps and
    hash-chained (each line's ``hash`` is the sha256 of its canonical JSON without it, and
    ``previous_hash`` the line before's), appends serialised with an exclusive file lock."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def _locked(self) -> AbstractContextManager[None]:
        return exclusive_lock(self.path.with_suffix(".lock"))

    def _lines(self) -> list[dict[str, object]]:
        if not self.path.exists():
            return []
        out: list[dict[str, object]] = []
        previous = GENESIS
        for number, line in enumerate(self.path.read_text(encoding="utf-8").splitlines(), 1):
            try:
                body = json.loads(line)
                given = body.pop("hash")
                Draw.from_body(body)
            except (ValueError, TypeError, KeyError, AttributeError) as exc:
                raise LotteryRecordError(
                    f"{self.path} line {number} is not a lottery draw ({exc}); the record has "
                    "been altered: restore it from backup before any lottery runs again"
                ) from None
            if body.get("seq") != number:
                raise LotteryRecordError(
                    f"{self.path} line {number} has sequence number {body.get('seq')}: draws "
                    "are missing or reordered; restore the record from backup"
                )
            if body.get("previous_hash") != previous or canonical_digest(body) != given:
                raise LotteryRecordError(
                    f"{self.path} draw {number} does not match its hash chain: the record has "
                    "been edited; restore it from backup"
                )
            previous = str(given)
            out.append({**body, "hash": given})
        return out

    def draws(self) -> list[Draw]:
        """Every draw, oldest first, after checking the numbering and the hash chain."""
        return [Draw.from_body(line) for line in self._lines()]

    def append(self, draws: Iterable[Draw]) -> int:
        """Append ``draws`` (after verifying the chain so far); a programme-day already recorded
        is refused (a day's draw is replayed, never redrawn). Returns how many were written."""
        new = list(draws)
        if not new:
            return 0
        with self._locked():
            lines = self._lines()
            done = {(str(x["programme"]), str(x["day"])) for x in lines}
            previous = str(lines[-1]["hash"]) if lines else GENESIS
            written = []
            for number, made in enumerate(new, len(lines) + 1):
                key = (made.programme, made.day.isoformat())
                if key in done:
                    raise LotteryRecordError(
                        f"{made.programme}'s lottery of {made.day} is already in {self.path}; "
                        "a day's draw is replayed from the record, never drawn again"
                    )
                done.add(key)
                body: dict[str, object] = {
                    **made.to_body(),
                    "seq": number,
                    "time": datetime.now(UTC).isoformat(timespec="seconds"),
                    "previous_hash": previous,
                }
                previous = canonical_digest(body)
                written.append(json.dumps({**body, "hash": previous}, sort_keys=True))
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with self.path.open("a", encoding="utf-8") as fh:
                fh.write("".join(f"{line}\n" for line in written))
        return len(written)
