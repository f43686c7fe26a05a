"""The processes only police record: offending, stop and search, and other police contacts.

Offending and street encounters are incidents of which police record some (with a probability
that depends on group: measurement bias) as a suspect or a stop and search, with an outcome
decided then or later; victims (other than of serious violence), witnesses, missing episodes and
other contacts are all recorded. Serious violence, which police and A&E both record, is drawn
in :mod:`~vru_risk.data.synthetic.processes`.

Example
-------
>>> OFFENDING_PROCESS.role, STOP_PROCESS.role
('suspect', 'stop_search')
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from vru_risk.data.contract import POLICE_OFFENCE, POLICE_ROLE
from vru_risk.data.synthetic.context import ChunkContext
from vru_risk.data.synthetic.draws import (
    hazard_log_rate,
    pick,
    poisson_days,
    police_known_day,
    police_outcomes,
)
from vru_risk.data.synthetic.hazards import (
    MISSING,
    MISSING_ADVERSITY,
    MISSING_LOOKED_AFTER,
    OFFENDING,
    OFFENDING_OFFENCES,
    OUTCOME_OTHER,
    OUTCOME_STOP,
    POLICE_OTHER,
    STOP_OFFENCES,
    STREET,
    STREET_DEPRIVATION,
    VICTIM,
    VICTIM_OFFENCES,
    WITNESS,
    WITNESS_OFFENCES,
    Hazard,
)
from vru_risk.data.synthetic.model import FloatArray
from vru_risk.data.synthetic.rng import stream
from vru_risk.data.synthetic.store import (
    POLICE,
    PROC_MISSING,
    PROC_OFFENDING,
    PROC_POLICE_OTHER,
    PROC_STOP,
    PROC_VICTIM,
    PROC_WITNESS,
    THIN_INCIDENT,
    THIN_INCIDENT_EXTRA,
    Cols,
    incidents_of,
    records_of,
    stack,
)


@dataclass(frozen=True)
class PoliceProcess:
    """A process of which police record some incidents: how it is drawn and recorded."""

    #: The name of its random stream.
    stream: str
    hazard: Hazard
    #: The population's attribute holding each person's probability of a record.
    recording: str
    offences: dict[str, float]
    process: int
    outcomes: tuple[float, ...]
    #: Whether the outcome is decided later than the contact.
    delay: bool
    role: str


OFFENDING_PROCESS = PoliceProcess(
    "offending",
    OFFENDING,
    "police_suspect_prob",
    OFFENDING_OFFENCES,
    PROC_OFFENDING,
    OUTCOME_OTHER,
    delay=True,
    role="suspect",
)
STOP_PROCESS = PoliceProcess(
    "stop_search",
    STREET,
    "stop_search_prob",
    STOP_OFFENCES,
    PROC_STOP,
    OUTCOME_STOP,
    delay=False,
    role="stop_search",
)


def _police_process(
    ctx: ChunkContext, spec: PoliceProcess, extra: FloatArray | None = None, harm: float = 0.0
) -> tuple[Cols, Cols]:
    """Incidents of one police-recorded process and the records police make of some of them.

    ``extra`` is added to the hazard's log-rate (per person and month). With ``harm`` > 0 the
    candidates of the extra incidents harmful support causes instead: ``harm`` × the rate, from
    the process's ``*_extra`` stream, marked ``THIN_INCIDENT_EXTRA``
    (:mod:`~vru_risk.data.synthetic.effects`).
    """
    name = f"{spec.stream}_extra" if harm > 0 else spec.stream
    rng = stream(ctx.config.seed, name, ctx.chunk)
    log_rate = hazard_log_rate(ctx, spec.hazard)
    if extra is not None:
        log_rate = log_rate + extra
    if harm > 0:
        log_rate = log_rate + np.log(harm)
    person, day = poisson_days(ctx, rng, log_rate, ctx.age_lo, ctx.area_hi, spec.hazard.weights)
    n = person.size
    p = ctx.person(spec.recording)[person]
    recorded = rng.random(n) < p
    offence = pick(rng, spec.offences, POLICE_OFFENCE, n)
    incidents = incidents_of(
        spec.process,
        person=person,
        day=day,
        thin=np.full(n, THIN_INCIDENT_EXTRA if harm > 0 else THIN_INCIDENT),
        u_thin=rng.random(n),
        kind=offence,
        record_prob=p,
    )
    rec = np.flatnonzero(recorded)
    outcome, decided = police_outcomes(rng, spec.outcomes, day[rec], delay=spec.delay)
    records = records_of(
        rec,
        person=person[rec],
        day=day[rec],
        source=POLICE,
        known=police_known_day(ctx, rng, day[rec]),
        role=np.full(rec.size, POLICE_ROLE.index(spec.role)),
        offence=offence[rec],
        outcome=outcome,
        outcome_day=decided,
    )
    return incidents, records


def offending(ctx: ChunkContext, harm: float = 0.0) -> tuple[Cols, Cols]:
    """Offending: suspects recorded by police (by group: measurement bias)."""
    return _police_process(ctx, OFFENDING_PROCESS, harm=harm)


def stop_and_search(ctx: ChunkContext, harm: float = 0.0) -> tuple[Cols, Cols]:
    """Street encounters, more where deprivation is higher, some recorded as stops and searches."""
    deprivation = STREET_DEPRIVATION * ctx.person("deprivation")[:, None]
    return _police_process(ctx, STOP_PROCESS, extra=deprivation, harm=harm)


def police_other(ctx: ChunkContext) -> tuple[Cols, Cols]:
    """Victims (not of serious violence), witnesses, missing episodes, other contacts."""
    rng = stream(ctx.config.seed, "police_other", ctx.chunk)
    missing_extra = (
        MISSING_LOOKED_AFTER * ctx.person("looked_after")
        + MISSING_ADVERSITY * ctx.person("adversity")
    )[:, None]
    specs: list[tuple[int, Hazard, FloatArray | float, str, dict[str, float]]] = [
        (PROC_VICTIM, VICTIM, 0.0, "victim", VICTIM_OFFENCES),
        (PROC_WITNESS, WITNESS, 0.0, "witness", WITNESS_OFFENCES),
        (PROC_MISSING, MISSING, missing_extra, "missing_person", {"none": 1.0}),
        (PROC_POLICE_OTHER, POLICE_OTHER, 0.0, "other", {"other": 1.0}),
    ]

    def draw(
        proc: int, hazard: Hazard, extra: FloatArray | float, role: str, offences: dict[str, float]
    ) -> tuple[Cols, Cols]:
        log_rate = hazard_log_rate(ctx, hazard) + extra
        person, day = poisson_days(ctx, rng, log_rate, ctx.age_lo, ctx.area_hi, hazard.weights)
        n = person.size
        offence = pick(rng, offences, POLICE_OFFENCE, n)
        incidents = incidents_of(proc, person=person, day=day, kind=offence)
        records = records_of(
            np.arange(n),
            person=person,
            day=day,
            source=POLICE,
            known=police_known_day(ctx, rng, day),
            role=np.full(n, POLICE_ROLE.index(role)),
            offence=offence,
        )
        return incidents, records

    return stack(draw(*spec) for spec in specs)
