"""The county's support programmes: who each takes, how likely a trigger refers, for how long.

A module of its own (no other generator module imported) so that the options
(:mod:`~vru_risk.data.synthetic.config`) can check programme names against it.

Example
-------
>>> [p.name for p in PROGRAMMES][:2]
['Jump Start Mentoring', 'Early Intervention Team']
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Programme:
    """A programme: who it takes (ages in years, inclusive-exclusive) and for how long."""

    name: str
    min_age: float
    max_age: float
    probability: float
    duration_days: tuple[int, int]


PROGRAMMES = (
    Programme("Jump Start Mentoring", 8, 19, 0.012, (120, 240)),
    Programme("Early Intervention Team", 10, 18, 0.03, (60, 180)),
    Programme("School Inclusion Project", 0, 99, 0.01, (60, 120)),
    Programme("Admit A&E", 8, 19, 0.5, (28, 56)),
)
PROGRAMME_NAMES = tuple(p.name for p in PROGRAMMES)
JUMP_START, EARLY_INTERVENTION, SCHOOL_INCLUSION, ADMIT_AE = range(len(PROGRAMMES))
