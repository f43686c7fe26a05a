"""A simulated service on a synthetic county: what the daily job, practitioners and programmes
would have done over a service period, and what that changes in the records. Pure functions
from frames (the use case, reading and writing folders and the application database, is
:mod:`vru_risk.jobs.simulate`).

- :mod:`~vru_risk.simulation.config`: the simulation's options (:class:`ServiceConfig`);
- :mod:`~vru_risk.simulation.draws`: seeded uniform draws keyed by what they decide;
- :mod:`~vru_risk.simulation.practitioners`: decisions on the flags, take-up, support periods;
- :mod:`~vru_risk.simulation.service`: the daily job replayed month by month, with support
  already under way fed back into who may be offered a place;
- :mod:`~vru_risk.simulation.consequence`: the new extract's interventions, and the label
  events the county's potential outcomes say the support prevented, removed.
"""
