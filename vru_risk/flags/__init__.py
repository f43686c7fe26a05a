"""The flags stage: from teachable moments to explained offers of support.

:mod:`~vru_risk.flags.flag` (the Flag, shared with the API), :mod:`~vru_risk.flags.programmes`
(eligibility, capacity, shared sources), :mod:`~vru_risk.flags.score` (every moment scored),
:mod:`~vru_risk.flags.allocate` (programmes take the highest scores within capacity),
:mod:`~vru_risk.flags.explain` (the chosen moments explained as flags, with the reasons of
:mod:`~vru_risk.flags.reasons`), and :mod:`~vru_risk.flags.generate` (the three in order).
"""
