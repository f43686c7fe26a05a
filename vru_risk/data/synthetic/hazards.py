"""The parameters of the event processes: rates, slopes, age curves, mixes of what is recorded.

Each process's yearly rate is given at the reference (a girl, latent state 0, age effect 0) with
its slopes on sex and the latent state, an age curve (piecewise linear between knots) and a
day-of-week weighting. The mixes (offences, exclusion reasons, outcomes, A&E arrival hours) are
probabilities over the contract's categories; their shapes follow the references in
``docs/synthetic-data.md``.

Example
-------
>>> OFFENDING.rate, OFFENDING.latent
(0.06, 1.0)
"""

from __future__ import annotations

from dataclasses import dataclass

from vru_risk.data.synthetic.model import UNIFORM_WEIGHTS, WEEKEND_WEIGHTS


@dataclass(frozen=True)
class Hazard:
    """A process's yearly rate at the reference (girl, latent 0, age effect 0) and its slopes."""

    rate: float
    latent: float
    male: float
    age_knots: tuple[float, ...]
    age_values: tuple[float, ...]
    weights: tuple[float, ...] = UNIFORM_WEIGHTS


OFFENDING = Hazard(
    0.06, 1.0, 0.6, (8, 11, 14, 16, 19), (-2.5, -1.2, -0.2, 0, -0.2), WEEKEND_WEIGHTS
)
STREET = Hazard(0.05, 0.9, 0.9, (8, 12, 15, 17, 19), (-4, -1.5, -0.2, 0, 0), WEEKEND_WEIGHTS)
STREET_DEPRIVATION = 0.35
VICTIM = Hazard(0.03, 0.5, 0.2, (8, 12, 15, 19), (-1.5, -0.5, 0, 0))
WITNESS = Hazard(0.012, 0.2, 0.0, (8, 12, 15, 19), (-1.5, -0.5, 0, 0))
MISSING = Hazard(0.01, 0.6, -0.2, (8, 12, 15, 17, 18.5), (-2, -0.5, 0, 0, -1))
MISSING_LOOKED_AFTER = 2.2
MISSING_ADVERSITY = 0.5
POLICE_OTHER = Hazard(0.004, 0.3, 0.3, (8, 19), (0, 0))
#: A&E visits other than assault (serious violence brings the assault visits).
AE_HAZARDS: dict[str, Hazard] = {
    "accident": Hazard(0.10, 0.1, 0.2, (8, 12, 16, 19), (0, -0.1, -0.2, -0.2), WEEKEND_WEIGHTS),
    "sports_injury": Hazard(
        0.035, 0.0, 0.6, (8, 10, 14, 17, 19), (-1, -0.3, 0, 0, -0.3), WEEKEND_WEIGHTS
    ),
    "self_harm": Hazard(0.004, 0.7, -1.2, (8, 12, 15, 17, 19), (-3, -1, 0, 0, -0.2)),
    "alcohol_drugs": Hazard(
        0.006, 0.9, 0.3, (8, 13, 15, 17, 19), (-4, -1.5, -0.3, 0, 0), WEEKEND_WEIGHTS
    ),
    "other": Hazard(0.04, 0.2, 0.0, (8, 19), (0, 0)),
}
SELF_HARM_ADVERSITY = 0.4
AE_ADMITTED = {
    "assault": 0.15,
    "accident": 0.08,
    "sports_injury": 0.05,
    "self_harm": 0.35,
    "alcohol_drugs": 0.25,
    "other": 0.10,
}
#: Share of visits to the person's usual hospital (else any of the four).
USUAL_HOSPITAL = 0.9
#: Arrival hour profiles (relative weights of hours 0-23).
DAY_HOURS = (0.2, 0.1, 0.1, 0.1, 0.1, 0.2, 0.4, 0.8, 1.2, 1.4, 1.5, 1.5,
             1.5, 1.5, 1.6, 1.8, 2.0, 2.0, 1.9, 1.6, 1.2, 0.9, 0.6, 0.4)  # fmt: skip
