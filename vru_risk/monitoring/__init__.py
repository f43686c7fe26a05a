"""Monitoring of a model in service: pure functions from frames to typed results.

- :mod:`~vru_risk.monitoring.bins`: fixed bins decided once from the reference;
- :mod:`~vru_risk.monitoring.drift`: PSI and Jensen-Shannon on those bins, per source;
- :mod:`~vru_risk.monitoring.groups`: selection rates by group, suppressed by distinct people;
- :mod:`~vru_risk.monitoring.sources`: weekly rows, people and reporting lag per source;
- :mod:`~vru_risk.monitoring.reference`: the hashed reference of a version;
- :mod:`~vru_risk.monitoring.criteria`: the pre-registered criteria (``criteria.yaml``);
- :mod:`~vru_risk.monitoring.outcomes`: maturity, calibration, realised precision;
- :mod:`~vru_risk.monitoring.verdict`: findings, the overall level and the exit code.
"""
