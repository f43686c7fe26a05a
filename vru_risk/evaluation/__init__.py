"""Evaluation of the programmes the flags offer places in (issue 20): who benefits.

Pure functions from frames to typed, aggregate results (never an individual's row), no I/O:

- :mod:`~vru_risk.evaluation.power`: lottery sample size and the sequential boundary;
- :mod:`~vru_risk.evaluation.estimate`: the :class:`Estimate` every design returns;
- :mod:`~vru_risk.evaluation.lottery_effect`: the lottery's intention-to-treat effect;
- :mod:`~vru_risk.evaluation.arrival`: offered vs not by arrival day (consistent with, at best);
- :mod:`~vru_risk.evaluation.discontinuity`: regression discontinuity at the score floor;
- :mod:`~vru_risk.evaluation.matched`: inverse-probability weighting with balance and E-values;
- :mod:`~vru_risk.evaluation.verdict`: the one plain-English statement a design allows;
- :mod:`~vru_risk.evaluation.reach`: offers, decisions and support, suppressed by distinct people.
"""