NIGHT_HOURS = (1.6, 1.3, 1.0, 0.7, 0.4, 0.2, 0.1, 0.1, 0.2, 0.3, 0.4, 0.5,
               0.6, 0.6, 0.7, 0.8, 0.9, 1.1, 1.3, 1.5, 1.8, 2.0, 2.0, 1.9)  # fmt: skip
AE_HOURS = {
    "assault": NIGHT_HOURS,
    "alcohol_drugs": NIGHT_HOURS,
    "self_harm": tuple((a + b) / 2 for a, b in zip(DAY_HOURS, NIGHT_HOURS, strict=True)),
    "accident": DAY_HOURS,
    "sports_injury": DAY_HOURS,
    "other": DAY_HOURS,
}

#: School behaviour incidents: rate per secondary pupil-year at the reference; per school day.
SCHOOL_LATENT = 0.9
SCHOOL_MALE = 0.6
SCHOOL_PRIMARY = -1.3
SCHOOL_SEN = {"none": 0.0, "sen_support": 0.6, "ehcp": 0.5}
SCHOOL_FSM = 0.3
#: Probability that an exclusion is permanent: logistic(base + slope × latent).
PERMANENT_LOGIT = -5.9
PERMANENT_LATENT = 0.6

#: Offence mixes (probabilities over the contract's offence groups).
OFFENDING_OFFENCES = {
    "violence_without_injury": 0.25,
    "theft": 0.20,
    "criminal_damage": 0.12,
    "public_order": 0.10,
    "anti_social_behaviour": 0.15,
    "drugs": 0.13,
    "other": 0.05,
}
VICTIM_OFFENCES = {
    "violence_without_injury": 0.45,
    "theft": 0.35,
    "criminal_damage": 0.05,
    "other": 0.15,
}
WITNESS_OFFENCES = {
    "violence_with_injury": 0.2,
    "violence_without_injury": 0.3,
    "robbery": 0.1,
    "theft": 0.15,
    "criminal_damage": 0.1,
    "anti_social_behaviour": 0.15,
}
STOP_OFFENCES = {"drugs": 0.6, "weapon_possession": 0.15, "none": 0.25}
#: Outcome mixes (nfa, community_resolution, caution, charge) and decision delays (days).
OUTCOME_SERIOUS = (0.40, 0.10, 0.10, 0.40)
OUTCOME_OTHER = (0.55, 0.22, 0.10, 0.13)
OUTCOME_STOP = (0.78, 0.12, 0.04, 0.06)
OUTCOME_DELAY_DAYS = (14, 180)
#: Suspension and permanent-exclusion reason mixes (DfE reason groups, autumn 2023/24 shape).
SUSPENSION_REASONS = {
    "persistent_disruption": 0.50,
    "physical_assault": 0.20,
    "verbal_abuse": 0.17,
    "drugs_alcohol": 0.03,
    "discriminatory_abuse": 0.02,
    "damage": 0.02,
    "other": 0.02,
    "bullying": 0.015,
    "sexual_misconduct": 0.01,
    "weapon": 0.01,
    "theft": 0.005,
}
PERMANENT_REASONS = {
    "persistent_disruption": 0.36,
    "physical_assault": 0.25,
    "drugs_alcohol": 0.10,
    "weapon": 0.09,
    "verbal_abuse": 0.08,
    "other": 0.05,
    "damage": 0.02,
    "sexual_misconduct": 0.02,
    "bullying": 0.01,
    "discriminatory_abuse": 0.01,
    "theft": 0.01,
}
SUSPENSION_DAYS = (0.5, 1.0, 1.5, 2.0, 3.0, 4.0, 5.0, 7.0, 10.0, 15.0)
SUSPENSION_DAYS_P = (0.07, 0.42, 0.03, 0.20, 0.12, 0.06, 0.05, 0.03, 0.015, 0.005)
#: Police reporting delays: most within 0–3 days, the late share 7–60 days.
POLICE_LAG = (0, 3)
POLICE_LONG_LAG = (7, 60)
